"""hymem_slot_decode: a slot's FeCAP rows -> hidden weights and codes, against
hymem.digital.engine.slot_code (decode_slot + digital.msb_extract).

Directed: every pattern of every MSB group's copies (2**c for c copies) on every lane,
the other rows random; weights on every code and rounding boundary with clean copies.
Constrained random: encoded weights whose row bits flip with a chosen probability (a
weak '1' that reads 0, a copy that drifted), both rounding modes.
"""

from __future__ import annotations

import itertools

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer

from hymem.digital import engine
from hymem.sim import simrun, tbkit

TOPLEVEL = "hymem_slot_decode"

PARAM_SETS = {
    "l128_m9_c3": dict(Lanes=128, MagWidth=9, CodeBits=3),   # the transfer engine's
    "l1_m9_c3": dict(Lanes=1, MagWidth=9, CodeBits=3),       # one column (update engine)
    "l7_m9_c4": dict(Lanes=7, MagWidth=9, CodeBits=4),       # 8:4:2:1 copies
    "l16_m5_c1": dict(Lanes=16, MagWidth=5, CodeBits=1),     # one MSB, one copy
}


class Env:
    def __init__(self, dut):
        self.dut = dut
        p = tbkit.params()
        self.lanes = p["Lanes"]
        cb, mw = p["CodeBits"], p["MagWidth"]
        self.geom = engine.Geometry(lines=self.lanes, slots=1, mag_width=mw, code_bits=cb,
                                    fecap_rows=(1 << cb) + mw - cb + 1)   # one slot + its flag row
        self.rows = self.geom.rows_per_synapse
        self.rng = tbkit.rng()
        self.checked = 0

    async def check(self, rows: np.ndarray, rnd: int, what: str = "") -> None:
        """Apply ``rows`` ((R, Lanes) bools) with rounding ``rnd`` and compare every output."""
        d, L, fmt = self.dut, self.lanes, self.geom.fmt
        d.rows_i.value = tbkit.to_planes(rows.astype(np.int64).T @ (1 << np.arange(self.rows)),
                                         self.rows)
        d.round_i.value = rnd
        await Timer(1, unit="ns")
        want = engine.slot_code(rows, bool(rnd), self.geom)
        got = (tbkit.from_planes(tbkit.u(d.sign_o), L, 1),
               tbkit.from_planes(tbkit.u(d.mag_o), L, fmt.mag_width),
               tbkit.from_planes(tbkit.u(d.code_sign_o), L, 1),
               tbkit.from_planes(tbkit.u(d.code_mag_o), L, fmt.code_bits))
        for name, w, g in zip(("sign", "mag", "code_sign", "code_mag"), want, got):
            bad = np.nonzero(np.asarray(w) != g)[0]
            assert not len(bad), (
                f"{what} round={rnd}: {name} of lane {bad[0]} is {g[bad[0]]}, model "
                f"{np.asarray(w)[bad[0]]}; rows of that lane {rows[:, bad[0]].astype(int).tolist()}")
        self.checked += L

    def groups(self) -> list[tuple[int, int]]:
        """(first row, copies) of every MSB group."""
        cb, n = self.geom.code_bits, 1 << self.geom.code_bits
        return [(1 + n - (1 << (cb - g)), 1 << (cb - 1 - g)) for g in range(cb)]

    def encode(self, h: np.ndarray) -> np.ndarray:
        s, m = (h < 0).astype(np.int64), np.abs(h)
        return engine.encode_slot(s, m, self.geom)


@cocotb.test()
async def copy_patterns(dut):
    """Every pattern of each group's copies (ties to 1: 2 of 4 copies read 1), on every lane."""
    env = Env(dut)
    L = env.lanes
    for r0, c in env.groups():
        pats = np.array(list(itertools.product((0, 1), repeat=c)), dtype=bool)   # (2**c, c)
        # every pattern on every lane: pattern (i + lane) mod 2**c in step i
        for i in range(max(len(pats), 1)):
            rows = env.rng.random((env.rows, L)) < 0.5
            rows[r0:r0 + c] = pats[(i + np.arange(L)) % len(pats)].T
            for rnd in (0, 1):
                await env.check(rows, rnd, f"group at row {r0} ({c} copies)")
    dut._log.info("checked %d lane decodes", env.checked)


@cocotb.test()
async def code_boundaries(dut):
    """Clean copies of weights on every code step, both sides of every rounding half step,
    both zeros and both ends, both signs."""
    env = Env(dut)
    fmt = env.geom.fmt
    step = 1 << fmt.code_shift
    mags = {0, 1, fmt.mag_max, fmt.mag_max - 1, fmt.mag_max - step // 2,
            fmt.mag_max - step // 2 + 1}
    for m in range(fmt.code_max + 1):
        mags |= {m * step, m * step + step // 2 - 1, m * step + step // 2, m * step + step - 1}
    vals = np.array(sorted(v for m in mags if 0 <= m <= fmt.mag_max for v in (m, -m)))
    order = np.concatenate([vals, env.rng.choice(vals, -len(vals) % env.lanes)])
    for grp in order.reshape(-1, env.lanes):
        rows = env.encode(grp)
        for rnd in (0, 1):
            await env.check(rows, rnd, "code boundaries")
    # -0 (sign row 1, magnitude 0) decodes to code +0
    rows = env.encode(np.zeros(env.lanes, np.int64))
    rows[0] = True
    await env.check(rows, 0, "-0")
    assert tbkit.u(dut.code_sign_o) == 0


@cocotb.test()
async def constrained_random(dut):
    """Random weights, their rows with bit flips at 0 %, 2 %, 20 % and 50 % (all patterns)."""
    env = Env(dut)
    fmt = env.geom.fmt
    n = max(64, 2048 // env.lanes)
    for i in range(n):
        h = env.rng.integers(-fmt.mag_max, fmt.mag_max + 1, size=env.lanes)
        rows = env.encode(h)
        p = float(env.rng.choice([0.0, 0.02, 0.2, 0.5]))
        rows ^= env.rng.random(rows.shape) < p
        await env.check(rows, int(env.rng.integers(2)), f"random #{i} flips {p}")
    dut._log.info("checked %d lane decodes", env.checked)


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_hymem_slot_decode(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_slot_decode", sim, parameters=params, seed=seed)


# ------------------------------------------------------- pytest: the model only


def test_model_round_trip():
    """Clean rows decode to the weight they encode and to msb_extract's code."""
    from hymem import digital
    geom = engine.DEFAULT_GEOMETRY
    h = np.arange(-511, 512)
    s, m = (h < 0).astype(np.int64), np.abs(h)
    for rnd in (False, True):
        sign, mag, cs, cm = engine.slot_code(engine.encode_slot(s, m, geom), rnd, geom)
        assert (mag == m).all() and (sign == s).all()
        want = digital.msb_extract(s, m, rnd, geom.fmt)
        assert (cs == want[0]).all() and (cm == want[1]).all()


def test_model_ties_resolve_to_one():
    """Two of four MSB1 copies at 1 read 1; one of four reads 0; one of two MSB2 copies reads 1."""
    geom = engine.DEFAULT_GEOMETRY
    rows = np.zeros((geom.rows_per_synapse, 3), bool)
    rows[1:3, 0] = True          # MSB1: 2 of 4
    rows[1, 1] = True            # MSB1: 1 of 4
    rows[6, 2] = True            # MSB2: 1 of 2
    _, mag, _, cm = engine.slot_code(rows, False, geom)
    assert mag.tolist() == [256, 0, 128] and cm.tolist() == [4, 0, 2]


def test_model_bad_rows():
    with pytest.raises(ValueError, match="expected 14 data rows per slot; got 13"):
        engine.slot_code(np.zeros((13, 4), bool))
