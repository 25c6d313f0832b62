"""Retention and refresh: accuracy against time after training, with the memristors drifting
and with periodic refresh transfers from the FeCAP hidden weights (issue 14).

**Drift.** The memristor model's relaxation (:class:`hymem.analog.devices.MemristorParams`,
``relax_sigma_per_decade``; off by default): every device's conductance is multiplied by
``exp(s * log10(1 + age / t0) * z)``, ``z`` a standard normal fixed per device (keyed), ``age``
the time since the device was last programmed. The paper gives only "stable for about one
month" (:data:`hymem.published.MEMRISTOR_RETENTION_S`); :data:`DRIFT_SIGMA_PER_DECADE` is our
reading of it (an assumption, stated once here): after one month the drift's log-sigma equals
the published level spread relative to the mean programmed level (8.7 uS over the mean of
levels 1-7), i.e. the drift has by then added as much spread as the transfer itself. The bench
also runs twice that rate.

**Refresh.** A transfer of every synapse (not change-aware: every code rewritten, RESET + SET,
which also restarts each device's age) from the hidden weights, which the FeCAPs keep (FeCAP
retention is not modelled: the hidden weights are taken as stable). Its cost is measured from
the counters: memristor writes at 1 pJ and FeCAP row operations at 100 fJ per cell
(:mod:`hymem.published`), as the reference's energy.

:func:`study` trains a network (device physics, keyed), then walks a timeline: evaluation times
``times_s`` after the end of training, with a refresh every ``refresh_s`` seconds (0: never).
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np

from ..digital import engine, fastengine
from .. import published
from ..analog.devices import MemristorParams

HOUR, DAY, WEEK, MONTH = 3600.0, 86400.0, 7 * 86400.0, published.MEMRISTOR_RETENTION_S
#: Evaluation times after training (s): an hour to a year.
TIMES_S = (HOUR, 6 * HOUR, DAY, WEEK, MONTH, 3 * MONTH, 6 * MONTH, 12 * MONTH)
_LEVELS = published.MEMRISTOR_LEVEL_MEAN_US
#: The drift rate read from the published retention (module doc): log-sigma per decade of time.
DRIFT_SIGMA_PER_DECADE = (published.MEMRISTOR_LEVEL_SIGMA_US / float(np.mean(_LEVELS[1:]))
                          / math.log10(1.0 + published.MEMRISTOR_RETENTION_S
                                       / MemristorParams().relax_t0_s))
#: Longest time a study may span (s): 100 years.
TIME_MAX_S = 100 * 365.25 * DAY


def check_times(times_s, refresh_s) -> tuple[list[float], float]:
    """ValueError naming the parameter when the evaluation times or the refresh period are out
    of range (times: increasing, each in (0, TIME_MAX_S]; refresh 0 or in [1 s, TIME_MAX_S])."""
    times = list(times_s)
    if not times or any(isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)
                        or not 0 < t <= TIME_MAX_S for t in times):
        raise ValueError(f"times_s must be one or more seconds, each in (0, {TIME_MAX_S:.3g}]; "
                         f"got {times_s!r}")
    if any(b <= a for a, b in zip(times, times[1:])):
        raise ValueError(f"times_s must be increasing; got {times_s!r}")
    r = refresh_s
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) \
            or not (r == 0 or 1.0 <= r <= TIME_MAX_S):
        raise ValueError(f"refresh_s must be 0 (never) or a period in 1..{TIME_MAX_S:.3g} s; "
                         f"got {refresh_s!r}")
    return [float(t) for t in times], float(r)


def drift_params(sigma_per_decade: float = DRIFT_SIGMA_PER_DECADE) -> MemristorParams:
    """Memristor parameters with the relaxation on at ``sigma_per_decade``."""
    return replace(MemristorParams(), relax_sigma_per_decade=float(sigma_per_decade))


def set_drift(net, sigma_per_decade: float) -> None:
    """Change the drift rate of a trained network's memristors (it acts only on reads: the
    conductance a device shows at its age; programming is unaffected)."""
    p = drift_params(sigma_per_decade)            # checks the value
    for bank in _banks(net):
        bank.params = replace(bank.params, relax_sigma_per_decade=p.relax_sigma_per_decade)


def _banks(net):
    return [layer.programmer.mr for layer in net.layers]


def _set_clock(net, t_s: float) -> None:
    for bank in _banks(net):
        bank.advance(t_s - bank.now_s)


def refresh(net) -> dict:
    """One refresh of every hybrid layer: every synapse reprogrammed from its hidden weight.
    Returns what it cost (memristor writes, FeCAP row operations, energy in J)."""
    before = [copy.deepcopy(layer.state.counters) for layer in net.layers]
    for layer in net.layers:
        st = layer.state
        # not change-aware: every used synapse, whatever its flag
        tcfg = engine.TransferConfig(change_aware=False, code_round=layer.tcfg.code_round,
                                     verify_max=layer.tcfg.verify_max)
        fastengine.transfer(st, tcfg, layer.programmer)
        if layer.tcfg.change_aware:
            # every code is now in the memristors (the clearing flag-row writes not counted)
            st.flags[:] = False
        layer.refresh()
    mw = fe = 0
    for layer, c0 in zip(net.layers, before):
        c = layer.state.counters
        mw += int((c.mr_resets + c.mr_sets - c0.mr_resets - c0.mr_sets).sum())
        fe += int((c.fe_reads + c.fe_writes - c0.fe_reads - c0.fe_writes).sum())
    e_mr = mw * published.ENERGY_MEMRISTOR_WRITE_J
    e_fe = fe * published.TRANSFER_LINES * published.ENERGY_FECAP_WRITE_J
    return {"memristor_writes": mw, "fecap_row_ops": fe, "energy_memristor_j": e_mr,
            "energy_j": e_mr + e_fe}


def timeline(net, data, times_s, refresh_s: float = 0.0) -> dict:
    """Accuracy of a trained hybrid ``net`` (device physics, drift on) at ``times_s`` after
    training, refreshed every ``refresh_s`` (0: never), each evaluation before a refresh due
    at the same time (the oldest the devices get). Leaves ``net`` at the last time."""
    times, period = check_times(times_s, refresh_s)
    base = _banks(net)[0].now_s
    acc, refreshes, costs = [], 0, []
    for t in times:
        if period:
            while (refreshes + 1) * period < t:    # a refresh due at t comes after it
                refreshes += 1
                _set_clock(net, base + refreshes * period)
                costs.append(refresh(net))
        _set_clock(net, base + t)
        for layer in net.layers:
            layer.refresh()                  # read every memristor now
        acc.append(net.evaluate(data.x_test, data.y_test))
    return {"times_s": times, "refresh_s": period, "accuracy": acc, "refreshes": refreshes,
            "refresh_costs": costs}
