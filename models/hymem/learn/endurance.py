"""Endurance margins of both devices, and the endurance-aware stop of a training run (issue 14).

Published endurance (:mod:`hymem.published`, SPEC section 1): memristor about 1e5 SET-RESET
cycles; FeCAP median window still positive beyond 1e7 cycles.

- **memristor**: the worst device's writes (every RESET and every SET of that device, from the
  programmer's per-device counts), compared with the endurance as if each write were a cycle
  (conservative by up to 2x: a cycle is one RESET and one SET), as
  :meth:`hymem.learn.reference.Network.counters` (``endurance_margin``) does;
- **FeCAP**: an upper bound on the cycles of the most used FeCAP: each sample cycles (reads and
  writes back) a FeCAP row at most once (its slot's read-modify-write, or the flag row), and a
  transfer at most twice (the flag row read and restored, then written with cleared flags; the
  MSB rows read onto the transfer line and rewritten), so ``samples + 2 * transfers`` (the
  initial programming counted as a transfer). The per-row counts are not kept by the engine.

:class:`Guard` checks both against ``limit`` (a fraction of the endurance) during training
(``hymem train --endurance-limit F --endurance-action warn|stop``).
"""

from __future__ import annotations

import math

from .. import published

DEVICES = ("memristor", "fecap")
ENDURANCE = {"memristor": published.MEMRISTOR_ENDURANCE_CYCLES,
             "fecap": published.FECAP_ENDURANCE_CYCLES}
ACTIONS = ("warn", "stop")


def check_limit(limit, action) -> None:
    """ValueError naming the option when the limit or action is out of range."""
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) \
            or not 0.0 < limit <= 1.0:
        raise ValueError(f"endurance limit (--endurance-limit) must be a fraction of the "
                         f"published endurance in (0, 1]; got {limit!r}")
    if action not in ACTIONS:
        raise ValueError(f"endurance action (--endurance-action) must be one of "
                         f"{', '.join(ACTIONS)}; got {action!r}")


def worst(net) -> dict:
    """The worst device of each kind of a :class:`hymem.learn.reference.Network` so far: memristor
    writes (exact) and a FeCAP cycle bound (module doc). Zeros for a float network."""
    from .reference import HybridLayer

    mr = 0
    hybrid = False
    for layer in net.layers:
        if isinstance(layer, HybridLayer):
            hybrid = True
            mr = max(mr, int(layer.programmer.device_writes().max()))
    fe = net.samples + 2 * (net.transfers + 1) if hybrid else 0
    return {"memristor": mr, "fecap": fe}


def margins(net) -> dict:
    """Worst-device figures of both kinds against their endurance (JSON-ready): per device
    ``<kind>_worst`` (writes / cycle bound), ``<kind>_endurance``, ``<kind>_used`` (fraction of
    the endurance) and ``<kind>_margin`` (endurance / worst; None when unused, e.g. float)."""
    w = worst(net)
    out = {}
    for kind in DEVICES:
        e = ENDURANCE[kind]
        out[f"{kind}_worst"] = w[kind]
        out[f"{kind}_endurance"] = e
        out[f"{kind}_used"] = w[kind] / e
        out[f"{kind}_margin"] = e / w[kind] if w[kind] else None
    return out


def lifetime_runs(m: dict) -> float | None:
    """How many runs like this one the worst device of either kind survives (None: no device
    was used)."""
    used = [m[f"{k}_margin"] for k in DEVICES if m[f"{k}_margin"] is not None]
    return min(used) if used else None


class Guard:
    """Polled between samples (the ``stop`` of :func:`hymem.learn.reference.train`): when the worst
    device of either kind reaches ``limit`` of its endurance, logs it once (``warn``) or also asks
    training to stop (``stop``). ``tripped``: what crossed, for the report."""

    def __init__(self, net, limit: float, action: str = "warn", log=print):
        check_limit(limit, action)
        self.net, self.limit, self.action, self.log = net, float(limit), action, log
        self.tripped: dict | None = None
        self._transfers = -1
        self._mr = 0

    def __call__(self) -> bool:
        net = self.net
        if self.tripped is not None:
            return self.action == "stop"
        if net.transfers != self._transfers:      # memristors are written only by transfers
            self._transfers = net.transfers
            self._mr = worst(net)["memristor"]
        hybrid = bool(net.transfer_after)
        fe = net.samples + 2 * (net.transfers + 1) if hybrid else 0
        for kind, value in (("memristor", self._mr), ("fecap", fe)):
            if value >= self.limit * ENDURANCE[kind]:
                self.tripped = dict(device=kind, worst=value, endurance=ENDURANCE[kind],
                                    limit=self.limit, samples=net.samples, action=self.action)
                self.log(f"endurance: the worst {kind} has {value:,} "
                         f"{'writes' if kind == 'memristor' else 'cycles (bound)'}, "
                         f"{value / ENDURANCE[kind]:.3g} of its published endurance "
                         f"{ENDURANCE[kind]:.0e} (limit {self.limit:g}) after {net.samples:,} "
                         f"samples{': stopping' if self.action == 'stop' else ''}")
                return self.action == "stop"
        return False
