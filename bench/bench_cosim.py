#!/usr/bin/env python3
"""Co-simulation benchmark: the RTL engines with the Python macro model; prints tables.

    .venv/bin/python bench/bench_cosim.py [--parts update,xfer,trace] [--sims icarus,verilator]
                                            [--repeats N] [--quick] [--json FILE] [--profile DIR]

Five parts (docs/bench/cosim.md has the results and how to read them):

main    Training samples per second of the main job's network (`make sim`: digits
        64-16-10 on two hymem_top, transaction-level macro model, APB access lists) through
        `hymem cosim`, on each simulator, interleaved repeats; the state is checked after
        every sample as in `make sim`.
soak    Long runs through the RTL with the state matched after every sample: 10 epochs of
        digits 64-16-10, of wine 13-16-3 and of a csv file (iris, 4 features, 3 classes,
        written from scikit-learn's bundled copy as a user's file would be), each beside
        float on the same samples and the emulated host (hymem.sim.cosim.main_job). Verilator.

update  Samples per second of the co-simulated update of a full default array (1,024
        synapses: a 64 x 16 tile, p = 0.2, the published update) through
        tb/hymem_update_engine's harness (SynPerCycle as hymem_top's default) with
        hymem.sim.macro_port.MacroPortModel on the FeCAP
        port, with the fast timing set (4 MHz clock, 8-cycle = 2 us FeCAP pulses) and the
        nominal one (100 MHz, 200 cycles), on each simulator; on Verilator both with the
        regression's build (--public-flat-rw) and a lean one (only the harness's ports
        public, bench/tb/tb_hymem_update_engine_lean.vlt). Each configuration also runs
        without any model (fe_rdata_i held at 0: the simulator and the driver alone), which
        splits the CPU time into macro-model Python (MacroPortModel.stats), simulator
        (the no-model run, scaled to the same number of cycles) and what is left: the
        simulator callbacks that wake the model and the handshakes around them. Throughput
        is also given per CPU second of the simulation process (the machine is shared).
xfer    Co-simulated time of one full-array transfer per mode (published, change-aware,
        round-to-nearest, program-and-verify with 3 retries) of an array taken from a
        reference training run (hidden weights and change flags just before a transfer in
        the middle of training), through tb/hymem_xfer_engine's harness, both timing sets.
trace   Python only: memristor writes of the published transfer vs change-aware on a real
        training run of the learning reference (digits, 64-200-100-10, 10 epochs, k = 100,
        seeds 1-3), and the accuracy of both; plus change-aware on the published run's own
        recorded trace (same hidden weights at every transfer: the writes saved alone).

Every co-simulated run is checked against hymem.digital.engine (bit for bit) after its timing.
Repeats are interleaved (the machine is shared; its load drifts), medians are reported with
the range, and the load average is printed with each table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from hymem.bench import machine
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_TB = ROOT / "bench" / "tb"
UPDATE_HARNESS = ROOT / "tb" / "hymem_update_engine" / "tb_hymem_update_engine.sv"
#: Verilator control file of the lean build: only the harness's own signals public
UPDATE_LEAN_VLT = BENCH_TB / "tb_hymem_update_engine_lean.vlt"
XFER_HARNESS = ROOT / "tb" / "hymem_xfer_engine" / "tb_hymem_xfer_engine.sv"
UPDATE_PARAMS = dict(Lines=128, Slots=8, MagWidth=9, CodeBits=3, FecapRows=128, XDepth=256,
                     EDepth=128)
XFER_PARAMS = dict(Lines=128, Slots=8, MagWidth=9, CodeBits=3, FecapRows=128)
PARTS = ("main", "update", "xfer", "trace", "soak")
SIMS = ("icarus", "verilator")
TIMINGS = ("fast", "nominal")
#: builds timed per simulator: "regression" is the tests' build (cocotb's Verilator runner
#: passes --public-flat-rw: every signal visible to Python); "lean" (Verilator only) makes
#: only the harness's top-level signals public (UPDATE_LEAN_VLT, hymem.sim.simrun public_all=False)
BUILDS = {"icarus": ("regression",), "verilator": ("regression", "lean")}
NOMINAL_CLK_NS = 10
#: samples timed per run: (sim, timing) -> (full, --quick)
SAMPLES = {("verilator", "fast"): (40, 4), ("verilator", "nominal"): (8, 2),
           ("icarus", "fast"): (8, 2), ("icarus", "nominal"): (2, 1)}
MODES = (("published", 0, 0, 0), ("change-aware", 1, 0, 0), ("round", 0, 1, 0),
         ("verify 3", 0, 0, 3))
TRACE = dict(dataset="digits", arch=(64, 200, 100, 10), epochs=10, k=100, p=0.2, lr=0.01)
UPDATE_TARGET = 20.0   # samples/s, Verilator, fast timing (issue 5)


# ------------------------------------------------------------------------------- helpers




def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def med(v):
    return statistics.median(v) if v else float("nan")


def spread(v, fmt="{:.1f}") -> str:
    if not v:
        return "-"
    s = fmt.format(med(v))
    return s if len(v) == 1 else f"{s} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def table(head, rows) -> str:
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _simulate(toplevel, module, sim, params, harness, cfg: dict, run_name: str,
              lean_vlt: Path | None = None) -> dict:
    from hymem.sim import simrun

    if str(BENCH_TB) not in sys.path:
        sys.path.insert(0, str(BENCH_TB))   # the cocotb process inherits sys.path
    sources = [harness] if lean_vlt is None else [lean_vlt, harness]   # the top level last
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cfg = {**cfg, "out": str(out)}
        simrun.run(toplevel, module, sim, parameters=params, extra_sources=sources,
                   extra_env={"HYMEM_BENCH": json.dumps(cfg)}, run_name=run_name,
                   public_all=lean_vlt is None)
        return json.loads(out.read_text())


# -------------------------------------------------------------------------------- update


def run_update(sim, timing, model, samples, seed=1, profile=None, build="regression") -> dict:
    if build not in BUILDS[sim]:
        raise ValueError(f"build {build!r} not available on {sim}; expected one of {BUILDS[sim]}")
    from hymem.sim import simrun

    cfg = dict(samples=samples, timing=timing, model=model, seed=seed,
               profile=str(profile) if profile else "")
    # the engine as hymem_top builds it (synapses per cycle: bench/bench_lanes.py)
    params = dict(UPDATE_PARAMS, SynPerCycle=simrun.rtl_default("hymem_top", "SynPerCycle"))
    r = _simulate("tb_hymem_update_engine", "bench_update", sim, params, UPDATE_HARNESS,
                  cfg, f"bench_update_{build}_{timing}_{model}",
                  lean_vlt=UPDATE_LEAN_VLT if build == "lean" else None)
    r["load1"] = os.getloadavg()[0]
    r["build"] = build
    return r


def bench_update(sims, repeats, quick, log, profile_dir=None) -> dict:
    runs = []
    configs = [(s, b, t) for s in sims for b in BUILDS[s] for t in TIMINGS]
    for sim in sims:          # build first, untimed
        for build in BUILDS[sim]:
            run_update(sim, "fast", "none", 1, build=build)
    for rep in range(repeats):
        for sim, build, timing in configs:
            n = SAMPLES[(sim, timing)][1 if quick else 0]
            for model in ("macro", "none"):
                r = run_update(sim, timing, model, n, build=build)
                r["repeat"] = rep
                runs.append(r)
                watch = (f", model watching: {r['watch']}"
                         f"{' + port monitor' if r.get('port_monitor') else ''}"
                         if model == "macro" else "")
                log(f"  update {sim:9s} {build:10s} {timing:7s} {model:5s} rep {rep}: "
                    f"{r['samples'] / r['wall_s']:7.2f} samples/s, "
                    f"{r['samples'] / r['cpu_s']:7.2f} per CPU s ({load()}{watch})")
    profiles = {}
    if profile_dir:
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        for sim in sims:
            p = Path(profile_dir) / f"update_{sim}_fast.pstats"
            run_update(sim, "fast", "macro", SAMPLES[(sim, "fast")][1 if quick else 0], profile=p)
            profiles[sim] = str(p)
    return {"runs": runs, "profiles": profiles}


def _label(sim, build) -> str:
    return sim if build == "regression" else f"{sim} ({build} build)"


def summarize_update(data) -> tuple[list, list]:
    """Rows of the throughput table and of the wall-time split (per sample, medians)."""
    rows, split = [], []
    runs = data["runs"]
    for sim in SIMS:
        for build in BUILDS[sim]:
            for timing in TIMINGS:
                key = (sim, build, timing)
                full = [r for r in runs if (r["sim"], r.get("build", "regression"), r["timing"])
                        == key and r["model"] == "macro"]
                bare = [r for r in runs if (r["sim"], r.get("build", "regression"), r["timing"])
                        == key and r["model"] == "none"]
                if not full:
                    continue
                sps = [r["samples"] / r["wall_s"] for r in full]
                cps = [r["samples"] / r["cpu_s"] for r in full]
                sps0 = [r["samples"] / r["wall_s"] for r in bare]
                cps0 = [r["samples"] / r["cpu_s"] for r in bare]
                cyc = med([r["cycles"] / r["samples"] for r in full])
                wake = med([r["wakeups"] / r["samples"] for r in full])
                rows.append([_label(sim, build), timing, spread(sps), spread(cps), spread(sps0),
                             spread(cps0), f"{cyc:,.0f}",
                             f"{cyc * full[0]['clk_ns'] / 1000:,.0f}", f"{wake:,.0f}",
                             "yes" if all(r["checked"] for r in full) else "NO",
                             f"{med([r['load1'] for r in full]):.1f}"])
                # split per sample in CPU time (the machine is shared: wall time depends on the
                # load), pairing each repeat's model run with its no-model run; the model's
                # Python is timed in wall time, converted with the run's CPU share
                tot, py, simt, rest, cpu, per_wake = [], [], [], [], [], []
                for r in full:
                    b = next((x for x in bare if x["repeat"] == r["repeat"]), None)
                    share = r["cpu_s"] / r["wall_s"]
                    t = r["cpu_s"] / r["samples"]
                    p = min(share, 1.0) * r["model_py_s"] / r["samples"]
                    sm = (b["cpu_s"] / b["cycles"]) * (r["cycles"] / r["samples"]) if b else float("nan")
                    tot.append(1e3 * t)
                    py.append(1e3 * p)
                    simt.append(1e3 * sm)
                    rest.append(1e3 * (t - p - sm))
                    cpu.append(100 * r["cpu_s"] / r["wall_s"])
                    per_wake.append(1e6 * (t - sm) / max(r["wakeups"] / r["samples"], 1))
                split.append([_label(sim, build), timing, spread(tot), spread(py), spread(simt),
                              spread(rest), spread(per_wake, "{:.0f}"), spread(cpu, "{:.0f}")])
    return rows, split


def print_update(data, log):
    rows, split = summarize_update(data)
    log("\nUpdate co-simulation: one sample = 64 x 16 tile (1,024 synapses), p = 0.2, round-half-up,"
        " truncation codes, skip_zero; median (range) over repeats. Per CPU s = samples / CPU time"
        " of the simulation process (simulator + Python; less sensitive to the machine's load)")
    log(table(["simulator", "timing", "samples/s", "samples per CPU s", "samples/s without model",
               "per CPU s without model", "cycles/sample", "simulated us/sample",
               "macro wake-ups/sample", "checked vs hymem.digital.engine", "load (1 min)"], rows))
    log("\nWhere the time goes, CPU ms per sample (median (range)): total = CPU time of the"
        " simulation process; model = MacroPortModel's Python in its processing"
        " (stats()['py_time_s'], wall, x the run's CPU share); simulator = the no-model run's CPU"
        " time per cycle x cycles (the simulator, cocotb's clock and the driver); callbacks +"
        " handshakes = the rest (the simulator callbacks that wake the model, re-arming them,"
        " driving its outputs, the simulator's extra work for them); per wake-up = (total -"
        " simulator) / wake-ups")
    log(table(["simulator", "timing", "total", "macro model (Python)", "simulator",
               "callbacks + handshakes", "us per wake-up (model + callbacks)",
               "CPU share of wall %"], split))
    log()
    for build in BUILDS["verilator"]:
        v = [r for r in data["runs"] if (r["sim"], r.get("build", "regression"), r["timing"],
                                         r["model"]) == ("verilator", build, "fast", "macro")]
        if v:
            m = med([r["samples"] / r["wall_s"] for r in v])
            c = med([r["samples"] / r["cpu_s"] for r in v])
            log(f"Target (issue 5): >= {UPDATE_TARGET:.0f} samples/s on {_label('verilator', build)},"
                f" fast timing: median {m:.1f} samples/s wall ({c:.1f} per CPU s) -> "
                f"{'met' if m >= UPDATE_TARGET else 'NOT met'}")


def print_profiles(data, log, top=15):
    import pstats
    for sim, path in data.get("profiles", {}).items():
        log(f"\ncProfile of the timed loop, {sim}, fast timing (top {top} by own time; {path}):")
        import io
        s = io.StringIO()
        pstats.Stats(path, stream=s).sort_stats("tottime").print_stats(top)
        log("\n".join(line for line in s.getvalue().splitlines()
                      if line.strip() and not line.startswith("   Ordered")))


# ---------------------------------------------------------------------------------- trace


def _mr_writes(net) -> int:
    return sum(int((l.state.counters.mr_resets + l.state.counters.mr_sets).sum())
               for l in net.layers)


def reference_run(seed: int, change_aware: bool, record: bool = False, snapshot: bool = False,
                  epochs: int | None = None):
    """One training run of the learning reference; memristor writes of every transfer."""
    from hymem.learn import datasets, reference

    data = datasets.load(TRACE["dataset"])
    opts = reference.Options(arch=TRACE["arch"], scheme="hybrid", epochs=epochs or TRACE["epochs"],
                             k=TRACE["k"], p=TRACE["p"], lr=TRACE["lr"], seed=seed,
                             transfer="truncate", skip_unchanged=change_aware)
    net = reference.Network(opts, record=record)
    per_transfer, snaps = [], []
    total = opts.epochs * len(data.y_train) // opts.k
    orig = net.transfer

    def transfer():
        if snapshot and net.transfers == total // 2:
            st = net.layers[0].state      # layer 0, array 0: a 64 x 16 tile, 1,024 synapses
            snaps.append(dict(h=st.h[0].copy(), flags=st.flags[0].copy(), n_in=int(st.n_in[0]),
                              n_out=int(st.n_out[0]), transfer=net.transfers + 1,
                              samples=net.samples))
        before = _mr_writes(net)
        orig()
        per_transfer.append(_mr_writes(net) - before)

    net.transfer = transfer
    initial = _mr_writes(net)
    res, net = reference.train(opts, data, network=net)
    return dict(seed=seed, change_aware=change_aware, accuracy=res.test_accuracy,
                initial_writes=initial, per_transfer=per_transfer,
                writes=res.counters["memristor_writes"],
                programmed=res.counters["synapses_programmed"],
                skipped=res.counters["transfers_skipped"],
                worst_device_writes=res.counters["worst_device_writes"],
                train_samples=res.train_samples), net, (snaps[0] if snaps else None)


def same_trace_change_aware(net) -> dict:
    """Change-aware transfers on the published run's own recorded x/e stream: the hidden
    weights at every transfer are the published run's, only the transfer mode differs."""
    import copy

    from hymem.learn import stream

    rec = copy.deepcopy(net.recording())
    for lr in rec.layers:
        lr.transfer = dict(lr.transfer, change_aware=True)

    def writes(states):
        return sum(int((s.counters.mr_resets + s.counters.mr_sets).sum()) for s in states)

    initial = writes(stream.replay(rec, compiled=True, samples=0))
    states = stream.replay(rec, compiled=True)
    total = writes(states)
    n = len(rec.transfer_after) - 1
    return dict(initial_writes=initial, writes=total, periodic_transfers=n,
                programmed=sum(int(s.counters.xfer_programmed.sum()) for s in states))


def bench_trace(seeds, log, epochs=None) -> dict:
    runs, snap, same = [], None, None
    for seed in seeds:
        for ca in (False, True):
            t0 = time.perf_counter()
            r, net, s = reference_run(seed, ca, record=(seed == seeds[0] and not ca),
                                      snapshot=(seed == seeds[0] and ca), epochs=epochs)
            r["wall_s"] = time.perf_counter() - t0
            runs.append(r)
            log(f"  trace seed {seed} {'change-aware' if ca else 'published   '}: accuracy "
                f"{r['accuracy']:.4f}, {r['writes']:,} memristor writes ({r['wall_s']:.0f} s)")
            if s is not None:
                snap = s
            if seed == seeds[0] and not ca:
                same = same_trace_change_aware(net)
                same["published_writes"] = r["writes"]
                same["published_initial"] = r["initial_writes"]
    return {"runs": runs, "same_trace": same, "snapshot": snap}


def print_trace(data, log):
    runs = data["runs"]
    log(f"\nChange-aware transfer on a real training trace: learning reference, {TRACE['dataset']} "
        f"{'-'.join(map(str, TRACE['arch']))}, k = {TRACE['k']}, p = {TRACE['p']}, lr = {TRACE['lr']}, "
        "truncation codes, transfer variability on; mean over seeds (per-seed values in the JSON)")
    rows = []
    for ca in (False, True):
        rs = [r for r in runs if r["change_aware"] == ca]
        acc = [100 * r["accuracy"] for r in rs]
        per = [statistics.fmean(r["per_transfer"]) for r in rs]
        rows.append(["change-aware" if ca else "published", len(rs),
                     f"{statistics.fmean(acc):.2f} %" + (f" +- {statistics.stdev(acc):.2f}" if len(acc) > 1 else ""),
                     f"{statistics.fmean(r['writes'] for r in rs):,.0f}",
                     f"{statistics.fmean(r['initial_writes'] for r in rs):,.0f}",
                     f"{len(rs[0]['per_transfer'])}",
                     f"{statistics.fmean(per):,.0f}",
                     f"{statistics.fmean(r['worst_device_writes'] for r in rs):,.0f}"])
    log(table(["transfer", "seeds", "test accuracy", "memristor writes (total)",
               "of which initial programming", "periodic transfers", "writes per periodic transfer",
               "worst device writes"], rows))
    pub = [r for r in runs if not r["change_aware"]]
    ca = [r for r in runs if r["change_aware"]]
    if pub and ca:
        wp = statistics.fmean(r["writes"] - r["initial_writes"] for r in pub)
        wc = statistics.fmean(r["writes"] - r["initial_writes"] for r in ca)
        log(f"\nPeriodic-transfer writes saved by change-aware (independent runs): "
            f"{100 * (1 - wc / wp):.2f} % ({wc:,.0f} vs {wp:,.0f}); all writes incl. the initial "
            f"programming: {100 * (1 - statistics.fmean(r['writes'] for r in ca) / statistics.fmean(r['writes'] for r in pub)):.2f} %")
    s = data.get("same_trace")
    if s:
        wp = s["published_writes"] - s["published_initial"]
        wc = s["writes"] - s["initial_writes"]
        log(f"Same trace (seed {pub[0]['seed']}'s published run replayed with change-aware transfers, "
            f"{s['periodic_transfers']} periodic transfers): {wc:,} vs {wp:,} periodic writes, "
            f"{100 * (1 - wc / wp):.2f} % saved")


# ----------------------------------------------------------------------------------- xfer


def bench_xfer(sims, repeats, snap, log) -> dict:
    import numpy as np

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        w = Path(tmp) / "array.npz"
        np.savez(w, h=snap["h"], flags=snap["flags"], n_in=snap["n_in"], n_out=snap["n_out"])
        for rep in range(repeats):
            for sim in sims:
                for timing in TIMINGS:
                    r = _simulate("tb_hymem_xfer_engine", "bench_xfer", sim, XFER_PARAMS,
                                  XFER_HARNESS, dict(weights=str(w), modes=MODES, timing=timing,
                                                     seed=1 + rep), f"bench_xfer_{timing}")
                    r["repeat"] = rep
                    r["load1"] = os.getloadavg()[0]
                    runs.append(r)
                    log(f"  xfer {sim:9s} {timing:7s} rep {rep}: "
                        + ", ".join(f"{x['mode']} {x['wall_s']:.2f} s" for x in r["results"])
                        + f" ({load()})")
    return {"runs": runs, "array": {k: snap[k] for k in ("n_in", "n_out", "transfer", "samples")},
            "flags_set": int(snap["flags"].sum())}


def print_xfer(data, log):
    runs = data["runs"]
    a = data["array"]
    log(f"\nOne full-array transfer: layer 0 array 0 of the seed-1 change-aware digits run "
        f"({a['n_in']} x {a['n_out']} tile), hidden weights and flags just before transfer "
        f"{a['transfer']} (after {a['samples']:,} samples): {data['flags_set']} of "
        f"{a['n_in'] * a['n_out']} change flags set. Simulated time is hardware time at that "
        "clock; wall time median (range) over repeats")
    rows = []
    for sim in SIMS:
        for timing in TIMINGS:
            rs = [r for r in runs if (r["sim"], r["timing"]) == (sim, timing)]
            if not rs:
                continue
            for name, *_ in MODES:
                xs = [x for r in rs for x in r["results"] if x["mode"] == name]
                c = xs[0]["counters"]
                sim_us = [x["sim_ns"] / 1000 for x in xs]
                rows.append([sim, timing, name, f"{c['xfer_programmed']:,}",
                             f"{c['mr_resets'] + c['mr_sets']:,}", f"{c['vfy_reads']:,}",
                             f"{c['fe_reads'] + c['fe_writes']:,}",
                             f"{med([x['cycles'] for x in xs]):,.0f}", spread(sim_us, "{:,.0f}"),
                             spread([x["wall_s"] for x in xs], "{:.2f}"),
                             f"{med([x['wakeups'] for x in xs]):,.0f}",
                             f"{med([r['load1'] for r in rs]):.1f}"])
    log(table(["simulator", "timing", "mode", "synapses programmed", "memristor writes",
               "verify reads", "FeCAP row ops", "cycles", "simulated time (us)", "wall time (s)",
               "macro wake-ups", "load (1 min)"], rows))


# ------------------------------------------------------------------ main job and soak

#: samples per timed run of the main part (Icarus is about 7x slower)
MAIN_SAMPLES = {"verilator": 600, "icarus": 100}


def bench_main(sims, repeats, quick, log) -> dict:
    """Samples/s of `make sim`'s network (CosimConfig defaults), interleaved repeats."""
    from hymem.sim import cosim

    runs = {sim: [] for sim in sims}
    for rep in range(repeats):
        for sim in sims:
            n = MAIN_SAMPLES[sim] // (3 if quick else 1)
            cfg = cosim.CosimConfig(samples=n, seed=1 + rep, progress_every=0)
            t = time.perf_counter()
            res = cosim.run(cfg, sim, run_name=f"bench-main-{sim}-{rep}")
            wall = time.perf_counter() - t
            row = dict(samples=n, samples_per_s=res["samples_per_s"], wall_s=wall,
                       state_match=res["state_match"], sim_time_us=res["sim_time_us"],
                       macro_model=res["macro_model"], bus_bursts=res["bus_bursts"],
                       bus_ops=res["bus_ops"], load=load())
            runs[sim].append(row)
            log(f"  {sim} repeat {rep + 1}: {n} samples, {row['samples_per_s']:.1f} samples/s, "
                f"state match {row['state_match']}, {row['load']}")
    return runs


def print_main(data, log):
    rows = []
    for sim, runs in data.items():
        v = [r["samples_per_s"] for r in runs]
        r0 = runs[0]
        mm = r0["macro_model"]
        n = r0["samples"]
        rows.append([sim, str(len(runs)), str(n), f"**{spread(v)}**",
                     f"{r0['sim_time_us'] / n:,.0f}",
                     f"{sum(m['wakeups'] for m in mm) / n:.1f}",
                     f"{sum(m['records'] for m in mm) / n:.0f}",
                     f"{100 * sum(m['served'] for m in mm) / max(1, sum(m['served'] + m['misses'] for m in mm)):.1f}",
                     f"{r0['bus_bursts'] / n:.1f}", f"{r0['bus_ops'] / n:.1f}",
                     str(all(r["state_match"] for r in runs)), runs[-1]["load"].split()[2]])
    log("\n### The main job's network: training samples per second (`make sim`)\n")
    log(table(["simulator", "repeats", "samples", "samples/s median (range)",
               "simulated us/sample", "macro wake-ups/sample", "macro records/sample",
               "reads served by the cache %", "bus lists/sample", "bus accesses/sample",
               "state match", "load (1 min)"], rows))


def _iris_csv(path: Path) -> Path:
    """scikit-learn's bundled iris as a user's csv file (header, string labels)."""
    import csv

    from sklearn.datasets import load_iris

    d = load_iris()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(d.feature_names) + ["species"])
        for x, y in zip(d.data, d.target):
            w.writerow([f"{v:g}" for v in x] + [d.target_names[y]])
    return path


SOAK = (("digits", "64-16-10"), ("wine", "13-16-3"), ("csv", "4-16-3"))


def bench_soak(quick, log) -> dict:
    from hymem.sim import cosim

    out = {}
    for name, arch in SOAK:
        ds = name
        if name == "csv":
            ds = "csv:" + str(_iris_csv(ROOT / "build" / "iris.csv"))
        cfg = cosim.CosimConfig(dataset=ds, arch=arch, epochs=2 if quick else 10, progress_every=0)
        t = time.perf_counter()
        res = cosim.main_job(cfg, "verilator", log=log)
        keep = ("dataset", "arch", "samples", "epochs", "test_accuracy", "reference_test_accuracy",
                "state_match", "float_test_accuracy", "emulated_mean", "emulated_std",
                "samples_per_s", "epoch_test_accuracy", "float_epoch_test_accuracy",
                "adc_codes_identical", "wall_s", "counters")
        out[name] = {k: res.get(k) for k in keep}
        out[name]["wall_total_s"] = time.perf_counter() - t
        log(f"  {ds} {arch}: {res['epochs']} epochs, RTL {100 * res['test_accuracy']:.2f} %, "
            f"float {100 * res['float_test_accuracy']:.2f} %, state match {res['state_match']}")
    return out


def print_soak(data, log):
    rows = []
    for name, r in data.items():
        rows.append([r["dataset"].split("/")[-1], r["arch"], str(r["epochs"]), f"{r['samples']:,}",
                     f"{100 * r['test_accuracy']:.2f}", f"{100 * r['reference_test_accuracy']:.2f}",
                     f"{100 * r['float_test_accuracy']:.2f}",
                     f"{100 * r['emulated_mean']:.2f} +- {100 * r['emulated_std']:.2f}",
                     f"{100 * r['adc_codes_identical']:.3f}", str(r["state_match"]),
                     f"{r['samples_per_s']:.1f}", f"{r['wall_total_s'] / 60:.1f}"])
    log("\n### Soak: long runs through the RTL, state matched after every sample\n")
    log(table(["dataset", "network", "epochs", "samples", "RTL test %", "shadow %", "float %",
               "emulated (20 seeds) %", "ADC codes identical %", "state match", "samples/s",
               "wall min"], rows))


# ----------------------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated parts to run: {', '.join(PARTS)} (default: all)")
    ap.add_argument("--sims", default=",".join(SIMS),
                    help=f"comma-separated simulators: {', '.join(SIMS)} (default: both)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="repeats of every co-simulated configuration (default 3, --quick 1)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="training seeds of the trace part (1..N; default 3, --quick 1)")
    ap.add_argument("--quick", action="store_true",
                    help="a short run: fewer samples, one repeat, one seed, 2 epochs")
    ap.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    ap.add_argument("--profile", metavar="DIR",
                    help="also cProfile one fast-timing update run per simulator into DIR and "
                         "print the top functions")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the tables of a previous run's --json output and exit")
    args = ap.parse_args(argv)
    if args.from_json and not Path(args.from_json).is_file():
        ap.error(f"--from-json: {args.from_json} is not a file")
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        ap.error(f"--parts must be a comma-separated subset of {', '.join(PARTS)}; got {args.parts!r}")
    sims = [s.strip() for s in args.sims.split(",") if s.strip()]
    bad = [s for s in sims if s not in SIMS]
    if bad or not sims:
        ap.error(f"--sims must be a comma-separated subset of {', '.join(SIMS)}; got {args.sims!r}")
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if not 1 <= repeats <= 50:
        ap.error(f"--repeats must be in 1..50; got {repeats}")
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if not 1 <= seeds <= 20:
        ap.error(f"--seeds must be in 1..20; got {seeds}")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        ap.error(f"--json: directory {Path(args.json).resolve().parent} does not exist")
    args.parts_list, args.sims_list, args.repeats_n, args.seeds_n = parts, sims, repeats, seeds
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        report(json.loads(Path(args.from_json).read_text()), lambda m="": print(m, flush=True))
        return 0
    from hymem.sim import simrun

    for sim in args.sims_list if {"update", "xfer", "main", "soak"} & set(args.parts_list) else []:
        try:
            simrun.check_simulator(sim)
        except simrun.SimulatorError as e:
            print(f"bench_cosim: {e}", file=sys.stderr)
            return 2

    def log(msg=""):
        print(msg, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    log(f"bench_cosim {started:%Y-%m-%d %H:%M} UTC on {machine()}; {uptime}")
    log(f"parts {', '.join(args.parts_list)}; simulators {', '.join(args.sims_list)}; "
        f"repeats {args.repeats_n}{' (quick)' if args.quick else ''}")
    out = {"date": started.isoformat(timespec="seconds"), "machine": machine(),
           "uptime_start": uptime, "args": {k: v for k, v in vars(args).items()}}

    if "main" in args.parts_list:
        log("\n== the main job's network through the RTL")
        out["main"] = bench_main(args.sims_list, args.repeats_n, args.quick, log)
    if "soak" in args.parts_list:
        log("\n== soak: long runs through the RTL")
        out["soak"] = bench_soak(args.quick, log)
    if "update" in args.parts_list:
        log("\n== update co-simulation")
        out["update"] = bench_update(args.sims_list, args.repeats_n, args.quick, log, args.profile)
    if "trace" in args.parts_list or "xfer" in args.parts_list:
        log("\n== learning reference runs (trace part; the transfer part takes its array from them)")
        seeds = list(range(1, (args.seeds_n if "trace" in args.parts_list else 1) + 1))
        trace = bench_trace(seeds, log, epochs=2 if args.quick else None)
        snap = trace.pop("snapshot")
        if "trace" in args.parts_list:
            out["trace"] = trace
    if "xfer" in args.parts_list:
        log("\n== transfer co-simulation")
        out["xfer"] = bench_xfer(args.sims_list, args.repeats_n, snap, log)

    out["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out["wall_s"] = time.perf_counter() - t0
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
            f.write("\n")
        log(f"\nJSON: {args.json}")
    report(out, log)
    return 0


def report(out: dict, log) -> None:
    """Print the tables of a finished run (or of its JSON, --from-json)."""
    log(f"\n== results of the run started {out['date']} on {out['machine']}")
    log(f"load at start: {out['uptime_start']}")
    log(f"load at end:   {out['uptime_end']}; bench wall time {out['wall_s'] / 60:.1f} min")
    if "main" in out:
        print_main(out["main"], log)
    if "soak" in out:
        print_soak(out["soak"], log)
    if "update" in out:
        print_update(out["update"], log)
        print_profiles(out["update"], log)
    if "xfer" in out:
        print_xfer(out["xfer"], log)
    if "trace" in out:
        print_trace(out["trace"], log)


if __name__ == "__main__":
    sys.exit(main())
