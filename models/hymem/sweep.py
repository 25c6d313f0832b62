"""``hymem sweep``: many training runs on Dask distributed, every result kept.

The jobs (:mod:`hymem.sweep_spec`) run as Dask tasks: on a ``LocalCluster`` of this machine
(default), on an existing cluster (``--scheduler tcp://HOST:PORT``), or on a batch farm through
dask-jobqueue (``--cluster slurm|lsf|pbs``). The client submits every job not finished in the
store (:mod:`hymem.sweep_store`), records each result as it arrives (``as_completed``), and
writes the report (:mod:`hymem.sweep_report`) at the end, also after Ctrl-C.

A job is a pure function of its options (:func:`run_job`): a ``train`` job calls the fast
reference in the worker process (:func:`hymem.learn.reference.train`, the same code and the same
numbers as ``hymem train``), a ``cosim`` job runs ``hymem cosim --json`` as a child process
(the simulator; the RTL builds are shared through ``sim_build/`` as for every other run). Run
again after a worker died, it returns the same metrics (only the times differ).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from functools import lru_cache
from typing import Callable

CLUSTERS = {"slurm": "SLURMCluster", "lsf": "LSFCluster", "pbs": "PBSCluster"}
#: How long ``--scheduler`` waits for the scheduler to answer.
CONNECT_TIMEOUT_S = 30.0


# ----------------------------------------------------------------------------- the job


def _worker_name() -> str:
    name = "serial"
    try:
        from distributed import get_worker

        w = get_worker()
        name = str(w.name) if w.name is not None else w.address
    except (ImportError, ValueError):
        pass
    return f"{name}@{socket.gethostname()}:{os.getpid()}"


@lru_cache(maxsize=4)
def _dataset(name: str, csv_header: str):
    from .learn import datasets

    return datasets.load(name, csv_header=csv_header)


def run_train(resolved: dict) -> dict:
    """One ``hymem train`` run from its resolved options; returns what ``--json`` writes."""
    from .learn import reference

    o = dict(resolved)
    data = _dataset(o.pop("dataset"), o.pop("csv_header"))
    opts = reference.Options(**o)
    res, _ = reference.train(opts, data)
    d = res.to_dict()
    d.update(data.info)
    return d


def run_cosim(resolved: dict) -> dict:
    """One ``hymem cosim`` run (a child process: the simulator); returns its JSON."""
    argv = []
    for k, v in resolved.items():
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            argv.append(flag if v else "--no-" + flag[2:])
        elif v is not None:
            argv += [flag, str(v)]
    with tempfile.TemporaryDirectory(prefix="hymem-sweep-") as tmp:
        out = os.path.join(tmp, "cosim.json")
        cmd = [sys.executable, "-m", "hymem.cli", "cosim", *argv, "--emulated-seeds", "0",
               "--progress", "0", "--json", out]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-20:])
            raise RuntimeError(f"hymem cosim exited with {p.returncode}:\n{tail}")
        with open(out) as f:
            d = json.load(f)
    d.pop("learning_curve", None)          # a file in the deleted folder
    return d


RUNNERS: dict[str, Callable[[dict], dict]] = {"train": run_train, "cosim": run_cosim}


def run_job(payload: dict) -> dict:
    """The Dask task: run one job, return ``{status, metrics | error, worker, started,
    finished}``. A job that raises returns its traceback as ``failed`` (it is stored)."""
    t0 = time.time()
    out = {"hash": payload["hash"], "worker": _worker_name(), "started": t0}
    try:
        out["metrics"] = RUNNERS[payload["kind"]](payload["resolved"])
        out["status"] = "done"
    except Exception:               # noqa: BLE001 - any error of the job is its result
        out["status"] = "failed"
        out["error"] = traceback.format_exc()
    out["finished"] = time.time()
    return out


# ----------------------------------------------------------------------------- the cluster


class ClusterError(RuntimeError):
    """No cluster: a missing package, a scheduler that does not answer."""


def connect(scheduler: str | None = None, cluster: str | None = None, workers: int | None = None,
            cluster_kw: dict | None = None, timeout_s: float | None = None):
    """A Dask client and the cluster object it owns (None for ``scheduler``)."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{timeout_s or CONNECT_TIMEOUT_S}s"), None
        except (OSError, TimeoutError) as e:
            raise ClusterError(f"no Dask scheduler answers at {scheduler} ({e})") from None
    if cluster:
        try:
            import dask_jobqueue
        except ImportError:
            raise ClusterError(f"--cluster {cluster} needs dask-jobqueue: pip install "
                               f"'hymem[cluster]' (or pip install dask-jobqueue)") from None
        cls = getattr(dask_jobqueue, CLUSTERS[cluster])
        try:
            c = cls(**(cluster_kw or {}))
        except (TypeError, ValueError) as e:
            raise ClusterError(f"--cluster {cluster}: {CLUSTERS[cluster]}({cluster_kw}) failed: "
                               f"{e} (set its keywords in the spec's [cluster] table)") from None
        c.scale(jobs=workers or 1)
        return Client(c), c
    n = workers or os.cpu_count() or 1
    # dashboard on a free port (None still serves HTTP on 8787, which another run may hold)
    c = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                     dashboard_address=":0", silence_logs=logging.ERROR)
    return Client(c), c


# ----------------------------------------------------------------------------- running


def _failure(fut) -> dict:
    """The record of a task Dask gave up on (its worker died too often, a lost scheduler)."""
    try:
        e = fut.exception(timeout=5)
        tb = fut.traceback(timeout=5)
        text = "".join(traceback.format_exception(type(e), e, tb)) if e is not None else fut.status
    except Exception as e:  # noqa: BLE001 - whatever Dask says, it is the job's record
        text = f"{fut.status}: {type(e).__name__}: {e}"
    return {"status": "failed", "error": text, "finished": time.time()}


class Progress:
    """A tqdm bar of jobs with the done / failed counts (``enabled=False``: silent)."""

    def __init__(self, total: int, enabled: bool = True):
        self.done = self.failed = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="job", file=sys.stderr, dynamic_ncols=True,
                            mininterval=0.5, desc="sweep")
            self.bar.set_postfix_str("done 0, failed 0")

    def update(self, status: str) -> None:
        if status == "done":
            self.done += 1
        else:
            self.failed += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"done {self.done}, failed {self.failed}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_jobs(jobs, store, *, client=None, stop: Callable[[], bool] = lambda: False,
             progress: bool = True, job_fn: Callable[[dict], dict] = run_job,
             log: Callable[[str], None] = print) -> dict:
    """Run ``jobs`` (already in the store, all to be run) on ``client`` (None: here, one
    after another), recording each result as it arrives. Returns counts (``lost``: tasks the
    cluster cancelled, left pending) and the wall time. ``stop()`` is polled between results:
    when it turns true, the remaining jobs are cancelled (they stay ``pending`` in the store)
    and the result says ``interrupted``."""
    t0 = time.time()
    bar = Progress(len(jobs), progress)
    stats = {"ran": 0, "done": 0, "failed": 0, "lost": 0, "interrupted": False}

    def record(job, out):
        if store.record(job.hash, out):
            stats["ran"] += 1
            stats[out["status"]] += 1
            bar.update(out["status"])
        else:
            log(f"hymem sweep: job {job.hash[:12]}: a second result ignored (already done)")

    store.submitted([j.hash for j in jobs])
    try:
        if client is None:
            for job in jobs:
                if stop():
                    stats["interrupted"] = True
                    break
                record(job, job_fn(job.payload))
        else:
            _run_on(client, jobs, record, stop, job_fn, stats)
    finally:
        bar.close()
    stats["wall_s"] = time.time() - t0
    return stats


def _run_on(client, jobs, record, stop, job_fn, stats) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {}
    for job in jobs:
        f = client.submit(job_fn, job.payload, key=f"hymem-sweep-{job.hash[:16]}-{token}",
                          pure=False, retries=0)
        futures[f] = job
    ac = as_completed(futures)
    try:
        while not ac.is_empty():
            if stop():
                stats["interrupted"] = True
                break
            if not ac.has_ready():
                time.sleep(0.05)
                continue
            for f in ac.next_batch(block=False):
                job = futures[f]
                if f.status == "cancelled":        # not the job's doing (a lost scheduler):
                    stats["lost"] += 1             # it stays pending for the next run
                    continue
                record(job, f.result() if f.status == "finished" else _failure(f))
                f.release()
    finally:
        left = [f for f in futures if f.status not in ("finished", "error")]
        if left:
            client.cancel(left)
