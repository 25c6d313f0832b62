"""hymem.analog.devices: each published figure reproduced within a stated tolerance, the device
physics (switching, wake-up/fatigue, forming, endurance, relaxation, sensing), counters and
energy, and every bad-input error with its message."""

from __future__ import annotations

import json
import subprocess
import sys
from statistics import NormalDist

import numpy as np
import pytest

from hymem.analog import device_report, devices as dv
from hymem import published as pub

# ------------------------------------------------------------ published figures

# Tolerances (issue 3): level means within 2 uS, sigma within 2 uS, FeCAP window median
# within 20 mV, 15 monotonic transfer levels. The worst window over 16,384 devices is a
# sample minimum (model: 122 mV on average over 200 seeds, 13 mV spread, cut at the 100 mV
# floor): within 60 mV.
TOL_MEAN_US = 2.0
TOL_SIGMA_US = 2.0
TOL_MEDIAN_MV = 20.0
TOL_WORST_MV = 60.0


@pytest.fixture(scope="module", params=[1, 2])
def figures(request):
    return device_report.device_figures(seed=request.param)


def test_memristor_level_means(figures):
    got = np.array(figures["memristor_level_mean_us"])
    want = np.array(pub.MEMRISTOR_LEVEL_MEAN_US)
    assert got.shape == (8,)
    assert np.abs(got - want).max() < TOL_MEAN_US, got - want


def test_memristor_level_sigma(figures):
    s = np.array(figures["memristor_level_sigma_us"])
    # published: about 8.7 uS on average over the levels
    assert abs(s.mean() - pub.MEMRISTOR_LEVEL_SIGMA_US) < TOL_SIGMA_US
    # and every programmed (SET) level near it; RESET is tighter
    assert np.abs(s[1:] - pub.MEMRISTOR_LEVEL_SIGMA_US).max() < TOL_SIGMA_US, s
    assert s[0] < 2.0


def test_fifteen_monotonic_transfer_levels(figures):
    t = np.array(figures["transfer_level_mean_us"])
    assert t.shape == (15,)
    assert (np.diff(t) > 5.0).all(), "15 distinct levels, at least 5 uS apart"
    assert abs(t[7]) < 0.5                        # code 0: both devices RESET
    assert np.allclose(t[:7], -t[8:][::-1])       # symmetric


def test_fecap_window(figures):
    assert abs(figures["fecap_window_median_mv"] - pub.FECAP_WINDOW_MEDIAN_V * 1e3) < TOL_MEDIAN_MV
    assert abs(figures["fecap_window_min_mv"] - pub.FECAP_WINDOW_WORST_V * 1e3) < TOL_WORST_MV


def test_fecap_window_floor():
    """No woken cell below window_floor_v (the published worst case, 120 mV) and no sense
    amplifier offset beyond 3 sigmas, even in a million cells: every read is at least 36 mV
    (7 sigmas of sense noise) from its threshold (the uncut normal tails gave read errors,
    docs/models.md)."""
    b = dv.FecapBank((64, 16384), None, 11)
    p = b.params
    assert p.window_floor_v == pytest.approx(pub.FECAP_WINDOW_WORST_V)
    assert b.window0_v.min() == pytest.approx(p.window_floor_v)
    assert (b.window0_v == p.window_floor_v).mean() < 1e-4
    assert np.abs(b.sa_offset_v).max() == pytest.approx(p.sense_offset_clip * p.sense_offset_sigma_v)
    thr_hi = p.sense_ref_v + p.sense_offset_clip * p.sense_offset_sigma_v
    thr_lo = p.sense_ref_v - p.sense_offset_clip * p.sense_offset_sigma_v
    margin = min(p.window_floor_v * p.window_factor(p.initial_cycles) - thr_hi, thr_lo)
    assert margin >= 7 * p.sense_noise_v - 1e-4
    with pytest.raises(ValueError, match=r"sense_offset_clip must be in"):
        dv.FecapParams(sense_offset_clip=-1.0)
    with pytest.raises(ValueError, match=r"window_floor_v must be in \[0, 0.12\]"):
        dv.FecapParams(window_floor_v=0.2)


def test_energies(figures):
    e = figures["energy_per_op_j"]
    assert e["memristor_set"] == pytest.approx(pub.ENERGY_MEMRISTOR_WRITE_J)
    assert e["memristor_reset"] == pytest.approx(pub.ENERGY_MEMRISTOR_WRITE_J)
    assert e["fecap_write"] == pytest.approx(pub.ENERGY_FECAP_WRITE_J)
    assert e["fecap_read"] == pytest.approx(pub.ENERGY_FECAP_WRITE_J)
    # E = MW (C_D + C_BL) V at the median window: 0.36 V * 197.5 fF * 3 V = 213 fJ ("below
    # 200 fJ/bit" is published; the relation at the median window gives about that)
    assert e["fecap_switch_physical"] == pytest.approx(0.36 * 197.5e-15 * 3.0, rel=0.06)


def test_cli_devices_json_and_plot(tmp_path):
    js, png = tmp_path / "d.json", tmp_path / "d.png"
    r = subprocess.run([sys.executable, "-m", "hymem.cli", "devices", "--json", str(js),
                        "--plot", str(png)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "published" in r.stdout and "monotonic and distinct: yes" in r.stdout
    d = json.loads(js.read_text())
    for k, n in (("memristor_level_mean_us", 8), ("memristor_level_sigma_us", 8),
                 ("transfer_level_mean_us", 15)):
        assert len(d[k]) == n
    assert isinstance(d["fecap_window_median_mv"], float)
    assert isinstance(d["fecap_window_min_mv"], float)
    assert set(d["energy_per_op_j"]) >= {"fecap_write", "fecap_read", "memristor_set",
                                         "memristor_reset"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------- memristor


def test_transfer_compliance_range():
    tp = dv.TransferLineParams()
    i = dv.code_set_compliance_ua(np.arange(8), tp)
    assert i[1] == pytest.approx(pub.SET_COMPLIANCE_RANGE_UA[0])
    assert i[7] == pytest.approx(pub.SET_COMPLIANCE_RANGE_UA[1])
    v = tp.v_range[0] + np.arange(8) * tp.dv_unit_v
    assert v[0] == pytest.approx(0.5) and v[7] == pytest.approx(1.5)
    # nominal windows: the transfer from FeCAP bits gives the code-SET currents
    units = dv.code_units(np.arange(8))
    i2 = dv.transfer_compliance_ua(units, np.full(units.shape, tp.window_ref_v), tp)
    assert np.allclose(i2, i)


def test_weak_or_wrong_msb_fecap_gives_wrong_level():
    tp = dv.TransferLineParams()
    units = dv.code_units(np.array([5]))[0]           # 101: MSB1 (4 units) + MSB3
    w = np.full(7, tp.window_ref_v)
    good = dv.transfer_compliance_ua(units, w, tp)
    weak = w.copy()
    weak[0] *= 0.3                                    # one weak MSB1 copy
    lo = dv.transfer_compliance_ua(units, weak, tp)
    flipped = units.copy()
    flipped[5] = True                                 # an MSB2 unit reads '1' wrongly
    hi = dv.transfer_compliance_ua(flipped, w, tp)
    assert lo < good < hi
    assert good - lo == pytest.approx(0.7 * tp.gm_ua_per_v * tp.dv_unit_v)


def test_set_level_spread_d2d_c2c_separable():
    """d2d_fraction=1: a device reprograms to the same value; 0: its values are independent."""
    for frac, same in ((1.0, True), (0.0, False)):
        p = dv.MemristorParams(d2d_fraction=frac)
        b = dv.MemristorBank(4000, p, 3, formed=True)
        b.set_compliance(None, 46.2)
        g1 = b.g_us.copy()
        b.reset(None)
        b.set_compliance(None, 46.2)
        r = np.corrcoef(g1, b.g_us)[0, 1]
        assert (r > 0.99) if same else (abs(r) < 0.1), r
        assert abs(g1.std() - p.set_sigma_us) < 1.0


@pytest.mark.parametrize("params", [{}, dict(hrs_sigma_us=2.5, d2d_fraction=0.9)],
                         ids=["default", "wide_d2d"])
def test_reset_quantile_matches_resets(params):
    """MemristorParams.reset_quantile_us(z) is the z-sigma quantile of RESET conductances:
    against the empirical quantiles of 400,000 RESET devices (sampling error below 1 %; the
    formula without its -s**2/2 term is 23 % off)."""
    p = dv.MemristorParams(**params)
    b = dv.MemristorBank(400_000, p, 7, formed=True)
    b.reset(None)
    for z in (-1.0, 0.0, 1.0, 2.0, 3.0):
        want = float(np.quantile(b.g_us, NormalDist().cdf(z)))
        assert p.reset_quantile_us(z) == pytest.approx(want, rel=0.03), z
    assert p.reset_quantile_us(7.0) > p.reset_quantile_us() > p.reset_quantile_us(3.0)
    if not params:
        assert p.reset_quantile_us() == pytest.approx(53.7, abs=0.1)


def test_set_never_lowers_and_needs_current():
    b = dv.MemristorBank(100, None, 1, formed=True)
    b.set_compliance(None, 66.6)
    high = b.g_us.copy()
    b.set_compliance(None, 25.8)
    assert (b.g_us == high).all()
    b.reset(None)
    low = b.g_us.copy()
    b.set_compliance(None, 10.0)          # below the minimum filament current
    assert (b.g_us == low).all()


def test_forming_adaptive():
    b = dv.MemristorBank((2, 500), None, 5)
    assert not b.formed.any() and (b.g_us < 0.1).all()
    with pytest.raises(ValueError, match=r"RESET on 1000 unformed device\(s\): form them first"):
        b.reset(None)
    rows = (0, slice(None))
    hits = []
    for _ in range(100):
        hits.append(b.form(rows).sum())
        if b.formed[0].all():
            break
    assert b.formed[0].all() and not b.formed[1].any()
    assert 0.35 < hits[0] / 500 < 0.65                 # median device forms in one pulse
    assert (b.g_us[0] >= 1e6 / pub.FORMING_TARGET_OHM).all()
    # forming is voltage accelerated: 4 V barely forms
    c = dv.MemristorBank(2000, None, 6)
    assert c.form(None, v=4.0).mean() < 0.01
    assert b.ops["form"] == sum(500 for _ in hits)


def test_endurance_failure_stuck():
    p = dv.MemristorParams(endurance_cycles=50, endurance_sigma_ln=0.2)
    b = dv.MemristorBank(400, p, 9, formed=True)
    for _ in range(150):
        b.reset(None)
        b.set_compliance(None, 66.6)
    assert (b.cycles == 150).all()
    assert (b.stuck > 0).all()
    hi, lo = b.stuck == 2, b.stuck == 1
    assert 0.35 < hi.mean() < 0.65
    b.reset(None)
    assert (b.g_us[hi] == p.stuck_high_us).all() and (b.g_us[lo] == p.stuck_low_us).all()
    fresh = dv.MemristorBank(400, None, 9, formed=True)
    for _ in range(150):
        fresh.reset(None)
        fresh.set_compliance(None, 66.6)
    assert not fresh.stuck.any()          # published endurance ~1e5 cycles


def test_read_noise_and_relaxation():
    b = dv.MemristorBank(5000, None, 2, formed=True)
    b.set_compliance(None, 66.6)
    g = b.conductance_us()
    r = b.read_us(None, rng=np.random.default_rng(1)) - g
    want = np.sqrt((0.01 * g) ** 2 + 0.1 ** 2)
    assert abs((r / want).std() - 1.0) < 0.05
    assert np.array_equal(b.conductance_us(), g)        # reads do not disturb
    # relaxation off by default; on, spread grows with log time
    b.advance(3600.0)
    assert np.array_equal(b.conductance_us(), g)
    p = dv.MemristorParams(relax_sigma_per_decade=0.02)
    c = dv.MemristorBank(5000, p, 2, formed=True)
    c.set_compliance(None, 66.6)
    g0 = c.conductance_us()
    c.advance(1e4)
    d1 = np.log(c.conductance_us() / g0).std()
    c.advance(1e8)
    d2 = np.log(c.conductance_us() / g0).std()
    assert d1 == pytest.approx(0.02 * 4, rel=0.1) and d2 > d1


def test_memristor_counters_and_energy():
    b = dv.MemristorBank((3, 10), None, 4, formed=True)
    m = np.zeros((3, 10), dtype=bool)
    m[1, :4] = True
    b.reset(m)
    b.set_compliance(m, 40.0)
    b.read_us(m, pulse_s=100e-9)
    assert b.ops == {"form": 0, "reset": 4, "set": 4, "read": 4}
    assert b.energy_j["set"] == pytest.approx(4e-12)
    g = b.g_us[m]
    assert b.energy_j["read"] == pytest.approx((0.16 * g * 1e-6 * 100e-9).sum())
    assert (b.cycles[m] == 1).all() and b.cycles.sum() == 4


# ----------------------------------------------------------------------- FeCAP


def test_fecap_switching_probability():
    p = dv.FecapParams()
    assert p.switch_probability(3.0, 2e-6) > 1 - 1e-12            # published pulse: reliable
    assert p.switch_probability(3.0, 100e-9) < 0.99                # short pulse may not
    assert 0.5 < p.switch_probability(2.0, 2e-6) < 0.99            # weaker pulse may not
    assert p.switch_probability(1.5, 2e-6) < 0.05
    b = dv.FecapBank(20000, None, 3)
    sw = b.write(None, True, v=2.0)
    assert abs(sw.mean() - p.switch_probability(2.0, 2e-6)) < 0.05   # d2d spread around it
    b2 = dv.FecapBank(20000, None, 3)
    assert b2.write(None, True).all()


def test_fecap_wakeup_and_fatigue():
    p = dv.FecapParams()
    f = p.window_factor([0, 1e3, 1e4, 1e7, 1e8])
    assert f[0] == pytest.approx(p.wakeup_initial_fraction)
    assert f[1] > 0.97 and f[2] > 0.99
    assert f[3] * p.window_median_v > 0.1        # median window still positive beyond 1e7
    assert f[4] < f[3] < f[2]
    b = dv.FecapBank(2000, None, 1)
    w0 = np.median(b.window_v())
    b.cycles[:] = 1e7
    assert np.median(b.window_v()) == pytest.approx(w0 * f[3] / p.window_factor(1e4), rel=1e-6)


def test_fecap_destructive_read_and_write_lines():
    b = dv.FecapBank((4, 64), None, 8)
    data = np.random.default_rng(0).random((4, 64)) < 0.5
    b.write(data, True)
    b.write(~data, False)
    assert (b.bits == data).all()
    got = b.read(None)
    assert (got == data).all()
    assert not b.bits.any()                       # destructive
    assert b.ops == {"read": 256, "write0": int((~data).sum()), "write1": int(data.sum())}
    assert b.energy_j["write1"] == pytest.approx(data.sum() * 100e-15)
    c0 = b.cycles.copy()
    b.write(None, True)
    assert np.allclose(b.cycles - c0, 0.5)        # a switch is half a cycle
    assert b.energy_physical_j > 0


def test_fecap_reads_fail_when_window_small():
    b = dv.FecapBank((8, 512), None, 2)
    b.bits[:] = True
    assert b.read(None).mean() > 0.9999
    b.bits[:] = True
    b.cycles[:] = 1e9                              # fatigued: window ~ 1 % of nominal
    assert b.read(None).mean() < 0.1
    b.cycles[:] = 1e4
    b.bits[:] = True
    b.inject((slice(0, 4),), weak=True)
    got = b.read(None)
    assert got[4:].mean() > 0.999 and got[:4].mean() < 0.999
    b.bits[:] = True
    b.inject(None, weak=False)
    b.inject_sense([3, 5], stuck=0)
    got = b.read(None)
    assert not got[:, [3, 5]].any() and got[:, 6].all()


def test_fecap_read_flip_and_sense_flip():
    b = dv.FecapBank((2, 100), None, 4)
    b.inject((0, slice(None)), read_flip=True)
    b.bits[:] = False
    got = b.read(None)
    assert got[0].all() and not got[1].any()
    b.inject(None, read_flip=False)
    b.inject_sense(slice(None), flip_p=1.0)
    b.bits[:] = True
    assert not b.read(None).any()


# ------------------------------------------------------------------ bad input


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"d2d_fraction must be in \[0, 1\]; got 1.5"):
        dv.MemristorParams(d2d_fraction=1.5)
    with pytest.raises(ValueError, match=r"level_mean_us must be positive and strictly increasing"):
        dv.MemristorParams(level_mean_us=(1.0, 5.0, 4.0))
    with pytest.raises(ValueError, match=r"read_v must be in \(0, 1\]; got 2"):
        dv.MemristorParams(read_v=2)
    with pytest.raises(ValueError, match=r"window_worst_v must be in \[0, 0.36\); got 0.5"):
        dv.FecapParams(window_worst_v=0.5)
    with pytest.raises(ValueError, match=r"tau_3v_s must be in \(0, inf\]; got -1"):
        dv.FecapParams(tau_3v_s=-1)
    with pytest.raises(ValueError, match=r"window_population must be an integer >= 2; got 1"):
        dv.FecapParams(window_population=1)
    with pytest.raises(ValueError, match=r"units must be positive integers; got \(4, 0, 1\)"):
        dv.TransferLineParams(units=(4, 0, 1))
    with pytest.raises(ValueError, match=r"v_range\[1\] must be in \(0.5, 5\]; got 0.4"):
        dv.TransferLineParams(v_range=(0.5, 0.4))


def test_bad_calls():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator or an integer "
                                         "seed; got None"):
        dv.MemristorBank(4)
    with pytest.raises(ValueError, match=r"shape must be a tuple of positive integers; got \(0, 3\)"):
        dv.FecapBank((0, 3), None, 1)
    with pytest.raises(ValueError, match=r"params must be a FecapParams; got MemristorParams"):
        dv.FecapBank(3, dv.MemristorParams(), 1)
    b = dv.MemristorBank((2, 3), None, 1, formed=True)
    with pytest.raises(ValueError, match=r"where mask must have the bank's shape \(2, 3\); got \(3,\)"):
        b.reset(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match=r"where is not a valid index into a bank of shape \(2, 3\)"):
        b.reset((5, 0))
    with pytest.raises(ValueError, match=r"i_cc_ua must be in \[0, 1000\] uA; got -1.0..-1.0"):
        b.set_compliance(None, -1.0)
    with pytest.raises(ValueError, match=r"i_cc_ua must be a scalar or match the selection's "
                                         r"shape \(2, 3\); got \(4,\)"):
        b.set_compliance(None, np.ones(4))
    with pytest.raises(ValueError, match=r"pulse_s must be in \(0, 1\]; got 0"):
        b.form(None, pulse_s=0)
    with pytest.raises(ValueError, match=r"dt_s must be in \[0, inf\]; got -5"):
        b.advance(-5)
    f = dv.FecapBank(4, None, 1)
    with pytest.raises(ValueError, match=r"v must be in \(0, 4.5\]; got 6"):
        f.write(None, True, v=6)
    with pytest.raises(ValueError, match=r"width_s must be in \[0, 1\]; got -1e-06"):
        f.read(None, width_s=-1e-6)
    with pytest.raises(ValueError, match=r"stuck must be None, 0 or 1; got 2"):
        f.inject_sense([0], stuck=2)
    with pytest.raises(ValueError, match=r"code_mag must be integers in 0..7; got int64 values 8..8"):
        dv.code_set_compliance_ua(np.array([8]))
    with pytest.raises(ValueError, match=r"switched and window_v must have the same shape "
                                         r"\(..., 7\); got \(6,\) and \(6,\)"):
        dv.transfer_compliance_ua(np.ones(6, bool), np.ones(6))


def test_stuck_low_device_never_forms():
    """A device stuck low is the fault model of a device that does not form."""
    b = dv.MemristorBank((4,), None, np.random.default_rng(1), formed=False)
    b.inject_stuck(np.array([True, False, False, False]), False)
    for _ in range(20):
        b.form(np.ones(4, bool), pulse_s=300e-6)
    g = b.conductance_us()
    assert g[0] < 1.0 and (g[1:] >= 20.0).all()


# --------------------------------------------------------------- keyed device noise


def test_keyed_draws_are_standard_and_independent():
    k = dv.device_keys(42, np.arange(400)[:, None], np.arange(250)[None, :])     # 100,000 devices
    assert len(np.unique(k)) == k.size
    z1, z2 = dv.keyed_normal(k, 1, 0), dv.keyed_normal(k, 2, 0)
    z3 = dv.keyed_normal(k, 1, 1)                                  # the next event's draw
    for z in (z1, z2, z3):
        assert abs(z.mean()) < 0.015 and abs(z.std() - 1) < 0.015
        assert abs(np.mean(z ** 4) - 3) < 0.1                      # Gaussian tails
    for a, b in ((z1, z2), (z1, z3), (z1[:, 1:], z1[:, :-1]), (z1[1:], z1[:-1])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.015
    u = dv.keyed_uniform(k, 5, 0)
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.005
    # a function of (key, stream, count) only
    assert np.array_equal(dv.keyed_normal(k[:3, :3], 1, 0), z1[:3, :3])


def test_keyed_memristors_ignore_operation_order():
    """Two banks with the same device keys, shaped differently, get the same operations in
    different orders and batches: identical conductances and reads. Unkeyed, they differ."""
    keys = dv.device_keys(7, np.arange(8)[:, None], np.arange(16)[None, :])     # (8, 16)
    a = dv.MemristorBank((8, 16), None, 1, formed=True, keys=keys)
    b = dv.MemristorBank((16, 8), None, 2, formed=True, keys=keys.T)   # transposed, other rng
    i = np.random.default_rng(3).uniform(20, 200, size=(8, 16))
    for r in range(8):                                                 # a: row by row
        a.reset((r, slice(None)))
        a.set_compliance((r, slice(None)), i[r])
    b.reset(None)                                                      # b: all at once
    b.set_compliance(None, i.T)
    assert np.array_equal(a.g_us, b.g_us.T)
    # a reads through index arrays (copies), b through slices (views of its counters)
    lines = np.arange(16)
    ra = np.stack([a.read_us((np.full(16, r), lines)) for r in reversed(range(8))])[::-1]
    assert np.array_equal(ra, b.read_us().T)
    assert np.array_equal(a.read_us(), b.read_us().T)                 # the second read too
    assert not np.array_equal(a.read_us(), a.read_us())               # fresh noise per read
    assert (a.programs == 3).all() and (a.reads == 4).all()     # the formed RESET + 2
    c = dv.MemristorBank((8, 16), None, 1, formed=True)                # unkeyed
    c.reset(None)
    c.set_compliance(None, i)
    assert not np.array_equal(c.g_us, a.g_us)
