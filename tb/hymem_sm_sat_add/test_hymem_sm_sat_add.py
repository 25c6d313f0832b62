"""hymem_sm_sat_add: saturating sign-magnitude add, against hymem.digital.sm_sat_add.

Small parameter sets are checked exhaustively; the published widths get every
corner (both zeros, both saturation ends, code boundaries) plus constrained
random vectors under a fixed and a random seed.
"""

from __future__ import annotations

import itertools

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer

from hymem import digital
from hymem.sim import simrun, tbkit

TOPLEVEL = "hymem_sm_sat_add"

PARAM_SETS = {
    "m9_i10_c3": dict(MagWidth=9, IncWidth=10, CodeBits=3),  # published widths
    "m4_i6_c2": dict(MagWidth=4, IncWidth=6, CodeBits=2),    # exhaustive
    "m5_i4_c2": dict(MagWidth=5, IncWidth=4, CodeBits=2),    # increment narrower than the word
}


def _fmt(p):
    return digital.HiddenFormat(mag_width=p["MagWidth"], code_bits=p["CodeBits"])


async def _check(dut, p, fmt, sign, mag, inc, rnd):
    dut.sign_i.value = sign
    dut.mag_i.value = mag
    dut.inc_i.value = inc
    dut.round_i.value = rnd
    await Timer(1, unit="ns")
    want = digital.sm_sat_add(sign, mag, inc, rnd, fmt, p["IncWidth"])
    got = (int(dut.sign_o.value), dut.mag_o.value.to_unsigned(),
           int(dut.sat_o.value), int(dut.code_changed_o.value))
    assert got == want, (f"sign={sign} mag={mag} inc={inc} round={rnd}: "
                         f"RTL (sign, mag, sat, changed)={got}, model {want}")


def _exhaustive_size(p) -> int:
    return 2 * 2 * (1 << p["MagWidth"]) * (1 << p["IncWidth"])


@cocotb.test()
async def exhaustive(dut):
    """Every input combination, where the space is at most 64k vectors."""
    p = tbkit.params()
    if _exhaustive_size(p) > 65536:
        return
    fmt = _fmt(p)
    lim = 1 << (p["IncWidth"] - 1)
    for rnd, sign, mag, inc in itertools.product(
            (0, 1), (0, 1), range(fmt.mag_max + 1), range(-lim, lim)):
        await _check(dut, p, fmt, sign, mag, inc, rnd)


@cocotb.test()
async def corners(dut):
    """Both zeros, saturation at both ends, every code boundary."""
    p = tbkit.params()
    fmt = _fmt(p)
    lim = 1 << (p["IncWidth"] - 1)
    step = 1 << fmt.code_shift
    mags = {0, 1, fmt.mag_max, fmt.mag_max - 1}
    for c in range(1, fmt.code_max + 1):
        mags |= {c * step - 1, c * step, c * step + 1, c * step - step // 2}
    incs = {0, 1, -1, lim - 1, -lim, step, -step, step // 2, -(step // 2)}
    for rnd, sign, mag, inc in itertools.product(
            (0, 1), (0, 1), sorted(m for m in mags if 0 <= m <= fmt.mag_max),
            sorted(i for i in incs if -lim <= i < lim)):
        await _check(dut, p, fmt, sign, mag, inc, rnd)
    # -0 in, +0 out
    await _check(dut, p, fmt, 1, 0, 0, 0)
    assert int(dut.sign_o.value) == 0 and dut.mag_o.value.to_unsigned() == 0


@cocotb.test()
async def constrained_random(dut):
    """Random words, increments biased towards small values as SGD makes them."""
    p = tbkit.params()
    fmt = _fmt(p)
    rng = tbkit.rng()
    lim = 1 << (p["IncWidth"] - 1)
    for _ in range(5000):
        sign = int(rng.integers(2))
        mag = int(rng.integers(0, fmt.mag_max + 1))
        if rng.random() < 0.7:
            inc = int(np.clip(rng.normal(0, fmt.mag_max / 16), -lim, lim - 1))
        else:
            inc = int(rng.integers(-lim, lim))
        await _check(dut, p, fmt, sign, mag, inc, int(rng.integers(2)))


#: parameter corners (docs/coverage.md, "Parameter corners"), on Verilator only (`heavy`):
#: the update engine's adder at the largest MagWidth the register map allows (15; IncWidth
#: = MagWidth + 1, CodeBits 3), its directed corners only (CORNER_TESTS). hymem_top's
#: smallest is m4_i6_c2's above (exhaustive) and its "min" corner (MagWidth 4).
CORNER_SETS = {
    "max_m15_i16_c3": dict(MagWidth=15, IncWidth=16, CodeBits=3),
}
CORNER_TESTS = ["corners"]
#: the block's own smallest widths (chk_mag, chk_inc: MagWidth 2, IncWidth 2; CodeBits 1, the
#: code extractor's smallest below MagWidth 2), and the same word with an increment wider
#: than word and sign together (the sum's width is then the increment's + 1): exhaustive
#: (64 and 256 vectors) and the directed corners, the fixed seed only (`corner`; the random
#: seed only draws constrained_random's vectors, a subset), on Icarus only (its build costs
#: a fraction of a second, a Verilator one tens of seconds cold; the lines are m4_i6_c2's:
#: nothing new for `make coverage`)
MIN_SETS = {
    "min_m2_i2_c1": dict(MagWidth=2, IncWidth=2, CodeBits=1),
    "min_m2_i4_c1": dict(MagWidth=2, IncWidth=4, CodeBits=1),
}
MIN_TESTS = ["exhaustive", "corners"]


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    *(pytest.param(p, id=k) for k, p in PARAM_SETS.items()),
    *(pytest.param(p, id=k, marks=pytest.mark.heavy) for k, p in CORNER_SETS.items()),
    *(pytest.param(p, id=k, marks=[pytest.mark.corner, pytest.mark.icarus_only,
                                   pytest.mark.no_coverage]) for k, p in MIN_SETS.items())])
def test_hymem_sm_sat_add(sim, seed, params):
    testcase = (CORNER_TESTS if params in CORNER_SETS.values() else
                MIN_TESTS if params in MIN_SETS.values() else None)
    simrun.run(TOPLEVEL, "test_hymem_sm_sat_add", sim, parameters=params, seed=seed,
               testcase=testcase)


# ------------------------------------------------------- pytest: the model only


def test_model_saturates_both_ends():
    assert digital.sm_sat_add(0, 500, 100) == (0, 511, 1, 0)
    assert digital.sm_sat_add(1, 500, -100) == (1, 511, 1, 0)
    assert digital.sm_sat_add(0, 511, -512) == (1, 1, 0, 1)


def test_model_zero_is_positive():
    assert digital.sm_sat_add(1, 5, 5) == (0, 0, 0, 0)
    assert digital.sm_sat_add(1, 0, 0) == (0, 0, 0, 0)  # -0 in, +0 out


def test_model_code_changed():
    # crossing 64 changes the truncated code 0 -> 1
    assert digital.sm_sat_add(0, 63, 1)[3] == 1
    # sign flip of a weight whose code is 0 changes nothing the memristors see
    assert digital.sm_sat_add(1, 5, 8)[3] == 0
    # rounding moves the boundary to 32
    assert digital.sm_sat_add(0, 31, 1, round_mode=True)[3] == 1
    assert digital.sm_sat_add(0, 63, 1, round_mode=True)[3] == 0


def test_model_vectorized_matches_scalar():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 2, 200)
    m = rng.integers(0, 512, 200)
    i = rng.integers(-512, 512, 200)
    vec = digital.sm_sat_add(s, m, i, True)
    for k in range(200):
        assert tuple(int(v[k]) for v in vec) == digital.sm_sat_add(int(s[k]), int(m[k]), int(i[k]), True)


def test_model_bad_input():
    with pytest.raises(ValueError, match=r"inc must be in -512\.\.511; got 512"):
        digital.sm_sat_add(0, 0, 512)
    with pytest.raises(ValueError, match=r"inc_width must be in 2\.\.62; got 1"):
        digital.sm_sat_add(0, 0, 0, inc_width=1)
