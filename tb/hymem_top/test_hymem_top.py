"""hymem_top: the pyuvm environment of the whole controller behind APB4.

The environment (top_env.HymemEnv) follows pyuvm's TinyALU example:

* an APB agent (top_apb): sequencer, a driver on cocotbext-apb's ``ApbHost`` (parked while
  the bus is idle), and a monitor of the pins with APB4 protocol checks;
* the macro model (``hymem.analog.array.HybridArray``) on the macro port, its memristor operations
  logged (``hymem.sim.scoreboard.OpLog``);
* a scoreboard that calls a plain reference model (top_model): the register model built
  from ``hymem.host.regmap`` (the RDL) and the controller model on ``hymem.digital.engine``, whose
  transfers are replayed against the RTL's memristor operations
  (``hymem.sim.scoreboard.ReplayProgrammer``); every read, PSLVERR, ERR code, wait state and
  the level of irq_o are predicted, and hidden weights and flags are compared with the
  macro's backdoor whenever the controller is idle;
* a functional-coverage collector fed by the scoreboard's events (modes, configurations,
  commands, error codes, interrupts, W1C, queueing, aborts, read-outs, every register and
  window accessed).

Each test below is a pyuvm test (a cocotb test of the same name: COCOTB_TEST_FILTER=BusyTest
runs one) that starts the clock and the reset and runs its sequences (top_sequences); its
``goals`` are coverage bins it must hit. The last test, CoverageClosureTest, prints the
coverage of the whole run and fails on any bin no test hit (when every test ran).

Register tests here are integration tests through the whole top, generated from the RDL;
the register block's own exhaustive tests (every strobe, every field kind, pulses, hardware
set against W1C) are tb/hymem_regs', the RDL's consistency tb/test_regmap.py's.
"""

from __future__ import annotations

import json
import os
import re

import cocotb

import pytest
import pyuvm
from pyuvm import ConfigDB, uvm_test

from hymem.host import regmap
from hymem.sim import covwaivers, simrun, tbkit

import top_env
from top_env import HymemEnv, all_bins, coverage_table, ctx
from top_model import Build
import top_sequences as S

TOPLEVEL = "hymem_top"
FUNCOV_FILE = simrun.FUNCOV_FILE

#: Parameter sets: "small" runs every test on both simulators (VerifyLimit > 0 for the
#: verify modes, buffers shallower than their windows for ERR 9). "default", the published
#: geometry (128 lines: the full-width READOUT window, HWCFG at the defaults), runs
#: SMOKE_TESTS on Icarus only: Icarus simulates it about 8x slower than the small build,
#: and a Verilator build of it costs about a minute and a half of CPU from a cold cache.
PARAM_SETS = {
    "small": dict(Lines=16, Slots=4, FecapRows=64, XDepth=64, EDepth=32, VerifyLimit=2),
    "default": {},
}
SMOKE_TESTS = ("IdentityTest", "SmokeTest", "ReadoutTest")
#: Parameter corners (docs/coverage.md, "Parameter corners"), on Verilator only and with the
#: fixed seed only (`corner`: a build each, for the parameters; FULL=1 runs both seeds on
#: both simulators): the smallest build chk_build accepts (2 lines, 1 slot, MagWidth 4 and
#: its 10 FeCAP rows, buffers of 8, no verify retries, one synapse per cycle): every block
#: at its smallest integrated parameters, every test (the reset storm shortened to
#: CORNER_STORM_RESETS); and the largest.
CORNER_SETS = {
    "min": dict(Lines=2, Slots=1, MagWidth=4, FecapRows=10, XDepth=8, EDepth=8, VerifyLimit=0,
                SynPerCycle=1),
    # the largest the register map allows (chk_regmap) on the published geometry: MagWidth 15
    # (its 168 FeCAP rows, Slots * (RowsPerSyn + 1), chk_build), VerifyLimit 255, one update
    # lane per line (SynPerCycle = Lines)
    "max": dict(MagWidth=15, FecapRows=168, VerifyLimit=255, SynPerCycle=128),
}
#: what each corner runs: at "min" every test; at "max" the smoke tests but ReadoutTest (every
#: row through the 128-line READOUT window: the default build's, which it shares; SmokeTest
#: reads two rows) and the tests of the paths the corner widens (the update and its
#: saturations at MagWidth 15 with 128 lanes, transfers with verify, MODE.VERIFY_MAX up to
#: 255, the wake-up engine over the 21 rows a synapse of MagWidth 15 has: +1.3 s of CPU),
#: within the CPU `make test` allows a corner (docs/coverage.md)
CORNER_TESTS = {
    "min": None,
    "max": ("IdentityTest", "SmokeTest", "SampleTest", "TransferTest", "IllegalConfigTest",
            "WakeTest"),
}
#: resets inside an operation in a corner's ResetStormTest: enough that every kind and a
#: reset while idle (a closure bin) happen: at "min" 13 % to 18 % of the tries land while
#: idle (measured), none in the about 170 tries of 150 resets has probability below 1e-10
CORNER_STORM_RESETS = 150
#: corners that run short stimulus (HYMEM_TOP_SHORT: TransferTest's tiles of one slot)
CORNER_SHORT = ("max",)
#: corners `make coverage` leaves out: the 128-lane, MagWidth 15 build costs about 190 s of CPU
#: to compile cold (-O1) and its lines are the published build's, wider (docs/coverage.md)
CORNER_NO_COVERAGE = ("max",)
#: Resets inside an operation made by ResetStormTest per run, by simulator: the small build
#: runs the fixed seed on both simulators and the random seed on Verilator (tb/conftest.py),
#: so a full regression (`make test`) makes 150 + 2 x 425 = 1,000 (the issue's minimum), plus
#: the resets that found the operation already ended (about one in five). More on Verilator: a storm costs about 2.5x the CPU
#: time per reset on Icarus (measured: 31 s and 12 s user time for 250 resets).
#: HYMEM_STORM_RESETS overrides it (debugging).
STORM_RESETS = {"icarus": 150, "verilator": 425}


def storm_resets() -> int:
    if os.environ.get("HYMEM_STORM_RESETS"):
        return int(os.environ["HYMEM_STORM_RESETS"])
    sim = (cocotb.SIM_NAME or "").lower()
    return next(n for k, n in STORM_RESETS.items() if k in sim)
SMOKE_SIMS = ("icarus",)

#: Tests that ran in this simulation (the closure check needs all of them).
RAN: set[str] = set()


class HymemTest(uvm_test):
    """Base test: the environment, clock and reset, then ``sequences()`` in order."""

    pristine = False
    #: STATUS.WOKEN at the start: the macro model is built woken, so CMD.WOKEN tells the
    #: controller (DeclareWokenSeq); WakeTest starts un-woken and runs the wake-up
    woken = True

    def goals(self, build: Build, rm: regmap.RegMap) -> list[str]:
        return []

    def sequences(self) -> list:
        return []

    def build_phase(self):
        build, rm = Build.from_params(tbkit.params()), regmap.load()
        waivers = covwaivers.bin_waivers(TOPLEVEL)     # a waived bin is nobody's goal
        ConfigDB().set(None, "*", "COVERAGE_GOALS", [g for g in self.goals(build, rm)
                                                      if not covwaivers.waived_bin(TOPLEVEL, g, waivers)])
        ConfigDB().set(None, "*", "PRISTINE", self.pristine)
        self.env = HymemEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        await self.env.clkrst.start()
        seqs = self.sequences()
        if self.woken:
            seqs = [S.DeclareWokenSeq()] + seqs
        for seq in seqs:
            await seq.start(ctx().seqr)
        self.drop_objection()

    def check_phase(self):
        m = ctx().model
        assert not m.busy, "the test ended with an operation running or queued"
        assert self.env.apb.monitor.count > 0
        chk = self.env.apb.monitor.checker        # the APB protocol assertions ran
        assert not chk.tolerate_requester
        assert all(chk.checks[r] > 0 for r in ("apb.3", "apb.4", "apb.6", "apb.7")), chk.checks
        RAN.add(type(self).__name__)


def _bins(build, rm, prefix: str) -> list[str]:
    return [b for b in all_bins(build, rm) if b.startswith(prefix)]


def _errs(rm, *names: str) -> list[str]:
    E = {v: k for k, v in rm.error_codes.items()}
    return [f"err.{E[n]}" for n in names]


@pyuvm.test()
class IdentityTest(HymemTest):
    """ID and HWCFG0..2 equal the build parameters; every register and READOUT word reads
    its reset value (the scoreboard predicts each from the RDL and the build)."""

    def goals(self, build, rm):
        return [f"reg.{r.name}.rd" for r in rm.registers if r.sw_readable]

    def sequences(self):
        return [S.IdentitySeq(), S.ResetValuesSeq()]


@pyuvm.test()
class RegisterTest(HymemTest):
    """Register tests generated from the RDL, through the top: rw masks, read-only and
    write-only accesses, misaligned and unmapped addresses, vector words beyond the build,
    ERR capture and CMD.ERR_CLEAR, IRQ_STATUS.ERROR W1C; a hard reset restores every reset
    value."""

    def goals(self, build, rm):
        return (_errs(rm, "unmapped address", "write to a read-only register",
                      "read of a write-only register", "misaligned address")
                + ["cmd.ERR_CLEAR", "w1c.ERROR"]
                + [f"reg.{r.name}.wr" for r in rm.registers if r.sw_writable])

    def sequences(self):
        return [S.RwMasksSeq(), S.AccessErrorsSeq(), S.HardResetSeq()]


@pyuvm.test()
class IllegalConfigTest(HymemTest):
    """Every hymem_cfg_check rule: rejected with its code, nothing changed; legal boundaries."""

    def goals(self, build, rm):
        return _errs(rm, "illegal value", *(["not in this build"]
                                            if top_env.verify_over_limit(build, rm) else []))

    def sequences(self):
        return [S.IllegalConfigSeq()]


@pyuvm.test()
class BusyTest(HymemTest):
    """Busy rules: configuration and buffer writes while a sample runs or is queued (6),
    SEED_LOAD while busy (6), commands queued one of each (a second SAMPLE right behind the
    first queues, a third gets 7); queued commands run transfers first; READOUT reads wait
    for a running and for a queued read-out. Then every command queued behind every running
    operation (S.QueueCrossSeq)."""

    def goals(self, build, rm):
        return (_errs(rm, "busy", "command queue slot taken") + ["readout.wait", "readout.wait_queued"]
                + [q for q in _bins(build, rm, "queued.") if q != "queued.wake"]   # WakeTest's
                + _bins(build, rm, "queue."))

    def sequences(self):
        return [S.BusySeq(), S.QueueCrossSeq()]


@pyuvm.test()
class SmokeTest(HymemTest):
    """The firmware's basic flow on the whole array: sample, transfer, read-out, counters."""

    def goals(self, build, rm):
        return ["cmd.SAMPLE", "cmd.TRANSFER", "cmd.READOUT", "transfer.mode=ca1_cr0_vfy0"]

    def sequences(self):
        return [S.SmokeSeq()]


@pyuvm.test()
class SampleTest(HymemTest):
    """Training samples with constrained-random configurations and vectors, scoreboarded."""

    def goals(self, build, rm):
        return _bins(build, rm, "sample.") + ["k=0", "cmd.SEED_LOAD"]

    def sequences(self):
        return [S.RandomSamplesSeq(n=8)]


@pyuvm.test()
class TransferTest(HymemTest):
    """Transfers in every mode of the build, verify retries and failures, K-triggered
    transfers (K = 1, K = 3), a TRANSFER command queued behind a sample."""

    def goals(self, build, rm):
        return (_bins(build, rm, "transfer.mode=") + _bins(build, rm, "verify.")
                + ["k=1.auto_transfer", "k>1.auto_transfer", "queued.transfer", "cmd.CNT_CLEAR"])

    def sequences(self):
        return [S.TransferModesSeq(), S.KTransferSeq()]


@pyuvm.test()
class AbortTest(HymemTest):
    """ABORT of a sample and of a transfer in mid-array (queued command dropped), with
    nothing running, and together with a command."""

    def goals(self, build, rm):
        return _bins(build, rm, "abort.")

    def sequences(self):
        return [S.AbortSeq()]


@pyuvm.test()
class ReadoutTest(HymemTest):
    """Every memristor row read out: the ADC codes the macro model returned."""

    def goals(self, build, rm):
        return _bins(build, rm, "readout.slot") + ["mem.READOUT.rd"]

    def sequences(self):
        return [S.ReadoutSeq()]


@pyuvm.test()
class FormTest(HymemTest):
    """Forming of a pristine array (pulses bounded by FORM.MAX) and the all-fail case."""

    pristine = True

    def goals(self, build, rm):
        return ["form.pulses", "form.failure", "cmd.FORM", "cmd.FAIL_CLEAR"]

    def sequences(self):
        return [S.FormSeq(pristine=True, max_pulses=3)]


@pyuvm.test()
class WakeTest(HymemTest):
    """FeCAP wake-up from power-on: SAMPLE / TRANSFER refused (ERR 10) until CMD.WAKE has
    completed; the used rows erased, CNT_WAKE_CYCLES, STATUS.WOKEN kept across rst_ni."""

    woken = False

    def goals(self, build, rm):
        return ["cmd.WAKE", "cmd.WOKEN", f"err.{rm.err('NOT_WOKEN')}", "queued.wake", "wake.done",
                "reg.WAKE.wr", "reg.CNT_WAKE_CYCLES.rd"]

    def sequences(self):
        return [S.WakeSeq()]


@pyuvm.test()
class InterruptTest(HymemTest):
    """IRQ_ENABLE x IRQ_STATUS -> irq_o for every source and enable pattern; W1C of each."""

    def goals(self, build, rm):
        return _bins(build, rm, "irq.") + _bins(build, rm, "w1c.")

    def sequences(self):
        return [S.InterruptSeq()]


@pyuvm.test()
class ApbFaultTest(HymemTest):
    """A master that breaks APB4: SETUP without ACCESS, PSEL dropped in wait states, PADDR
    changed in wait states, address and data changed before ACCESS, ACCESS without SETUP;
    the protocol checker reports each, the controller does what docs/registers.md (Bus)
    defines, predicted by the scoreboard. Then two rejected accesses in a row: ERR holds
    the second."""

    def goals(self, build, rm):
        return ["readout.wait_queued", "err.2", "err.3", "err.4"]

    def sequences(self):
        return [S.ApbFaultSeq(), S.TwoRejectionsSeq()]


@pyuvm.test()
class ResetStormTest(HymemTest):
    """rst_ni at random cycles inside every operation type (S.ResetStormSeq, STORM_RESETS of
    them, by simulator): after each the outputs are 0/1, the controller is idle and answers, and the array
    differs from the model only in the rows LOST reports."""

    def goals(self, build, rm):
        return ["cmd.LOST_CLEAR", "cmd.SAMPLE", "cmd.TRANSFER", "cmd.FORM", "cmd.READOUT",
                "cmd.WAKE", "reg.LOST.rd"]

    def sequences(self):
        return [S.ResetStormSeq(n=storm_resets())]

    def check_phase(self):
        super().check_phase()
        st = ctx().storm
        for kind in S.ResetStormSeq.KINDS:
            assert st.get(f"reset.{kind}", 0) > 0, f"no reset inside a {kind}: {st}"


@pyuvm.test()
class CoverageClosureTest(uvm_test):
    """Coverage of the whole run (every test's bins merged), printed; when every test of
    this module ran, every bin of the build must have been hit."""

    def build_phase(self):
        pass

    async def run_phase(self):
        pass

    def report_phase(self):
        build, rm = Build.from_params(tbkit.params()), regmap.load()
        bins = all_bins(build, rm)
        total = {b: top_env.TOTAL.get(b, 0) for b in bins}
        waivers = covwaivers.bin_waivers(TOPLEVEL)
        hit = sum(1 for v in total.values() if v)
        groups: dict[str, list[int]] = {}
        for b, v in total.items():
            g = groups.setdefault(re.split(r"[.=>]", b)[0], [0, 0])
            g[0] += bool(v)
            g[1] += 1
        summary = ", ".join(f"{g} {h}/{n}" for g, (h, n) in groups.items())
        tests = {c.__name__ for c in HymemTest.__subclasses__()}
        report = {"bench": TOPLEVEL, "params": tbkit.params(), "complete": RAN == tests,
                  "bins": {b: {"count": v, "tests": sorted(top_env.HIT_BY.get(b, ())),
                               "waived": (lambda w: w.reason if w else None)(
                                   covwaivers.waived_bin(TOPLEVEL, b, waivers))}
                           for b, v in total.items()}}
        # the report of this run (every bin, its count and the tests that hit it); make coverage
        # keeps it beside the code coverage and merges it (scripts/coverage.py)
        with open(FUNCOV_FILE, "w") as f:
            json.dump(report, f, indent=1)
        self.logger.info(f"coverage of the run: {hit}/{len(bins)} bins hit ({summary})\n"
                         + coverage_table(total, by=top_env.HIT_BY))

    def check_phase(self):
        tests = {c.__name__ for c in HymemTest.__subclasses__()}
        if RAN != tests:
            self.logger.info(f"coverage closure not checked: tests not run: {sorted(tests - RAN)}")
            return
        build, rm = Build.from_params(tbkit.params()), regmap.load()
        waivers = covwaivers.bin_waivers(TOPLEVEL)
        missed = [b for b in all_bins(build, rm)
                  if not top_env.TOTAL.get(b) and not covwaivers.waived_bin(TOPLEVEL, b, waivers)]
        assert not missed, (f"coverage bins no test hit (and not waived in "
                            f"{covwaivers.waiver_file().name}): {missed}")


# ------------------------------------------------------------ pytest: the RTL


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    *(pytest.param(p, id=k) for k, p in PARAM_SETS.items()),
    *(pytest.param(p, id=k, marks=[pytest.mark.heavy, pytest.mark.corner]
                   + ([pytest.mark.no_coverage] if k in CORNER_NO_COVERAGE else []))
      for k, p in CORNER_SETS.items())])
def test_hymem_top(sim, seed, params, request):
    smoke = request.node.callspec.id.endswith("default")
    if smoke and sim not in SMOKE_SIMS:
        pytest.skip(f"the published geometry runs on {', '.join(SMOKE_SIMS)} only (see PARAM_SETS)")
    smoke = smoke and not os.environ.get("COCOTB_TEST_FILTER")
    corner = request.node.callspec.id.rsplit("-", 1)[-1]
    corner = corner if corner in CORNER_SETS and not os.environ.get("COCOTB_TEST_FILTER") else None
    run_dir = simrun.run(
        TOPLEVEL, "test_hymem_top", sim, parameters=params, seed=seed,
        testcase=(list(SMOKE_TESTS) + ["CoverageClosureTest"] if smoke else
                  list(CORNER_TESTS[corner]) if corner and CORNER_TESTS[corner] else None),
        # assertion rewriting only for the testbench's own files (cocotb's default rewrites
        # every module the test imports, numpy and the RDL compiler included: seconds per run
        # when bytecode is not cached)
        extra_env={"COCOTB_REWRITE_ASSERTION_FILES": "test_hymem_top.py top_*.py",
                   **({"HYMEM_STORM_RESETS": str(CORNER_STORM_RESETS)}
                      if corner and not os.environ.get("HYMEM_STORM_RESETS") else {}),
                   **({"HYMEM_TOP_SHORT": "1"} if corner in CORNER_SHORT else {})})
    for line in (run_dir / "sim.log").read_text(errors="replace").splitlines():
        if any(k in line for k in ("coverage of the run:", "reset storm:")):   # shown with -rP
            print(line.split("]: ", 1)[-1])


# The illegal builds of hymem_top (SynPerCycle and every other parameter limit, on Icarus,
# Verilator and Yosys) are tb/test_param_checks.py's.
