"""The results store of ``hymem sweep``: one SQLite file, one row per job, nothing lost.

Table ``jobs``, keyed by the job's hash (:attr:`hymem.sweep_spec.Job.hash`, the SHA-256 of its
resolved options): ``kind``, ``options`` (JSON, every option of the run), ``status``
(``pending`` / ``done`` / ``failed``), ``metrics`` (JSON: everything the run returned, as
``hymem train --json`` or ``hymem cosim --json`` write it), ``error`` (the job's traceback, or
why Dask gave up on it), ``worker``, the times (``submitted``, ``started``, ``finished``: Unix
seconds) and ``attempts`` (results recorded for the row: 1 for a job that ran once).

Why nothing is lost or counted twice:

- every job's row is inserted ``pending`` before anything runs; a result is written by the
  client alone, in its own transaction, as it arrives (``synchronous=FULL``, WAL journal), so
  a client killed at any point leaves whole rows: the finished ones ``done``, the others
  ``pending``, and a re-run runs exactly those (and the ``failed`` ones with
  ``--retry-failed``);
- a result is recorded only on a row not yet ``done`` (:meth:`Store.record`), so a second
  result for a job never changes a finished row nor its ``attempts``;
- a worker that dies takes no row with it: Dask runs its tasks again elsewhere and the client
  receives each task's result once;
- one client at a time: the store is locked (``fcntl``) while a sweep runs on it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import sqlite3
import time
from pathlib import Path

SCHEMA_VERSION = 1
STATUSES = ("pending", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    hash      TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    options   TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    metrics   TEXT,
    error     TEXT,
    worker    TEXT,
    submitted REAL,
    started   REAL,
    finished  REAL,
    attempts  INTEGER NOT NULL DEFAULT 0
);
"""


class StoreError(RuntimeError):
    """The store cannot be used (locked by another sweep, not a store, another schema)."""


class Store:
    """A sweep's SQLite store; ``lock=True`` holds it for one client (a running sweep)."""

    def __init__(self, path, lock: bool = False):
        self.path = Path(path)
        self._lock = None
        if lock:
            self._lock = open(str(self.path) + ".lock", "a+")
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.seek(0)
                who = self._lock.read().strip() or "another process"
                self._lock.close()
                raise StoreError(f"{self.path} is in use by another hymem sweep ({who}); "
                                 f"wait for it or give another --out") from None
            self._lock.seek(0)
            self._lock.truncate()
            self._lock.write(f"pid {os.getpid()}\n")
            self._lock.flush()
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            v = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if v is None:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif v[0] != str(SCHEMA_VERSION):
                raise StoreError(f"{self.path}: store schema {v[0]}; this hymem reads "
                                 f"{SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            self.close()
            raise StoreError(f"{self.path}: not a sweep store ({e})") from None

    def close(self) -> None:
        if getattr(self, "db", None) is not None:
            self.db.close()
            self.db = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ writing

    def add(self, jobs) -> None:
        """Insert a ``pending`` row for every job not in the store yet (one transaction)."""
        with self._tx():
            self.db.executemany(
                "INSERT OR IGNORE INTO jobs (hash, kind, options, status) VALUES (?, ?, ?, 'pending')",
                [(j.hash, j.kind, json.dumps(j.resolved, sort_keys=True)) for j in jobs])

    def todo(self, hashes, retry_failed: bool = False) -> list[str]:
        """Of ``hashes``, those to run: ``pending`` ones, and ``failed`` ones if asked."""
        st = self.statuses(hashes)
        want = {"pending", "failed"} if retry_failed else {"pending"}
        return [h for h in hashes if st.get(h) in want]

    def submitted(self, hashes, t: float | None = None) -> None:
        t = time.time() if t is None else t
        with self._tx():
            self.db.executemany("UPDATE jobs SET submitted=? WHERE hash=? AND status!='done'",
                                [(t, h) for h in hashes])

    def record(self, h: str, out: dict) -> bool:
        """Write one job's result (``out``: status ``done`` with ``metrics``, or ``failed`` with
        ``error``; ``worker``, ``started``, ``finished``). Only a row not yet ``done`` changes;
        returns whether it did."""
        status = out["status"]
        if status not in ("done", "failed"):
            raise ValueError(f"status must be done or failed; got {status!r}")
        metrics = json.dumps(out.get("metrics"), default=_json_default, allow_nan=True) \
            if out.get("metrics") is not None else None
        with self._tx():
            cur = self.db.execute(
                "UPDATE jobs SET status=?, metrics=?, error=?, worker=?, started=?, finished=?, "
                "attempts=attempts+1 WHERE hash=? AND status!='done'",
                (status, metrics, out.get("error"), out.get("worker"), out.get("started"),
                 out.get("finished"), h))
            return cur.rowcount == 1

    def _tx(self):
        db = self.db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, et, ev, tb):
                db.execute("COMMIT" if et is None else "ROLLBACK")
        return _Tx()

    # ------------------------------------------------------------------ reading

    def statuses(self, hashes=None) -> dict[str, str]:
        rows = self.db.execute("SELECT hash, status FROM jobs").fetchall()
        d = dict(rows)
        return d if hashes is None else {h: d[h] for h in hashes if h in d}

    def rows(self, hashes=None) -> list[dict]:
        """Rows as dicts (``options`` and ``metrics`` decoded), in the order of ``hashes``."""
        cur = self.db.execute("SELECT * FROM jobs")
        names = [c[0] for c in cur.description]
        by = {}
        for r in cur.fetchall():
            d = dict(zip(names, r))
            d["options"] = json.loads(d["options"])
            d["metrics"] = json.loads(d["metrics"]) if d["metrics"] else None
            by[d["hash"]] = d
        if hashes is None:
            return list(by.values())
        return [by[h] for h in hashes if h in by]

    def counts(self, hashes=None) -> dict[str, int]:
        st = self.statuses(hashes)
        return {s: sum(1 for v in st.values() if v == s) for s in STATUSES}


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


# ----------------------------------------------------------------------------- export

BASE_COLUMNS = ("hash", "kind", "status", "worker", "submitted", "started", "finished",
                "duration_s", "attempts", "error")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v, default=_json_default)
        else:
            out[key] = v
    return out


def flat_rows(rows: list[dict]) -> tuple[list[str], list[dict]]:
    """One flat record per job: the store's columns, then every option (``opt.NAME``), then
    every metric (nested ones as ``a.b``, lists as JSON text). Returns (columns, records)."""
    recs, opt_cols, met_cols = [], {}, {}
    for r in rows:
        rec = {c: r.get(c) for c in BASE_COLUMNS if c != "duration_s"}
        rec["duration_s"] = (r["finished"] - r["started"]) if r.get("finished") and r.get("started") else None
        for k, v in _flatten(r["options"]).items():
            rec["opt." + k] = v
            opt_cols["opt." + k] = None
        m = dict(r["metrics"] or {})
        m.pop("options", None)               # the same as the options above
        for k, v in _flatten(m).items():
            rec[k] = v
            met_cols[k] = None
        recs.append(rec)
    return list(BASE_COLUMNS) + list(opt_cols) + list(met_cols), recs


def csv_bytes(rows: list[dict]) -> bytes:
    cols, recs = flat_rows(rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="raise", lineterminator="\n")
    w.writeheader()
    for r in recs:
        w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in cols})
    return buf.getvalue().encode()


def _arrow_type(values):
    import pyarrow as pa

    vals = [v for v in values if v is not None]
    if not vals:
        return pa.string(), [None] * len(values)
    if all(isinstance(v, bool) for v in vals):
        return pa.bool_(), values
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        if all(-2 ** 63 <= v < 2 ** 63 for v in vals):
            return pa.int64(), values
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return pa.float64(), [None if v is None else float(v) for v in values]
    return pa.string(), [None if v is None else (v if isinstance(v, str) else json.dumps(v))
                         for v in values]


def parquet_bytes(rows: list[dict]) -> bytes:
    """The same records as :func:`csv_bytes`, typed (bool, int64, float64, string)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols, recs = flat_rows(rows)
    arrays = {}
    for c in cols:
        t, vals = _arrow_type([r.get(c) for r in recs])
        arrays[c] = pa.array(vals, type=t)
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf)
    return buf.getvalue()


def finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
