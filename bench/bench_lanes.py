#!/usr/bin/env python3
"""PPA of the update engine's SynPerCycle (synapses processed per cycle): the table that
chose hymem_top's default (docs/bench/update_lanes.md).

    .venv/bin/python bench/bench_lanes.py [--lanes 1,2,4,8,16] [--parts synth,cycles,speed,cosim]
                                            [--speed-lanes 1,8] [--repeats N] [--json FILE]

synth   Yosys cells and flops of hymem_top (the whole design) and of the blocks that grow
        with SynPerCycle, for each value: scripts/rtl_check.py synth --param SynPerCycle=P
        (one hierarchical synthesis each, as `make synth`).
cycles  The update engine's cycles per sample (start_i to done_o) for a full 1,024-synapse
        sample (bench/tb/bench_update.py: a 64 x 16 tile, p = 0.2, skip_zero), at the
        co-simulation timing set (hymem.host.firmware.COSIM_TIMING: 1 MHz, 2-cycle FeCAP pulses)
        and the nominal one (the timing registers' reset values, 100 MHz), for each value, on
        Verilator, with the macro model on the FeCAP port and every sample checked bit for
        bit against hymem.digital.engine. Deterministic: the same seed gives the same cycles.
speed   Simulated cycles and samples per wall second of the same bench (co-simulation timing)
        for SynPerCycle = 1 and hymem_top's default (or --speed-lanes), on Icarus and
        Verilator, with the macro model and without any (the simulator alone), repeats
        interleaved; the ratio to SynPerCycle = 1 per repeat. Also per CPU second of the
        simulation process (the machine is shared).
cosim   The end-to-end co-simulation (`hymem cosim`, `make sim`'s network) with hymem_top
        built at each SynPerCycle of --speed-lanes: a copy of rtl/ and tb/hymem_cosim/ under
        build/lanes_variants/ with the top's default changed, used through HYMEM_ROOT (the
        harness takes the top's defaults). CPU seconds per sample of the whole process tree
        (simulator, cocotb, Python) from two runs of different lengths, so start-up and
        builds cancel; repeats interleaved; every run must end with the state matched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_cosim  # noqa: E402  (the update bench's runner and its harness)

from hymem.host import regmap
from hymem.sim import simrun  # noqa: E402

LANES = (1, 2, 4, 8, 16)
TIMINGS = ("cosim", "nominal")
#: samples timed per cycles run (after one warm-up)
CYCLE_SAMPLES = {"cosim": 4, "nominal": 2}
#: samples timed per speed run: (sim, model)
SPEED_SAMPLES = {("icarus", "none"): 3, ("icarus", "macro"): 3,
                 ("verilator", "none"): 20, ("verilator", "macro"): 10}
#: blocks whose size depends on SynPerCycle (module rows of the synthesis table)
BLOCKS = ("hymem_update_engine", "hymem_vecbuf", "hymem_prng", "hymem_sm_sat_add")


def log(*a):
    print(*a, flush=True)


def table(head, rows) -> str:
    return bench_cosim.table(head, rows)


def check_nominal() -> None:
    """bench_update's nominal timing must be the timing registers' reset values."""
    sys.path.insert(0, str(ROOT / "bench" / "tb"))
    import bench_update

    m = regmap.load()
    reset = dict(t_setup_i=m["T_FE0"].field("SETUP").reset, t_pulse_i=m["T_FE0"].field("PULSE").reset,
                 t_sense_i=m["T_FE1"].field("SENSE").reset, t_hold_i=m["T_FE1"].field("HOLD").reset,
                 t_gap_i=m["T_FE2"].field("GAP").reset)
    if bench_update.TIMINGS["nominal"][1] != reset:
        raise SystemExit(f"bench/tb/bench_update.py nominal timing {bench_update.TIMINGS['nominal'][1]}"
                         f" differs from the register reset values {reset}")


# --------------------------------------------------------------------------------- synth


def synth(p: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "synth.json"
        r = subprocess.run([sys.executable, str(ROOT / "scripts" / "rtl_check.py"), "synth",
                            "--param", f"SynPerCycle={p}", "--json", str(out)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"synthesis with SynPerCycle={p} failed:\n{r.stdout[-3000:]}{r.stderr[-2000:]}")
        data = json.loads(out.read_text())
    cells, flops = data["totals"]["hymem_top"]
    blocks = {}
    for row in data["modules"]:
        if row["module"] in BLOCKS and row["synthesized_in"] == "hymem_top":
            # a module may appear once per distinct parameter set (x and e buffers)
            b = blocks.setdefault(row["module"], {"cells": 0, "flops": 0, "variants": 0})
            b["cells"] += row["cells"]
            b["flops"] += row["flops"]
            b["variants"] += 1
    return {"lanes": p, "cells": cells, "flops": flops, "blocks": blocks}


# -------------------------------------------------------------------------------- cycles


def run_bench(sim: str, p: int, timing: str, model: str, samples: int, seed: int = 1) -> dict:
    params = dict(bench_cosim.UPDATE_PARAMS, SynPerCycle=p)
    cfg = dict(samples=samples, timing=timing, model=model, seed=seed, profile="")
    r = bench_cosim._simulate("tb_hymem_update_engine", "bench_update", sim, params,
                              bench_cosim.UPDATE_HARNESS, cfg, f"bench_lanes_p{p}_{timing}_{model}")
    r["load1"] = os.getloadavg()[0]
    return r


def cycles(p: int) -> dict:
    out = {"lanes": p}
    for timing in TIMINGS:
        r = run_bench("verilator", p, timing, "macro", CYCLE_SAMPLES[timing])
        if not r["checked"]:
            raise SystemExit(f"SynPerCycle={p} {timing}: the run was not checked against hymem.digital.engine")
        out[timing] = r["engine_cycles"]
    return out


# --------------------------------------------------------------------------------- speed


def speed(lanes: list[int], repeats: int) -> list[dict]:
    runs = []
    configs = [(sim, model) for sim in ("icarus", "verilator") for model in ("none", "macro")]
    for sim, _ in configs[::2]:              # build first, untimed
        for p in lanes:
            run_bench(sim, p, "cosim", "none", 1)
    for rep in range(repeats):
        for sim, model in configs:
            for p in lanes:
                r = run_bench(sim, p, "cosim", model, SPEED_SAMPLES[(sim, model)])
                r.update(repeat=rep, lanes=p)
                runs.append(r)
                log(f"  speed {sim:9s} {model:5s} P={p:<2d} rep {rep}: "
                    f"{r['cycles'] / r['wall_s']:9.0f} cycles/s, "
                    f"{r['samples'] / r['wall_s']:6.2f} samples/s, "
                    f"{r['samples'] / r['cpu_s']:6.2f} per CPU s (load {r['load1']:.1f})")
    return runs


def summarize_speed(runs, lanes) -> list[list]:
    """Rows per (simulator, model, SynPerCycle): medians (ranges) over the repeats, and the
    ratio to SynPerCycle = 1 in the same repeat (interleaved runs)."""
    rows = []
    spread = bench_cosim.spread
    for sim in ("icarus", "verilator"):
        for model in ("none", "macro"):
            sel = {p: sorted((r for r in runs if (r["sim"], r["model"], r["lanes"]) == (sim, model, p)),
                             key=lambda r: r["repeat"]) for p in lanes}
            if not all(sel.values()):
                continue
            base = sel[lanes[0]]
            for p in lanes:
                cps = [r["cycles"] / r["wall_s"] for r in sel[p]]
                sps = [r["samples"] / r["wall_s"] for r in sel[p]]
                spc = [r["samples"] / r["cpu_s"] for r in sel[p]]
                ratio = [(r["samples"] / r["wall_s"]) / (b["samples"] / b["wall_s"])
                         for r, b in zip(sel[p], base)]
                ratio_cpu = [(r["samples"] / r["cpu_s"]) / (b["samples"] / b["cpu_s"])
                             for r, b in zip(sel[p], base)]
                cyc = statistics.median(r["cycles"] / r["samples"] for r in sel[p])
                rows.append([sim, "macro model" if model == "macro" else "none (simulator alone)",
                             str(p), f"{cyc:,.0f}", spread(cps, "{:,.0f}"), spread(sps, "{:.2f}"),
                             spread(spc, "{:.2f}"), spread(ratio, "{:.2f}"),
                             spread(ratio_cpu, "{:.2f}")])
    return rows


# -------------------------------------------------------------------------------- cosim

#: (samples of the short run, of the long run) per simulator
COSIM_SAMPLES = {"verilator": (10, 50), "icarus": (3, 11)}


def variant_root(p: int) -> Path:
    """A copy of rtl/ and tb/hymem_cosim/ whose hymem_top defaults to SynPerCycle = p."""
    root = ROOT / "build" / "lanes_variants" / f"p{p}"      # its sim_build/ is kept (reused)
    for sub in ("rtl", "tb"):
        shutil.rmtree(root / sub, ignore_errors=True)
    shutil.copytree(ROOT / "rtl", root / "rtl")
    shutil.copytree(ROOT / "tb" / "hymem_cosim", root / "tb" / "hymem_cosim")
    top = root / "rtl" / "hymem_top.sv"
    text, n = re.subn(r"(\bparameter\s+int\s+SynPerCycle\s*=\s*)\d+", rf"\g<1>{p}", top.read_text())
    if n != 1:
        raise SystemExit("rtl/hymem_top.sv: cannot find the SynPerCycle default")
    top.write_text(text)
    return root


def cosim_run(sim: str, p: int, n: int) -> tuple[float, dict]:
    """CPU seconds of one `hymem cosim` run of n samples at SynPerCycle p, and its JSON."""
    root = variant_root(p)
    env = dict(os.environ, HYMEM_ROOT=str(root), HYMEM_BUILD_DIR=str(root / "sim_build"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cosim.json"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([str(Path(sys.executable).parent / "hymem"), "cosim", "--sim", sim,
                            "--samples", str(n), "--json", str(out)], env=env,
                           capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0 or not out.exists():
            raise SystemExit(f"hymem cosim (SynPerCycle={p}, {sim}) failed:\n{r.stdout[-2000:]}"
                             f"{r.stderr[-2000:]}")
        data = json.loads(out.read_text())
    if data.get("state_match") is not True:
        raise SystemExit(f"hymem cosim (SynPerCycle={p}, {sim}): the state did not match")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, data


def cosim(lanes: list[int], repeats: int) -> list[dict]:
    runs = []
    for sim in ("icarus", "verilator"):
        for p in lanes:                      # build first, untimed
            cosim_run(sim, p, 1)
    for rep in range(repeats):
        for sim in ("icarus", "verilator"):
            n1, n2 = COSIM_SAMPLES[sim]
            for p in lanes:
                c1, _ = cosim_run(sim, p, n1)
                c2, d = cosim_run(sim, p, n2)
                r = dict(sim=sim, lanes=p, repeat=rep, cpu_per_sample=(c2 - c1) / (n2 - n1),
                         samples_per_s=d["samples_per_s"], load1=os.getloadavg()[0])
                runs.append(r)
                log(f"  cosim {sim:9s} P={p:<2d} rep {rep}: {r['cpu_per_sample']:.3f} CPU s/sample, "
                    f"{r['samples_per_s']:.2f} samples/s wall (load {r['load1']:.1f})")
    return runs


def summarize_cosim(runs, lanes) -> list[list]:
    rows = []
    spread = bench_cosim.spread
    for sim in ("icarus", "verilator"):
        sel = {p: sorted((r for r in runs if (r["sim"], r["lanes"]) == (sim, p)),
                         key=lambda r: r["repeat"]) for p in lanes}
        if not all(sel.values()):
            continue
        for p in lanes:
            per_cpu = [1 / r["cpu_per_sample"] for r in sel[p]]
            ratio = [b["cpu_per_sample"] / r["cpu_per_sample"] for r, b in zip(sel[p], sel[lanes[0]])]
            rows.append([sim, str(p), spread([r["samples_per_s"] for r in sel[p]], "{:.2f}"),
                         spread(per_cpu, "{:.2f}"), spread(ratio, "{:.2f}")])
    return rows


# ---------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lanes", default=",".join(map(str, LANES)),
                    help="SynPerCycle values, comma-separated (default %(default)s)")
    ap.add_argument("--parts", default="synth,cycles,speed,cosim",
                    help="comma-separated: synth,cycles,speed,cosim")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the speed runs")
    ap.add_argument("--speed-lanes", help="SynPerCycle values of the speed part, comma-separated, "
                    "starting with the reference (default: 1 and hymem_top's default)")
    ap.add_argument("--json", help="write every result as JSON")
    a = ap.parse_args(argv)
    try:
        lanes = [int(v) for v in a.lanes.split(",")]
    except ValueError:
        ap.error(f"--lanes must be comma-separated integers; got {a.lanes!r}")
    lines = simrun.rtl_default("hymem_top", "Lines")
    bad = [p for p in lanes if p < 1 or p > lines or p & (p - 1) or lines % p]
    if bad:
        ap.error(f"--lanes: SynPerCycle must be a power of two in 1..{lines} dividing Lines; got {bad}")
    parts = set(a.parts.split(","))
    if parts - {"synth", "cycles", "speed", "cosim"} or a.repeats < 1:
        ap.error("--parts takes synth, cycles, speed, cosim; --repeats must be >= 1")
    default = simrun.rtl_default("hymem_top", "SynPerCycle")
    try:
        speed_lanes = ([int(v) for v in a.speed_lanes.split(",")] if a.speed_lanes
                       else sorted({1, default}))
    except ValueError:
        ap.error(f"--speed-lanes must be comma-separated integers; got {a.speed_lanes!r}")
    bad = [p for p in speed_lanes if p < 1 or p > lines or p & (p - 1) or lines % p]
    if bad:
        ap.error(f"--speed-lanes: SynPerCycle must be a power of two in 1..{lines} dividing Lines; "
                 f"got {bad}")
    check_nominal()
    res = {"lanes": lanes, "default": default, "synth": [], "cycles": [], "speed": [], "cosim": []}
    log(f"SynPerCycle values {lanes}; hymem_top's default {default}; {bench_cosim.machine()}")

    if "synth" in parts:
        for p in lanes:
            res["synth"].append(synth(p))
            s = res["synth"][-1]
            log(f"  synth P={p}: {s['cells']:,} cells, {s['flops']:,} flops")
    if "cycles" in parts:
        for p in lanes:
            res["cycles"].append(cycles(p))
            c = res["cycles"][-1]
            log(f"  cycles P={p}: cosim {c['cosim']}, nominal {c['nominal']}")
    if "speed" in parts:
        res["speed"] = speed(speed_lanes, a.repeats)
    if "cosim" in parts:
        res["cosim"] = cosim(speed_lanes, a.repeats)

    log("\nPPA of SynPerCycle (hymem_top, default geometry: 128 lines x 8 slots)")
    syn = {s["lanes"]: s for s in res["synth"]}
    cyc = {c["lanes"]: c for c in res["cycles"]}
    rows = []
    for p in lanes:
        s, c = syn.get(p), cyc.get(p)
        eng = s["blocks"].get("hymem_update_engine", {}) if s else {}
        vb = s["blocks"].get("hymem_vecbuf", {}) if s else {}
        rows.append([f"{p}{' (default)' if p == default else ''}",
                     f"{s['cells']:,}" if s else "-", f"{s['flops']:,}" if s else "-",
                     f"{eng.get('cells', 0):,}" if s else "-", f"{vb.get('cells', 0):,}" if s else "-",
                     f"{statistics.mean(c['cosim']):,.0f}" if c else "-",
                     f"{statistics.mean(c['nominal']):,.0f}" if c else "-"])
    log(table(["SynPerCycle", "hymem_top cells", "hymem_top flops", "update engine cells",
               "x + e buffers cells", "cycles/sample, co-simulation timing",
               "cycles/sample, nominal timing"], rows))
    if res["cycles"]:
        log("(cycles: the update engine's start_i to done_o, mean over the timed samples of one"
            " seed; per sample: " + "; ".join(f"P={c['lanes']}: cosim {c['cosim']}, nominal "
                                            f"{c['nominal']}" for c in res["cycles"]) + ")")
    if res["speed"]:
        ref = speed_lanes[0]
        log(f"\nSimulation speed of the update bench, co-simulation timing, median (range) of"
            f" {a.repeats} interleaved repeats; ratio = samples/s over SynPerCycle = {ref}'s in the"
            f" same repeat (wall, and per CPU s of the simulation process)")
        log(table(["simulator", "FeCAP port", "SynPerCycle", "cycles/sample", "cycles/s",
                   "samples/s", "samples per CPU s", f"ratio to {ref}", f"ratio to {ref}, CPU"],
                  summarize_speed(res["speed"], speed_lanes)))
        log(bench_cosim.load())
    if res["cosim"]:
        ref = speed_lanes[0]
        log(f"\nEnd-to-end co-simulation (hymem cosim, digits 64-16-10) per hymem_top SynPerCycle,"
            f" median (range) of {a.repeats} interleaved repeats; ratio = CPU s per sample of"
            f" SynPerCycle = {ref} / this one's, in the same repeat")
        log(table(["simulator", "SynPerCycle", "samples/s (wall)", "samples per CPU s",
                   f"speed-up over {ref} (CPU)"], summarize_cosim(res["cosim"], speed_lanes)))
        log(bench_cosim.load())
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))
        log(f"\nJSON: {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
