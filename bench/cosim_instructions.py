#!/usr/bin/env python3
"""Instructions per co-simulated sample, counted by valgrind (independent of the load).

    .venv/bin/python bench/cosim_instructions.py --part cosim [--sim verilator]
        [--samples 10 30] [--root OTHER_CHECKOUT]
    .venv/bin/python bench/cosim_instructions.py [--part update] [--sim verilator]
        [--build lean] [--timing fast] [--model macro|none] [--watch all|lazy] [--no-mon]
        [--nop 0|1|2] [--root OTHER_CHECKOUT]

``--part cosim`` (the main job): runs ``hymem cosim`` (digits 64-16-10, its defaults) with N1
and N2 training samples and prints (instructions of the longer run - those of the shorter) /
(N2 - N1): what the simulation process (simulator, cocotb, Python host, macro model,
shadow reference and checks) executes per training sample, without the start-up and the
final evaluation.

``--part update`` (default): runs bench/tb/bench_update.py (bench/bench_cosim.py's update
part: one full-array update sample on the engine harness) the same way, with 2 and 12
timed samples.

Both run the simulator under ``valgrind --tool=cachegrind --cache-sim=no``. The machine this
project runs on is shared, and wall or CPU times of the same run vary by up to 2x with the
other users' load; instruction counts do not (repeats agree within about 2 %).

``--watch`` / ``--no-mon``: what hymem.sim.macro_port.MacroPortModel watches (default: its
defaults). ``--root``: another checkout of this repository (e.g. ``git archive`` of an older
commit into /tmp/base) to count its code with the same harness and samples (options it does
not know are ignored there). ``--nop`` (diagnosis, needs a model patched to honour
HYMEM_NOP; not in this repository) is passed through as HYMEM_NOP.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys
root = os.environ["HYMEM_ROOT"]
sys.path.insert(0, os.path.join(root, "bench"))
import bench_cosim as b
cfg = json.loads(sys.argv[1])
orig = b._simulate
def patched(*a, **k):
    a = list(a)
    a[5] = {**a[5], **cfg["extra"]}
    return orig(*a, **k)
b._simulate = patched
try:
    b.run_update(cfg["sim"], cfg["timing"], cfg["model"], cfg["n"], build=cfg["build"])
except Exception as e:                 # the count is still valid for what ran (see --nop)
    print(f"run_update: {type(e).__name__}", file=sys.stderr)
"""


def count(root: Path, args, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        extra = {}
        if args.watch:
            extra["watch"] = args.watch
        if args.no_mon:
            extra["mon"] = False
        cfg = dict(sim=args.sim, timing=args.timing, model=args.model, n=n, build=args.build,
                   extra=extra)
        env = dict(os.environ, HYMEM_ROOT=str(root), PYTHONPATH=str(root / "models"),
                   HYMEM_BUILD_DIR=str(root / "build" / "icount_sim"),
                   SIM_CMD_PREFIX=f"valgrind --tool=cachegrind --cache-sim=no "
                                  f"--cachegrind-out-file={tmp}/cg.%p")
        if args.nop:
            env["HYMEM_NOP"] = args.nop
        subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], env=env, check=True,
                       capture_output=not args.verbose)
        (f,) = glob.glob(f"{tmp}/cg.*")
        with open(f) as fh:
            return int(next(line for line in fh if line.startswith("summary")).split()[1])


COSIM_CHILD = r"""
import inspect, sys
from hymem import cli
argv = ["cosim", "--sim", sys.argv[1], "--samples", sys.argv[2]]
src = inspect.getsource(cli)
# options an older checkout (--root) may not have: no progress bar, no emulated host (it runs
# outside the simulator process, which is all that is counted, but costs time)
for opt, val in (("--progress", "0"), ("--emulated-seeds", "0")):
    if f'"{opt}"' in src:
        argv += [opt, val]
sys.exit(cli.main(argv))
"""


def warm_up(root: Path, sim: str, n: int, verbose: bool) -> None:
    """One uncounted run under valgrind first: builds, Python's bytecode and numba's compile
    cache are then warm for both counted runs (numba keys its cache by the CPU it sees, and
    valgrind's differs from the host's, so the warm-up must run under valgrind too; a cold
    cache in one counted run would count compilation as samples)."""
    count_cosim(root, sim, n, verbose)


def count_cosim(root: Path, sim: str, n: int, verbose: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HYMEM_ROOT=str(root), PYTHONPATH=str(root / "models"),
                   HYMEM_BUILD_DIR=str(root / "build" / "icount_sim"),
                   SIM_CMD_PREFIX=f"valgrind --tool=cachegrind --cache-sim=no "
                                  f"--cachegrind-out-file={tmp}/cg.%p")
        subprocess.run([sys.executable, "-c", COSIM_CHILD, sim, str(n)], env=env, check=True,
                       capture_output=not verbose)
        files = glob.glob(f"{tmp}/cg.*")
        if len(files) != 1:
            raise RuntimeError(f"expected one cachegrind output, got {files}")
        with open(files[0]) as fh:
            return int(next(line for line in fh if line.startswith("summary")).split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="update", choices=("update", "cosim"))
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    ap.add_argument("--build", default="lean", choices=("regression", "lean"))
    ap.add_argument("--timing", default="fast", choices=("fast", "nominal"))
    ap.add_argument("--model", default="macro", choices=("macro", "none"))
    ap.add_argument("--watch", choices=("all", "lazy"))
    ap.add_argument("--no-mon", action="store_true", help="watch the pins, not the port monitor")
    ap.add_argument("--nop", default="")
    ap.add_argument("--root", type=Path, default=HERE)
    ap.add_argument("--samples", type=int, nargs=2, default=None, metavar=("N1", "N2"),
                    help="the two run lengths (default: 2 12 for update, 10 30 for cosim)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.part == "cosim":
        n1, n2 = args.samples or (10, 30)
        root = args.root.resolve()
        warm_up(root, args.sim, n1, args.verbose)
        a, b = (count_cosim(root, args.sim, n, args.verbose) for n in (n1, n2))
        per = (b - a) / (n2 - n1)
        print(json.dumps({"root": str(args.root), "part": "cosim", "sim": args.sim,
                          "samples": [n1, n2], "instructions": [a, b],
                          "instructions_per_sample": per}))
        print(f"{per / 1e6:.1f} M instructions per co-simulated training sample")
        return
    n1, n2 = args.samples or (2, 12)
    a, b = count(args.root.resolve(), args, n1), count(args.root.resolve(), args, n2)
    per = (b - a) / (n2 - n1)
    print(json.dumps({"root": str(args.root), "sim": args.sim, "build": args.build,
                      "timing": args.timing, "model": args.model, "watch": args.watch,
                      "mon": not args.no_mon, "instructions_per_sample": per}))
    print(f"{per / 1e6:.1f} M instructions per sample")


if __name__ == "__main__":
    main()
