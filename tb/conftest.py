"""pytest configuration for the HDL regression.

Options (also reachable through make variables):
  --sim {all,icarus,verilator}  simulators to run on (make SIM=...); 'all' is
                                the default and fails loudly if one is missing.
  --seed N                      value of the "random" seed in constrained-random
                                tests (make SEED=N); chosen at random if absent and
                                printed in the header so a failure can be replayed.
  --full                        every simulator runs every seed (make FULL=1). By default a
                                test that takes both a simulator and a seed runs the fixed
                                seed on every simulator and the random seed on one (the
                                fastest selected, Verilator): the simulators are compared on
                                the same stimulus, and the random seed explores stimulus,
                                which does not depend on the simulator. This halves the
                                regression's Icarus time (Icarus is the slow one).
                                A `heavy` parameter set runs on the fastest simulator only; a
                                `corner` set (hymem_top's largest and smallest builds: a
                                build each, for the parameters, not the stimulus) also runs
                                its fixed seed only. An `icarus_only` set (a leaf block's
                                parameter corner: an Icarus build and run of it costs about a
                                second, a Verilator build alone tens of seconds of CPU cold)
                                runs on Icarus only.

With HYMEM_COVERAGE=1 (`make coverage`) only the tests that simulate (those taking the
`sim` argument) are collected, but those marked `no_coverage` (a build too costly to compile
a second time, instrumented: hymem_top's `max`) and those in :data:`COVERAGE_GRADED_OUT`
(runs whose every coverage point and functional bin another run hits too: test grading,
``scripts/coverage.py --rank``): the others add nothing to the code coverage; and only their
fixed-seed variant (seed_fixed): the random-seed run of the same test adds almost nothing
(measured: 28 toggle points of 63,956, no line or branch, over the first 10 pairs of runs;
data bits a random draw happens to set) and would make the figures change from run to run,
for twice the time.
"""

from __future__ import annotations

import os
import random
import signal

import pytest

from hymem.sim import simrun

FIXED_SEED = 1


def pytest_addoption(parser):
    parser.addoption("--sim", default=os.environ.get("SIM") or "all",
                     help="simulator(s): all, icarus or verilator (default: $SIM or all)")
    parser.addoption("--seed", default=os.environ.get("SEED") or None, type=int,
                     help="seed of the 'random' constrained-random runs (default: $SEED or random)")
    parser.addoption("--full", action="store_true",
                     default=os.environ.get("FULL", "0") not in ("", "0"),
                     help="run the random seed on every simulator, not only on the fastest "
                          "(default: $FULL or off)")


def _selected_sims(config) -> list[str]:
    choice = config.getoption("--sim")
    if choice == "all":
        return list(simrun.SIMULATORS)
    sims = [s.strip() for s in choice.split(",") if s.strip()]
    for s in sims:
        if s not in simrun.SIMULATORS:
            raise pytest.UsageError(
                f"--sim/SIM must be 'all' or one of {', '.join(simrun.SIMULATORS)}; got {s!r}")
    return sims


def pytest_configure(config):
    # A shell without job control starts a background command (`make test &`, some CI runners)
    # with SIGINT ignored, and every child inherits that: the Ctrl-C tests (test_cli, the
    # sweep's interrupted client) would then see no interrupt. The tests run as a foreground
    # Python process would: Python's own handler, which subprocesses see as the default.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "hymem_seed" in workerinput:
        seed = workerinput["hymem_seed"]
    else:
        seed = config.getoption("--seed")
        if seed is None:
            seed = random.SystemRandom().randrange(1, 2**31)
    config.hymem_seed = seed
    config.hymem_sims = _selected_sims(config)
    # everything on every simulator: --full, or one simulator only
    config.hymem_full = config.getoption("--full") or len(config.hymem_sims) < 2
    # the simulations' tbkit.cross_check(): Icarus may shorten long stimulus when Verilator
    # runs it in full
    os.environ["HYMEM_FULL"] = "1" if config.hymem_full else "0"
    if workerinput is None:
        problems = []
        for sim in config.hymem_sims:
            try:
                simrun.check_simulator(sim)
            except simrun.SimulatorError as e:
                problems.append(f"  {sim}: {e}")
        if problems:
            asked = config.getoption("--sim")
            hint = ("" if asked != "all" else
                    "\n  (to run on one simulator only: make test SIM=icarus or SIM=verilator)")
            pytest.exit("required simulator missing:\n" + "\n".join(problems) + hint,
                        returncode=4)


def pytest_configure_node(node):
    """xdist: every worker uses the controller's random seed."""
    node.workerinput["hymem_seed"] = node.config.hymem_seed


def pytest_report_header(config):
    return (f"hymem: simulators {', '.join(config.hymem_sims)}; random seed {config.hymem_seed} "
            f"(replay: make test SEED={config.hymem_seed})")


def _deselect(config, items, drop) -> None:
    """Remove the items for which ``drop(item)`` holds, reported as deselected."""
    gone = [i for i in items if drop(i)]
    if gone:
        config.hook.pytest_deselected(items=gone)
        ids = {id(i) for i in gone}
        items[:] = [i for i in items if id(i) not in ids]


#: Runs ``make coverage`` leaves out: outside the greedy cover of ``scripts/coverage.py --rank``
#: (measured on 2026-12-07 on the 57 runs of main 53f1328's coverage run: the 30 runs left hit
#: every coverage point and functional bin the 57 hit, and the report of the 30 is identical:
#: summary, holes, bins; docs/coverage.md "Test grading"). Each entry: a test function's node
#: id and the end of its parameter id ("*": every parameter set). The regression (`make
#: test`) runs them all; re-grade after a change to the RTL or the benches: `make coverage
#: COVERAGE_ALL=1` (HYMEM_COVERAGE_ALL=1: this list ignored), then `scripts/coverage.py --rank`.
COVERAGE_GRADED_OUT = (
    ("tb/hymem_cfg_check/test_hymem_cfg_check.py::test_hymem_cfg_check", "small_noverify"),
    ("tb/hymem_core/test_hymem_core.py::test_hymem_core", "small"),
    ("tb/hymem_cosim/test_hymem_cosim.py::test_hymem_cosim_catches_corruption", "*"),
    ("tb/hymem_form_engine/test_hymem_form_engine.py::test_hymem_form_engine", "l5_s1"),
    ("tb/hymem_form_engine/test_hymem_form_engine.py::test_hymem_form_engine", "l16_s4"),
    ("tb/hymem_macro_port/test_hymem_macro_port.py::test_hymem_macro_port", "*"),
    ("tb/hymem_mr_seq/test_hymem_mr_seq.py::test_hymem_mr_seq", "l16_s4"),
    ("tb/hymem_msb_extract/test_hymem_msb_extract.py::test_hymem_msb_extract", "m4_c1"),
    ("tb/hymem_msb_extract/test_hymem_msb_extract.py::test_hymem_msb_extract", "m6_c2"),
    ("tb/hymem_msb_extract/test_hymem_msb_extract.py::test_hymem_msb_extract", "m9_c3"),
    ("tb/hymem_msb_extract/test_hymem_msb_extract.py::test_hymem_msb_extract", "m9_c3_l13"),
    ("tb/hymem_prng/test_hymem_prng.py::test_hymem_prng", "w16_l1"),
    ("tb/hymem_prng/test_hymem_prng.py::test_hymem_prng", "w32_l12_h4"),
    ("tb/hymem_slot_decode/test_hymem_slot_decode.py::test_hymem_slot_decode", "l1_m9_c3"),
    ("tb/hymem_slot_decode/test_hymem_slot_decode.py::test_hymem_slot_decode", "l128_m9_c3"),
    ("tb/hymem_sm_sat_add/test_hymem_sm_sat_add.py::test_hymem_sm_sat_add", "m4_i6_c2"),
    ("tb/hymem_sm_sat_add/test_hymem_sm_sat_add.py::test_hymem_sm_sat_add", "m5_i4_c2"),
    ("tb/hymem_sm_sat_add/test_hymem_sm_sat_add.py::test_hymem_sm_sat_add", "m9_i10_c3"),
    ("tb/hymem_update_engine/test_hymem_update_engine.py::test_hymem_update_engine", "small"),
    ("tb/hymem_vecbuf/test_hymem_vecbuf.py::test_hymem_vecbuf", "d16_a4"),
    ("tb/hymem_vecbuf/test_hymem_vecbuf.py::test_hymem_vecbuf", "d16_a4_p16"),
    ("tb/hymem_vecbuf/test_hymem_vecbuf.py::test_hymem_vecbuf", "d256_a11"),
    ("tb/hymem_vecbuf/test_hymem_vecbuf.py::test_hymem_vecbuf", "d256_a11_p8"),
    ("tb/hymem_verify_scan/test_hymem_verify_scan.py::test_hymem_verify_scan", "odd"),
    ("tb/hymem_verify_scan/test_hymem_verify_scan.py::test_hymem_verify_scan", "small"),
    ("tb/hymem_xfer_engine/test_hymem_xfer_engine.py::test_hymem_xfer_engine", "small"),
    ("tb/hymem_xfer_log/test_hymem_xfer_log.py::test_hymem_xfer_log", "small"),
)


def graded_out_by(nodeid: str, fn: str, tail: str) -> bool:
    """Whether the run ``nodeid`` is the entry (``fn``, ``tail``) of :data:`COVERAGE_GRADED_OUT`."""
    base, _, rest = nodeid.partition("[")
    pid = rest.removesuffix("]")
    return base == fn and (tail == "*" or pid == tail or pid.endswith("-" + tail))


def graded_out(nodeid: str) -> bool:
    """Whether the run ``nodeid`` is one of :data:`COVERAGE_GRADED_OUT`."""
    return any(graded_out_by(nodeid, fn, tail) for fn, tail in COVERAGE_GRADED_OUT)


def _param(item, name, default):
    cs = getattr(item, "callspec", None)
    return default if cs is None else cs.params.get(name, default)


def pytest_collection_modifyitems(config, items):
    if not config.hymem_full:
        # a `heavy` parameter set runs on the fastest selected simulator only
        fastest = _fastest(config.hymem_sims)
        _deselect(config, items, lambda i: i.get_closest_marker("heavy") is not None
                  and _param(i, "sim", fastest) != fastest)
        # a `corner` parameter set runs its fixed seed only
        _deselect(config, items, lambda i: i.get_closest_marker("corner") is not None
                  and _param(i, "seed", FIXED_SEED) != FIXED_SEED)
        # an `icarus_only` parameter set runs on Icarus only (selected: else hymem_full holds)
        _deselect(config, items, lambda i: i.get_closest_marker("icarus_only") is not None
                  and _param(i, "sim", "icarus") != "icarus")
    if not simrun.coverage_enabled():
        return
    # an entry of COVERAGE_GRADED_OUT whose test function is collected must name one of its runs
    bases = {i.nodeid.partition("[")[0] for i in items}
    stale = [f"{fn} [{tail}]" for fn, tail in COVERAGE_GRADED_OUT
             if fn in bases and not any(graded_out_by(i.nodeid, fn, tail) for i in items)]
    if stale:
        raise pytest.UsageError("tb/conftest.py COVERAGE_GRADED_OUT names no run of: "
                                + ", ".join(stale))
    # only what simulates, and not the builds marked `no_coverage` nor the runs graded out
    # (docs/coverage.md)
    _deselect(config, items, lambda i: "sim" not in getattr(i, "fixturenames", ())
              or i.get_closest_marker("no_coverage") is not None
              or (graded_out(i.nodeid) and os.environ.get("HYMEM_COVERAGE_ALL", "0") == "0"))


#: simulators from the fastest: the first selected one runs the random seed and the `heavy`
#: parameter sets when not every one does (``--full``)
RANDOM_SEED_SIM_ORDER = ("verilator", "icarus")


def _fastest(sims: list[str]) -> str:
    return next(s for s in RANDOM_SEED_SIM_ORDER if s in sims)


def sim_seed_pairs(sims: list[str], random_seed: int, full: bool) -> list[tuple[str, int, str]]:
    """(simulator, seed, id) of a test taking both: the fixed seed on every simulator, the
    random one on every simulator with ``full``, else on the fastest of ``sims`` only."""
    pairs = [(s, FIXED_SEED, f"{s}-seed_fixed") for s in sims]
    random_sims = sims if full else [_fastest(sims)]
    pairs += [(s, random_seed, f"{s}-seed_random") for s in random_sims]
    return pairs


def pytest_generate_tests(metafunc):
    config = metafunc.config
    seeds = [FIXED_SEED, config.hymem_seed]
    seed_ids = ["seed_fixed", "seed_random"]
    if "sim" in metafunc.fixturenames and "seed" in metafunc.fixturenames:
        pairs = sim_seed_pairs(config.hymem_sims, config.hymem_seed, config.hymem_full)
        if simrun.coverage_enabled():       # see the module docstring
            pairs = [p for p in pairs if p[1] == FIXED_SEED]
        metafunc.parametrize(("sim", "seed"), [(s, sd) for s, sd, _ in pairs],
                             ids=[i for _, _, i in pairs])
    elif "sim" in metafunc.fixturenames:
        metafunc.parametrize("sim", config.hymem_sims)
    elif "seed" in metafunc.fixturenames:
        if simrun.coverage_enabled():
            seeds, seed_ids = seeds[:1], seed_ids[:1]
        metafunc.parametrize("seed", seeds, ids=seed_ids)
