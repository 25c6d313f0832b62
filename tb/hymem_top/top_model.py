"""The plain reference model of hymem_top that the scoreboard calls (no pyuvm, no cocotb).

Two parts:

* the register model, the package's ``hymem.host.regmodel.RegModel`` (from the RDL): a
  mirror of every stored field (rw fields byte-merged under PSTRB, IRQ_STATUS
  write-1-to-clear, ERR, LOST) with reset values of this build, and the error code of
  every access (from its address alone; of a checked register's write from the
  controller's state, busy, queued commands, woken, and the value's legality; of a
  vector window's write). Fields the model cannot know at a time (an interrupt bit an
  operation may have set, LOST after a reset cut an operation) are marked unknown in it.
* :class:`Controller`, the controller behind the registers: the scheduler of
  ``rtl/hymem_core.sv``'s header (one operation at a time, one queued command of each
  kind, transfers first, a transfer after every K-th sample, ABORT), the vector buffers,
  and the digital state as ``hymem.digital.engine.EngineState`` (hidden weights, flags, PRNG
  lanes, counters, failure log). Memristor operations are scoreboarded against the macro
  model's log (``hymem.sim.scoreboard.OpLog`` / ``ReplayProgrammer``); forming, which the
  engine does not model, is replayed here from the RTL header's algorithm.

Time is not modelled: the model does not know how many cycles an operation takes. It
knows that an operation has ended when the controller says so over the bus (STATUS.BUSY
low, or STATUS showing a later operation running, or a READOUT read that waited for its
read-out), and applies the operation to the reference then. Until then, values that
depend on how far the operation got (STATUS phases, counters, IRQ_STATUS.DONE...) are
"unknown": a prediction is a value and a mask of the bits it fixes, and the scoreboard
counts both kinds. Everything is fixed whenever the controller is idle.

What the model assumes the stimulus avoids (it would be a race, not a DUT property): a
command that races the end of the operation it should queue behind (sequences issue it
right after STATUS showed that operation running), new commands between an ABORT and the
end of the aborted operation, and aborting forming.

A reset (rst_ni) while an operation runs (the reset storm) cuts it where the model cannot
know: the model keeps the operation and the state before it (:attr:`Controller.cut`), and
:meth:`Controller.check_cut` later measures the array against it with the LOST register
the controller reported: every FeCAP row outside the reported ones must hold its value
before or after the operation (docs/programming.md, "Resets").
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import numpy as np

from hymem.digital import engine
from hymem.digital.scheduler import PRIORITY   # the scheduler's start order
from hymem.host import regmap
from hymem.host.regmodel import M32, RegModel, bmask
from hymem.sim import simrun
from hymem.sim.scoreboard import ReplayProgrammer

CMD_OF = {"sample": "SAMPLE", "transfer": "TRANSFER", "form": "FORM", "readout": "READOUT",
          "wake": "WAKE"}


class ModelError(AssertionError):
    """The DUT did something the reference model says it must not (a scoreboard failure)."""


class StimulusError(RuntimeError):
    """The stimulus did something the model does not cover (a testbench bug)."""


# -------------------------------------------------------------------------- build


top_defaults = regmap.top_defaults


def top_ports() -> list[tuple[str, str]]:
    """hymem_top's ports as (name, "input" / "output"), read from rtl/hymem_top.sv."""
    text = (simrun.rtl_dir() / "hymem_top.sv").read_text()
    start = text.index("\nmodule hymem_top")
    body = text[start:text.index("\n);", start)]
    return [(m.group(3), m.group(1)) for m in
            re.finditer(r"^\s*(input|output)\s+logic\s*(\[[^\]]*\])?\s*(\w+)", body, re.M)]


@dataclass(frozen=True)
class Build:
    lines: int
    slots: int
    mag_width: int
    code_bits: int
    fecap_rows: int
    adc_bits: int
    xdepth: int
    edepth: int
    verify_limit: int

    @classmethod
    def from_params(cls, params: dict) -> "Build":
        p = {**top_defaults(), **params}
        return cls(p["Lines"], p["Slots"], p["MagWidth"], p["CodeBits"], p["FecapRows"],
                   p["AdcBits"], p["XDepth"], p["EDepth"], p["VerifyLimit"])

    def values(self) -> dict[str, int]:
        """Build values by HWCFG name (the register map's rules and resets use them)."""
        return {k: getattr(self, k.lower()) for k in regmap.BUILD_PARAMS}

    @property
    def geom(self) -> engine.Geometry:
        return engine.Geometry(lines=self.lines, slots=self.slots, mag_width=self.mag_width,
                               code_bits=self.code_bits, fecap_rows=self.fecap_rows)

    def hwcfg(self) -> dict[tuple[str, str], int]:
        """What the HWCFG registers must read: (register, field) -> value."""
        return {("HWCFG0", "LINES"): self.lines, ("HWCFG0", "SLOTS"): self.slots,
                ("HWCFG0", "MAG_WIDTH"): self.mag_width, ("HWCFG0", "CODE_BITS"): self.code_bits,
                ("HWCFG1", "XDEPTH"): self.xdepth, ("HWCFG1", "EDEPTH"): self.edepth,
                ("HWCFG2", "VERIFY_LIMIT"): self.verify_limit, ("HWCFG2", "ADC_BITS"): self.adc_bits}


@dataclass
class Prediction:
    code: int                 # ERR code of the access (0: accepted)
    value: int = 0            # read data
    mask: int = M32           # bits of `value` the model fixes
    waits: bool | None = False  # wait states expected (True), forbidden (False), either (None)
    target: object = None     # the register or memory window


def windows(r: RegModel) -> tuple[np.ndarray, np.ndarray]:
    """Verify windows (lo, hi) per level, from VFY_LO* / VFY_HI*."""
    lo, hi = np.zeros(8, np.int64), np.zeros(8, np.int64)
    for arr, base in ((lo, "VFY_LO"), (hi, "VFY_HI")):
        for reg in (x for x in r.rm.registers if x.name.startswith(base)):
            for f in reg.fields:
                arr[int(f.name[1:])] = r.field(reg.name, f.name)
    return lo, hi


# --------------------------------------------------------------------- controller


@dataclass
class Op:
    kind: str                 # sample / transfer / form / readout
    cfg: dict                 # what the operation latches when it starts
    auto: bool = False        # a transfer started by the K rule
    abort: bool = False       # ABORT arrived while it ran


@dataclass
class Stats:
    reads_exact: int = 0      # reads whose every bit was predicted
    reads_masked: int = 0     # reads with bits the model could not fix (an operation ran)
    writes: int = 0
    rejected: int = 0
    err_checked: int = 0      # rejections whose ERR code was read back before the next one
    err_unchecked: int = 0    # rejections overwritten by another before an ERR read
    irq_checked: int = 0      # transfers whose irq_o level was predicted and compared
    state_checks: int = 0     # idle points: hidden weights + flags compared, port quiescent
    mr_ops: int = 0           # memristor operations matched against the reference
    ops: dict = field(default_factory=dict)


class Controller:
    """The controller behind the registers (see the module doc). ``array``: the macro model
    (its backdoor gives hidden weights and flags); ``oplog``: its memristor operations;
    ``quiescent``: raises if the macro port is not quiescent."""

    def __init__(self, build: Build, regs: RegModel, array, oplog, quiescent):
        self.b, self.r, self.array, self.oplog, self.quiescent = build, regs, array, oplog, quiescent
        self.geom = build.geom
        self.stats = Stats()
        self.events: list[tuple[str, dict]] = []
        self.xbuf = np.zeros(build.xdepth, np.int64)
        self.ebuf = np.zeros(build.edepth, np.int64)
        self.xset = np.zeros(build.xdepth, bool)
        self.eset = np.zeros(build.edepth, bool)
        self.mr_ops: list[dict] = []
        self.ref: engine.EngineState | None = None
        self.running: Op | None = None
        self.queue: dict[str, Op] = {}
        self.cut = None
        self.before_bits = None
        self.woken = False          # STATUS.WOKEN: reset by por_ni only (the environment's power-up)
        self.lost_any = False       # the top's lost_any_q (LOST.MULTI at the next capture; por_ni)
        self.hard_reset()

    # ------------------------------------------------------------------ state

    def hard_reset(self) -> None:
        """rst_ni: the controller's state is lost; the arrays and the vector RAMs keep theirs.
        While an operation runs (the reset storm): the operation and the state before it are
        kept in :attr:`cut` for :meth:`check_cut`, LOST becomes unknown until then."""
        self.cut = None
        if self.busy:
            if self.queue:
                raise StimulusError("a reset with commands queued is not modelled")
            self.cut = dict(op=self.running, ref=self.ref, before=self.before_bits,
                            multi=self.lost_any)
            self.running = None
            self.r.load("LOST", self.r.value("LOST"), known=False)   # until check_cut
            self.lost_any = True
            self.oplog.take()                # the cut operation's memristor operations
            self.mr_ops = []
        self.r.reset()
        self._new_engine(keep=False)
        self.forms = 0
        self.wakes = 0                           # CNT_WAKE_CYCLES
        self.fail_kind = [(0, 0), (0, 0)]        # FAIL_FIRST / FAIL_LAST (FORM, POL)
        self.aborted, self.abort_slot, self.upd_slot = False, 0, 0
        self.readout = np.zeros(self.b.lines, np.int64)   # the sequencer's capture register
        self.counters_known = self.fail_known = True
        self.readout_fresh = False
        self.err_pending = False
        self.w1c_busy: set[str] = set()
        self.failed_busy = False
        self.mr_ops += self.oplog.take()
        self._check_consumed("reset")

    def _new_engine(self, keep: bool) -> None:
        n_in, n_out = self.r.field("LAYER", "N_IN"), self.r.field("LAYER", "N_OUT")
        # LAYER always holds a tile that fits (its reset value is derived from the build,
        # writes are checked); the engine models only such tiles, so a sample or transfer
        # with another one is a stimulus error (_latch), should the RTL ever accept one
        self.layer_ok = 1 <= n_in * n_out <= self.geom.synapses
        new = engine.EngineState(n_in if self.layer_ok else 1, n_out if self.layer_ok else 1,
                                 self.geom)
        if keep:
            old = self.ref
            new.h, new.flags, new.prng, new.counters = old.h, old.flags, old.prng, old.counters
            new.fail, new.samples_since_transfer = old.fail, old.samples_since_transfer
        else:
            new.h[0] = self.array.backdoor.hidden_weights()
            new.flags[0] = self.array.backdoor.flags()
        self.ref = new

    def sync_from_backdoor(self) -> None:
        """The test poked hidden weights or flags through the backdoor (idle only)."""
        if self.busy:
            raise StimulusError("backdoor pokes are modelled only while the controller is idle")
        self.ref.h[0] = self.array.backdoor.hidden_weights()
        self.ref.flags[0] = self.array.backdoor.flags()

    @property
    def busy(self) -> bool:
        return self.running is not None or bool(self.queue)

    @property
    def wake_pending(self) -> bool:
        """A wake-up runs or is queued (STATUS.WOKEN may rise at a time the model cannot see)."""
        return (self.running is not None and self.running.kind == "wake") or "wake" in self.queue

    @property
    def vec_locked(self) -> bool:
        """x and e must not change: a sample runs or is queued."""
        return (self.running is not None and self.running.kind == "sample") or "sample" in self.queue

    def counters(self) -> dict[str, int]:
        c = self.ref.counters.as_dict(0)
        c["forms"] = self.forms
        c["wake_cycles"] = self.wakes
        return {k: v & M32 for k, v in c.items()}

    @property
    def fail_any(self) -> bool:
        return bool(self.ref.fail.first[0] >= 0)

    def irq_expect(self) -> int | None:
        """irq_o now: 0/1, or None if it depends on an IRQ_STATUS bit the model does not know."""
        r = self.r
        en = r.value("IRQ_ENABLE")
        one = unknown = False
        for f in r.rm["IRQ_STATUS"].fields:
            if not (en >> f.lsb) & 1:
                continue
            known = r.known[("IRQ_STATUS", f.name)]
            one |= known and bool(r.q[("IRQ_STATUS", f.name)])
            unknown |= not known
        return 1 if one else None if unknown else 0

    def _emit(self, event: str, **info) -> None:
        self.events.append((event, info))

    # --------------------------------------------------------------- accesses

    def access(self, write: bool, addr: int, wdata: int = 0, strb: int = 0xF) -> Prediction:
        """What the access must get, from the state before it (a READOUT read that waits for
        a running read-out first lets the model finish that read-out)."""
        r = self.r
        code = r.address_code(addr, write)
        t = r.target(addr)
        if code:
            return Prediction(code, target=t)
        if isinstance(t, regmap.Memory):
            word = (addr - t.addr) >> 2
            if write:
                return Prediction(r.window_code(t.name, addr, sample_pending=self.vec_locked), target=t)
            waits = None
            if "readout" in self.queue or (self.running is not None
                                           and self.running.kind == "readout"):
                # the read waits (PREADY low) until every requested read-out has completed:
                # the read-out and whatever it is queued behind (it starts last)
                waits = True if self.readout_fresh else None
                if waits:
                    self._emit("readout_wait", behind=self.running.kind)
                while self.running is not None:
                    self._complete(None)
            b = self.readout[4 * word: 4 * word + 4] if 4 * word < self.b.lines else []
            return Prediction(0, sum(int(x) << (8 * i) for i, x in enumerate(b)), M32, waits, t)
        if write:
            if t.checked:
                code = r.check_code(t.name, r.merged(t, wdata, strb), busy=self.busy,
                                    queued={CMD_OF[k] for k in self.queue}, woken=self.woken)
                if code == r.Err.NOT_WOKEN and self.wake_pending:
                    raise StimulusError("SAMPLE or TRANSFER racing the end of the first "
                                        "wake-up is not modelled")
            return Prediction(code, target=t)
        value, mask = r.read(t, self._hw_known)
        return Prediction(0, value, mask, False, t)

    def _hw_known(self, reg: str, name: str) -> int | None:
        """A field the controller drives, for RegModel.read: its value, None if not known."""
        x, known = self._hw(reg, name)
        return x if known else None

    def _hw(self, reg: str, name: str) -> tuple[int, bool]:
        """A field the controller drives: (value, known)."""
        idle = not self.busy
        if reg.startswith("HWCFG"):
            return self.b.hwcfg()[(reg, name)], True
        if reg == "STATUS":
            if name == "SEQ_ERR":
                return 0, True
            if name == "WOKEN":
                return int(self.woken), self.woken or not self.wake_pending
            if name == "FAIL_ANY":
                return int(self.fail_any), self.fail_known and (idle or self.fail_any)
            if not idle:
                return 0, False
            return dict(ABORTED=int(self.aborted), UPD_SLOT=self.upd_slot,
                        ABORT_SLOT=self.abort_slot).get(name, 0), True
        if reg == "SAMPLES_SINCE":
            return int(self.ref.samples_since_transfer[0]) & 0xFFFF, idle
        if reg.startswith("CNT_"):
            return self.counters()[reg[4:].lower()], idle and self.counters_known
        if reg in ("FAIL_FIRST", "FAIL_LAST"):
            v = int((self.ref.fail.first if reg == "FAIL_FIRST" else self.ref.fail.last)[0])
            form, pol = self.fail_kind[0 if reg == "FAIL_FIRST" else 1] if v >= 0 else (0, 0)
            x = dict(ADDR=max(v, 0), VALID=int(v >= 0), FORM=form, POL=pol)[name]
            return x, idle and self.fail_known
        raise KeyError(f"no model of {reg}.{name}")

    def commit(self, write: bool, addr: int, wdata: int, strb: int, pred: Prediction) -> None:
        """The access happened as predicted: its effects."""
        r, t = self.r, pred.target
        self.readout_fresh = False
        if pred.code:
            self.stats.rejected += 1
            if self.err_pending:
                self.stats.err_unchecked += 1
            self.err_pending = True
            r.load("ERR", r.pack("ERR", CODE=pred.code, ADDR=addr))
            r.set("IRQ_STATUS", "ERROR", 1)
            self._emit("err", code=pred.code, write=write)
            return
        self._emit("access", name=t.name, write=write, mem=isinstance(t, regmap.Memory))
        if not write:
            if isinstance(t, regmap.Register) and t.name == "ERR" and self.err_pending:
                self.stats.err_checked += 1
                self.err_pending = False
            return
        self.stats.writes += 1
        if isinstance(t, regmap.Memory):
            buf, seen = (self.xbuf, self.xset) if t.name == "XBUF" else (self.ebuf, self.eset)
            w = (addr - t.addr) >> 2
            for b in range(4):
                if (strb >> b) & 1:
                    x = (wdata >> (8 * b)) & 0xFF
                    buf[4 * w + b] = x - 256 if x > 127 else x
                    seen[4 * w + b] = True
            return
        if t.name == "CMD":
            self.command(r.fields("CMD", r.merged(t, wdata, strb)))
        elif t.name == "IRQ_STATUS":
            cleared = [f.name for f in t.fields if ((wdata & bmask(strb)) >> f.lsb) & 1]
            for name in cleared:
                if r.known[("IRQ_STATUS", name)] and r.q[("IRQ_STATUS", name)]:
                    self._emit("w1c", name=name)          # a bit known to be set, cleared
            r.write(t, wdata, strb)
            for name in cleared:
                r.known[("IRQ_STATUS", name)] = True
                if self.busy and name != "ERROR":           # an operation may set it again
                    r.known[("IRQ_STATUS", name)] = False
                    self.w1c_busy.add(name)
        else:
            old = r.value(t.name)
            r.write(t, wdata, strb)
            if t.name == "LAYER" and r.value(t.name) != old:
                self._new_engine(keep=True)

    # --------------------------------------------------------------- commands

    def command(self, bits: dict[str, int]) -> None:
        """An accepted write to CMD (field name -> bit)."""
        kinds = [k for k in PRIORITY if bits[CMD_OF[k]]]
        for name, v in bits.items():
            if v:
                self._emit("cmd", name=name)
        was_idle = not self.busy
        if kinds and was_idle:          # the array before the operation (for check_cut)
            self.before_bits = self.array.backdoor.fecap_bits()
        if kinds:
            self.aborted = False                     # a new command clears STATUS.ABORTED
        if kinds and bits["ABORT"]:
            # ABORT drops queued commands, those of its own write too (rtl/hymem_core.sv)
            if "readout" in kinds and self.running is not None and self.running.kind == "readout":
                raise StimulusError("READOUT + ABORT while a read-out runs is not modelled")
            self._emit("abort", what="with_command")
            kinds = []
        for k in kinds:
            if not was_idle:
                self._emit("queued", kind=k, behind=self.running.kind if self.running else None)
            self.queue[k] = Op(k, self._latch(k))
            for name in ("DONE", "FAIL") if k not in ("readout", "wake") else ("DONE",):
                if not self.r.q[("IRQ_STATUS", name)]:
                    self.r.known[("IRQ_STATUS", name)] = False   # may be set at a time the model cannot see
        if self.running is None and self.queue:
            self._start_next()
        # a READOUT read in the next access waits for this read-out (it takes several cycles)
        self.readout_fresh = "readout" in kinds
        if bits["ABORT"]:
            self._abort()
        if bits["SEED_LOAD"]:
            self.ref.seed(self.r.field("SEED", "SEED"))
        if bits["WOKEN"]:
            self.woken = True
        if bits["CNT_CLEAR"]:
            self.ref.counters = engine.Counters.zeros(1)
            self.forms = 0
            self.wakes = 0
            self.counters_known = not self.busy
        if bits["ERR_CLEAR"]:
            self.r.load("ERR", 0)
            self.err_pending = False
        if bits["FAIL_CLEAR"]:
            self.ref.fail = engine.FailureLog(np.full(1, -1), np.full(1, -1))
            self.fail_kind = [(0, 0), (0, 0)]
            self.fail_known = not self.busy
        if bits["LOST_CLEAR"]:
            self.r.load("LOST", 0)
            self.lost_any = False

    def _latch(self, kind: str) -> dict:
        r = self.r
        if kind in ("sample", "transfer") and not self.layer_ok:
            raise StimulusError(f"a {kind} with LAYER {r.value('LAYER'):#010x} larger than the array "
                                f"is not modelled")
        if kind == "sample":
            n_in, n_out = r.field("LAYER", "N_IN"), r.field("LAYER", "N_OUT")
            if not (self.xset[:n_in].all() and self.eset[:n_out].all()):
                raise StimulusError("a sample uses x or e entries that were never written")
            return dict(x=self.xbuf[:n_in].copy(), e=self.ebuf[:n_out].copy(),
                        ucfg=engine.UpdateConfig(
                            lr_mult=r.field("LR", "MULT"), lr_shift=r.field("LR", "SHIFT"),
                            p16=r.field("MASK_P", "P16"),
                            stoch_round=bool(r.field("MODE", "STOCH_ROUND")),
                            code_round=bool(r.field("MODE", "CODE_ROUND")),
                            skip_zero=bool(r.field("MODE", "SKIP_ZERO"))),
                        k=r.field("XFER_K", "K"))
        if kind == "transfer":
            return dict(tcfg=engine.TransferConfig(
                change_aware=bool(r.field("MODE", "CHANGE_AWARE")),
                code_round=bool(r.field("MODE", "CODE_ROUND")),
                verify_max=r.field("MODE", "VERIFY_MAX")), windows=windows(r),
                k=r.field("XFER_K", "K"))
        if kind == "form":
            return dict(target=r.field("FORM", "TARGET"), max=r.field("FORM", "MAX"))
        if kind == "wake":
            if not self.layer_ok:
                raise StimulusError(f"a wake-up with LAYER {r.value('LAYER'):#010x} larger than the "
                                    "array is not modelled")
            return dict(cycles=r.field("WAKE", "CYCLES"))
        return dict(slot=r.field("READOUT_SEL", "SLOT"), pol=r.field("READOUT_SEL", "POL"))

    def _start_next(self) -> None:
        self.running = None
        for k in PRIORITY:
            if k in self.queue:
                self.running = self.queue.pop(k)
                return

    def _abort(self) -> None:
        run = self.running
        if run is None:
            self._emit("abort", what="idle")
            return
        if self.queue:
            self._emit("abort", what="dropped_queue", kinds=sorted(self.queue))
        self.queue.clear()                             # queued commands are dropped
        if run.kind in ("form", "wake"):
            raise StimulusError(f"aborting {run.kind} is not modelled (tb/hymem_core aborts a "
                                "wake-up)")
        if run.kind != "readout":                      # a read-out in flight completes
            run.abort = True

    # ------------------------------------------------------- what the DUT says

    def observe_status(self, v: int) -> None:
        """A STATUS read: bring the scheduler model to a state consistent with it."""
        s = self.r.fields("STATUS", v)
        if s["BUSY"] == 0:
            while self.busy:
                self._complete(s)
            return
        if not self.busy:
            raise ModelError(f"STATUS.BUSY = 1 ({v:#010x}) but nothing runs or is queued")
        want = (("sample",) if s["UPD_BUSY"] else ("transfer", "form") if s["XFER_BUSY"]
                else ("readout",) if s["READOUT_BUSY"] else ("wake",) if s["WAKE_BUSY"] else None)
        while want and (self.running is None or self.running.kind not in want):
            if self.running is None:
                raise ModelError(f"STATUS ({v:#010x}) shows {'/'.join(want)} running; the model has "
                                 f"nothing like it left to run")
            self._complete(s)

    # ------------------------------------------------ operations on the reference

    def _complete(self, status: dict | None) -> None:
        """The running operation has ended: apply it to the reference, start the next one;
        when nothing is left, the controller is idle: check the state."""
        op = self.running
        aborted_at = None
        if op.abort:
            if status is None:
                raise StimulusError("an aborted operation must be seen to end by a STATUS read")
            if status["ABORTED"]:
                aborted_at = status["ABORT_SLOT"]
        self.mr_ops += self.oplog.take()
        n_ops = len(self.mr_ops)
        getattr(self, "_apply_" + op.kind)(op, aborted_at)
        if aborted_at is not None:
            self.aborted, self.abort_slot = True, aborted_at
        self.stats.ops[op.kind] = self.stats.ops.get(op.kind, 0) + 1
        self.stats.mr_ops += n_ops - len(self.mr_ops)
        self._start_next()
        if self.running is None:
            self._went_idle()

    def _consume(self, n: int) -> list[dict]:
        ops, self.mr_ops = self.mr_ops[:n], self.mr_ops[n:]
        reads = [o for o in ops if o["kind"] == "read"]
        if reads:                        # the read-out window shows the sequencer's last read
            self.readout = np.asarray(reads[-1]["adc"], np.int64).copy()
        return ops

    def _apply_sample(self, op: Op, aborted_at) -> None:
        c = op.cfg
        self.ref.apply_sample(c["x"], c["e"], c["ucfg"], abort_slot=aborted_at)
        self.upd_slot = self.b.slots - 1 if aborted_at is None else aborted_at
        u = c["ucfg"]
        self._emit("sample", stoch_round=u.stoch_round, code_round=u.code_round,
                   skip_zero=u.skip_zero, k=c["k"], aborted=aborted_at is not None,
                   p16=u.p16, lr_shift=u.lr_shift, n_in=len(c["x"]), n_out=len(c["e"]),
                   synapses=self.geom.synapses)
        since = int(self.ref.samples_since_transfer[0]) & 0xFFFF
        if aborted_at is None and c["k"] != 0 and since == c["k"]:   # RTL: since + 1 == K
            self.queue["transfer"] = Op("transfer", self._latch("transfer"), auto=True)

    def _apply_transfer(self, op: Op, aborted_at) -> None:
        c, ref = op.cfg, self.ref
        before = ref.counters.as_dict(0)
        first_before = int(ref.fail.first[0])
        prog = ReplayProgrammer(self.mr_ops, self.b.slots, self.b.lines, windows=c["windows"])
        used = ref.used.copy()
        if aborted_at is not None:           # the slot at the abort point and later: not visited
            ref.used[:, aborted_at:] = False
        try:
            ref.transfer(c["tcfg"], prog)
        finally:
            ref.used = used
        self._consume(prog.i)
        after = ref.counters.as_dict(0)
        failed = after["failures"] - before["failures"]
        if failed:
            self.failed_busy = True
            if first_before < 0:
                self.fail_kind[0] = (0, 0)
            self.fail_kind[1] = (0, 0)          # verify failures: FORM = 0, POL = 0
        t = c["tcfg"]
        self._emit("transfer", change_aware=t.change_aware, code_round=t.code_round,
                   verify=t.verify_max > 0, auto=op.auto, k=c["k"], aborted=aborted_at is not None,
                   retries=after["vfy_retries"] - before["vfy_retries"], failures=failed,
                   programmed=after["xfer_programmed"] - before["xfer_programmed"])

    def _apply_form(self, op: Op, aborted_at) -> None:
        L, S = self.b.lines, self.b.slots
        target, top = op.cfg["target"], op.cfg["max"]
        ops, i, failures, pulses = self.mr_ops, 0, [], 0

        def expect(kind, slot, pol, mask, what):
            nonlocal i
            if i >= len(ops):
                raise ModelError(f"forming slot {slot} pol {pol}: the RTL did no {what}")
            o = ops[i]
            i += 1
            if (o["kind"] != kind or o["slot"] != slot or not (o["mask"] == mask).all()
                    or not (o["pol"][mask] == bool(pol)).all()):
                raise ModelError(
                    f"forming slot {slot} pol {pol}: expected a {what} on lines "
                    f"{np.nonzero(mask)[0][:8].tolist()}, the RTL did {o['kind']} on slot {o['slot']} "
                    f"lines {np.nonzero(o['mask'])[0][:8].tolist()}")
            return o

        # rtl/hymem_xfer_engine.sv: every slot, G+ then G-: read the lines still to form,
        # pulse those below FORM.TARGET, at most FORM.MAX pulses; the rest are failures
        for s in range(S):
            for pol in (0, 1):
                todo, tries = np.ones(L, bool), 0
                while True:
                    passed = expect("read", s, pol, todo, "forming read")["adc"] >= target
                    left = todo & ~passed
                    if tries == top:
                        failures += [(s * L + int(x), pol) for x in np.nonzero(left)[0]]
                    if not left.any() or tries == top:
                        break
                    tries += 1
                    expect("form", s, pol, left, "forming pulse")
                    pulses += int(left.sum())
                    todo = left
        self._consume(i)
        self.forms += pulses
        ref = self.ref
        ref.counters.failures += len(failures)
        if failures:
            if ref.fail.first[0] < 0:
                ref.fail.first[0] = failures[0][0]
                self.fail_kind[0] = (1, failures[0][1])
            ref.fail.last[0] = failures[-1][0]
            self.fail_kind[1] = (1, failures[-1][1])
            self.failed_busy = True
        self._emit("form", pulses=pulses, failures=len(failures))

    def _apply_wake(self, op: Op, aborted_at) -> None:
        res = self.ref.wake(op.cfg["cycles"])
        self.wakes += res.passes
        self.woken = True
        self._emit("wake", cycles=op.cfg["cycles"], rows=res.visits // max(res.passes, 1))

    def _apply_readout(self, op: Op, aborted_at) -> None:
        s, pol = op.cfg["slot"], op.cfg["pol"]
        if not self.mr_ops:
            raise ModelError(f"read-out of slot {s} pol {pol}: the RTL did no memristor read")
        o = self.mr_ops[0]
        if o["kind"] != "read" or o["slot"] != s or not o["mask"].all() or not (o["pol"] == bool(pol)).all():
            raise ModelError(f"read-out of slot {s} pol {pol} on every line: the RTL did {o['kind']} on "
                             f"slot {o['slot']} ({int(o['mask'].sum())} lines)")
        self._consume(1)
        self._emit("readout", slot=s, pol=pol)

    # -------------------------------------------------- a reset cut an operation

    #: LOST.OP of each operation (the RDL's enum hymem_lost_op_e)
    LOST_OP = {kind: int(getattr(regmap.load().enum("LOST.OP"), name)) for kind, name in
               (("sample", "SAMPLE"), ("transfer", "TRANSFER"), ("form", "FORM"),
                ("readout", "READOUT"), ("wake", "WAKE"))}

    def check_cut(self, lost: int) -> dict:
        """After a reset cut an operation (:meth:`hard_reset`): ``lost``, the LOST register
        read back, must name that operation (and MULTI whether LOST held something before),
        and the array, measured against the reference, may differ from its state before the
        operation only where the operation would have changed it, or in the rows LOST
        reports: every FeCAP row outside them holds its value before or after the operation
        (a sample: rows of slots before SLOT hold the value after it, of later slots the value
        before, of SLOT either; a transfer: data rows unchanged, flags only cleared, in slots
        up to SLOT; a wake-up: its rows hold their value before or 0; forming, read-out:
        nothing changed). The macro model's pending rows must
        be reported too. Returns what was found: cells of the reported rows that hold neither
        value (bits lost), rows reported, hidden weights affected."""
        cut = self.cut
        if cut is None:
            raise StimulusError("check_cut without a reset that cut an operation")
        op, g = cut["op"], self.geom
        R, S, L = g.rows_per_synapse, g.slots, g.lines
        f = self.r.rm["LOST"].unpack(lost)
        where = f"reset during a {op.kind}: LOST = {lost:#010x} {f}"
        if f["OP"] != self.LOST_OP[op.kind]:
            raise ModelError(f"{where}: OP should be {self.LOST_OP[op.kind]} ({op.kind})")
        if f["MULTI"] != int(cut["multi"]):
            raise ModelError(f"{where}: MULTI should be {int(cut['multi'])}")
        slot = f["SLOT"]
        if slot >= S:
            raise ModelError(f"{where}: SLOT beyond the build's {S} slots")
        if f["ROWS"] >> R:
            raise ModelError(f"{where}: ROWS names rows beyond the {R} data rows of a slot")
        reported = {g.data_row(slot, k) for k in range(R) if (f["ROWS"] >> k) & 1}
        if f["FLAG"]:
            reported.add(g.flag_row(slot))
        before = cut["before"]
        now = self.array.backdoor.fecap_bits()
        after = before.copy()
        subset_ok = np.zeros(len(before), bool)     # rows that may only lose ones (flags)
        data_slot = lambda r: r // R if r < S * R else (r - S * R if r < S * R + S else None)  # noqa: E731
        if op.kind == "sample":
            st = copy.deepcopy(cut["ref"])
            c = op.cfg
            st.apply_sample(c["x"], c["e"], c["ucfg"])
            h = st.h[0]
            rows = engine.encode_slot((h < 0).astype(np.int64), np.abs(h), g)   # (S, R, L)
            after[: S * R] = rows.reshape(S * R, L)
            after[g.flag_row(0): g.flag_row(0) + S] = st.flags[0]
        elif op.kind == "transfer":
            for s_ in range(slot + 1):
                subset_ok[g.flag_row(s_)] = True
        woke = set(cut["ref"].wake_rows(0)) if op.kind == "wake" else set()
        for r_ in woke:
            after[r_] = False
        # slots whose hidden weights the operation leaves as they were: the RTL may leave their
        # rows untouched (a skipped slot) even where they are not the canonical encoding the
        # reference writes (e.g. rows a cut wake-up left half erased)
        dec = lambda a: engine.decode_slot(a[: S * R].reshape(S, R, L), g)      # noqa: E731
        sgn = lambda sm: np.where(sm[0].astype(bool), -sm[1], sm[1])           # noqa: E731
        same_h = (sgn(dec(before)) == sgn(dec(after))).all(axis=1)             # (S,)
        changed_rows, bad = 0, []
        lost_cells = 0
        for r in range(len(before)):
            sl = data_slot(r)
            is_before = (now[r] == before[r]).all()
            is_after = (now[r] == after[r]).all()
            changed_rows += int(not is_before)
            if r in reported:
                lost_cells += int(((now[r] != before[r]) & (now[r] != after[r])).sum())
                continue
            if subset_ok[r]:
                ok = not (now[r] & ~before[r]).any()
            elif r in woke:
                ok = is_before or is_after
            elif op.kind == "sample" and sl is not None:
                ok = ((is_after or (is_before and r < S * R and same_h[sl])) if sl < slot
                      else is_before if sl > slot else (is_before or is_after))
            else:
                ok = is_before
            if not ok:
                bad.append(r)
        if bad:
            def show(a, r0, r1):
                return " ".join("".join(str(int(x)) for x in a[r]) for r in range(r0, r1))
            sl = data_slot(bad[0])
            r0, r1 = (sl * R, sl * R + R) if sl is not None and bad[0] < S * R else (bad[0], bad[0] + 1)
            raise ModelError(f"{where}: FeCAP rows {bad[:8]} changed and not reported; rows "
                             f"{r0}..{r1 - 1} (a row per word, line 0 first): before "
                             f"{show(before, r0, r1)}; after {show(after, r0, r1)}; now "
                             f"{show(now, r0, r1)}")
        pending = set(self.array.backdoor.pending_rows())
        if not pending <= reported:
            raise ModelError(f"{where}: the macro has rows {sorted(pending - reported)} pending "
                             "write-back that LOST does not report")
        # hidden weights that are neither their value before nor after the operation
        hb = engine.decode_slot(before[: S * R].reshape(S, R, L), g)
        ha = engine.decode_slot(after[: S * R].reshape(S, R, L), g)
        hn = engine.decode_slot(now[: S * R].reshape(S, R, L), g)
        val = lambda sm: np.where(sm[0].astype(bool), -sm[1], sm[1])   # noqa: E731
        weights = int(((val(hn) != val(hb)) & (val(hn) != val(ha))).sum())
        self.r.load("LOST", lost)
        self.cut = None
        return dict(op=op.kind, slot=slot, rows_reported=len(reported), rows_changed=changed_rows,
                    lost_cells=lost_cells, weights=weights, pending=len(pending))

    # ------------------------------------------------------------- idle checks

    def _went_idle(self) -> None:
        """Nothing runs or is queued: DONE (and FAIL) are set, and the arrays must hold exactly
        what the reference holds."""
        r = self.r
        # a W1C while the model thought the controller busy may have come after the set
        r.set("IRQ_STATUS", "DONE", 1, known="DONE" not in self.w1c_busy)
        if self.failed_busy:
            r.set("IRQ_STATUS", "FAIL", 1, known="FAIL" not in self.w1c_busy)
        elif not r.known[("IRQ_STATUS", "FAIL")]:   # nothing can have set it
            r.set("IRQ_STATUS", "FAIL", 0)
        self.w1c_busy.clear()
        self.failed_busy = False
        self.mr_ops += self.oplog.take()
        self._check_consumed("the controller is idle")
        h = self.array.backdoor.hidden_weights()
        if not (h == self.ref.h[0]).all():
            bad = np.argwhere(h != self.ref.h[0])[:6].tolist()
            raise ModelError(f"hidden weights differ from hymem.digital.engine at (slot, line) {bad}: RTL "
                             f"{[int(h[s, l]) for s, l in bad]}, reference "
                             f"{[int(self.ref.h[0][s, l]) for s, l in bad]}")
        fl = self.array.backdoor.flags()
        if not (fl == self.ref.flags[0]).all():
            bad = np.argwhere(fl != self.ref.flags[0])[:6].tolist()
            raise ModelError(f"change flags differ from hymem.digital.engine at (slot, line) {bad}")
        self.quiescent()
        self.stats.state_checks += 1

    def _check_consumed(self, when: str) -> None:
        if self.mr_ops:
            o = self.mr_ops[0]
            raise ModelError(f"{when}: the RTL did {len(self.mr_ops)} memristor operations the "
                             f"reference did not; first: {o['kind']} on slot {o['slot']}")
