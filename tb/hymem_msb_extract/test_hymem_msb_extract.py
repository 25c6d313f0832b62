"""hymem_msb_extract: hidden weight -> transfer code, against hymem.digital.msb_extract.

Exhaustive over every (sign, magnitude, round) input of each parameter set; with
``Lanes`` > 1 (the bit-sliced form the slot decoder uses) the inputs are spread over the
lanes in a random order, so every lane sees many values and its neighbours other ones.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer

from hymem import digital
from hymem.sim import simrun, tbkit

TOPLEVEL = "hymem_msb_extract"

PARAM_SETS = {
    "m9_c3": dict(MagWidth=9, CodeBits=3),   # published: 10-bit word, sign + 3 MSBs
    "m6_c2": dict(MagWidth=6, CodeBits=2),
    "m4_c1": dict(MagWidth=4, CodeBits=1),
    "m9_c3_l13": dict(MagWidth=9, CodeBits=3, Lanes=13),   # bit-sliced, lanes not a power of 2
    "m6_c2_l64": dict(MagWidth=6, CodeBits=2, Lanes=64),
}

#: parameter corners (docs/coverage.md, "Parameter corners"): the smallest widths the block's
#: own check allows (chk_widths: CodeBits 1 < MagWidth 2; one bit shifted out, so rounding
#: adds mag bit 0), alone and bit-sliced. Exhaustive like every set; on Icarus only (its
#: build costs a fraction of a second, a Verilator one tens of seconds cold; the lines are
#: m4_c1's, nothing new for `make coverage`).
CORNER_SETS = {
    "min_m2_c1": dict(MagWidth=2, CodeBits=1),
    "min_m2_c1_l3": dict(MagWidth=2, CodeBits=1, Lanes=3),
}


@cocotb.test()
async def exhaustive(dut):
    p = tbkit.params()
    lanes = p.get("Lanes", 1)
    fmt = digital.HiddenFormat(mag_width=p["MagWidth"], code_bits=p["CodeBits"])
    rng = tbkit.rng()
    checked = 0
    for rnd in (0, 1):
        sign, mag = np.divmod(np.arange(2 * (fmt.mag_max + 1)), fmt.mag_max + 1)
        order = rng.permutation(len(sign)) if lanes > 1 else np.arange(len(sign))
        pad = -len(order) % lanes          # the last group is filled with random repeats
        order = np.concatenate([order, rng.integers(0, len(order), pad)])
        for grp in order.reshape(-1, lanes):
            dut.sign_i.value = tbkit.to_planes(sign[grp], 1)
            dut.mag_i.value = tbkit.to_planes(mag[grp], fmt.mag_width)
            dut.round_i.value = rnd
            await Timer(1, unit="ns")
            want = digital.msb_extract(sign[grp], mag[grp], rnd, fmt)
            got = (tbkit.from_planes(tbkit.u(dut.code_sign_o), lanes, 1),
                   tbkit.from_planes(tbkit.u(dut.code_mag_o), lanes, fmt.code_bits))
            for w, g, what in zip(want, got, ("code_sign", "code_mag")):
                bad = np.nonzero(w != g)[0]
                assert not len(bad), (
                    f"{what}: lane {bad[0]} sign={sign[grp][bad[0]]} mag={mag[grp][bad[0]]} "
                    f"round={rnd}: RTL {g[bad[0]]}, model {w[bad[0]]}")
            checked += lanes
    dut._log.info("checked %d input combinations (%d lanes)", checked, lanes)


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    *(pytest.param(p, id=k) for k, p in PARAM_SETS.items()),
    *(pytest.param(p, id=k, marks=[pytest.mark.icarus_only, pytest.mark.corner,
                                   pytest.mark.no_coverage])
      for k, p in CORNER_SETS.items())])
def test_hymem_msb_extract(sim, seed, params):
    # the seed orders the lanes' inputs: without it cocotb drew one from the clock, so a
    # failure could not be replayed and the coverage run's toggles changed from run to run
    simrun.run(TOPLEVEL, "test_hymem_msb_extract", sim, parameters=params, seed=seed)


# ------------------------------------------------------- pytest: the model only


def test_model_published_truncation():
    """Sign + 3 MSBs of the 9-bit magnitude: 64 hidden LSBs per code step."""
    assert digital.msb_extract(0, 0) == (0, 0)
    assert digital.msb_extract(0, 63) == (0, 0)
    assert digital.msb_extract(0, 64) == (0, 1)
    assert digital.msb_extract(1, 511) == (1, 7)
    assert digital.msb_extract(1, 448) == (1, 7)
    assert digital.msb_extract(1, 447) == (1, 6)


def test_model_rounding_half_up_saturating():
    assert digital.msb_extract(0, 31, round_mode=True) == (0, 0)
    assert digital.msb_extract(0, 32, round_mode=True) == (0, 1)
    assert digital.msb_extract(1, 95, round_mode=True) == (1, 1)
    assert digital.msb_extract(1, 96, round_mode=True) == (1, 2)
    assert digital.msb_extract(0, 479, round_mode=True) == (0, 7)
    assert digital.msb_extract(0, 480, round_mode=True) == (0, 7)  # would be 8: saturates
    assert digital.msb_extract(0, 511, round_mode=True) == (0, 7)


def test_model_canonical_zero_code():
    """Both zeros and every small negative weight give the code +0."""
    for mag in range(64):
        assert digital.msb_extract(1, mag) == (0, 0)
    assert digital.msb_extract(1, 31, round_mode=True) == (0, 0)


def test_model_bad_input():
    with pytest.raises(ValueError, match=r"mag must be in 0\.\.511; got 512"):
        digital.msb_extract(0, 512)
    with pytest.raises(ValueError, match=r"sign must be in 0\.\.1; got 2"):
        digital.msb_extract(2, 0)
    with pytest.raises(ValueError, match=r"code_bits must be in 1\.\.8 \(below mag_width\); got 9"):
        digital.HiddenFormat(mag_width=9, code_bits=9)
