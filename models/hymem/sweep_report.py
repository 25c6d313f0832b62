"""The report of ``hymem sweep``: what a designer looks at after a sweep.

- a table, one row per swept point: accuracy, memristor writes, programming energy and
  samples/s as mean +- std over the seeds (sample std, n-1), the seeds done, and whether the
  point is on the Pareto front of accuracy against writes and against energy;
- ``pareto.png``: test accuracy against memristor writes and against programming energy, every
  point with its seed spread, the Pareto front (the points no other beats on both) drawn;
  float points (no device writes) as horizontal lines;
- ``axes.png``: test accuracy against each swept option (k, p, variability, ...), one line per
  combination of the other options (mean +- std over seeds), or every point's mean for a
  random sample;
- ``report.md``: the counts, the table, the front, the figures and the failed jobs.

The figures of a co-simulation job come from its counters (``mr_resets + mr_sets``, FeCAP row
operations) through :func:`hymem.learn.reference.programming_energy_j`, as the reference's do.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timezone

from .learn.reference import programming_energy_j
from .sweep_store import finite

#: The files the report writes into the output folder.
FILES = ("report.md", "pareto.png", "axes.png")
MAX_LINES = 8           # lines per axis panel before the other options are averaged over


def job_metrics(kind: str, m: dict | None) -> dict:
    """accuracy, memristor writes, FeCAP row ops, energy (J) and samples/s of one result."""
    if not m:
        return {}
    if kind == "cosim":
        c = m.get("counters", {})
        mw = c.get("mr_resets", 0) + c.get("mr_sets", 0)
        fe = c.get("fe_reads", 0) + c.get("fe_writes", 0)
        e_mr, e_fe = programming_energy_j(mw, fe)
        return {"accuracy": m.get("test_accuracy"), "writes": mw, "fecap_ops": fe,
                "energy_j": e_mr + e_fe, "samples_per_s": m.get("samples_per_s")}
    return {"accuracy": m.get("test_accuracy"), "writes": m.get("memristor_writes"),
            "fecap_ops": m.get("fecap_ops"), "energy_j": m.get("energy_j"),
            "samples_per_s": m.get("samples_per_s"),
            "float": m.get("options", {}).get("scheme") == "float"}


def _ms(values):
    v = [x for x in values if finite(x)]
    if not v:
        return float("nan"), float("nan")
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def _fmt_value(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return str(v)


def summarize(spec, rows: list[dict]) -> list[dict]:
    """One entry per swept point: its option values, the seeds done / failed, mean and std of
    each figure over the done seeds, and its Pareto flags."""
    by_hash = {r["hash"]: r for r in rows}
    groups: dict[str, dict] = {}
    for job in spec.jobs:
        point = {a: job.options[a] for a in spec.swept}
        key = json.dumps(point, sort_keys=True)
        g = groups.setdefault(key, {"point": point, "jobs": 0, "done": 0, "failed": 0,
                                    "values": [], "float": False})
        g["jobs"] += 1
        r = by_hash.get(job.hash)
        if r is None:
            continue
        if r["status"] == "done":
            g["done"] += 1
            m = job_metrics(job.kind, r["metrics"])
            g["values"].append(m)
            g["float"] = g["float"] or bool(m.get("float"))
        elif r["status"] == "failed":
            g["failed"] += 1
    out = []
    for g in groups.values():
        e = {"point": g["point"], "jobs": g["jobs"], "done": g["done"], "failed": g["failed"],
             "float": g["float"]}
        for name in ("accuracy", "writes", "fecap_ops", "energy_j", "samples_per_s"):
            e[name], e[name + "_std"] = _ms([v.get(name) for v in g["values"]])
        out.append(e)
    for x in ("writes", "energy_j"):
        front = pareto(out, x)
        for i, e in enumerate(out):
            e["front_" + x] = i in front
    return out


def pareto(entries: list[dict], x: str) -> set[int]:
    """Indices of the entries on the front: highest accuracy for the fewest ``x`` (entries
    without device writes, float, and without results are not candidates)."""
    pts = [(i, e[x], e["accuracy"]) for i, e in enumerate(entries)
           if not e["float"] and finite(e[x]) and finite(e["accuracy"])]
    front = set()
    for i, xi, yi in pts:
        if not any((xj <= xi and yj >= yi) and (xj < xi or yj > yi) for _, xj, yj in pts):
            front.add(i)
    return front


def _label(point: dict) -> str:
    return ", ".join(f"{k}={_fmt_value(v)}" for k, v in point.items()) or "(one point)"


def _num(v, fmt="{:.3g}") -> str:
    return fmt.format(v) if finite(v) else "-"


def table_markdown(spec, summary: list[dict]) -> str:
    axes = spec.swept
    head = axes + ["seeds done", "test accuracy %", "memristor writes", "energy (J)",
                   "samples/s", "Pareto (writes, energy)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    order = sorted(summary, key=lambda e: -(e["accuracy"] if finite(e["accuracy"]) else -1))
    for e in order:
        front = ", ".join(n for n, f in (("writes", e["front_writes"]), ("energy", e["front_energy_j"])) if f)
        seeds = f"{e['done']}/{e['jobs']}" + (f" ({e['failed']} failed)" if e["failed"] else "")
        acc = (f"{100 * e['accuracy']:.2f} ± {100 * e['accuracy_std']:.2f}"
               if finite(e["accuracy"]) else "-")
        pm = lambda m, s: f"{_num(m)} ± {_num(s, '{:.2g}')}" if finite(m) else "-"
        cells = [_fmt_value(e["point"][a]) for a in axes] + [
            seeds, acc, pm(e["writes"], e["writes_std"]), pm(e["energy_j"], e["energy_j_std"]),
            _num(e["samples_per_s"], "{:.0f}"), front or ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures


def _fig(nplots: int, width: float = 5.2, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(nplots, 3)
    rows = -(-nplots // cols)
    fig, axs = plt.subplots(rows, cols, figsize=(width * cols, height * rows), dpi=100,
                            squeeze=False)
    for a in axs.flat[nplots:]:
        a.set_visible(False)
    return plt, fig, list(axs.flat[:nplots])


def pareto_png(spec, summary: list[dict], f, fmt: str = "png") -> None:
    plt, fig, axs = _fig(2)
    for ax, x, xlabel in ((axs[0], "writes", "memristor writes (RESET + SET)"),
                          (axs[1], "energy_j", "programming energy (J)")):
        pts = [e for e in summary if not e["float"] and finite(e[x]) and finite(e["accuracy"])]
        for e in pts:
            on = e["front_" + x]
            ax.errorbar(e[x], 100 * e["accuracy"], yerr=100 * e["accuracy_std"],
                        xerr=e[x + "_std"], fmt="o", ms=5 if on else 4,
                        color="C3" if on else "C0", alpha=1.0 if on else 0.6, capsize=2)
        front = sorted((e for e in pts if e["front_" + x]), key=lambda e: e[x])
        if front:
            ax.step([e[x] for e in front], [100 * e["accuracy"] for e in front], where="post",
                    color="C3", lw=1.2, label="Pareto front")
            for e in front:
                ax.annotate(_label(e["point"]), (e[x], 100 * e["accuracy"]), fontsize=6,
                            xytext=(3, -9), textcoords="offset points")
        for i, e in enumerate(e for e in summary if e["float"] and finite(e["accuracy"])):
            ax.axhline(100 * e["accuracy"], color="gray", ls="--", lw=1,
                       label="float" if i == 0 else None)
        xs = [e[x] for e in pts if e[x] > 0]
        if xs and max(xs) / min(xs) > 10:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="lower right")
        if not pts:
            ax.text(0.5, 0.5, "no finished hybrid job", ha="center", transform=ax.transAxes)
    fig.suptitle(f"{spec.name}: accuracy against device writes and energy "
                 f"(mean ± std over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(f, format=fmt)
    plt.close(fig)


def _axis_values(spec, name: str, summary) -> list:
    if spec.sample == "grid":
        return list(spec.axes[name])
    vals = {json.dumps(e["point"][name]): e["point"][name] for e in summary}
    return sorted(vals.values(), key=lambda v: (str(type(v)), v))


def axes_png(spec, summary: list[dict], rows: list[dict], f, fmt: str = "png") -> None:
    names = spec.swept or ["seed"]
    plt, fig, axs = _fig(len(names))
    by_hash = {r["hash"]: r for r in rows}
    for ax, name in zip(axs, names):
        if name == "seed":
            xs = [j.options["seed"] for j in spec.jobs]
            ys = [job_metrics(j.kind, by_hash[j.hash]["metrics"]).get("accuracy")
                  if j.hash in by_hash and by_hash[j.hash]["status"] == "done" else None
                  for j in spec.jobs]
            ax.plot([x for x, y in zip(xs, ys) if finite(y)],
                    [100 * y for y in ys if finite(y)], "o")
            ax.set_xlabel("seed")
        else:
            values = _axis_values(spec, name, summary)
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            pos = (lambda v: v) if numeric else (lambda v: values.index(v))
            others = [a for a in spec.swept if a != name]
            combos: dict[str, list] = {}
            for e in summary:
                key = json.dumps({a: e["point"][a] for a in others}, sort_keys=True)
                combos.setdefault(key, []).append(e)
            if spec.sample == "random" or len(combos) > MAX_LINES:
                # every point's mean (random), or the mean over the other options per value
                if spec.sample == "random":
                    pts = [(pos(e["point"][name]), e["accuracy"], e["accuracy_std"])
                           for e in summary if finite(e["accuracy"])]
                    ax.errorbar([p[0] for p in pts], [100 * p[1] for p in pts],
                                yerr=[100 * p[2] for p in pts], fmt="o", capsize=2)
                else:
                    for_v = [(pos(v), [e["accuracy"] for e in summary
                                        if e["point"][name] == v and finite(e["accuracy"])])
                             for v in values]
                    for_v = [(x, _ms(a)) for x, a in for_v if a]
                    ax.errorbar([x for x, _ in for_v], [100 * m for _, (m, s) in for_v],
                                yerr=[100 * s for _, (m, s) in for_v], fmt="o-", capsize=3,
                                label="mean over the other options")
            else:
                for i, (key, es) in enumerate(combos.items()):
                    es = sorted((e for e in es if finite(e["accuracy"])),
                                key=lambda e: pos(e["point"][name]))
                    if not es:
                        continue
                    label = _label(json.loads(key)) if others else None
                    ax.errorbar([pos(e["point"][name]) for e in es],
                                [100 * e["accuracy"] for e in es],
                                yerr=[100 * e["accuracy_std"] for e in es], fmt="o-",
                                capsize=3, color=f"C{i % 10}", label=label)
            if numeric and values and min(values) > 0 and max(values) / min(values) >= 10:
                ax.set_xscale("log")
            if not numeric:
                ax.set_xticks(range(len(values)))
                ax.set_xticklabels([_fmt_value(v) for v in values])
            ax.set_xlabel(name)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{spec.name}: test accuracy against the swept options (mean ± std over "
                 f"{len(spec.seeds)} seed(s))", fontsize=10)
    fig.tight_layout()
    fig.savefig(f, format=fmt)
    plt.close(fig)


# ----------------------------------------------------------------------------- the page


def markdown(spec, rows: list[dict], summary: list[dict], counts: dict, run: dict | None,
             store_path: str, cluster: str) -> str:
    n_pts = len({json.dumps(e["point"], sort_keys=True) for e in summary})
    out = [f"# Sweep {spec.name}", "",
           f"Spec `{spec.path}`: {spec.kind} jobs, {spec.sample} sample of {n_pts} point(s) x "
           f"{len(spec.seeds)} seed(s) = {len(spec.jobs)} jobs; fixed options: "
           + (", ".join(f"{k}={_fmt_value(v)}" for k, v in spec.options.items()) or "none")
           + f". Store `{store_path}`; written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
           "",
           f"Jobs: **{counts['done']} done**, {counts['failed']} failed, "
           f"{counts['pending']} pending."]
    if run is not None:
        busy = sum((r["finished"] - r["started"]) for r in rows
                   if r.get("finished") and r.get("started") and r["hash"] in run["hashes"])
        line = (f"This run ({cluster}): {run['ran']} job(s) in {run['wall_s']:.1f} s wall time, "
                f"{busy:.1f} s of job time")
        if run["wall_s"] > 0 and busy > 0:
            line += f" ({busy / run['wall_s']:.2f} jobs running on average)"
        if run.get("interrupted"):
            line += "; **interrupted**: the jobs not finished stay pending, run again to resume"
        out += ["", line + "."]
    workers = sorted({r["worker"] for r in rows if r.get("worker")})
    if workers:
        out += ["", f"Workers: {len(workers)} ({', '.join(w.split('@')[0] for w in workers[:8])}"
                    f"{', ...' if len(workers) > 8 else ''})."]
    out += ["", "## Results (mean ± std over seeds)", "",
            table_markdown(spec, summary), "",
            "Energy: programming energy at the paper's estimates (1 pJ per memristor write, "
            "100 fJ per FeCAP cell operation). Every job's metrics: `results.csv`, "
            "`results.parquet`.", "",
            "## Accuracy against memristor writes and energy", ""]
    for x, what in (("writes", "memristor writes"), ("energy_j", "energy")):
        front = sorted((e for e in summary if e["front_" + x]), key=lambda e: e[x])
        out.append(f"Pareto front ({what}): " + ("; ".join(
            f"{_label(e['point'])}: {100 * e['accuracy']:.2f} % at {_num(e[x])}"
            for e in front) or "none") + ".")
        out.append("")
    out += ["![accuracy against writes and energy](pareto.png)", "",
            "## Accuracy against the swept options", "", "![accuracy per option](axes.png)"]
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        out += ["", "## Failed jobs", "", "| job | options | error |", "| --- | --- | --- |"]
        jobs = {j.hash: j for j in spec.jobs}
        for r in failed:
            j = jobs.get(r["hash"])
            last = (r.get("error") or "").strip().splitlines()[-1:] or ["?"]
            opts = _label({**{a: j.options[a] for a in spec.swept}, "seed": j.options["seed"]}) if j else ""
            out.append(f"| {r['hash'][:12]} | {opts} | {last[0].replace('|', '/')} |")
        out += ["", "Run again with `--retry-failed` to run them again."]
    return "\n".join(out) + "\n"


def write(spec, rows, counts, run, store_path: str, cluster: str, out_dir, writer) -> None:
    """Write report.md, pareto.png and axes.png into ``out_dir`` with ``writer``
    (:class:`hymem.outputs.Writer`)."""
    from pathlib import Path

    d = Path(out_dir)
    summary = summarize(spec, rows)
    writer.plot(str(d / "pareto.png"), lambda f, fmt: pareto_png(spec, summary, f, fmt), "plot")
    writer.plot(str(d / "axes.png"), lambda f, fmt: axes_png(spec, summary, rows, f, fmt), "plot")
    writer.text(str(d / "report.md"),
                markdown(spec, rows, summary, counts, run, store_path, cluster), "report")
    return summary
