"""``hymem sweep``: the spec, the store, failing jobs, and faults on a real Dask cluster.

The cluster tests start a Dask scheduler and two workers as separate processes (``python -m
distributed.cli.dask_scheduler`` / ``dask_worker``) on 127.0.0.1 with port 0 (the scheduler
picks a free port and writes its address into a scheduler file: xdist-safe), run ``hymem sweep
--scheduler`` as a separate client process, and then

- kill one worker (SIGKILL) while the sweep runs: every job must end ``done`` exactly once
  (one row per job, ``attempts`` 1), the jobs finished after the kill by the other worker;
- interrupt the client (SIGINT, then SIGKILL on the next run) and resume: the finished jobs are
  skipped, the rest run, every job done exactly once.

Jobs are tiny (digits 64-8-10, 100 samples) and run on the NumPy engine (HYMEM_NO_NUMBA=1 in the
worker processes): the tests are about the faults, and a fresh clone's first numba compilation
(tens of seconds per process) would otherwise decide their duration.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from hymem import sweep, sweep_spec, sweep_store

TINY = """
name = "tiny"
kind = "train"
seeds = [1, 2]
[options]
dataset = "digits"
arch = "64-8-10"
epochs = 1
max_train_samples = 100
lr = 0.1
[axes]
k = [10, 20, 30, 50]
p = [0.2, 0.5]
"""
N_TINY = 16


def _spec(tmp_path, text=TINY, name="spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------- the spec


def test_grid_jobs_seeds_and_hashes(tmp_path):
    spec = sweep_spec.load(_spec(tmp_path))
    assert len(spec.jobs) == N_TINY
    assert len({j.hash for j in spec.jobs}) == N_TINY
    assert {j.options["seed"] for j in spec.jobs} == {1, 2}
    # the resolved options are those of `hymem train` (defaults filled in, the preset expanded)
    r = spec.jobs[0].resolved
    assert r["dataset"] == "digits" and r["arch"] == "64-8-10" and r["transfer"] == "truncate"
    # the same run written another way is the same job
    same = sweep_spec.load(_spec(tmp_path, TINY.replace('lr = 0.1', 'lr = 0.1\ntransfer = "truncate"'),
                                 "same.toml"))
    assert [j.hash for j in same.jobs] == [j.hash for j in spec.jobs]


def test_random_sample_is_reproducible(tmp_path):
    text = """
sample = "random"
points = 5
random_seed = 7
seeds = 2
[options]
dataset = "iris"
arch = "4-8-3"
epochs = 1
[axes]
p = {low = 0.05, high = 0.5, log = true}
k = {low = 5, high = 200, integer = true}
variability = [true, false]
"""
    a = sweep_spec.load(_spec(tmp_path, text))
    b = sweep_spec.load(_spec(tmp_path, text, "b.toml"))
    assert [j.hash for j in a.jobs] == [j.hash for j in b.jobs]
    assert len(a.jobs) == 10
    for j in a.jobs:
        assert 0.05 <= j.options["p"] <= 0.5 and 5 <= j.options["k"] <= 200
        assert isinstance(j.options["k"], int)


@pytest.mark.parametrize("text, message", [
    ("kind = 'bench'", "kind must be one of train, cosim"),
    ("[options]\ndataset = 'digits'\n[axes]\nkk = [1, 2]", "unknown option 'kk' of hymem train"),
    ("[options]\ndataset = 'digits'\nk = 'ten'", "argument --k: invalid int value: 'ten'"),
    ("[options]\ndataset = 'digits'\nk = 0", "k must be an integer in 1..1000000000; got 0"),
    ("[options]\ndataset = 'digits'\nvariability = 1", "option 'variability' is a switch"),
    ("[options]\ndataset = 'digits'\njson = 'x.json'", "option 'json' is not allowed"),
    ("[options]\ndataset = 'digits'\narch = '64-8-3'", "arch output size must be the dataset's 10"),
    ("[options]\ndataset = 'digits'\n[axes]\nk = []", "axis 'k' has no values"),
    ("[options]\ndataset = 'digits'\n[axes]\nseed = [1, 2]", "the seed axis is `seeds = [...]`"),
    ("seeds = [1, 1]\n[options]\ndataset = 'digits'", "seeds has duplicates"),
    ("[options]\ndataset = 'digits'\n[axes]\nk = {low = 1, high = 3}", "axis 'k' must be a list"),
    ("kind = 'cosim'\n[options]\narch = '64-16-10'", "a cosim job needs samples or epochs"),
    ("k = [", "not valid TOML"),
    ("points = 3\n[options]\ndataset = 'digits'", "points and random_seed belong to"),
])
def test_bad_specs_name_the_problem(tmp_path, text, message):
    with pytest.raises(sweep_spec.SpecError, match=None) as e:
        sweep_spec.load(_spec(tmp_path, text))
    assert message in str(e.value), str(e.value)
    assert "spec.toml" in str(e.value)


def test_cli_errors_exit_2(tmp_path, monkeypatch):
    from hymem import cli

    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT_S", 2.0)
    spec = _spec(tmp_path)
    assert cli.main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert cli.main(["sweep", str(spec), "--serial", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert cli.main(["sweep", str(spec), "--out", str(spec)]) == 2       # a file, not a folder
    assert cli.main(["sweep", str(spec), "--scheduler", "tcp://127.0.0.1:1",
                     "--out", str(tmp_path / "o")]) == 2                 # nobody listens there


def test_cluster_needs_dask_jobqueue(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)          # as if not installed
    with pytest.raises(sweep.ClusterError, match=r"--cluster slurm needs dask-jobqueue: pip install 'hymem\[cluster\]'"):
        sweep.connect(cluster="slurm")


# ----------------------------------------------------------------------------- the store


def _flaky(bad: set):
    def job(payload):
        if payload["hash"] in bad:
            raise RuntimeError("no such thing (a job raising outside the runner)")
        return {"status": "done", "metrics": {"test_accuracy": 0.5, "hash": payload["hash"]},
                "worker": "w", "started": 1.0, "finished": 2.0}
    return job


def test_store_records_once_and_resumes(tmp_path):
    spec = sweep_spec.load(_spec(tmp_path))
    db = tmp_path / "s.sqlite"
    with sweep_store.Store(db, lock=True) as st:
        st.add(spec.jobs)
        st.add(spec.jobs)                                  # twice: still one row per job
        assert st.counts() == {"pending": N_TINY, "done": 0, "failed": 0}
        with pytest.raises(sweep_store.StoreError, match="in use by another hymem sweep"):
            sweep_store.Store(db, lock=True)
        h = spec.jobs[0].hash
        ok = {"status": "done", "metrics": {"test_accuracy": 0.9}, "worker": "w1",
              "started": 1.0, "finished": 2.0}
        assert st.record(h, ok)
        assert not st.record(h, {**ok, "metrics": {"test_accuracy": 0.1}})   # already done
        assert not st.record(h, {"status": "failed", "error": "late"})
        row = st.rows([h])[0]
        assert row["metrics"] == {"test_accuracy": 0.9} and row["attempts"] == 1
        assert st.record(spec.jobs[1].hash, {"status": "failed", "error": "boom"})
        all_h = [j.hash for j in spec.jobs]
        assert len(st.todo(all_h)) == N_TINY - 2
        assert len(st.todo(all_h, retry_failed=True)) == N_TINY - 1


def test_raising_jobs_are_stored_as_failed(tmp_path):
    """A job that raises in the runner (its traceback comes back as the result) and a task
    that raises on the worker (a Dask error) both end as ``failed`` rows with their error;
    the others are done. On an in-process cluster (threads) so the test's job function runs."""
    from distributed import Client, LocalCluster

    spec = sweep_spec.load(_spec(tmp_path))
    jobs = spec.jobs[:6]
    bad_task = {jobs[1].hash}

    def job(payload):
        if payload["hash"] == jobs[3].hash:        # raises inside the runner: caught there
            return sweep.run_job({**payload, "kind": "nosuchkind"})
        return _flaky(bad_task)(payload)

    with sweep_store.Store(tmp_path / "s.sqlite") as st, \
            LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                         dashboard_address=None) as cl, Client(cl) as client:
        st.add(jobs)
        stats = sweep.run_jobs(jobs, st, client=client, progress=False, job_fn=job)
        assert (stats["done"], stats["failed"], stats["ran"]) == (4, 2, 6)
        rows = {r["hash"]: r for r in st.rows()}
        assert "no such thing" in rows[jobs[1].hash]["error"]
        assert "KeyError: 'nosuchkind'" in rows[jobs[3].hash]["error"]
        assert all(rows[j.hash]["status"] == "done" for j in jobs if j.hash not in
                   (jobs[1].hash, jobs[3].hash))
        # --retry-failed runs exactly those two again
        again = st.todo([j.hash for j in jobs], retry_failed=True)
        assert set(again) == {jobs[1].hash, jobs[3].hash}


def test_serial_sweep_exports_and_report(tmp_path):
    """A real (serial) sweep of 4 jobs through the CLI: store, CSV, Parquet, report."""
    import csv

    import pyarrow.parquet as pq

    from hymem import cli

    spec = _spec(tmp_path, TINY.replace("k = [10, 20, 30, 50]", "k = [10, 50]").replace(
        "p = [0.2, 0.5]", "p = [0.5]"))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--serial", "--out", str(out)]) == 0
    for f in cli.SWEEP_FILES:
        assert (out / f).stat().st_size > 0, f
    recs = list(csv.DictReader(open(out / "results.csv")))
    assert len(recs) == 4 and {r["status"] for r in recs} == {"done"}
    t = pq.read_table(out / "results.parquet")
    assert t.num_rows == 4 and str(t.schema.field("test_accuracy").type) == "double"
    assert str(t.schema.field("opt.k").type) == "int64"
    # the rows are what `hymem train` computes for the same options
    r0 = recs[0]
    resolved = json.loads(sqlite3.connect(out / "sweep.sqlite").execute(
        "SELECT options FROM jobs WHERE hash=?", (r0["hash"],)).fetchone()[0])
    assert float(r0["test_accuracy"]) == sweep.run_train(resolved)["test_accuracy"]
    md = (out / "report.md").read_text()
    assert "| k | p | seeds done | test accuracy %" in md and "Pareto front (memristor writes)" in md
    # a second run finds everything done and runs nothing
    assert cli.main(["sweep", str(spec), "--serial", "--out", str(out)]) == 0
    rows = sqlite3.connect(out / "sweep.sqlite").execute("SELECT attempts FROM jobs").fetchall()
    assert [a for (a,) in rows] == [1] * 4


# ----------------------------------------------------------------------------- a real cluster

WAIT_S = 240        # generous bounds for a loaded machine; the tests take ~20 s each when idle


class Cluster:
    def __init__(self, tmp: Path, n_workers: int = 2):
        self.tmp = tmp
        self.file = tmp / "scheduler.json"
        self.env = {**os.environ, "HYMEM_NO_NUMBA": "1", "PYTHONUNBUFFERED": "1"}
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = []
        self._start("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard", "--scheduler-file",
                                  str(self.file)])
        for i in range(1, n_workers + 1):
            self._start(f"w{i}", ["distributed.cli.dask_worker", "--scheduler-file",
                                  str(self.file), "--host", "127.0.0.1", "--nthreads", "1",
                                  "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                                  "--death-timeout", "60"])
        self._wait_workers(n_workers)

    def _start(self, name, argv):
        log = open(self.tmp / f"{name}.log", "w")
        self.logs.append(log)
        if name != "scheduler":
            deadline = time.time() + 60
            while not self.file.exists():
                assert time.time() < deadline, "the scheduler wrote no scheduler file"
                time.sleep(0.1)
        self.procs[name] = subprocess.Popen([sys.executable, "-m", *argv], stdout=log,
                                            stderr=subprocess.STDOUT, env=self.env,
                                            cwd=self.tmp)

    def _wait_workers(self, n):
        from distributed import Client

        with Client(scheduler_file=str(self.file), timeout="60s") as c:
            c.wait_for_workers(n, timeout=WAIT_S)
            self.address = c.scheduler.address

    def close(self):
        for p in reversed(list(self.procs.values())):
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.logs:
            f.close()


@contextmanager
def dask_cluster(tmp):
    c = Cluster(tmp)
    try:
        yield c
    finally:
        c.close()


def _client(tmp, spec, out, cluster) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hymem.cli", "sweep", str(spec),
                             "--scheduler", cluster.address, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=cluster.env, cwd=tmp)


def _rows(out) -> list[dict]:
    db = out / "sweep.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=30)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM jobs")]
    except sqlite3.OperationalError:          # the table is not there yet
        return []
    finally:
        con.close()


def _wait_until(cond, proc, what):
    deadline = time.time() + WAIT_S
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"the client ended (exit {proc.returncode}) before {what}:\n"
                        f"{proc.stdout.read()}")
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _every_job_done_once(out, spec):
    rows = _rows(out)
    want = {j.hash for j in sweep_spec.load(spec).jobs}
    assert {r["hash"] for r in rows} == want and len(rows) == len(want)
    bad = [(r["hash"][:12], r["status"], r["attempts"]) for r in rows
           if r["status"] != "done" or r["attempts"] != 1]
    assert not bad, f"jobs not done exactly once: {bad}"
    assert all(json.loads(r["metrics"])["train_samples"] == 100 for r in rows)
    return rows


def test_worker_killed_mid_sweep(tmp_path):
    spec, out = _spec(tmp_path), tmp_path / "out"
    with dask_cluster(tmp_path) as cl:
        p = _client(tmp_path, spec, out, cl)
        done = lambda: [r for r in _rows(out) if r["status"] == "done"]
        _wait_until(lambda: any(r["worker"].startswith("w1@") for r in done()), p,
                    "worker w1 finished a job")
        n_before = len(done())
        cl.procs["w1"].kill()              # SIGKILL: w1 dies in the middle of its next job
        t_kill = time.time()
        cl.procs["w1"].wait()
        text, _ = p.communicate(timeout=WAIT_S)
        assert p.returncode == 0, text
    assert n_before < N_TINY - 2, "the sweep was nearly over before the kill"
    rows = _every_job_done_once(out, spec)
    late = [r for r in rows if r["started"] > t_kill]
    assert late and all(r["worker"].startswith("w2@") for r in late)
    assert "16 done, 0 failed, 0 pending" in text


def test_client_interrupted_and_resumed(tmp_path):
    spec, out = _spec(tmp_path), tmp_path / "out"
    n_done = lambda: sum(r["status"] == "done" for r in _rows(out))
    with dask_cluster(tmp_path) as cl:
        # Ctrl-C: the finished jobs are recorded, the others stay pending, exit 130
        p = _client(tmp_path, spec, out, cl)
        _wait_until(lambda: n_done() >= 3, p, "3 jobs done")
        p.send_signal(signal.SIGINT)
        text, _ = p.communicate(timeout=WAIT_S)
        assert p.returncode == 130, text
        first = n_done()
        assert 3 <= first < N_TINY
        rows = _rows(out)
        assert {r["status"] for r in rows} <= {"done", "pending"} and len(rows) == N_TINY
        assert "interrupted" in (out / "report.md").read_text()
        # killed outright (no handler runs): the rows written so far stay whole
        p = _client(tmp_path, spec, out, cl)
        _wait_until(lambda: n_done() >= first + 2, p, "2 more jobs done")
        p.kill()
        p.communicate(timeout=WAIT_S)
        second = n_done()
        assert first + 2 <= second < N_TINY
        # resumed: only the pending jobs run
        p = _client(tmp_path, spec, out, cl)
        text, _ = p.communicate(timeout=WAIT_S)
        assert p.returncode == 0, text
    assert f"skipped: {second} done" in text and f"running {N_TINY - second} jobs" in text
    _every_job_done_once(out, spec)


FAKE_SBATCH = """#!/bin/sh
# sbatch for the test: run the job script here, in the background; the job id is its pid
d=$(dirname "$0")
cp "$1" "$d/job.$$.sh"
nohup bash "$d/job.$$.sh" > "$d/job.$$.log" 2>&1 &
echo "Submitted batch job $!"
"""
FAKE_SCANCEL = """#!/bin/sh
# scancel for the test: end the job's shell and the worker it started
for j in "$@"; do pkill -P "$j"; kill "$j"; done 2>/dev/null
exit 0
"""


def test_slurm_cluster_through_dask_jobqueue(tmp_path):
    """``--cluster slurm``: dask-jobqueue writes the batch script with the spec's [cluster]
    keywords and submits it with sbatch; here sbatch is a stand-in that runs the script on this
    machine, so the worker it starts is a real Dask worker of the batch script."""
    pytest.importorskip("dask_jobqueue")      # the [cluster] extra (make venv installs it)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL), ("squeue", "#!/bin/sh\n")):
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    spec = _spec(tmp_path, TINY.replace("k = [10, 20, 30, 50]", "k = [10, 50]").replace(
        "p = [0.2, 0.5]", "p = [0.5]") + """
[cluster]
cores = 1
memory = "1GB"
walltime = "00:10:00"
queue = "fake"
scheduler_options = {host = "127.0.0.1"}
worker_extra_args = ["--host", "127.0.0.1"]
""")
    out = tmp_path / "out"
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}", "HYMEM_NO_NUMBA": "1"}
    p = subprocess.run([sys.executable, "-m", "hymem.cli", "sweep", str(spec), "--cluster",
                        "slurm", "--workers", "1", "--out", str(out)], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=WAIT_S)
    assert p.returncode == 0, p.stdout + p.stderr
    scripts = list(bin_.glob("job.*.sh"))
    assert scripts, "sbatch was not called"
    text = scripts[0].read_text()
    assert "#SBATCH -p fake" in text and "#SBATCH -t 00:10:00" in text and "dask_worker" in text
    assert "running 4 jobs on dask-jobqueue slurm, 1 job(s)" in p.stdout
    rows = _every_job_done_once(out, spec)
    assert len(rows) == 4
