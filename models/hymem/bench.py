"""``hymem bench``: the standard comparison of the learning schemes and the transfer-period sweep.

Table: ``float`` vs ``hybrid`` (published scheme without and with transfer variability) vs
``hybrid`` with our improvements (and two more switches on top of them), on ``mnist5k``
(784-200-100-10) and ``digits`` (64-200-100-10), with accuracy, memristor writes, FeCAP
operations, energy and samples/s, averaged over seeds; transfer variability is on unless a row
says otherwise. Throughput: float and hybrid timed in interleaved blocks of one run (samples/s
of separate runs on a shared machine are not comparable): the ratio of each timed hybrid row to
float is a column of the table, and the published scheme's (``hymem train``'s defaults) is the
headline.
Sweep: the published scheme with variability (and the improved one) at k = 1, 10, 100, 1000 on
``mnist5k``, with a plot of accuracy and programming energy against k (the paper's Fig. 5).
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path
from typing import Callable

from .learn import datasets, endurance
from .learn.reference import EPOCHS_MAX, SEED_MAX, Options, train

#: The files ``hymem bench --out DIR`` writes into DIR (:func:`write_outputs`).
OUTPUT_FILES = ("bench.json", "bench.md", "k_sweep.png")

#: Learning rates (tuned on mnist5k, see docs/reference.md) and the published / improved presets.
FLOAT_LR = 0.01
HYBRID_LR = 0.01
PRESETS = {
    "published": dict(transfer="truncate", skip_unchanged=False, verify_retries=0,
                      stochastic_rounding=False),
    # round-to-nearest codes + change-aware transfer (chosen on mnist5k: the best accuracy per
    # memristor write; verify and stochastic rounding are measured as separate rows)
    "improved": dict(transfer="round", skip_unchanged=True, verify_retries=0,
                     stochastic_rounding=False),
}

ROWS = (
    ("float", dict(scheme="float", lr=FLOAT_LR)),
    ("hybrid published, no variability", dict(scheme="hybrid", lr=HYBRID_LR, variability=False,
                                              **PRESETS["published"])),
    ("hybrid published", dict(scheme="hybrid", lr=HYBRID_LR, **PRESETS["published"])),
    ("hybrid improved", dict(scheme="hybrid", lr=HYBRID_LR, **PRESETS["improved"])),
    ("hybrid improved + verify 3", dict(scheme="hybrid", lr=HYBRID_LR,
                                        **{**PRESETS["improved"], "verify_retries": 3})),
    ("hybrid improved + stochastic rounding", dict(scheme="hybrid", lr=HYBRID_LR,
                                                   **{**PRESETS["improved"], "stochastic_rounding": True})),
)
#: Rows timed against each other by measure_throughput().
THROUGHPUT_ROWS = ("float", "hybrid published", "hybrid improved")
#: The hybrid row whose throughput ratio to float is the headline (``hymem train``'s defaults).
HEADLINE_ROW = "hybrid published"

DATASETS = (("mnist5k", (784, 200, 100, 10)), ("digits", (64, 200, 100, 10)))
K_SWEEP = (1, 10, 100, 1000)


def machine() -> str:
    import os
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _mean(values):
    return statistics.fmean(values) if values else float("nan")


def _std(values):
    return statistics.stdev(values) if len(values) > 1 else 0.0


def plan(quick: bool = False, seeds: int | None = None, epochs: int | None = None,
         sweep_epochs: int | None = None) -> dict:
    """The size of a bench run with its defaults filled in (``--quick``: 1 seed, 2 epochs, a
    1-epoch sweep; else 3 seeds, 10 epochs, the sweep as long as the table's runs); raises
    ValueError naming the option out of range."""
    seeds = seeds if seeds is not None else (1 if quick else 3)
    epochs = epochs if epochs is not None else (2 if quick else 10)
    sweep_epochs = sweep_epochs if sweep_epochs is not None else (1 if quick else epochs)
    for name, v, hi in (("seeds", seeds, SEED_MAX), ("epochs", epochs, EPOCHS_MAX),
                        ("sweep-epochs", sweep_epochs, EPOCHS_MAX)):
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
            raise ValueError(f"--{name} must be an integer in 1..{hi}; got {v!r}")
    return dict(quick=quick, seeds=seeds, epochs=epochs, sweep_epochs=sweep_epochs)


class _Stopped(Exception):
    """The bench was asked to stop (Ctrl-C): the finished runs are kept."""


def run_bench(quick: bool = False, seeds: int | None = None, epochs: int | None = None,
              sweep_epochs: int | None = None, log: Callable[[str], None] = print,
              datasets_used=DATASETS, k_sweep=K_SWEEP,
              sweep=("mnist5k", (784, 200, 100, 10)), throughput: bool = True,
              throughput_blocks: tuple[int, int] | None = None,
              stop: Callable[[], bool] | None = None) -> dict:
    """Run the comparison and the sweep; returns everything measured (JSON-ready).

    Sizes as in :func:`plan` (checked before any work, with every run's options). ``stop`` is
    polled between samples (:func:`hymem.learn.reference.train`): when it returns True the run in
    progress is dropped, the rest skipped, and the result (the table rows whose runs all
    finished, the finished sweep points) is marked ``"interrupted": true``."""
    p = plan(quick, seeds, epochs, sweep_epochs)
    seeds, epochs, sweep_epochs = p["seeds"], p["epochs"], p["sweep_epochs"]
    table_runs = [(ds_name, arch, label, [Options(arch=arch, epochs=epochs, seed=seed, **kw)
                                          for seed in range(1, seeds + 1)])
                  for ds_name, arch in datasets_used for label, kw in ROWS]
    sweep_ds, sweep_arch = sweep
    sweep_runs = [(preset, k, Options(arch=sweep_arch, epochs=sweep_epochs, seed=1, k=k,
                                      lr=HYBRID_LR, variability=True, **PRESETS[preset]))
                  for preset in ("published", "improved") for k in k_sweep]
    t_start = time.time()
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "quick": quick,
           "epochs": epochs, "sweep_epochs": sweep_epochs, "seeds": seeds, "interrupted": False,
           "table": [], "sweep": [],
           "sweep_dataset": f"{sweep_ds} {'-'.join(map(str, sweep_arch))}"}
    cache = {}

    def data_of(name):
        if name not in cache:
            cache[name] = datasets.load(name)
        return cache[name]

    def run(opts, data) -> dict:
        res, net = train(opts, data, stop=stop)
        if res.interrupted:
            raise _Stopped
        d = res.to_dict()
        d.pop("layers", None)
        d.update(endurance.margins(net))      # worst memristor and FeCAP against endurance
        return d

    try:
        for ds_name, arch, label, run_opts in table_runs:
            data = data_of(ds_name)
            runs = []
            for opts in run_opts:
                t0 = time.time()
                d = run(opts, data)
                runs.append(d)
                log(f"{ds_name:8s} {label:34s} seed {opts.seed}: accuracy {d['test_accuracy']:.4f}, "
                    f"{d['samples_per_s']:.0f} samples/s ({time.time() - t0:.0f} s)")
            out["table"].append(_summarise(ds_name, label, runs))
        data = data_of(sweep_ds)
        for preset, k, opts in sweep_runs:
            t0 = time.time()
            d = run(opts, data)
            d["preset"], d["k"] = preset, k
            out["sweep"].append(d)
            log(f"sweep {preset:9s} k={k:<5d}: accuracy {d['test_accuracy']:.4f}, memristor writes "
                f"{d['memristor_writes']:.3g}, programming energy {d['energy_memristor_j']:.3g} J "
                f"({time.time() - t0:.0f} s)")
        if throughput:
            tp = measure_throughput(
                data_of(sweep_ds), sweep_arch,
                [(label, kw) for label, kw in ROWS if label in THROUGHPUT_ROWS],
                *(throughput_blocks or ((3, 500) if quick else (6, 500))), log=log, stop=stop)
            if tp is None:
                raise _Stopped
            tp["dataset"] = out["sweep_dataset"]
            tp["dataset_name"] = sweep_ds
            out["throughput"] = tp
    except _Stopped:
        out["interrupted"] = True
        log(f"interrupted: keeping {len(out['table'])} finished table rows and "
            f"{len(out['sweep'])} sweep points")
    out["wall_s"] = time.time() - t_start
    return out


def measure_throughput(data, arch, schemes, blocks: int = 6, block: int = 500,
                       log: Callable[[str], None] = print,
                       stop: Callable[[], bool] | None = None) -> dict | None:
    """Samples/s of several schemes measured in interleaved blocks (robust to a shared machine
    whose load drifts): each round trains every network on the next ``block`` samples; the
    median over ``blocks`` rounds is reported, and each hybrid's ratio to float. The samples
    come in the order of a training run's first epoch (``hymem train`` shuffles; the datasets
    are stored class by class, and a hybrid's cost per sample depends on its errors). None
    when ``stop()`` became true (polled between blocks)."""
    from threadpoolctl import threadpool_limits

    from .learn.reference import Network, run_rngs

    nets = {label: Network(Options(arch=arch, epochs=1, seed=1, **kw)) for label, kw in schemes}
    n = len(data.y_train)
    order = run_rngs(1)["order"].permutation(n)      # what train() draws for seed 1's first epoch
    rates = {label: [] for label in nets}
    with threadpool_limits(1):
        for label, net in nets.items():          # warm-up (compilation, caches)
            for i in order[-50:]:
                net.train_sample(data.x_train[i], int(data.y_train[i]))
        for b in range(blocks):
            if stop is not None and stop():
                return None
            idx = [order[(b * block + i) % n] for i in range(block)]
            for label, net in nets.items():
                t0 = time.perf_counter()
                for i in idx:
                    net.train_sample(data.x_train[i], int(data.y_train[i]))
                rates[label].append(block / (time.perf_counter() - t0))
    out = {label: statistics.median(r) for label, r in rates.items()}
    ref = out.get("float")
    res = {"blocks": blocks, "block": block, "samples_per_s": out, "all": rates,
           "ratio_to_float": {k: v / ref for k, v in out.items()} if ref else {}}
    if ref and HEADLINE_ROW in out:
        res["hybrid_to_float"] = out[HEADLINE_ROW] / ref
    log("throughput (median of interleaved blocks): " + ", ".join(
        f"{k} {v:.0f}/s" + (f" ({v / ref:.2f} of float)" if ref and k != "float" else "")
        for k, v in out.items()))
    return res


def _summarise(ds_name, label, runs):
    acc = [r["test_accuracy"] for r in runs]
    keys = ("memristor_writes", "fecap_ops", "energy_j", "energy_memristor_j", "samples_per_s",
            "transfers", "transfers_skipped", "worst_device_writes", "verify_failures",
            "memristor_worst", "memristor_used", "fecap_worst", "fecap_used")
    row = {"dataset": ds_name, "scheme": label, "accuracy_mean": _mean(acc), "accuracy_std": _std(acc),
           "accuracies": acc, "options": runs[0]["options"], "train_samples": runs[0]["train_samples"]}
    for k in keys:
        row[k] = _mean([r[k] for r in runs if k in r])
    return row


def _used(r: dict) -> str:
    """The worst memristor's writes and the worst FeCAP's cycle bound as fractions of their
    published endurance (:mod:`hymem.learn.endurance`); empty for float or an older bench.json."""
    if not r.get("memristor_worst"):
        return ""
    return f"{r['memristor_used']:.2g} / {r['fecap_used']:.2g}"


def table_markdown(res: dict) -> str:
    tp = res.get("throughput")
    lines = [f"Measured {res['date']} on {res['machine']}; {res['epochs']} epochs, "
             f"{res['seeds']} seed(s) (accuracy: mean +- std over seeds, the rest: mean)."]
    if tp and "hybrid_to_float" in tp:
        lines.append(f"Throughput of {HEADLINE_ROW} relative to float, measured in one run "
                     f"({tp['dataset']}): **{tp['hybrid_to_float']:.2f}**.")
    lines += [""]
    if res.get("interrupted"):
        lines += ["**Interrupted (Ctrl-C)**: only the runs that finished are shown.", ""]
    lines += ["| dataset | scheme | test accuracy | memristor writes | FeCAP row ops | energy (J) "
              "| of which memristor (J) | worst memristor / FeCAP, of endurance | samples/s "
              "| samples/s vs float, one run |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in res["table"]:
        same_run = tp["ratio_to_float"].get(r["scheme"]) \
            if tp and r["dataset"] == tp.get("dataset_name") else None
        lines.append(f"| {r['dataset']} | {r['scheme']} | {100 * r['accuracy_mean']:.2f} % "
                     f"+- {100 * r['accuracy_std']:.2f} | {r['memristor_writes']:.3g} | "
                     f"{r['fecap_ops']:.3g} | {r['energy_j']:.3g} | {r['energy_memristor_j']:.3g} | "
                     f"{_used(r)} | {r['samples_per_s']:.0f} | {'' if same_run is None else f'{same_run:.2f}'} |")
    if res["sweep"]:
        lines += ["", f"k sweep ({res['sweep_dataset']}, {res['sweep_epochs']} epochs, seed 1, "
                      "with variability):", "",
                  "| scheme | k | test accuracy | memristor writes | programming energy (J) | "
                  "worst device writes | worst memristor / FeCAP, of endurance | samples/s |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in res["sweep"]:
            lines.append(f"| {r['preset']} | {r['k']} | {100 * r['test_accuracy']:.2f} % | "
                         f"{r['memristor_writes']:.3g} | {r['energy_memristor_j']:.3g} | "
                         f"{r['worst_device_writes']} | {_used(r)} | {r['samples_per_s']:.0f} |")
    if tp:
        lines += ["", f"Throughput ({tp['dataset']}, batch 1, one core; median samples/s over {tp['blocks']} "
                      f"interleaved blocks of {tp['block']} samples):", "",
                  "| scheme | samples/s | ratio to float |", "| --- | --- | --- |"]
        for k, v in tp["samples_per_s"].items():
            lines.append(f"| {k} | {v:.0f} | {tp['ratio_to_float'].get(k, float('nan')):.2f} |")
    lines += ["", f"Bench wall time: {res['wall_s'] / 60:.1f} min."]
    return "\n".join(lines)


def plot_sweep(res: dict, path, fmt: str | None = None) -> None:
    """Accuracy and programming energy against k (paper Fig. 5 style), saved to ``path`` (a
    file name or a binary file) in format ``fmt`` (default: from the name, else PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax1 = plt.subplots(figsize=(6, 4))
    ax2 = ax1.twinx()
    for preset, marker in (("published", "o"), ("improved", "s")):
        rows = [r for r in res["sweep"] if r["preset"] == preset]
        if not rows:
            continue
        ks = [r["k"] for r in rows]
        ax1.plot(ks, [100 * r["test_accuracy"] for r in rows], marker + "-", color="tab:blue",
                 label=f"accuracy, {preset}")
        ax2.plot(ks, [r["energy_memristor_j"] for r in rows], marker + "--", color="tab:red",
                 label=f"programming energy, {preset}")
    ax1.set_xscale("log")
    ax2.set_yscale("log")
    ax1.set_xlabel("transfer period k (samples)")
    ax1.set_ylabel("test accuracy (%)", color="tab:blue")
    ax2.set_ylabel("memristor programming energy (J)", color="tab:red")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower left")
    ax1.set_title(f"{res['sweep_dataset']}, {res['sweep_epochs']} epochs")
    fig.tight_layout()
    fig.savefig(path, dpi=120, format=fmt)
    plt.close(fig)


def write_outputs(res: dict, out_dir, write=None) -> list[Path]:
    """Write :data:`OUTPUT_FILES` into ``out_dir`` (created), each atomically; ``write`` is a
    :class:`hymem.outputs.Writer` (reports each file and goes on after a failure) or None
    (an OSError is raised). Returns the paths written (no plot without sweep points)."""
    from . import outputs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if write is None:
        def write(path, fn, what):
            outputs.atomic_write(path, fn)
            return True
    js, md, png = (out / name for name in OUTPUT_FILES)
    done = []
    if write(js, lambda f: f.write(outputs.json_bytes(res, default=float)), "wrote"):
        done.append(js)
    if write(md, lambda f: f.write((table_markdown(res) + "\n").encode()), "wrote"):
        done.append(md)
    if res["sweep"] and write(png, lambda f: plot_sweep(res, f, "png"), "wrote"):
        done.append(png)
    return done
