"""hymem_top: the pyuvm environment of the whole controller behind APB4.

The environment (top_env.HymemEnv) follows pyuvm's TinyALU example: an APB agent
(top_apb: driver on cocotbext-apb's ApbHost, a monitor of the pins, a sequencer), the
macro model on the macro port, a scoreboard that calls a plain reference model
(top_model: the register model from hymem.regmap and the controller model on
hymem.engine), and a coverage collector. Each test below is a pyuvm test (a cocotb test
of the same name: COCOTB_TEST_FILTER=BusyTest runs one) that starts the clock and the
reset and runs its sequences (top_sequences); its COVERAGE_GOALS are the bins it must hit.
See docs/verification.md.
"""

from __future__ import annotations

import pytest
import pyuvm
from pyuvm import ConfigDB, uvm_test

from hymem import regmap, simrun, tbkit

from top_env import HymemEnv, all_bins, ctx
from top_model import Build
import top_sequences as S

TOPLEVEL = "hymem_top"

PARAM_SETS = {
    "default": {},
    "small": dict(Lines=16, Slots=4, FecapRows=64, XDepth=64, EDepth=32, VerifyLimit=0),
}


class HymemTest(uvm_test):
    """Base test: the environment, clock and reset, then ``sequences()`` in order."""

    pristine = False

    def goals(self, build: Build, rm: regmap.RegMap) -> list[str]:
        return []

    def sequences(self) -> list:
        return []

    def build_phase(self):
        build, rm = Build.from_params(tbkit.params()), regmap.load()
        ConfigDB().set(None, "*", "COVERAGE_GOALS", self.goals(build, rm))
        ConfigDB().set(None, "*", "PRISTINE", self.pristine)
        self.env = HymemEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        await self.env.clkrst.start()
        for seq in self.sequences():
            await seq.start(ctx().seqr)
        self.drop_objection()

    def check_phase(self):
        m = ctx().model
        assert not m.busy, "the test ended with an operation running or queued"
        assert self.env.apb.monitor.count > 0


def _bins(build, rm, prefix: str) -> list[str]:
    return [b for b in all_bins(build, rm) if b.startswith(prefix)]


@pyuvm.test()
class IdentityTest(HymemTest):
    """ID and HWCFG0..2 equal the build parameters; every register reads its reset value."""

    def sequences(self):
        return [S.IdentitySeq(), S.ResetValuesSeq()]


@pyuvm.test()
class RegisterTest(HymemTest):
    """Register tests generated from the RDL: rw masks and strobes, read-only and write-only
    accesses, misaligned and unmapped addresses, ERR capture and CMD.ERR_CLEAR, IRQ_STATUS
    W1C; a second reset restores every reset value."""

    def goals(self, build, rm):
        E = {v: k for k, v in rm.error_codes.items()}
        return [f"err.{E[n]}" for n in ("unmapped address", "write to a read-only register",
                                        "read of a write-only register", "misaligned address",
                                        "illegal value")] + ["cmd.ERR_CLEAR"]

    def sequences(self):
        return [S.RwMasksSeq(), S.AccessErrorsSeq(), S.HardResetSeq()]


@pyuvm.test()
class IllegalConfigTest(HymemTest):
    """Every hymem_cfg_check rule: rejected with its code, nothing changed; legal boundaries."""

    def goals(self, build, rm):
        E = {v: k for k, v in rm.error_codes.items()}
        return [f"err.{E['illegal value']}", f"err.{E['not in this build']}"]

    def sequences(self):
        return [S.IllegalConfigSeq()]


@pyuvm.test()
class BusyTest(HymemTest):
    """Busy rules: configuration and buffer writes while a sample runs or is queued (6),
    SEED_LOAD while busy (6), a second queued command (7), READOUT while only queued (6) or
    running (wait states); the queued commands run transfers first."""

    def goals(self, build, rm):
        E = {v: k for k, v in rm.error_codes.items()}
        return ([f"err.{E['busy']}", f"err.{E['command queue slot taken']}", "readout.wait"]
                + _bins(build, rm, "queued."))

    def sequences(self):
        return [S.BusySeq()]


@pyuvm.test()
class SampleTest(HymemTest):
    """Training samples with random configurations and vectors, scoreboarded."""

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
    """ABORT of a sample and of a transfer (queued command dropped), and with nothing running."""

    def goals(self, build, rm):
        return _bins(build, rm, "abort.")

    def sequences(self):
        return [S.AbortSeq()]


@pyuvm.test()
class ReadoutTest(HymemTest):
    """Every memristor row read out: the ADC codes the macro model returned."""

    def goals(self, build, rm):
        return _bins(build, rm, "readout.")

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
class InterruptTest(HymemTest):
    """IRQ_ENABLE x IRQ_STATUS -> irq_o for every source and enable pattern; W1C."""

    def goals(self, build, rm):
        return _bins(build, rm, "irq.")

    def sequences(self):
        return [S.InterruptSeq()]


# ------------------------------------------------------------ pytest: the RTL


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_hymem_top(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_top", sim, parameters=params, seed=seed)
