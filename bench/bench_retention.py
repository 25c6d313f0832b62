#!/usr/bin/env python3
"""Retention and refresh (issue 14): test accuracy against time after training with the
memristor drift on, without and with periodic refresh transfers; docs/bench/retention.md/.png.

    .venv/bin/python bench/bench_retention.py [--seeds N] [--epochs N] [--out DIR]

Network: digits 64-200-100-10, the published scheme (k = 100, p = 0.2, truncate, lr 0.01),
device physics with keyed devices (hymem.analog.programmer.physical_factory), trained with the clock
at 0; then, for each drift rate (hymem.learn.retention.DRIFT_SIGMA_PER_DECADE, 2x and 5x) and each
refresh period (never, weekly, daily), a copy of the trained network is walked along
hymem.learn.retention.TIMES_S (each evaluation just before a refresh due then). Mean +- sample std
over the seeds. The cost of one refresh is measured from the counters.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from hymem import bench
from hymem.learn import datasets, reference, retention
from hymem.analog.programmer import physical_factory

ARCH = (64, 200, 100, 10)
RATES = (("published retention (1x)", 1.0), ("2x faster drift", 2.0), ("5x faster drift", 5.0))
REFRESH = (("no refresh", 0.0), ("weekly refresh", retention.WEEK), ("daily refresh", retention.DAY))


def _label_t(t):
    for name, unit in (("year", 365.25 * 86400), ("month", retention.MONTH), ("week", retention.WEEK),
                       ("day", retention.DAY), ("h", retention.HOUR)):
        if t >= unit * 0.999:
            v = t / unit
            return f"{v:.0f} {name}" + ("s" if v > 1.5 and name != "h" else "")
    return f"{t:.0f} s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default="docs/bench", metavar="DIR")
    ap.add_argument("--from-json", metavar="FILE",
                    help=f"only redraw the table and plot from a retention.json of an earlier run")
    a = ap.parse_args(argv)
    if a.from_json:
        res = json.loads(Path(a.from_json).read_text())
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "retention.md").write_text(table(res) + "\n")
        if Path(a.from_json).resolve() != (out / "retention.json").resolve():
            (out / "retention.json").write_text(Path(a.from_json).read_text())
        plot(res, out / "retention.png")
        print(table(res))
        return 0
    for name, v, hi in (("--seeds", a.seeds, 100), ("--epochs", a.epochs, 1000)):
        if not 1 <= v <= hi:
            ap.error(f"{name} must be an integer in 1..{hi}; got {v}")
    data = datasets.load("digits")
    t_all = time.time()
    curves = []
    for seed in range(1, a.seeds + 1):
        opts = reference.Options(arch=ARCH, epochs=a.epochs, seed=seed, lr=bench.HYBRID_LR, k=100,
                                 p=0.2, **bench.PRESETS["published"])
        factory = physical_factory(keyed=True, memristor=retention.drift_params())
        res, net = reference.train(opts, data, programmer_factory=factory)
        print(f"seed {seed}: trained, test accuracy {res.test_accuracy:.4f}", flush=True)
        for rate_label, mult in RATES:
            for ref_label, period in REFRESH:
                n = copy.deepcopy(net)
                retention.set_drift(n, mult * retention.DRIFT_SIGMA_PER_DECADE)
                t0 = time.time()
                tl = retention.timeline(n, data, retention.TIMES_S, period)
                tl["refresh_costs"] = _columns(tl["refresh_costs"])
                curves.append(dict(seed=seed, rate=rate_label, mult=mult, refresh=ref_label,
                                   trained=res.test_accuracy, **tl))
                print(f"  {rate_label}, {ref_label}: " + " ".join(f"{x:.3f}" for x in tl["accuracy"])
                      + f" ({tl['refreshes']} refreshes, {time.time() - t0:.0f} s)", flush=True)
    res = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               seeds=a.seeds, epochs=a.epochs, arch="-".join(map(str, ARCH)),
               drift_sigma_per_decade=retention.DRIFT_SIGMA_PER_DECADE, times_s=list(retention.TIMES_S),
               curves=curves, wall_s=time.time() - t_all)
    md = table(res)
    print(md)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "retention.md").write_text(md + "\n")
    (out / "retention.json").write_text(json.dumps(res, separators=(",", ":")) + "\n")
    plot(res, out / "retention.png")
    print(f"wrote {out}/retention.md, .json, .png")
    return 0


def _columns(costs: list) -> dict:
    """The refreshes' costs column by column (a compact JSON)."""
    keys = ("memristor_writes", "fecap_row_ops", "energy_memristor_j", "energy_j")
    return {k: [c[k] for c in costs] for k in keys}


def _group(res, rate, refresh):
    return [c for c in res["curves"] if c["rate"] == rate and c["refresh"] == refresh]


def _ms(v):
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def table(res) -> str:
    times = res["times_s"]
    trained = _ms([c["trained"] for c in _group(res, RATES[0][0], REFRESH[0][0])])
    lines = ["# Retention and refresh", "",
             f"Generated by `bench/bench_retention.py` on {res['date']}: digits {res['arch']}, "
             f"published scheme (k = 100, p = 0.2), {res['epochs']} epochs, device physics "
             f"(keyed devices), {res['seeds']} seeds (mean ± sample std). Drift: the memristor "
             f"relaxation at {res['drift_sigma_per_decade']:.4f} log-sigma per decade of age "
             f"(hymem.learn.retention: our reading of the published 'stable about one month'), 2x and 5x "
             f"that. Each evaluation is just before a refresh due then (the oldest "
             f"devices). Right after training: {100 * trained[0]:.2f} ± {100 * trained[1]:.2f} %.",
             "", "Test accuracy (%) after:", "",
             "| drift | refresh | " + " | ".join(_label_t(t) for t in times) + " |",
             "| --- | --- | " + " | ".join("---" for _ in times) + " |"]
    for rate, _ in RATES:
        for ref, _ in REFRESH:
            g = _group(res, rate, ref)
            cells = []
            for i in range(len(times)):
                m, s = _ms([c["accuracy"][i] for c in g])
                cells.append(f"{100 * m:.1f} ± {100 * s:.1f}")
            lines.append(f"| {rate} | {ref} | " + " | ".join(cells) + " |")
    cols = [cur["refresh_costs"] for cur in res["curves"]]
    if isinstance(cols[0], list):                         # an older JSON: one dict per refresh
        cols = [_columns(c) for c in cols]
    costs = {k: [v for c in cols for v in c[k]] for k in cols[0]}
    if costs["energy_j"]:
        mw = _ms(costs["memristor_writes"])
        em = _ms(costs["energy_memristor_j"])
        en = _ms(costs["energy_j"])
        lines += ["", f"One refresh (every synapse of the network reprogrammed from its hidden "
                      f"weight, {len(costs['energy_j'])} refreshes measured): {mw[0]:,.0f} ± {mw[1]:,.0f} "
                      f"memristor writes, {1e9 * em[0]:.1f} ± {1e9 * em[1]:.1f} nJ of memristor "
                      f"programming, {1e9 * en[0]:.1f} ± {1e9 * en[1]:.1f} nJ with the FeCAP "
                      f"reads and write-backs. Weekly for a year: {52 * en[0] * 1e6:.2f} uJ; daily: "
                      f"{365 * en[0] * 1e6:.2f} uJ, and {365 * 2:,} writes of each memristor "
                      f"(RESET + SET) a year against the published 1e5-cycle endurance."]
    lines += ["", f"Wall time {res['wall_s'] / 60:.0f} min. Plot: retention.png."]
    return "\n".join(lines)


def plot(res, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.6, 4.2), dpi=110)
    times = [t / 86400 for t in res["times_s"]]
    for ri, (rate, _) in enumerate(RATES):
        for fi, (ref, _) in enumerate(REFRESH):
            g = _group(res, rate, ref)
            m = [100 * _ms([c["accuracy"][i] for c in g])[0] for i in range(len(times))]
            s = [100 * _ms([c["accuracy"][i] for c in g])[1] for i in range(len(times))]
            ax.errorbar(times, m, yerr=s, fmt="os^"[fi], ls=("-", "--", ":")[ri % 3],
                        color=f"C{fi}", capsize=2, ms=4, alpha=(0.95, 0.7, 0.5)[ri % 3],
                        label=f"{ref}, {rate}")
    ax.axvline(retention.MONTH / 86400, color="grey", lw=0.8, ls=":")
    ax.text(retention.MONTH / 86400, ax.get_ylim()[0], " published\n retention", fontsize=7,
            color="grey", va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("time after training (days)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"digits {res['arch']}: memristor drift and refresh")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
