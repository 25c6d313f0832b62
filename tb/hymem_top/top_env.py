"""pyuvm environment of hymem_top: macro model, clock/reset, scoreboard, coverage, env.

    HymemEnv
    |-- apb: ApbAgent (top_apb)        sequencer -> ApbDriver (cocotbext-apb ApbHost) -> pins
    |                                  ApbMonitor (pins) --ap--+--> Scoreboard --events--> Coverage
    |-- clkrst: ClockReset             clock, rst_ni --ap-------+
    |-- macro: MacroSide               hymem.analog.array.HybridArray on the macro port (MacroPortModel),
    |                                  its memristor operations logged (hymem.sim.scoreboard.OpLog)
    |-- scoreboard: Scoreboard         calls the reference model (top_model) for every transfer
    `-- coverage: Coverage             bins from the scoreboard's events; a test's goal bins

The sequences reach the environment through one :class:`TbContext` in the ConfigDB
("CTX"): the sequencer, the register model, the build, the random generator, the clock,
the reset component and the macro model (for backdoor set-up).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from pyuvm import (ConfigDB, UVMConfigItemNotFound, uvm_analysis_port, uvm_component, uvm_env,
                   uvm_subscriber)

from hymem.analog.array import HybridArray
from hymem.host import regmap
from hymem.sim import tbkit
from hymem.host.firmware import FAST_TIMING_CLK_NS
from hymem.sim.macro_port import MacroPortModel
from hymem.sim.scoreboard import OpLog

from top_apb import ApbAgent, ApbTxn
from hymem.host.regmodel import RegModel
from top_model import Build, Controller, ModelError


@dataclass
class TbContext:
    build: Build
    rm: regmap.RegMap
    rng: np.random.Generator
    clk: object
    model: Controller | None = None       # set by the scoreboard
    seqr: object = None
    clkrst: "ClockReset" = None
    macro: "MacroSide" = None
    storm: dict | None = None             # the reset storm's counts (ResetStormSeq)


def ctx() -> TbContext:
    return ConfigDB().get(None, "", "CTX")


# ------------------------------------------------------------------- macro side


class MacroSide(uvm_component):
    """The macro model on the top's macro port. ConfigDB "PRISTINE": unformed memristors."""

    def build_phase(self):
        c = ctx()
        try:
            pristine = bool(ConfigDB().get(self, "", "PRISTINE"))
        except UVMConfigItemNotFound:
            pristine = False
        self.array = HybridArray(c.build.geom, rng=int(c.rng.integers(2**31)),
                                       formed=not pristine, woken=True)
        self.oplog = OpLog(self.array)
        c.macro = self

    def start(self) -> None:
        """Called by ClockReset while rst_ni is low (the port is quiescent, whatever the
        previous test left running)."""
        self.port = MacroPortModel(cocotb.top, self.array).start()

    def quiescent(self) -> None:
        self.port.check_quiescent()

    @contextlib.contextmanager
    def tolerate(self):
        """Macro protocol errors inside the block are recorded, not raised (a reset cuts a
        pulse short, or drops a word line with its pulse). Yields the list they go to."""
        seen: list = []
        try:
            with self.port.expect_error() as exp:
                try:
                    yield seen
                finally:
                    seen.extend(exp.seen)
        except AssertionError as e:            # none occurred: fine here
            if "expected a macro protocol error" not in str(e):
                raise


# ---------------------------------------------------------------- clock and reset


class ClockReset(uvm_component):
    """Clock (4 MHz, firmware.FAST_TIMING's) and rst_ni; every reset is published on ``ap``."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        ctx().clkrst = self

    async def start(self) -> None:
        """Power-up: por_ni and rst_ni low together, then released."""
        d = cocotb.top
        for n in ("psel_i", "penable_i", "pwrite_i", "paddr_i", "pwdata_i", "pstrb_i", "pprot_i"):
            getattr(d, n).value = 0
        # the C++ (GPI) clock: cocotb 2.1's default without COCOTB_TRUST_INERTIAL_WRITES is a
        # Python task per edge, a quarter of this testbench's run time on either simulator
        d.rst_ni.value = 0
        d.por_ni.value = 0
        Clock(d.clk_i, FAST_TIMING_CLK_NS, unit="ns", impl="gpi").start(start_high=False)
        await ClockCycles(d.clk_i, 2)
        ctx().macro.start()
        await self.reset()
        d.por_ni.value = 1

    async def reset(self, cycles: int = 2) -> None:
        """rst_ni low from now for ``cycles`` rising edges. The scoreboard hears of it half a
        cycle after the release: once the macro model has taken what the reset edge did to
        the port (a pulse cut short ends in that edge's time step, after this coroutine
        resumes in it)."""
        d = cocotb.top
        d.rst_ni.value = 0
        await ClockCycles(d.clk_i, cycles)
        d.rst_ni.value = 1
        await FallingEdge(d.clk_i)
        self.ap.write("reset")
        await RisingEdge(d.clk_i)


# --------------------------------------------------------------------- scoreboard


class Scoreboard(uvm_subscriber):
    """Every APB transfer against the reference model (top_model): PSLVERR and its ERR code,
    every read value (bits the model cannot fix while an operation runs are masked and
    counted), wait states, irq_o; at every idle point the model compares hidden weights and
    flags with the macro backdoor and has matched every memristor operation.
    A mismatch raises at once (the monitor's task fails the test): after a divergence every
    later prediction would be noise."""

    def build_phase(self):
        self.events = uvm_analysis_port("events", self)
        self.reset_export = uvm_subscriber.uvm_AnalysisImp("reset_export", self, self.on_reset)
        self.log_txns = False

    def end_of_elaboration_phase(self):
        c = ctx()
        self.ctx = c
        self.regs = RegModel(c.rm, c.build.values())
        m = c.macro
        self.model = Controller(c.build, self.regs, m.array, m.oplog, m.quiescent)
        c.model = self.model
        self.status_addr = c.rm["STATUS"].addr
        self.n = 0

    def on_reset(self, _):
        self.model.hard_reset()
        self._forward()

    def _fail(self, txn: ApbTxn, what: str):
        msg = f"transfer {self.n} ({txn}): {what}"
        self.logger.error(msg)
        raise ModelError(msg)

    def write(self, txn: ApbTxn):
        m = self.model
        self.n += 1
        if self.log_txns:
            self.logger.info(str(txn))
        exp = m.irq_expect()
        if exp is not None:
            m.stats.irq_checked += 1
            if txn.irq != exp:
                self._fail(txn, f"irq_o = {txn.irq}, the model expects {exp} "
                                f"(IRQ_STATUS {self._irq_str()}, IRQ_ENABLE {m.r.value('IRQ_ENABLE'):03b})")
            if exp:
                en = m.r.value("IRQ_ENABLE")
                srcs = [f.name for f in m.r.rm["IRQ_STATUS"].fields if (en >> f.lsb) & 1
                        and m.r.known[("IRQ_STATUS", f.name)] and m.r.q[("IRQ_STATUS", f.name)]]
                if len(srcs) == 1:
                    m.events.append(("irq", dict(source=srcs[0])))
        if not txn.write and not txn.slverr and txn.addr == self.status_addr:
            try:
                m.observe_status(txn.rdata)
            except ModelError as e:
                self._fail(txn, str(e))
        try:
            pred = m.access(txn.write, txn.addr, txn.wdata, txn.strb)
        except ModelError as e:
            self._fail(txn, str(e))
        if bool(txn.slverr) != bool(pred.code):
            self._fail(txn, f"PSLVERR = {txn.slverr}, the model expects "
                            f"{'ERR ' + str(pred.code) + ' (' + m.r.rm.error_codes[pred.code] + ')' if pred.code else 'no error'}")
        # (a transfer the requester changed on the way waited for what it was before)
        if pred.waits is True and txn.waits == 0 and not txn.faulty:
            self._fail(txn, "no wait states, the model expects the access to wait for the running read-out")
        if pred.waits is False and txn.waits and not txn.faulty:
            self._fail(txn, f"{txn.waits} wait states; only READOUT reads during a read-out may wait")
        if not txn.write and not pred.code:
            if (txn.rdata ^ pred.value) & pred.mask:
                self._fail(txn, f"read {txn.rdata:#010x}, the model predicts {pred.value:#010x} "
                                f"(mask {pred.mask:#010x})")
            if pred.mask == 0xFFFF_FFFF:
                m.stats.reads_exact += 1
            else:
                m.stats.reads_masked += 1
        try:
            m.commit(txn.write, txn.addr, txn.wdata, txn.strb, pred)
        except ModelError as e:
            self._fail(txn, str(e))
        self._forward()

    def _irq_str(self) -> str:
        r = self.model.r
        return " ".join(f"{f.name}={r.q[('IRQ_STATUS', f.name)] if r.known[('IRQ_STATUS', f.name)] else '?'}"
                        for f in r.rm["IRQ_STATUS"].fields)

    def _forward(self):
        ev, self.model.events = self.model.events, []
        for e in ev:
            self.events.write(e)

    def report_phase(self):
        s = self.model.stats
        self.logger.info(
            f"scoreboard: {self.n} APB transfers; reads fully predicted {s.reads_exact}, with bits "
            f"masked while an operation ran {s.reads_masked}; writes {s.writes}; rejected {s.rejected} "
            f"(ERR read back for {s.err_checked}, overwritten unread {s.err_unchecked}); irq_o checked "
            f"{s.irq_checked}; idle-state checks {s.state_checks}; memristor operations matched "
            f"{s.mr_ops}; operations {dict(sorted(s.ops.items()))}")


# ---------------------------------------------------------------------- coverage


#: The controller's operations (STATUS, the command queue, the reset storm's kinds).
OPERATIONS = ("sample", "transfer", "form", "readout")


def verify_over_limit(build: Build, rm: regmap.RegMap) -> bool:
    """Whether MODE.VERIFY_MAX can hold a value above the build's VerifyLimit (ERR 9)."""
    return build.verify_limit < (1 << rm["MODE"].field("VERIFY_MAX").width) - 1


def build_err_reachable(build: Build, rm: regmap.RegMap) -> bool:
    """Whether ERR 9 (not in this build) can happen: a VERIFY_MAX above the limit, or a
    vector buffer shallower than its window (rtl/hymem_regs.rdl, ERR codes). Not at the
    largest build (VerifyLimit 255, XDepth 256, EDepth 128)."""
    return (verify_over_limit(build, rm) or build.xdepth < 4 * rm.mem("XBUF").words
            or build.edepth < 4 * rm.mem("EBUF").words)


def all_bins(build: Build, rm: regmap.RegMap) -> list[str]:
    """Every functional-coverage bin of a build, most of them generated from the register
    description (commands, error codes, interrupt sources, registers and windows).

    Crosses: operation x mode (``sample.mode``: stochastic rounding x code rounding x skip
    zero; ``transfer.mode``: change-aware x round x verify, i.e. published, change-aware,
    round, verify and their combinations), configuration corners (``sample.p16``,
    ``sample.shift``, tile, ``k``), queue states (``queue.<queued>.behind_<running>``: each
    command queued behind each running operation), abort points (``abort.*``) and reset
    points (``reset.<operation>``: rst_ni inside each operation, and while idle)."""
    b = [f"sample.mode=sr{sr}_cr{cr}_sz{sz}" for sr in (0, 1) for cr in (0, 1) for sz in (0, 1)]
    b += ["sample.p16=0", "sample.p16=1", "sample.p16=mid", "sample.shift=0", "sample.shift>16",
          "sample.tile=full", "sample.tile=partial", "sample.n_in=1",
          "k=0", "k=1.auto_transfer", "k>1.auto_transfer"]
    vfy = (0, 1) if build.verify_limit else (0,)
    b += [f"transfer.mode=ca{ca}_cr{cr}_vfy{v}" for ca in (0, 1) for cr in (0, 1) for v in vfy]
    if build.verify_limit:
        b += ["verify.retry", "verify.failure"]
    b += [f"cmd.{f.name}" for f in rm["CMD"].fields]
    b += [f"queued.{k}" for k in OPERATIONS + ("wake",)]
    b += ["wake.done"]
    b += [f"queue.{k}.behind_{r}" for r in OPERATIONS for k in OPERATIONS]
    b += [f"reset.{k}" for k in OPERATIONS + ("idle",)]
    b += [f"err.{c}" for c in sorted(rm.error_codes)
          if c and (c != rm.err("BUILD") or build_err_reachable(build, rm))]
    b += [f"irq.{f.name}" for f in rm["IRQ_STATUS"].fields]          # irq_o from this source
    b += [f"w1c.{f.name}" for f in rm["IRQ_STATUS"].fields]          # a set bit cleared by W1C
    b += [f"readout.slot{s}.{'G-' if p else 'G+'}" for s in range(build.slots) for p in (0, 1)]
    b += ["readout.wait", "readout.wait_queued", "abort.sample", "abort.idle",
          "abort.dropped_queue", "abort.with_command", "form.pulses", "form.failure"]
    if build.slots > 1:     # the transfer engine takes an abort at a slot's start from slot 1 on
        b.append("abort.transfer")
    b += [f"reg.{r.name}.{d}" for r in rm.registers for d, ok in (("rd", r.sw_readable),
                                                                    ("wr", r.sw_writable)) if ok]
    b += [f"mem.{m.name}.{d}" for m in rm.memories for d, ok in (("rd", m.sw_read),
                                                                  ("wr", m.sw_write)) if ok]
    return b


#: Bins hit by every test of this simulation run so far (the closure test checks them).
TOTAL: Counter = Counter()
#: bin -> the tests of this simulation run that hit it (the closure test's report).
HIT_BY: dict[str, set[str]] = {}


def sample_bins(i: dict) -> list[str]:
    out = [f"sample.mode=sr{int(i['stoch_round'])}_cr{int(i['code_round'])}_sz{int(i['skip_zero'])}"]
    out.append("sample.p16=0" if i["p16"] == 0 else "sample.p16=1" if i["p16"] == 65536
               else "sample.p16=mid")
    if i["lr_shift"] == 0:
        out.append("sample.shift=0")
    elif i["lr_shift"] > 16:
        out.append("sample.shift>16")
    n = i["n_in"] * i["n_out"]
    out.append("sample.tile=full" if n == i["synapses"] else "sample.tile=partial")
    if i["n_in"] == 1:
        out.append("sample.n_in=1")
    if i["k"] == 0:
        out.append("k=0")
    return out


class Coverage(uvm_subscriber):
    """Functional coverage from the scoreboard's events. ConfigDB "COVERAGE_GOALS": the bins
    this test sets out to hit; a goal bin left at zero fails the test (check phase). Every
    test's bins also go into :data:`TOTAL` for the closure test."""

    def end_of_elaboration_phase(self):
        c = ctx()
        self.bins = Counter({name: 0 for name in all_bins(c.build, c.rm)})
        self.test = type(self.get_parent().get_parent()).__name__
        try:
            self.goals = list(ConfigDB().get(self, "", "COVERAGE_GOALS"))
        except UVMConfigItemNotFound:
            self.goals = []
        unknown = [g for g in self.goals if g not in self.bins]
        assert not unknown, f"coverage goals that are not bins of this build: {unknown}"

    #: Events whose bin is the event's name and one field's value.
    BIN_FIELD = {"cmd": "name", "queued": "kind", "err": "code", "irq": "source",
                 "w1c": "name", "abort": "what"}

    def hit(self, name: str) -> None:
        if name not in self.bins:
            raise KeyError(f"coverage bin {name!r} does not exist")
        self.bins[name] += 1

    def write(self, event):
        name, i = event
        if name == "sample":
            if i["aborted"]:
                self.hit("abort.sample")
            else:
                for b in sample_bins(i):
                    self.hit(b)
        elif name == "transfer":
            self.hit(f"transfer.mode=ca{int(i['change_aware'])}_cr{int(i['code_round'])}_vfy{int(i['verify'])}")
            if i["auto"]:
                self.hit("k=1.auto_transfer" if i["k"] == 1 else "k>1.auto_transfer")
            if i["aborted"]:
                self.hit("abort.transfer")
            if i["retries"]:
                self.hit("verify.retry")
            if i["failures"] and i["verify"]:
                self.hit("verify.failure")
        elif name in self.BIN_FIELD:          # bin "<event>.<value of its field>"
            self.hit(f"{name}.{i[self.BIN_FIELD[name]]}")
            # the queue cross covers the four operations of the cross sequence; the wake-up's
            # queueing has its own bins (queued.wake, WakeTest)
            if name == "queued" and i.get("behind") in OPERATIONS and i["kind"] in OPERATIONS:
                self.hit(f"queue.{i['kind']}.behind_{i['behind']}")
        elif name == "readout":
            self.hit(f"readout.slot{i['slot']}.{'G-' if i['pol'] else 'G+'}")
        elif name == "readout_wait":
            self.hit("readout.wait" if i["behind"] == "readout" else "readout.wait_queued")
        elif name == "form":
            if i["pulses"]:
                self.hit("form.pulses")
            if i["failures"]:
                self.hit("form.failure")
        elif name == "wake":
            self.hit("wake.done")
        elif name == "access":
            self.hit(f"{'mem' if i['mem'] else 'reg'}.{i['name']}.{'wr' if i['write'] else 'rd'}")

    def report_phase(self):
        storm = ctx().storm or {}                 # resets inside each operation (ResetStormSeq)
        for k in OPERATIONS + ("idle",):
            self.bins[f"reset.{k}"] += storm.get(f"reset.{k}", 0)
        TOTAL.update({k: v for k, v in self.bins.items()})
        for k, v in self.bins.items():
            if v:
                HIT_BY.setdefault(k, set()).add(self.test)
        hit = sum(1 for v in self.bins.values() if v)
        goals_hit = sum(1 for g in self.goals if self.bins[g])
        self.logger.info(f"coverage of this test: {hit}/{len(self.bins)} bins hit; goals "
                         f"{goals_hit}/{len(self.goals)}: "
                         + ", ".join(f"{g}={self.bins[g]}" for g in self.goals))

    def check_phase(self):
        missed = [g for g in self.goals if not self.bins[g]]
        assert not missed, f"coverage goals missed: {missed}"


def coverage_table(bins: Counter, goals=(), by: dict | None = None) -> str:
    """Bins grouped by their prefix, with hit counts (* = a goal) and, given ``by`` (bin ->
    tests), the tests that hit each."""
    lines = []
    for k, v in bins.items():
        who = f"  {', '.join(sorted(by.get(k, ())))}" if by is not None else ""
        lines.append(f"  {'*' if k in goals else ' '} {'MISS' if not v else '    '} {k:34s} {v:6d}{who}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- env


class HymemEnv(uvm_env):
    def build_phase(self):
        p = tbkit.params()
        rng = tbkit.rng()
        c = TbContext(build=Build.from_params(p), rm=regmap.load(), rng=rng, clk=cocotb.top.clk_i)
        ConfigDB().set(None, "*", "CTX", c)
        ConfigDB().set(None, "*", "APB_SEED", int(rng.integers(2**24)))
        self.apb = ApbAgent("apb", self)
        self.clkrst = ClockReset("clkrst", self)
        self.macro = MacroSide("macro", self)
        self.scoreboard = Scoreboard("scoreboard", self)
        self.coverage = Coverage("coverage", self)

    def connect_phase(self):
        self.apb.ap.connect(self.scoreboard.analysis_export)
        self.clkrst.ap.connect(self.scoreboard.reset_export)
        self.scoreboard.events.connect(self.coverage.analysis_export)
        ctx().seqr = self.apb.seqr
