"""What ``hymem sweep SPEC`` runs: a TOML file turned into a list of jobs.

A spec names the kind of job, the fixed options, the swept axes and the seeds::

    name = "digits-k-p"          # optional (default: the file stem); output in build/sweep/<name>
    kind = "train"               # train: the fast reference (hymem train), in the worker process
                                 # cosim: the RTL in the loop (hymem cosim), a simulator per job
    sample = "grid"              # grid: every combination of [axes]; random: `points` draws
    points = 20                  # random only: how many points
    random_seed = 1              # random only: the draws' seed (the same spec gives the same jobs)
    seeds = [1, 2, 3]            # the seed axis: every point runs with each (or `seeds = 3`: 1..3)

    [options]                    # fixed options: any option of `hymem train` (or `hymem cosim`),
    dataset = "digits"           # long name with - or _; a switch is true/false
    arch = "64-16-10"

    [axes]                       # swept options: a list of values (grid, or a uniform choice)
    k = [10, 100]
    p = [0.2, 0.5]
    # random only: a range {low = 0.05, high = 0.5, log = true, integer = false}

    [cluster]                    # optional: keywords of dask-jobqueue's SLURMCluster / LSFCluster /
    cores = 1                    # PBSCluster for `--cluster slurm|lsf|pbs` (cores, memory, queue,
    memory = "2GB"               # walltime, account, job_extra_directives...)

Each job's options go through the very parser of ``hymem train`` (or ``hymem cosim``), so the
names, types and ranges are theirs, and a bad value is reported as that command would, naming
the job. A job is identified by the hash of its *resolved* options (every default filled in,
presets expanded: :attr:`Job.hash`), so the results store recognises a finished job whatever
the spec's wording, and a re-run skips it.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

KINDS = ("train", "cosim")
SAMPLING = ("grid", "random")
#: Options a job may not set: the sweep owns its outputs, and a job is one deterministic run.
FORBIDDEN = {
    "train": {"json": "the store keeps every result", "record": "a sweep records no streams",
              "quiet": "jobs print nothing anyway", "help": "not an option"},
    "cosim": {"json": "the store keeps every result", "waves": "a sweep dumps no waves",
              "progress": "jobs print no progress bar", "help": "not an option",
              "scheduler": "the sweep's own cluster runs the jobs",
              "emulated_seeds": "give the seeds an axis of a train sweep instead",
              "time_budget": "a time budget makes the result depend on the machine; give "
                             "samples or epochs"},
}
TOP_KEYS = {"name", "kind", "sample", "points", "random_seed", "seeds", "options", "axes", "cluster"}
MAX_JOBS = 100_000
MAX_SEED = 2 ** 32 - 1


class SpecError(ValueError):
    """A bad spec; the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class Job:
    kind: str
    options: dict            # as written (spec names with _), the job's point + seed
    resolved: dict           # every option of the run, defaults filled in (what is hashed)
    hash: str

    @property
    def payload(self) -> dict:
        """What the worker gets (:func:`hymem.sweep.run_job`)."""
        return {"kind": self.kind, "hash": self.hash, "resolved": self.resolved}


@dataclass
class Spec:
    path: str
    name: str
    kind: str
    sample: str
    seeds: list
    options: dict
    axes: dict               # name -> list of values (grid) or list/range (random)
    points: int = 0
    random_seed: int = 1
    cluster: dict = field(default_factory=dict)
    jobs: list = field(default_factory=list)

    @property
    def swept(self) -> list[str]:
        """The swept option names (the seed axis not included)."""
        return list(self.axes)


def _norm(name: str) -> str:
    return str(name).replace("-", "_")


@lru_cache(maxsize=None)
def _parser(kind: str) -> argparse.ArgumentParser:
    """The subcommand's own parser, raising SpecError instead of exiting."""
    from . import cli

    p = cli.subcommand_parser(kind)

    def error(message):
        raise SpecError(message)

    p.error = error
    return p


def _actions(parser) -> dict:
    out = {}
    for a in parser._actions:
        for s in a.option_strings:
            if s.startswith("--") and not s.startswith("--no-"):
                out[_norm(s[2:])] = a
    return out


def _argv(kind: str, opts: dict, actions: dict, where: str) -> list[str]:
    argv: list[str] = []
    for name, value in opts.items():
        if name in FORBIDDEN[kind]:
            raise SpecError(f"{where}: option {name!r} is not allowed in a {kind} sweep "
                            f"({FORBIDDEN[kind][name]})")
        a = actions.get(name)
        if a is None:
            allowed = sorted(n for n in actions if n not in FORBIDDEN[kind])
            raise SpecError(f"{where}: unknown option {name!r} of hymem {kind}; allowed: "
                            f"{', '.join(allowed)}")
        flag = "--" + name.replace("_", "-")
        if isinstance(a, argparse.BooleanOptionalAction):
            if not isinstance(value, bool):
                raise SpecError(f"{where}: option {name!r} is a switch: true or false; got {value!r}")
            argv.append(flag if value else "--no-" + flag[2:])
        elif a.nargs == 0:
            raise SpecError(f"{where}: option {name!r} takes no value")
        else:
            if isinstance(value, (dict, list)):
                raise SpecError(f"{where}: option {name!r} needs one value; got {value!r}")
            if isinstance(value, bool):
                raise SpecError(f"{where}: option {name!r} is not a switch; got {value!r}")
            argv += [flag, str(value)]
    return argv


@lru_cache(maxsize=8)
def _dataset_shape(name: str, csv_header: str) -> tuple[int, int]:
    from .learn import datasets

    d = datasets.load(name, csv_header=csv_header)
    return d.n_features, d.n_classes


def resolve(kind: str, opts: dict, where: str = "job") -> dict:
    """Every option of one run, from the subcommand's parser and its checks (SpecError)."""
    parser = _parser(kind)
    argv = _argv(kind, opts, _actions(parser), where)
    try:
        args = parser.parse_args(argv)
    except SpecError as e:
        raise SpecError(f"{where}: {e}") from None
    try:
        if kind == "train":
            from . import cli
            from .learn import reference

            shape = _dataset_shape(args.dataset, args.csv_header)
            o = cli.train_options(args, *shape)
            reference.check_arch(o, *shape)
            return {"dataset": args.dataset, "csv_header": args.csv_header, **o.to_dict()}
        from .sim import cosim

        if not (args.samples or args.epochs):
            raise ValueError("a cosim job needs samples or epochs (a time budget makes the "
                             "result depend on the machine)")
        cfg = cosim.CosimConfig(dataset=args.dataset, arch=args.arch, samples=args.samples,
                                epochs=args.epochs, time_budget_s=0.0, seed=args.seed, k=args.k,
                                p=args.p, lr=args.lr, transfer=args.transfer,
                                skip_unchanged=args.skip_unchanged,
                                verify_retries=args.verify_retries,
                                stochastic_rounding=args.stochastic_rounding,
                                lr_decay=args.lr_decay, progress_every=0)
        from .learn import reference

        shape = _dataset_shape(args.dataset, "auto")
        reference.check_arch(cfg.options(), *shape)
        if cosim.arrays_needed(cfg) > cosim.MAX_ARRAYS:
            raise ValueError(f"arch {cfg.arch} needs more than {cosim.MAX_ARRAYS} arrays")
        d = {k: v for k, v in vars(args).items()
             if k not in FORBIDDEN["cosim"] and k not in ("func", "outputs", "inputs", "command")}
        return d
    except ValueError as e:
        raise SpecError(f"{where}: {e}") from None


def job_hash(kind: str, resolved: dict) -> str:
    text = json.dumps({"kind": kind, "options": resolved}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- the spec


def _seeds(value, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 10_000:
            raise SpecError(f"{where}: seeds = N must be in 1..10000 (seeds 1..N); got {value}")
        return list(range(1, value + 1))
    if isinstance(value, list) and value and all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value):
        if len(set(value)) != len(value):
            raise SpecError(f"{where}: seeds has duplicates: {value}")
        return list(value)
    raise SpecError(f"{where}: seeds must be a count N (seeds 1..N) or a non-empty list of "
                    f"integers in 0..{MAX_SEED}; got {value!r}")


def _draw(name: str, axis, rng: np.random.Generator, where: str):
    if isinstance(axis, list):
        return axis[int(rng.integers(len(axis)))]
    lo, hi = axis["low"], axis["high"]
    if axis.get("log", False):
        v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    else:
        v = rng.uniform(lo, hi)
    if axis.get("integer", False):
        return int(min(hi, max(lo, round(v))))
    return float(f"{v:.6g}")


def _check_axis(name: str, axis, sample: str, where: str) -> None:
    if isinstance(axis, list):
        if not axis:
            raise SpecError(f"{where}: axis {name!r} has no values")
        if len({json.dumps(v) for v in axis}) != len(axis):
            raise SpecError(f"{where}: axis {name!r} has duplicate values: {axis}")
        return
    if isinstance(axis, dict) and sample == "random":
        extra = set(axis) - {"low", "high", "log", "integer"}
        ok = not extra and all(isinstance(axis.get(k), (int, float)) and not isinstance(axis.get(k), bool)
                               for k in ("low", "high"))
        if ok and axis["low"] <= axis["high"] and (not axis.get("log") or axis["low"] > 0):
            return
        raise SpecError(f"{where}: axis {name!r}: a range is {{low = A, high = B, log = false, "
                        f"integer = false}} with A <= B (A > 0 when log); got {axis!r}")
    raise SpecError(f"{where}: axis {name!r} must be a list of values"
                    f"{' or a range {low, high, log, integer}' if sample == 'random' else ''}; "
                    f"got {axis!r}")


def load(path) -> Spec:
    """Read and check a spec; build and resolve every job (SpecError on any problem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise SpecError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML: {e}") from None
    return from_dict(raw, str(path))


def from_dict(raw: dict, path: str = "<spec>") -> Spec:
    extra = set(raw) - TOP_KEYS
    if extra:
        raise SpecError(f"{path}: unknown key(s) {', '.join(sorted(extra))}; allowed: "
                        f"{', '.join(sorted(TOP_KEYS))}")
    kind = raw.get("kind", "train")
    if kind not in KINDS:
        raise SpecError(f"{path}: kind must be one of {', '.join(KINDS)}; got {kind!r}")
    sample = raw.get("sample", "grid")
    if sample not in SAMPLING:
        raise SpecError(f"{path}: sample must be one of {', '.join(SAMPLING)}; got {sample!r}")
    name = raw.get("name", Path(path).stem)
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{path}: name must be a non-empty string; got {name!r}")
    for key in ("options", "axes", "cluster"):
        if not isinstance(raw.get(key, {}), dict):
            raise SpecError(f"{path}: [{key}] must be a table")
    options = {_norm(k): v for k, v in raw.get("options", {}).items()}
    axes = {_norm(k): v for k, v in raw.get("axes", {}).items()}
    seeds = _seeds(raw.get("seeds", [options.pop("seed", 1)]), f"{path}: seeds")
    if "seed" in axes:
        raise SpecError(f"{path}: the seed axis is `seeds = [...]` at the top, not in [axes]")
    if "seed" in options:
        raise SpecError(f"{path}: give the seed as `seeds = [...]`, not in [options]")
    both = set(options) & set(axes)
    if both:
        raise SpecError(f"{path}: {', '.join(sorted(both))} both fixed in [options] and swept "
                        f"in [axes]")
    for n, a in axes.items():
        _check_axis(n, a, sample, path)
    points = raw.get("points", 0)
    rseed = raw.get("random_seed", 1)
    if sample == "random":
        if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= MAX_JOBS:
            raise SpecError(f"{path}: points must be an integer in 1..{MAX_JOBS} for a random "
                            f"sample; got {points!r}")
        if not isinstance(rseed, int) or isinstance(rseed, bool) or not 0 <= rseed <= MAX_SEED:
            raise SpecError(f"{path}: random_seed must be an integer in 0..{MAX_SEED}; got {rseed!r}")
    elif "points" in raw or "random_seed" in raw:
        raise SpecError(f"{path}: points and random_seed belong to sample = \"random\"")
    spec = Spec(path=path, name=name.strip(), kind=kind, sample=sample, seeds=seeds,
                options=options, axes=axes, points=points, random_seed=rseed,
                cluster=dict(raw.get("cluster", {})))
    spec.jobs = build_jobs(spec)
    return spec


def points(spec: Spec) -> list[dict]:
    """The swept points (without the seed), in a fixed order."""
    names = list(spec.axes)
    if spec.sample == "grid":
        return [dict(zip(names, combo)) for combo in itertools.product(*spec.axes.values())]
    rng = np.random.default_rng([spec.random_seed, 0x5EE9])
    return [{n: _draw(n, spec.axes[n], rng, spec.path) for n in names} for _ in range(spec.points)]


def build_jobs(spec: Spec) -> list[Job]:
    pts = points(spec)
    n = len(pts) * len(spec.seeds)
    if n > MAX_JOBS:
        raise SpecError(f"{spec.path}: {n} jobs; at most {MAX_JOBS} per spec")
    jobs, seen = [], {}
    for i, pt in enumerate(pts):
        for seed in spec.seeds:
            opts = {**spec.options, **pt, "seed": seed}
            where = f"{spec.path}: job {len(jobs) + 1} ({', '.join(f'{k}={v}' for k, v in {**pt, 'seed': seed}.items())})"
            resolved = resolve(spec.kind, opts, where)
            h = job_hash(spec.kind, resolved)
            if h in seen:          # a random sample may draw a point twice: one job
                continue
            seen[h] = True
            jobs.append(Job(spec.kind, opts, resolved, h))
    return jobs
