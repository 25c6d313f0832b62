#!/usr/bin/env python3
"""Lint (Verilator -Wall) and synthesize (Yosys) every RTL module.

    python scripts/rtl_check.py lint  [MODULE ...]
    python scripts/rtl_check.py synth [MODULE ...] [--json FILE]

Every ``rtl/<module>.sv`` is one module, checked as a top level with its
default parameters (its submodules come from the other files). ``lint`` fails
on any warning. ``synth`` runs a generic Yosys flow, fails on latches, on logic
left unmapped to gates, or on ``check`` problems (undriven nets, multiple
drivers, combinational loops), and prints a cell-count table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hymem import simrun

ROOT = simrun.repo_root()
RTL = ROOT / "rtl"


def modules() -> list[str]:
    return [p.stem for p in simrun.rtl_sources()]


def lint(mods: list[str]) -> int:
    exe = simrun.verilator_executable()
    env = {**os.environ, **simrun.verilator_env()}
    srcs = [str(p) for p in simrun.rtl_sources()]
    failed = []
    for m in mods:
        cmd = [exe, "--lint-only", "-Wall", f"-I{RTL}", "--top-module", m, *srcs]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        msgs = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("%")]
        status = "ok" if r.returncode == 0 and not msgs else "FAIL"
        print(f"lint {m:<32} {status}")
        if status != "ok":
            failed.append(m)
            print("\n".join(msgs or (r.stdout + r.stderr).splitlines()[-20:]))
    if failed:
        print(f"lint: {len(failed)} module(s) with warnings: {', '.join(failed)}")
        return 1
    print(f"lint: {len(mods)} modules clean (verilator --lint-only -Wall)")
    return 0


SYNTH_SCRIPT = """
read_verilog -sv -I{rtl} {srcs}
hierarchy -check -top {top}
proc
select -assert-none t:$dlatch t:$adlatch t:$dlatchsr
flatten
synth -top {top}
select -assert-none t:* t:$_* %d
check -assert
tee -q -o {stat} stat -json
"""


def synth(mods: list[str], json_out: str | None) -> int:
    yosys = shutil.which("yosys")
    if yosys is None:
        print("synth: yosys not found; install it: `sudo apt-get install yosys` (Debian 0.23 works)")
        return 2
    srcs = " ".join(str(p) for p in simrun.rtl_sources())
    rows, failed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for m in mods:
            stat = Path(tmp) / f"{m}.json"
            script = SYNTH_SCRIPT.format(rtl=RTL, srcs=srcs, top=m, stat=stat)
            t0 = time.time()
            r = subprocess.run([yosys, "-q", "-p", script], capture_output=True, text=True)
            dt = time.time() - t0
            if r.returncode != 0 or not stat.exists():
                failed.append(m)
                print(f"synth {m}: FAILED\n" + "\n".join((r.stdout + r.stderr).splitlines()[-25:]))
                continue
            data = json.loads(stat.read_text())
            mod = data["modules"].get(f"\\{m}") or next(iter(data["modules"].values()))
            types = mod.get("num_cells_by_type", {})
            flops = sum(v for k, v in types.items() if "DFF" in k or "SDFF" in k)
            rows.append({"module": m, "cells": mod["num_cells"], "flops": flops,
                         "cell_types": types, "seconds": round(dt, 2)})
    if rows:
        print(f"{'module':<32} {'cells':>8} {'flops':>8} {'time/s':>8}")
        for r in rows:
            print(f"{r['module']:<32} {r['cells']:>8} {r['flops']:>8} {r['seconds']:>8}")
        print("(Yosys generic `synth`, default parameters, gate-level cells $_*_)")
    if json_out:
        Path(json_out).write_text(json.dumps(rows, indent=2))
    if failed:
        print(f"synth: {len(failed)} module(s) failed: {', '.join(failed)}")
        return 1
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["lint", "synth", "list"])
    ap.add_argument("modules", nargs="*", help="modules to check (default: all in rtl/)")
    ap.add_argument("--json", help="synth: write the cell table as JSON")
    a = ap.parse_args(argv)
    known = modules()
    mods = a.modules or known
    unknown = [m for m in mods if m not in known]
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; rtl/ has: {', '.join(known)}")
    if a.action == "list":
        print("\n".join(known))
        return 0
    return lint(mods) if a.action == "lint" else synth(mods, a.json)


if __name__ == "__main__":
    sys.exit(main())
