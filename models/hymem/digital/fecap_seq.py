"""Cycle model of rtl/hymem_fecap_seq.sv (the FeCAP pulse sequencer), written from the datasheet in
the RTL's header, not from its state machine: :class:`FecapSeqRef` says what every output must be
in the current cycle and how the state changes at a clock edge (tb/hymem_fecap_seq compares it
with the RTL in every cycle). Op codes: rtl/hymem_defs.svh's hymem_fe_op_e."""

from __future__ import annotations

from dataclasses import dataclass, field


OP_READ, OP_WRITE_BACK, OP_WRITE, OP_BAD = 0, 1, 2, 3
OP_NAMES = {OP_READ: "READ", OP_WRITE_BACK: "WRITE_BACK", OP_WRITE: "WRITE", OP_BAD: "op 3"}
WL_PHASES = ("SETUP", "P0", "MID", "P1", "HOLD")
HELD_PHASES = ("P0", "MID", "P1", "HOLD", "GAP")     # held_o: from the first pulse to the end


@dataclass(frozen=True)
class Timing:
    setup: int
    pulse: int
    sense: int
    hold: int
    gap: int


def phase_cycles(t: int) -> int:
    """Cycles a phase of timing value t lasts (0 counts as 1, as in the RTL)."""
    return t if t > 0 else 1


def op_cycles(op: int, t: Timing) -> list[tuple[str, int]]:
    """(phase, cycle within the phase) of every clock cycle of an executed operation, from the
    cycle after its acceptance to its DONE cycle."""
    plan = [("SETUP", t.setup)]
    if op == OP_READ:
        plan += [("P0", t.pulse)]
    elif op == OP_WRITE:
        plan += [("P0", t.pulse), ("MID", t.hold), ("P1", t.pulse)]
    else:
        plan += [("P1", t.pulse)]
    plan += [("HOLD", t.hold), ("GAP", t.gap)]
    return [(ph, k) for ph, n in plan for k in range(phase_cycles(n))] + [("DONE", 0)]


@dataclass
class Op:
    op: int
    row: int
    wdata: int
    timing: Timing
    executed: bool
    cycles: list
    accepted_at: int = 0          # monitor cycle of the accepting edge
    done_at: int | None = None    # monitor cycle of the DONE cycle
    rdata: int | None = None      # READ: fe_rdata_i in the pulse's last cycle
    phases_seen: list = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{OP_NAMES[self.op]} row {self.row}{'' if self.executed else ' (not executed)'} "
                f"{self.timing}")


class FecapSeqRef:
    """What the sequencer's outputs must be in the current cycle (:meth:`expected`) and how
    they change at a clock edge given the inputs sampled there (:meth:`edge`)."""

    def __init__(self, lines: int, rows: int) -> None:
        self.L, self.R = lines, rows
        self.ones = (1 << lines) - 1
        self.completed: list[Op] = []
        self.accepted: list[Op] = []
        self.reset()

    def reset(self) -> None:
        self.op: Op | None = None
        self.idx = 0
        self.row = 0
        self.rdata = 0
        self.pend = 0          # bit r: row r awaits its write-back
        self.err = False
        self.reads = self.writes = 0

    @property
    def phase(self) -> tuple[str, int] | None:
        return self.op.cycles[self.idx] if self.op else None

    def expected(self) -> dict:
        e = dict(req_ready_o=int(self.op is None), busy_o=int(self.op is not None), done_o=0,
                 rdata_o=self.rdata, pending_o=int(self.pend != 0), err_o=int(self.err),
                 cnt_reads_o=self.reads, cnt_writes_o=self.writes, fe_row_o=self.row,
                 fe_wl_o=0, fe_sl_o=0, fe_bl_o=0, fe_mask_o=0, fe_sae_o=0)
        # rows whose data only the sequencer holds: pending, and the row in flight once pulsed
        e["held_o"] = self.pend
        if self.op is not None:
            op = self.op
            ph, k = self.phase
            if ph in HELD_PHASES:
                e["held_o"] |= 1 << op.row
            e["done_o"] = int(ph == "DONE")
            e["fe_wl_o"] = int(ph in WL_PHASES)
            if ph == "P0":
                e["fe_sl_o"] = 1
                e["fe_mask_o"] = self.ones if op.op == OP_READ else ~op.wdata & self.ones
                e["fe_sae_o"] = int(op.op == OP_READ and k >= op.timing.sense)
            elif ph == "P1":
                e["fe_bl_o"] = 1
                e["fe_mask_o"] = op.wdata
        return e

    def edge(self, i: dict, cycle: int) -> None:
        if not i["rst_ni"]:
            self.reset()
            return
        op = self.op
        pend = self.pend | i["pend_set_i"]
        finished = False
        if op is not None:
            ph, _ = self.phase
            nxt = op.cycles[self.idx + 1][0] if self.idx + 1 < len(op.cycles) else None
            op.phases_seen.append(ph)
            if op.op == OP_READ and ph == "P0" and nxt != "P0":      # end of the read pulse
                self.rdata = op.rdata = i["fe_rdata_i"]
            if ph == "GAP" and nxt == "DONE":                          # the operation's effects
                finished = True
                bit = 1 << op.row
                if op.op == OP_READ:
                    pend |= bit
                else:
                    pend = (pend & ~bit) | (i["pend_set_i"] & bit)
        if i["cnt_clear_i"]:
            self.reads = self.writes = 0
        elif finished:
            if op.op == OP_READ:
                self.reads += 1
            else:
                self.writes += 1
        self.err = self.err and not i["err_clear_i"]
        if op is not None:
            self.idx += 1
            if self.idx == len(op.cycles):
                op.done_at = cycle
                self.completed.append(op)
                self.op = None
        elif i["req_valid_i"]:
            code, row = i["req_op_i"], i["req_row_i"]
            t = Timing(i["t_setup_i"], i["t_pulse_i"], i["t_sense_i"], i["t_hold_i"], i["t_gap_i"])
            executed = code in (OP_READ, OP_WRITE_BACK, OP_WRITE) and not (
                code == OP_READ and (self.pend >> row) & 1)
            if not executed:
                self.err = True
            new = Op(code, row, i["req_wdata_i"], t, executed,
                     op_cycles(code, t) if executed else [("DONE", 0)], accepted_at=cycle)
            self.accepted.append(new)
            self.op, self.idx, self.row = new, 0, row
        self.pend = pend
