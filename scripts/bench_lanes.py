#!/usr/bin/env python3
"""PPA of the update engine's SynPerCycle (synapses processed per cycle): the table that
chose hymem_top's default (docs/bench/update_lanes.md).

    .venv/bin/python scripts/bench_lanes.py [--lanes 1,2,4,8,16] [--parts synth,cycles,speed]
                                            [--repeats N] [--json FILE]

synth   Yosys cells and flops of hymem_top (the whole design) and of the blocks that grow
        with SynPerCycle, for each value: scripts/rtl_check.py synth --param SynPerCycle=P
        (one hierarchical synthesis each, as `make synth`).
cycles  The update engine's cycles per sample (start_i to done_o) for a full 1,024-synapse
        sample (tb/bench/bench_update.py: a 64 x 16 tile, p = 0.2, skip_zero), at the
        co-simulation timing set (hymem.firmware.COSIM_TIMING: 1 MHz, 2-cycle FeCAP pulses)
        and the nominal one (the timing registers' reset values, 100 MHz), for each value, on
        Verilator, with the macro model on the FeCAP port and every sample checked bit for
        bit against hymem.engine. Deterministic: the same seed gives the same cycles.
speed   Simulated cycles and samples per wall second of the same bench for SynPerCycle = 1
        and hymem_top's default, on Icarus and Verilator, with the macro model and without
        any (the simulator alone), repeats interleaved; the ratio default / 1 per repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_cosim  # noqa: E402  (the update bench's runner and its harness)

from hymem import regmap, simrun  # noqa: E402

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
    sys.path.insert(0, str(ROOT / "tb" / "bench"))
    import bench_update

    m = regmap.load()
    reset = dict(t_setup_i=m["T_FE0"].field("SETUP").reset, t_pulse_i=m["T_FE0"].field("PULSE").reset,
                 t_sense_i=m["T_FE1"].field("SENSE").reset, t_hold_i=m["T_FE1"].field("HOLD").reset,
                 t_gap_i=m["T_FE2"].field("GAP").reset)
    if bench_update.TIMINGS["nominal"][1] != reset:
        raise SystemExit(f"tb/bench/bench_update.py nominal timing {bench_update.TIMINGS['nominal'][1]}"
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
            raise SystemExit(f"SynPerCycle={p} {timing}: the run was not checked against hymem.engine")
        out[timing] = r["engine_cycles"]
    return out


# --------------------------------------------------------------------------------- speed


def speed(lanes: tuple[int, int], repeats: int) -> list[dict]:
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
                    f"{r['samples'] / r['wall_s']:6.2f} samples/s (load {r['load1']:.1f})")
    return runs


def summarize_speed(runs, lanes) -> list[list]:
    rows = []
    p1, pd = lanes
    for sim in ("icarus", "verilator"):
        for model in ("none", "macro"):
            sel = {p: [r for r in runs if (r["sim"], r["model"], r["lanes"]) == (sim, model, p)]
                   for p in lanes}
            if not all(sel.values()):
                continue
            cps = {p: [r["cycles"] / r["wall_s"] for r in v] for p, v in sel.items()}
            sps = {p: [r["samples"] / r["wall_s"] for r in v] for p, v in sel.items()}
            ratio_c = [b / a for a, b in zip(cps[p1], cps[pd])]
            ratio_s = [b / a for a, b in zip(sps[p1], sps[pd])]
            rows.append([sim, "macro model" if model == "macro" else "none (simulator alone)",
                         bench_cosim.spread(cps[p1], "{:,.0f}"), bench_cosim.spread(cps[pd], "{:,.0f}"),
                         bench_cosim.spread(ratio_c, "{:.2f}"),
                         bench_cosim.spread(sps[p1], "{:.2f}"), bench_cosim.spread(sps[pd], "{:.2f}"),
                         bench_cosim.spread(ratio_s, "{:.2f}")])
    return rows


# ---------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lanes", default=",".join(map(str, LANES)),
                    help="SynPerCycle values, comma-separated (default %(default)s)")
    ap.add_argument("--parts", default="synth,cycles,speed", help="comma-separated: synth,cycles,speed")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the speed runs")
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
    if parts - {"synth", "cycles", "speed"} or a.repeats < 1:
        ap.error("--parts takes synth, cycles, speed; --repeats must be >= 1")
    default = simrun.rtl_default("hymem_top", "SynPerCycle")
    check_nominal()
    res = {"lanes": lanes, "default": default, "synth": [], "cycles": [], "speed": []}
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
        res["speed"] = speed((1, default), a.repeats)

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
        log(f"\nSimulation speed, co-simulation timing, P = 1 vs P = {default}, median (range) of"
            f" {a.repeats} interleaved repeats; ratio = P={default} / P=1 per repeat")
        log(table(["simulator", "FeCAP port", "cycles/s P=1", f"cycles/s P={default}", "ratio",
                   "samples/s P=1", f"samples/s P={default}", "ratio"],
                  summarize_speed(res["speed"], (1, default))))
        log(bench_cosim.load())
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))
        log(f"\nJSON: {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
