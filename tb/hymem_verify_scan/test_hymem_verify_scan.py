"""hymem_verify_scan: lane-by-lane verify and forming checks with their retry bookkeeping.

Scoreboard: hymem.digital.engine.verify_pass (the window rule), engine.formed (the forming
target) and engine.RetryLoop (lines left, retries, final round). Every cycle of a scan
checks the lane, the last-lane flag and the failure flag; after each pair of verify scans
(or each forming scan) the pass vector; at each decision the retry flag and the lines left.

Directed: ADC codes on and just outside every window edge, for every code and sign, and
around the forming target. Constrained random: windows (some empty), codes, masks, retry
limits and ADC codes biased to pass about half the time, loops run to their end.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, Timer

from hymem.digital import engine
from hymem.sim import simrun, tbkit
from hymem.sim.macro_port import codes_to_int, int_to_bits, bits_to_int

TOPLEVEL = "hymem_verify_scan"

PARAM_SETS = {
    "default": dict(Lines=128, CodeBits=3, AdcBits=8),
    "small": dict(Lines=16, CodeBits=2, AdcBits=6),
    "odd": dict(Lines=5, CodeBits=3, AdcBits=8),      # lanes not a power of two
}
#: parameter corner (docs/coverage.md, "Parameter corners"): the smallest the block's check
#: allows (chk_params: Lines 2, CodeBits 1, AdcBits 2: two lanes, two levels, ADC codes
#: 0..3), every test; the fixed seed only (`corner`), on Icarus only (its build costs a
#: fraction of a second, a Verilator one tens of seconds cold; nothing new for `make
#: coverage`: the lines are every build's)
CORNER_SETS = {
    "min_l2_c1_a2": dict(Lines=2, CodeBits=1, AdcBits=2),
}


class Env:
    def __init__(self, dut):
        self.dut = dut
        p = tbkit.params()
        self.L, self.cb, self.ab = p["Lines"], p["CodeBits"], p["AdcBits"]
        self.levels = 1 << self.cb
        self.amax = (1 << self.ab) - 1
        self.rng = tbkit.rng()
        self.lo = self.hi = None
        self.target = 0
        self.scans = 0

    async def start(self):
        d = self.dut
        for n in ("cfg_load_i", "load_i", "decide_i", "scan_plus_i", "scan_minus_i",
                  "scan_form_i", "load_mask_i", "max_i", "adc_i", "code_sign_i", "code_mag_i",
                  "cfg_vfy_lo_i", "cfg_vfy_hi_i", "cfg_form_target_i"):
            getattr(d, n).value = 0
        await tbkit.start_clock(d.clk_i)
        await tbkit.reset(d.clk_i, d.rst_ni)
        await FallingEdge(d.clk_i)

    async def configure(self, lo, hi, target):
        """Latch windows and target, then put other values on the inputs (must be ignored)."""
        d = self.dut
        d.cfg_vfy_lo_i.value = codes_to_int(lo, self.ab)
        d.cfg_vfy_hi_i.value = codes_to_int(hi, self.ab)
        d.cfg_form_target_i.value = int(target)
        d.cfg_load_i.value = 1
        await FallingEdge(d.clk_i)
        d.cfg_load_i.value = 0
        d.cfg_vfy_lo_i.value = codes_to_int(self.rng.integers(0, self.amax + 1, self.levels), self.ab)
        d.cfg_vfy_hi_i.value = codes_to_int(self.rng.integers(0, self.amax + 1, self.levels), self.ab)
        d.cfg_form_target_i.value = int(self.rng.integers(0, self.amax + 1))
        self.lo, self.hi, self.target = np.asarray(lo), np.asarray(hi), int(target)

    async def load(self, mask, limit) -> engine.RetryLoop:
        d = self.dut
        d.load_mask_i.value = bits_to_int(mask)
        d.max_i.value = int(limit)
        d.load_i.value = 1
        await FallingEdge(d.clk_i)
        d.load_i.value = 0
        d.load_mask_i.value = bits_to_int(self.rng.random(self.L) < 0.5)
        loop = engine.RetryLoop(mask, limit)
        assert (int_to_bits(tbkit.u(d.todo_o), self.L) == loop.todo).all(), "todo after load"
        return loop

    async def scan(self, kind: str, adc, fail_expect=None, gap: int = 0):
        """One scan (`plus`, `minus` or `form`) of the ADC codes `adc`; `fail_expect`: the
        lanes that must be flagged as failures (None: none)."""
        d = self.dut
        strobe = getattr(d, f"scan_{kind}_i")
        d.adc_i.value = codes_to_int(adc, self.ab)
        for _ in range(gap):                  # the read itself: the scan waits for it
            await FallingEdge(d.clk_i)
        strobe.value = 1
        for lane in range(self.L):
            await Timer(1, unit="ns")
            assert tbkit.u(d.lane_o) == lane, f"{kind} scan: lane {tbkit.u(d.lane_o)}, expected {lane}"
            assert int(d.last_o.value) == (lane == self.L - 1), f"{kind} scan: last_o at lane {lane}"
            want = bool(fail_expect[lane]) if fail_expect is not None else False
            assert int(d.fail_o.value) == want, f"{kind} scan: fail_o={int(d.fail_o.value)} at lane {lane}, expected {int(want)}"
            await FallingEdge(d.clk_i)
        strobe.value = 0
        await Timer(1, unit="ns")
        assert int(d.last_o.value) == 0 and int(d.fail_o.value) == 0
        self.scans += 1

    def pass_vector(self) -> np.ndarray:
        return int_to_bits(tbkit.u(self.dut.pass_o), self.L)

    async def decide(self, loop: engine.RetryLoop, passed) -> bool:
        d = self.dut
        d.decide_i.value = 1
        await Timer(1, unit="ns")
        got = int(d.again_o.value)
        want = loop.decide(passed)
        assert got == want, f"again_o={got}, model {int(want)} (tries {loop.tries}, limit {loop.limit})"
        await FallingEdge(d.clk_i)
        d.decide_i.value = 0
        todo = int_to_bits(tbkit.u(d.todo_o), self.L)
        assert (todo == loop.todo).all(), f"todo differs at lanes {np.nonzero(todo != loop.todo)[0][:8].tolist()}"
        return want

    async def verify_round(self, loop, plus, minus, cs, cm) -> bool:
        """A G+ and a G- scan of one verify check, then the decision; returns again."""
        d = self.dut
        d.code_sign_i.value = bits_to_int(cs)
        d.code_mag_i.value = tbkit.to_planes(cm, self.cb)
        passed = engine.verify_pass(plus, minus, cs, cm, self.lo, self.hi)
        fails = loop.todo & ~passed if loop.final else None
        await self.scan("plus", plus, gap=int(self.rng.integers(0, 3)))
        await self.scan("minus", minus, fails, gap=int(self.rng.integers(0, 3)))
        got = self.pass_vector()
        assert (got == passed).all(), (
            f"verify pass differs at lanes {np.nonzero(got != passed)[0][:8].tolist()}")
        return await self.decide(loop, passed)

    async def form_round(self, loop, adc) -> bool:
        passed = engine.formed(adc, self.target)
        fails = loop.todo & ~passed if loop.final else None
        await self.scan("form", adc, fails, gap=int(self.rng.integers(0, 3)))
        got = self.pass_vector()
        assert (got == passed).all(), f"forming pass differs at lanes {np.nonzero(got != passed)[0][:8].tolist()}"
        return await self.decide(loop, passed)

    # -- stimulus

    def windows(self):
        """Random windows per level, about one in eight empty (lo > hi)."""
        lo = self.rng.integers(0, self.amax + 1, self.levels)
        hi = np.minimum(lo + self.rng.integers(0, self.amax // 4 + 2, self.levels), self.amax)
        empty = self.rng.random(self.levels) < 0.125
        hi = np.where(empty & (lo > 0), lo - 1, hi)
        return lo, hi

    def in_window(self, m, p_in=0.6):
        """Per lane, an ADC code inside window m[lane] with probability p_in, else any code."""
        lo, hi = self.lo[m], self.hi[m]
        inside = lo + (self.rng.random(len(m)) * (np.maximum(hi - lo, 0) + 1)).astype(np.int64)
        anyc = self.rng.integers(0, self.amax + 1, len(m))
        return np.where((self.rng.random(len(m)) < p_in) & (hi >= lo), inside, anyc)

    def verify_reads(self, cs, cm, p_in):
        """G+ and G- codes for codes (cs, cm), each device in its window with p_in."""
        target = self.in_window(cm, p_in)
        other = self.in_window(np.zeros_like(cm), p_in)
        return np.where(cs, other, target), np.where(cs, target, other)


@cocotb.test()
async def window_edges(dut):
    """ADC codes on each window's edges and one outside, for every code and both signs, on
    the target and on the other device; the forming target's edges."""
    env = Env(dut)
    await env.start()
    L, lv = env.L, env.levels
    # windows of 11 codes spread over the range; on a small ADC (AdcBits 2: codes 0..3) as
    # wide as leaves a code on either side (lo - 1 >= 0, hi + 1 <= amax), overlapping
    width = min(10, env.amax - 2)
    lo = np.linspace(1, max(1, env.amax - 20), lv).astype(np.int64)
    hi = lo + width
    await env.configure(lo, hi, env.amax // 2)
    cases = []          # (cs, cm, target code, other code)
    for m in range(lv):
        for cs in ((0, 1) if m else (0,)):
            for t in (lo[m] - 1, lo[m], hi[m], hi[m] + 1):
                cases.append((cs, m, t, lo[0]))
            for o in (lo[0] - 1, lo[0], hi[0], hi[0] + 1):
                cases.append((cs, m, lo[m], o))
    cases = np.array(cases)
    for i in range(0, len(cases), L):
        c = cases[i:i + L]
        c = np.concatenate([c, c[env.rng.integers(0, len(c), L - len(c))]])
        cs, cm = c[:, 0].astype(bool), c[:, 1]
        plus = np.where(cs, c[:, 3], c[:, 2])
        minus = np.where(cs, c[:, 2], c[:, 3])
        loop = await env.load(np.ones(L, bool), 0)        # a final round: every failure flagged
        await env.verify_round(loop, plus, minus, cs, cm)
    t = env.target
    for i in range(0, 6, L):
        adc = np.resize(np.array([0, t - 1, t, t + 1, env.amax, t])[i:], L)
        loop = await env.load(np.ones(L, bool), 0)
        await env.form_round(loop, adc)


@cocotb.test()
async def constrained_random(dut):
    """Random windows, codes, masks and limits; verify and forming loops run to their end."""
    env = Env(dut)
    await env.start()
    L = env.L
    for run in range(12):
        await env.configure(*env.windows(), int(env.rng.integers(0, env.amax + 1)))
        limit = int(env.rng.choice([0, 1, 2, 5]))
        mask = env.rng.random(L) < float(env.rng.choice([0.1, 0.5, 1.0]))
        p_in = float(env.rng.choice([0.5, 0.8, 0.97]))
        loop = await env.load(mask, limit)
        if run % 3 != 2:
            cs = env.rng.random(L) < 0.5
            cm = env.rng.integers(0, env.levels, L)
            cs &= cm != 0
            while await env.verify_round(loop, *env.verify_reads(cs, cm, p_in), cs, cm):
                pass
        else:
            while await env.form_round(loop, np.where(env.rng.random(L) < p_in,
                                                      env.rng.integers(env.target, env.amax + 1, L),
                                                      env.rng.integers(0, env.amax + 1, L))):
                pass
    dut._log.info("%d scans", env.scans)


@cocotb.test()
async def retry_limit_255(dut):
    """The retry counter reaches the 8-bit limit and the last round is the final one."""
    env = Env(dut)
    await env.start()
    L = env.L
    await env.configure(np.zeros(env.levels, np.int64), np.zeros(env.levels, np.int64), env.amax)
    loop = await env.load(np.ones(L, bool), 255)
    adc = np.zeros(L, np.int64)                          # below the target: never formed
    assert await env.form_round(loop, adc)               # tries 0 -> 1
    while loop.tries < 255:                              # pass holds that scan: nothing passed
        assert await env.decide(loop, np.zeros(L, bool))
    assert loop.final
    assert not await env.form_round(loop, adc)           # final: every lane fails, no retry


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    *(pytest.param(p, id=k) for k, p in PARAM_SETS.items()),
    *(pytest.param(p, id=k, marks=[pytest.mark.corner, pytest.mark.icarus_only,
                                   pytest.mark.no_coverage]) for k, p in CORNER_SETS.items())])
def test_hymem_verify_scan(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_verify_scan", sim, parameters=params, seed=seed)


# ------------------------------------------------------- pytest: the models only


def test_model_verify_pass():
    lo, hi = np.array([0, 10, 20, 30]), np.array([5, 15, 25, 35])
    # positive code 2: G+ in [20, 25], G- in [0, 5]; negative: the other way round
    assert engine.verify_pass([20, 25, 26, 3], [5, 0, 0, 20], [0, 0, 0, 1], [2, 2, 2, 2], lo, hi).tolist() == \
        [True, True, False, True]
    # code 0: both devices in window 0
    assert engine.verify_pass([5, 6], [0, 0], [0, 0], [0, 0], lo, hi).tolist() == [True, False]


def test_model_retry_loop():
    loop = engine.RetryLoop(np.array([1, 1, 0], bool), 2)
    assert not loop.final
    assert loop.decide(np.array([1, 0, 0], bool)) and loop.tries == 1
    assert loop.decide(np.array([0, 0, 0], bool)) and loop.tries == 2 and loop.final
    assert not loop.decide(np.array([0, 0, 0], bool)) and loop.todo.tolist() == [False, True, False]
    done = engine.RetryLoop(np.array([1], bool), 5)
    assert not done.decide(np.array([1], bool)) and done.tries == 0
    with pytest.raises(ValueError, match="limit must be in 0..255; got 256"):
        engine.RetryLoop(np.ones(2, bool), 256)
