"""Retention and refresh (hymem.learn.retention): the drift acts on a device's age, a refresh
reprograms every synapse and restarts the ages, its cost comes from the counters, the
timeline's refresh schedule, and bad times or periods. Pure Python, one small array."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hymem.learn import datasets, reference as R, retention
from hymem import published
from hymem.analog.programmer import physical_factory


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def _net(digits, samples=40):
    opts = R.Options(arch=(64, 10), epochs=1, k=20, seed=6, lr=0.01)
    net = R.Network(opts, physical_factory(keyed=True, memristor=retention.drift_params()))
    for i in range(samples):
        net.train_sample(digits.x_train[i], int(digits.y_train[i]))
    return net


def test_drift_rate_is_read_from_the_published_retention():
    r = retention.DRIFT_SIGMA_PER_DECADE
    levels = published.MEMRISTOR_LEVEL_MEAN_US
    dec = math.log10(1 + published.MEMRISTOR_RETENTION_S / 1.0)
    assert r * dec == pytest.approx(published.MEMRISTOR_LEVEL_SIGMA_US / np.mean(levels[1:]))


def test_drift_grows_with_log_age_per_device(digits):
    net = _net(digits)
    bank = net.layers[0].programmer.mr
    g0 = bank.conductance_us().copy()
    t1, t2 = retention.DAY, retention.MONTH
    bank.advance(t1)
    g1 = bank.conductance_us().copy()
    bank.advance(t2 - t1)
    g2 = bank.conductance_us().copy()
    live = bank.stuck == 0
    a, b = np.log(g1[live] / g0[live]), np.log(g2[live] / g0[live])
    big = np.abs(b) > 1e-3
    # each device drifts along its own fixed direction z: ln(g/g0) = s * log10(1 + t/t0) * z
    np.testing.assert_allclose(a[big] / b[big], math.log10(1 + t1) / math.log10(1 + t2), rtol=1e-6)
    assert (a[big] != 0).all()
    retention.set_drift(net, 0.0)
    np.testing.assert_array_equal(bank.conductance_us(), g0)      # drift off: as programmed


def test_refresh_reprograms_every_synapse_and_restarts_the_ages(digits):
    net = _net(digits)
    layer = net.layers[0]
    bank = layer.programmer.mr
    bank.advance(retention.WEEK)
    c0 = layer.state.counters.as_dict()
    flags = layer.state.flags.copy()
    cost = retention.refresh(net)
    c1 = layer.state.counters.as_dict()
    mw = c1["mr_resets"] + c1["mr_sets"] - c0["mr_resets"] - c0["mr_sets"]
    fe = c1["fe_reads"] + c1["fe_writes"] - c0["fe_reads"] - c0["fe_writes"]
    assert cost["memristor_writes"] == mw and cost["fecap_row_ops"] == fe
    assert c1["xfer_programmed"] - c0["xfer_programmed"] == 640     # every synapse of 64 x 10
    assert cost["energy_j"] == pytest.approx(mw * 1e-12 + fe * 128 * 100e-15)
    assert (layer.state.flags == flags).all()          # published mode: flags untouched
    # the devices just programmed (each synapse's target at least) are age 0
    young = bank.t_prog_s.reshape(bank.shape) == bank.now_s
    assert young.sum() >= 640


def test_timeline_refresh_schedule(digits):
    net = _net(digits)
    out = retention.timeline(net, digits, [retention.DAY, retention.WEEK], retention.DAY)
    # refreshes after days 1..6; the one due at day 7 comes after that evaluation
    assert out["refreshes"] == 6 and len(out["refresh_costs"]) == 6
    assert len(out["accuracy"]) == 2 and all(0 <= a <= 1 for a in out["accuracy"])
    bank = net.layers[0].programmer.mr
    assert bank.now_s == retention.WEEK
    assert bank.t_prog_s.max() == 6 * retention.DAY
    none = retention.timeline(_net(digits), digits, [retention.HOUR], 0)
    assert none["refreshes"] == 0


@pytest.mark.parametrize("times, refresh, message", [
    ([], 0, "times_s must be one or more seconds"),
    ([0], 0, "times_s must be one or more seconds, each in"),
    ([10, 5], 0, "times_s must be increasing"),
    ([float("inf")], 0, "times_s must be"),
    ([10], 0.5, r"refresh_s must be 0 \(never\) or a period in 1\.\."),
    ([10], -1, "refresh_s must be 0"),
    ([10], True, "refresh_s must be 0"),
])
def test_bad_times_and_periods(times, refresh, message):
    with pytest.raises(ValueError, match=message):
        retention.check_times(times, refresh)


def test_bad_drift_rate():
    with pytest.raises(ValueError, match="relax_sigma_per_decade"):
        retention.drift_params(-0.1)
