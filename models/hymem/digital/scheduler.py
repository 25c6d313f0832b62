"""Cycle-level reference of hymem_core's scheduler (rtl/hymem_core.sv, its header).

One operation runs at a time; a command that arrives while another runs is queued (one of
each kind) and starts when the machine is idle, in :data:`PRIORITY` order; a command that
arrives while idle starts in the cycle of its pulse (it is never seen queued); after every
k-th completed sample a transfer is queued before anything else; CMD.ABORT drops every queued
command (a read-out waiting for the memristor port keeps its request) and the engines stop at
their next safe point; ABORTED (with ABORT_SLOT) is set when an engine ends on an abort and
cleared by the next command; done pulses when an operation ends with nothing queued.

:class:`SchedulerRef` steps once per clock edge with the inputs the RTL samples at that
edge: the command pulses, ``cfg_k_i``, ``rst_ni`` and, as the scheduler's own inputs from
the engines it starts, their end handshakes under hymem_core's net names (the update
engine's ``upd_done``/``upd_aborted``/``u_abort_slot``, the transfer engine's
``xf_done``/``xf_aborted``/``x_abort_slot``, the wake-up engine's
``wk_fin``/``wk_fin_aborted``/``wk_slot``, the memristor sequencer's ``mr_ready`` and
``mr_done``): :data:`INPUTS`. :meth:`SchedulerRef.expected` gives every scheduler output for the
cycle: busy, done, each engine's busy, the queue, samples since the last transfer, ABORTED,
ABORT_SLOT, the LOST operation and the wake-up's done pulse.
"""

from __future__ import annotations

#: the scheduler's start order among queued commands
PRIORITY = ("transfer", "form", "wake", "sample", "readout")
#: bit of each kind in hymem_core's queued_o
QUEUED_BIT = {"sample": 0, "transfer": 1, "form": 2, "readout": 3, "wake": 4}
#: the operations (what runs; a read-out first requests the memristor port, "readout_req")
#: what :meth:`SchedulerRef.edge` reads (hymem_core's port and net names)
INPUTS = ("rst_ni", "cfg_k_i", "cmd_abort_i", *(f"cmd_{k}_i" for k in PRIORITY),
          "upd_done", "upd_aborted", "u_abort_slot", "xf_done", "xf_aborted", "x_abort_slot",
          "wk_fin", "wk_fin_aborted", "wk_slot", "mr_ready", "mr_done")
#: the inputs that make the scheduler move (the others are values read with them); with
#: ``mr_ready`` (while a read-out waits for the port) and ``rst_ni``: what a monitor that
#: skips the steady cycles must watch
EVENTS = ("cmd_abort_i", *(f"cmd_{k}_i" for k in PRIORITY), "upd_done", "xf_done", "wk_fin",
          "mr_done")
RUNNING = ("idle", "sample", "transfer", "form", "readout_req", "readout", "wake")


class SchedulerRef:
    """``k``: the auto-transfer period is read from the inputs (``cfg_k_i``) at every edge.
    ``lost_op``: LOST.OP code of each operation kind (``none``, ``sample``, ``transfer``,
    ``form``, ``readout``, ``wake``; the register map's enum)."""

    def __init__(self, lost_op: dict[str, int]) -> None:
        need = {"none", "sample", "transfer", "form", "readout", "wake"}
        if set(lost_op) != need:
            raise ValueError(f"lost_op must name exactly {sorted(need)}; got {sorted(lost_op)}")
        self.lost_op = dict(lost_op)
        self.reset()
        self.wake_done = 0           # wake-ups that completed (wake_done_o pulses predicted)
        self.ends: list[tuple[str, bool]] = []   # (kind, aborted) of every operation that ended

    def reset(self) -> None:
        self.run = "idle"
        self.queue: set[str] = set()
        self.since = 0
        self.aborted = False
        self.abort_slot = 0
        self.done = False
        self.abort_seen = False      # CMD.ABORT arrived while the current operation ran
        self.wake_fin = None         # (fin, fin_aborted) of the cycle being checked

    @property
    def op(self) -> str | None:         # for LockstepMonitor's messages
        return None if self.run == "idle" else self.run

    @property
    def phase(self) -> str:
        return ",".join(sorted(self.queue)) or "nothing queued"

    def comb(self, i: dict) -> None:
        """The cycle's inputs, before :meth:`expected`: wake_done_o is combinational."""
        self.wake_fin = (i["wk_fin"], i["wk_fin_aborted"])

    def expected(self) -> dict:
        kind = {"readout_req": "readout", "idle": "none"}.get(self.run, self.run)
        e = dict(busy_o=int(self.run != "idle" or bool(self.queue)), done_o=int(self.done),
                 upd_busy_o=int(self.run == "sample"),
                 xfer_busy_o=int(self.run in ("transfer", "form")),
                 readout_busy_o=int(self.run in ("readout_req", "readout")),
                 wake_busy_o=int(self.run == "wake"),
                 queued_o=sum(1 << QUEUED_BIT[k] for k in self.queue),
                 samples_since_o=self.since, aborted_o=int(self.aborted),
                 abort_slot_o=self.abort_slot, lost_op_o=self.lost_op[kind])
        if self.wake_fin is not None:
            fin, fin_aborted = self.wake_fin
            e["wake_done_o"] = int(self.run == "wake" and bool(fin) and not fin_aborted)
        return e

    def steady(self, i: dict) -> bool:
        """Another edge with inputs ``i`` would change nothing (no command, no engine
        ending, no reset, no read-out request accepted, no done pulse to end)."""
        return (bool(i["rst_ni"]) and not self.done
                and not any(i[n] for n in EVENTS)
                and not (self.run == "readout_req" and i["mr_ready"]))

    #: the engine handshake that ends (or, for "readout_req", moves on) each operation
    ENDS = {"idle": (), "sample": ("upd_done",), "transfer": ("xf_done",), "form": ("xf_done",),
            "readout_req": ("mr_ready",), "readout": ("mr_done",), "wake": ("wk_fin",)}

    def wake_on(self) -> tuple[str, ...]:
        """The inputs that can move a steady scheduler now, besides the commands (which the
        testbench announces): reset and the running operation's end handshake."""
        return ("rst_ni",) + self.ENDS[self.run]

    def _end(self, kind: str, aborted: bool) -> None:
        self.ends.append((kind, aborted))
        if kind == "wake" and not aborted:
            self.wake_done += 1

    def edge(self, i: dict, cycle: int = 0) -> None:
        if not i["rst_ni"]:
            self.reset()
            return
        run = self.run
        abort = bool(i["cmd_abort_i"])
        cmds = {k for k in PRIORITY if i[f"cmd_{k}_i"]}
        # an engine signals only while it runs (the scheduler starts and owns it)
        for sig, kinds in (("upd_done", ("sample",)), ("xf_done", ("transfer", "form")),
                           ("wk_fin", ("wake",))):
            if i[sig] and run not in kinds:
                raise AssertionError(f"cycle {cycle}: {sig} while the scheduler runs {run}")
        upd_ok = bool(i["upd_done"]) and not i["upd_aborted"]
        q = self.queue | cmds
        if cmds:
            self.aborted = False
        since = self.since
        if upd_ok:
            since = (self.since + 1) & 0xFFFF
            if i["cfg_k_i"] != 0 and since == i["cfg_k_i"]:
                q.add("transfer")                         # the automatic transfer
        nxt = run
        if run == "idle":
            if not abort:
                for k in PRIORITY:
                    if k in q:
                        if k == "readout":
                            nxt = "readout_req"           # its queue bit stays until accepted
                        else:
                            q.discard(k)
                            nxt = k
                            if k == "transfer":
                                since = 0
                        break
        elif run == "sample" and i["upd_done"]:
            nxt = "idle"
            self._end(run, bool(i["upd_aborted"]))
        elif run in ("transfer", "form") and i["xf_done"]:
            nxt = "idle"
            self._end(run, bool(i["xf_aborted"]))
        elif run == "readout_req" and i["mr_ready"]:
            q.discard("readout")
            nxt = "readout"
        elif run == "readout" and i["mr_done"]:
            nxt = "idle"
            self._end(run, False)
        elif run == "wake" and i["wk_fin"]:
            nxt = "idle"
            self._end(run, bool(i["wk_fin_aborted"]))
        self.done = run != "idle" and nxt == "idle" and not q
        if abort:
            # a read-out waiting for the port keeps its request (it completes); the rest drop,
            # and so does the request the port takes in the abort's cycle (it is in flight:
            # tb/hymem_core's readout_abort_in_accept_cycle)
            keep = "readout" in self.queue and run == "readout_req" and not i["mr_ready"]
            q = {"readout"} if keep else set()
        for ok, ab, slot in ((i["upd_done"], i["upd_aborted"], i["u_abort_slot"]),
                             (i["xf_done"], i["xf_aborted"], i["x_abort_slot"]),
                             (i["wk_fin_aborted"], 1, i["wk_slot"])):
            if ok and ab:
                if not self.abort_seen and not abort:
                    raise AssertionError(f"cycle {cycle}: an engine ended aborted with no abort")
                self.aborted, self.abort_slot = True, slot
        if nxt != run and nxt in ("idle", "sample", "transfer", "form", "wake", "readout_req"):
            self.abort_seen = False
        if abort and run != "idle":
            self.abort_seen = True
        self.run, self.queue, self.since = nxt, q, since
