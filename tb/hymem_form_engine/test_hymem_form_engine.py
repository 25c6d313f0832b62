"""hymem_form_engine with its verify scan; the test plays the memristor sequencer.

Scoreboard: hymem.digital.engine.EngineState.form replayed against what the RTL did
(scoreboard.ReplayFormer): every read and forming pulse, in order, on the same row and
lines, the reads answered with the ADC codes the test gave the RTL; then the failures the
scan flagged (addresses, in order), the pulses, and where an abort stopped the run.

The devices: each one needs a random number of pulses to form (some never form, some are
formed from the start); a formed device reads at or above the target, with a small chance
of reading below it (read noise), an unformed one below it. Directed: a retry limit of 0
(one read, no pulse), devices that all form at once, aborts at, before and inside a row,
a second start while running (ignored). Constrained random: limits, targets, devices,
sequencer latencies.
"""

from __future__ import annotations

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from hymem.digital import engine
from hymem.host import regmap
from hymem.sim import simrun, tbkit
from hymem.sim.macro_port import codes_to_int, int_to_bits
from hymem.sim.scoreboard import ReplayFormer

TOPLEVEL = "tb_hymem_form_engine"
HARNESS = Path(__file__).with_name("tb_hymem_form_engine.sv")

PARAM_SETS = {
    "l16_s4": dict(Lines=16, Slots=4),
    "l128_s8": dict(Lines=128, Slots=8),
    "l5_s1": dict(Lines=5, Slots=1),
}

# phase_o codes: the RDL's enum (STATUS.XFER_PHASE), the one the RTL's FSM is typed with
_XFER = regmap.load().enum("STATUS.XFER_PHASE")
F_ROW, F_RD, F_CHK, F_DEC, F_PULSE = (_XFER.FORM_ROW, _XFER.FORM_RD, _XFER.FORM_CHK, _XFER.FORM_DEC,
                                     _XFER.FORM_PULSE)
AMAX = 255


class Env:
    def __init__(self, dut):
        self.dut = dut
        p = tbkit.params()
        self.L, self.S = p["Lines"], p["Slots"]
        self.geom = engine.Geometry(lines=self.L, slots=self.S, fecap_rows=max(128, self.S * 15))
        self.rng = tbkit.rng()
        self.ops: list[dict] = []
        self.fails: list[int] = []
        self.latency = (1, 4)

    async def start(self):
        d = self.dut
        for n in ("cfg_form_max_i", "cfg_form_target_i", "start_i", "abort_i", "mr_done_i",
                  "mr_rdata_i"):
            getattr(d, n).value = 0
        d.req_ready_i.value = 1
        await tbkit.start_clock(d.clk_i)
        await tbkit.reset(d.clk_i, d.rst_ni)
        cocotb.start_soon(self._sequencer())
        cocotb.start_soon(self._fail_monitor())

    def devices(self, form_max: int, p_never=0.05, p_formed=0.2):
        """Pulses each device (S, 2, L) needs to form; -1: never forms."""
        need = self.rng.integers(1, form_max + 3, size=(self.S, 2, self.L))
        need[self.rng.random(need.shape) < p_formed] = 0
        need[self.rng.random(need.shape) < p_never] = -1
        self.need = need
        self.pulses = np.zeros_like(need)

    def _read(self, slot, pol):
        formed = (self.pulses[slot, pol] >= self.need[slot, pol]) & (self.need[slot, pol] >= 0)
        noise_low = self.rng.random(self.L) < 0.05          # a formed device reading low
        hi = self.rng.integers(self.target, AMAX + 1, self.L)
        lo = self.rng.integers(0, max(self.target, 1), self.L) if self.target > 0 else hi
        return np.where(formed & ~noise_low, hi, lo)

    async def _sequencer(self):
        """The memristor sequencer: ready when idle; an accepted request is busy for a few
        cycles, then done for one cycle, with the ADC codes of a read."""
        d = self.dut
        while True:
            await RisingEdge(d.clk_i)
            if not (int(d.req_valid_o.value) and int(d.req_ready_i.value)):
                continue
            slot, pol = tbkit.u(d.slot_o), int(d.req_pol_o.value)
            mask = int_to_bits(tbkit.u(d.req_mask_o), self.L)
            kind = "form" if int(d.req_form_o.value) else "read"
            op = dict(kind=kind, slot=slot, pol=np.full(self.L, bool(pol)), mask=mask, adc=None)
            await FallingEdge(d.clk_i)
            d.req_ready_i.value = 0
            for _ in range(int(self.rng.integers(*self.latency))):
                await FallingEdge(d.clk_i)
            if kind == "read":
                op["adc"] = self._read(slot, pol)
                d.mr_rdata_i.value = codes_to_int(op["adc"], 8)
            else:
                self.pulses[slot, pol] += mask
            self.ops.append(op)
            d.mr_done_i.value = 1
            await FallingEdge(d.clk_i)
            d.mr_done_i.value = 0
            d.req_ready_i.value = 1

    async def _fail_monitor(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk_i)
            if int(d.fail_o.value):
                self.fails.append(tbkit.u(d.slot_o) * self.L + tbkit.u(d.lane_o))

    async def run(self, form_max: int, target: int, abort_after: int | None = None,
                  restart_after: int | None = None):
        """One forming run; returns (aborted, fin slot, row at which the abort was raised,
        phase then)."""
        d = self.dut
        self.target, self.ops, self.fails = target, [], []
        d.cfg_form_max_i.value = form_max
        d.cfg_form_target_i.value = target
        await FallingEdge(d.clk_i)
        d.start_i.value = 1
        await FallingEdge(d.clk_i)
        d.start_i.value = 0
        d.cfg_form_max_i.value = int(self.rng.integers(256))        # latched: must not matter
        d.cfg_form_target_i.value = int(self.rng.integers(256))
        raised = None
        cycles = 0
        while True:
            if abort_after is not None and cycles == abort_after:
                d.abort_i.value = 1
            if restart_after is not None:
                d.start_i.value = int(cycles == restart_after)
            await Timer(1, unit="ns")
            phase = tbkit.u(d.phase_o)
            assert phase in (F_ROW, F_RD, F_CHK, F_DEC, F_PULSE), f"phase {phase} while running"
            if abort_after is not None and cycles == abort_after:
                raised = (2 * tbkit.u(d.slot_o) + int(d.req_pol_o.value), phase)
            if int(d.fin_o.value):
                break
            await FallingEdge(d.clk_i)
            cycles += 1
        aborted, slot = int(d.fin_aborted_o.value), tbkit.u(d.slot_o)
        pol = int(d.req_pol_o.value)
        await FallingEdge(d.clk_i)
        d.abort_i.value = 0
        d.start_i.value = 0
        assert tbkit.u(d.phase_o) == 0 and not int(d.fin_o.value), "idle after the run"
        return bool(aborted), slot, pol, raised

    def check(self, form_max, target, aborted, slot, pol, raised):
        ref = engine.EngineState(1, 1, self.geom)
        abort_row = 2 * slot + pol if aborted else None
        if raised is not None:
            row, phase = raised
            want = row if phase == F_ROW else row + 1
            assert aborted == (want < 2 * self.S), "an abort before the last row's start stops the run"
            if aborted:
                assert abort_row == want, f"abort raised in row {row} (phase {phase}), taken at row {abort_row}"
        former = ReplayFormer(self.ops)
        res = ref.form(target, form_max, former, abort_row=abort_row)
        former.done()
        assert self.fails == res.failures, (
            f"failures: RTL {self.fails[:8]}..., model {res.failures[:8]}...")
        pulses = sum(int(op["mask"].sum()) for op in self.ops if op["kind"] == "form")
        assert pulses == res.pulses
        assert (res.aborted_slot is not None) == aborted
        return res


@cocotb.test()
async def constrained_random(dut):
    """Random limits, targets, devices and latencies; every run replayed on the model."""
    env = Env(dut)
    await env.start()
    runs = 4 if env.L * env.S > 256 else 10
    for _ in range(runs):
        form_max = int(env.rng.choice([0, 1, 3, 8]))
        target = int(env.rng.integers(1, AMAX))
        env.devices(form_max, p_never=float(env.rng.choice([0.0, 0.05])),
                    p_formed=float(env.rng.choice([0.0, 0.3, 0.9])))
        env.latency = (1, int(env.rng.integers(2, 6)))
        res = env.check(form_max, target, *await env.run(form_max, target))
        dut._log.info("form_max %d: %d pulses, %d failures", form_max, res.pulses, len(res.failures))


@cocotb.test()
async def corners(dut):
    """Limit 0 (one read per row, no pulse); every device formed; target 0 (all pass);
    a start while running is ignored."""
    env = Env(dut)
    await env.start()
    env.devices(0, p_never=0.1, p_formed=0.5)
    res = env.check(0, 100, *await env.run(0, 100))
    assert res.pulses == 0 and not [op for op in env.ops if op["kind"] == "form"]
    assert len([op for op in env.ops if op["kind"] == "read"]) == 2 * env.S
    env.devices(5, p_never=0.0, p_formed=1.0)
    env.check(5, 128, *await env.run(5, 128, restart_after=7))
    env.devices(5)
    res = env.check(5, 0, *await env.run(5, 0))
    assert res.pulses == 0 and not res.failures, "target 0: every device reads formed"


@cocotb.test()
async def aborts(dut):
    """Aborts raised at random times, at a row start and in the last row: the row in flight
    completes, the next row is not started."""
    env = Env(dut)
    await env.start()
    for after in (0, 1, 2, 5, 23, 60, 150, 400):
        env.devices(4)
        env.check(4, 90, *await env.run(4, 90, abort_after=after))


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_hymem_form_engine(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_form_engine", sim, parameters=params, seed=seed,
               extra_sources=[HARNESS])


# ------------------------------------------------------- pytest: the model only


class _Devices:
    """A Former whose devices form after a given number of pulses."""

    def __init__(self, need):
        self.need = np.asarray(need)
        self.pulses = np.zeros_like(self.need)
        self.calls = []

    def read(self, slot, pol, mask):
        self.calls.append(("read", slot, pol, mask.copy()))
        return np.where(self.pulses[slot, pol] >= self.need[slot, pol], 50, 10)

    def form(self, slot, pol, mask):
        self.calls.append(("form", slot, pol, mask.copy()))
        self.pulses[slot, pol] += mask


def test_model_form():
    geom = engine.Geometry(lines=4, slots=2, fecap_rows=32)
    ref = engine.EngineState(1, 1, geom)
    need = np.zeros((2, 2, 4), int)
    need[0, 1, 2] = 2          # slot 0 G-, line 2: two pulses
    need[1, 0, 3] = 9          # slot 1 G+, line 3: more than the limit
    dev = _Devices(need)
    res = ref.form(30, 3, dev)
    assert res.pulses == 2 + 3 and res.failures == [1 * 4 + 3] and res.aborted_slot is None
    assert ref.counters.failures[0] == 1 and ref.fail.first[0] == 7 == ref.fail.last[0]
    kinds = [(c[0], c[1], c[2]) for c in dev.calls]
    assert kinds[:5] == [("read", 0, 0), ("read", 0, 1), ("form", 0, 1), ("read", 0, 1), ("form", 0, 1)]
    res = engine.EngineState(1, 1, geom).form(30, 3, _Devices(need), abort_row=1)
    assert res.aborted_slot == 0 and res.pulses == 0
    with pytest.raises(ValueError, match="abort_row must be in 0..3; got 4"):
        ref.form(30, 3, dev, abort_row=4)
