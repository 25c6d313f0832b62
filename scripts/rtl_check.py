#!/usr/bin/env python3
"""Lint (Verilator -Wall) and synthesize (Yosys) every RTL module.

    python scripts/rtl_check.py lint  [MODULE ...]
    python scripts/rtl_check.py synth [MODULE ...] [--json FILE] [--param NAME=VALUE ...]

Every ``rtl/<module>.sv`` is one module. ``lint`` checks each as a top level with
its default parameters (its submodules come from the other files) and fails on
any warning. ``synth`` runs one hierarchical generic Yosys flow on hymem_top
(every module once, with the parameters the top gives it; a module the top does
not use is synthesized alone), fails on latches, on logic left unmapped to
gates, or on ``check`` problems (undriven nets, multiple drivers, combinational
loops), and prints a cell-count table per module and for the whole design.
``--param NAME=VALUE`` (repeatable) overrides a parameter of hymem_top for that
synthesis, e.g. ``--param SynPerCycle=4`` (``make synth`` uses the defaults).
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

from hymem.sim import simrun

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
{chparams}hierarchy -check -top {top}
{rename}proc
select -assert-none t:$dlatch t:$adlatch t:$dlatchsr
synth -top {top}
select -assert-none t:$* t:$_* %d t:$paramod* %d
check -assert
tee -q -o {stat} stat -top {top}
"""

TOP = "hymem_top"


def parse_stat(text: str) -> tuple[dict, dict]:
    """Yosys `stat -top` text -> ({module: {cell type: count}}, hierarchy totals {type: count}).
    (Yosys 0.23's `stat -json` writes invalid JSON for a hierarchy.)"""
    mods, cur, in_cells = {}, None, False
    for line in text.splitlines():
        t = line.strip()
        if t.startswith("=== ") and t.endswith(" ==="):
            cur = t[4:-4].strip()
            mods[cur] = {}
            in_cells = False
        elif cur is None or not t:
            continue
        elif t.startswith("Number of cells:"):
            in_cells = True
            mods[cur]["__total__"] = int(t.split(":")[1])
        elif in_cells:
            parts = t.rsplit(None, 1)
            if len(parts) == 2 and parts[1].isdigit():
                mods[cur][parts[0]] = int(parts[1])
            else:
                in_cells = False
    hier = mods.pop("design hierarchy", {})
    return mods, hier


def _module_name(name: str) -> str:
    """Yosys names a parameterised copy `$paramod$<hash>\\<module>` or, for short parameter
    lists, `$paramod\\<module>\\<param>=<value>...`; the table shows <module>."""
    parts = name.lstrip("\\").split("\\")
    return parts[1] if parts[0] == "$paramod" else parts[-1]


def parse_params(items: list[str]) -> dict[str, int]:
    """``NAME=VALUE`` strings -> {NAME: int VALUE}; a clear error for anything else."""
    out = {}
    for it in items:
        name, sep, value = it.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--param must be NAME=VALUE (an integer); got {it!r}")
        try:
            out[name] = int(value, 0)
        except ValueError:
            raise ValueError(f"--param {name}: the value must be an integer; got {value!r}") from None
    return out


def synth(mods: list[str], json_out: str | None, params: dict[str, int] | None = None) -> int:
    """One hierarchical synthesis of hymem_top (each module once, with the parameters the top
    gives it: the default build, or ``params`` overriding the top's), plus a standalone one of
    any module the top does not use. A flattening synthesis per module did the same work again
    and again (9 minutes)."""
    params = dict(params or {})
    yosys = shutil.which("yosys")
    if yosys is None:
        print("synth: yosys not found; install it: `sudo apt-get install yosys` (Debian 0.23 works)")
        return 2
    srcs = " ".join(str(p) for p in simrun.rtl_sources())
    rows, failed, seen, totals = [], [], set(), {}
    tops = [TOP] if TOP in mods else []
    if params and not tops:
        print(f"synth: --param applies to {TOP}, which is not among the modules to synthesize")
        return 2
    if params:
        print("synth: " + TOP + " with " + ", ".join(f"{k}={v}" for k, v in params.items()))
    with tempfile.TemporaryDirectory() as tmp:
        def run(top: str) -> dict | None:
            stat = Path(tmp) / f"{top}.json"
            # chparam, then the derived top renamed back to its own name: Yosys 0.23's
            # `hierarchy -chparam` derives the top twice and stops on the second copy
            # (`modules_.count(module->name) == 0`, kernel/rtlil.cc), for every override, and
            # `synth -top` needs the top under its name
            over = params if top == TOP else {}
            # (one chparam for all: the top's checks see every override at once)
            chparams = ("chparam" + "".join(f" -set {k} {v}" for k, v in over.items())
                        + f" {top}\n") if over else ""
            rename = f"rename -top {top}\n" if over else ""
            script = SYNTH_SCRIPT.format(rtl=RTL, srcs=srcs, top=top, stat=stat, chparams=chparams,
                                         rename=rename)
            t0 = time.time()
            r = subprocess.run([yosys, "-q", "-p", script], capture_output=True, text=True)
            dt = time.time() - t0
            if r.returncode != 0 or not stat.exists():
                failed.append(top)
                msgs = [l for l in (r.stdout + r.stderr).splitlines()
                        if not l.startswith("Warning: Replacing memory")]
                print(f"synth {top}: FAILED\n" + "\n".join(msgs[-25:]))
                return None
            print(f"synth {top}: ok ({dt:.0f} s)")
            mods_, hier = parse_stat(stat.read_text())
            return {"modules": {k: {"num_cells": v.pop("__total__", 0), "num_cells_by_type": v}
                                for k, v in mods_.items()},
                    "hierarchy": {"num_cells": hier.pop("__total__", 0), "num_cells_by_type": hier}}

        def add(data: dict, top: str) -> None:
            for name, mod in data["modules"].items():
                m = _module_name(name)
                if m not in mods or (m, mod["num_cells"]) in seen:
                    continue
                seen.add((m, mod["num_cells"]))
                types = mod.get("num_cells_by_type", {})
                flops = sum(v for k, v in types.items() if "DFF" in k)
                subs = sum(v for k, v in types.items() if not k.startswith("$_"))
                rows.append({"module": m, "cells": mod["num_cells"] - subs, "flops": flops,
                             "submodules": subs, "cell_types": types, "synthesized_in": top})

        totals = {}
        for top in tops:
            data = run(top)
            if data is not None:
                add(data, top)
                h = data["hierarchy"]
                totals[top] = (h["num_cells"], sum(v for k, v in h["num_cells_by_type"].items()
                                                   if "DFF" in k))
        for m in mods:
            if m not in {r["module"] for r in rows} and m not in failed:
                data = run(m)
                if data is not None:
                    add(data, m)
    if rows:
        print(f"{'module':<28} {'cells':>8} {'flops':>7} {'instances':>9}  synthesized in")
        for r in rows:
            print(f"{r['module']:<28} {r['cells']:>8} {r['flops']:>7} {r['submodules']:>9}  {r['synthesized_in']}")
        for top, (cells, flops) in totals.items():
            print(f"{top + ' (whole design)':<28} {cells:>8} {flops:>7}")
        print("(Yosys generic `synth`, hierarchical: cells and flops of the module itself, gate-level\n"
              " cells $_*_; instances = submodule instances; parameters as hymem_top sets them)")
    if json_out:
        Path(json_out).write_text(json.dumps({"modules": rows, "totals": totals,
                                              "params": {TOP: params}}, indent=2))
    if failed:
        print(f"synth: {len(failed)} run(s) failed: {', '.join(failed)}")
        return 1
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["lint", "synth", "list"])
    ap.add_argument("modules", nargs="*", help="modules to check (default: all in rtl/)")
    ap.add_argument("--json", help="synth: write the cell table as JSON")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help=f"synth: override a parameter of {TOP} (repeatable), e.g. SynPerCycle=4")
    a = ap.parse_args(argv)
    try:
        params = parse_params(a.param)
    except ValueError as e:
        ap.error(str(e))
    if params and a.action != "synth":
        ap.error("--param applies to synth only")
    known = modules()
    mods = a.modules or known
    unknown = [m for m in mods if m not in known]
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; rtl/ has: {', '.join(known)}")
    if a.action == "list":
        print("\n".join(known))
        return 0
    return lint(mods) if a.action == "lint" else synth(mods, a.json, params)


if __name__ == "__main__":
    sys.exit(main())
