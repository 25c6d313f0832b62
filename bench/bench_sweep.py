#!/usr/bin/env python3
"""Speed-up of ``hymem sweep`` on a LocalCluster over serial runs, measured in one session.

Runs the same spec (default examples/sweep.toml) alternately ``--serial`` and on a
``LocalCluster`` of ``--workers`` workers, each time into a fresh output folder, for
``--rounds`` rounds; prints each command's wall time (start to exit: interpreter, cluster
start-up and report included) and the ratio serial / cluster per round, the median ratio,
the load average before and after, and checks that both give the same results (every job's
test accuracy and memristor writes, by job hash).

    .venv/bin/python bench/bench_sweep.py [--spec examples/sweep.toml] [--rounds 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(spec: str, out: Path, extra: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "hymem.cli", "sweep", spec, "--out", str(out),
                        *extra], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"hymem sweep {' '.join(extra)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return dt


def results(out: Path) -> dict:
    con = sqlite3.connect(out / "sweep.sqlite")
    rows = con.execute("SELECT hash, metrics FROM jobs WHERE status='done'").fetchall()
    con.close()
    return {h: (m["test_accuracy"], m["memristor_writes"])
            for h, m in ((h, json.loads(t)) for h, t in rows)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="examples/sweep.toml")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    load0 = os.getloadavg()
    ratios, rows = [], []
    ref = None
    with tempfile.TemporaryDirectory(prefix="hymem-bench-sweep-") as tmp:
        for r in range(a.rounds):
            ts = run(a.spec, Path(tmp) / f"serial{r}", ["--serial"])
            tc = run(a.spec, Path(tmp) / f"local{r}", ["--workers", str(a.workers)])
            for name in (f"serial{r}", f"local{r}"):
                res = results(Path(tmp) / name)
                ref = ref or res
                if res != ref:
                    sys.exit(f"{name}: results differ from the first run")
            ratios.append(ts / tc)
            rows.append((r + 1, ts, tc, ts / tc))
            print(f"round {r + 1}: serial {ts:.1f} s, LocalCluster {a.workers} workers "
                  f"{tc:.1f} s, speed-up {ts / tc:.2f}", flush=True)
    load1 = os.getloadavg()
    print(f"\n| round | serial (s) | LocalCluster, {a.workers} workers (s) | speed-up |")
    print("| --- | --- | --- | --- |")
    for r, ts, tc, q in rows:
        print(f"| {r} | {ts:.1f} | {tc:.1f} | {q:.2f} |")
    print(f"\nmedian speed-up {statistics.median(ratios):.2f} ({len(ref)} jobs, identical results "
          f"in every run); {os.cpu_count()} cores, load average {load0[0]:.1f} before, "
          f"{load1[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
