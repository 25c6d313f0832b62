"""pytest configuration for the HDL regression.

Options (also reachable through make variables):
  --sim {all,icarus,verilator}  simulators to run on (make SIM=...); 'all' is
                                the default and fails loudly if one is missing.
  --seed N                      value of the "random" seed in constrained-random
                                tests (make SEED=N); chosen at random if absent and
                                printed in the header so a failure can be replayed.

With HYMEM_COVERAGE=1 (`make coverage`) only the tests that simulate (those taking the
`sim` argument) are collected: the others add nothing to the code coverage; and only their
fixed-seed variant (seed_fixed): the random-seed run of the same test adds almost nothing
(measured: 28 toggle points of 63,956, no line or branch, over the first 10 pairs of runs;
data bits a random draw happens to set) and would make the figures change from run to run,
for twice the time.
"""

from __future__ import annotations

import os
import random

import pytest

from hymem.sim import simrun

FIXED_SEED = 1


def pytest_addoption(parser):
    parser.addoption("--sim", default=os.environ.get("SIM") or "all",
                     help="simulator(s): all, icarus or verilator (default: $SIM or all)")
    parser.addoption("--seed", default=os.environ.get("SEED") or None, type=int,
                     help="seed of the 'random' constrained-random runs (default: $SEED or random)")


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
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "hymem_seed" in workerinput:
        seed = workerinput["hymem_seed"]
    else:
        seed = config.getoption("--seed")
        if seed is None:
            seed = random.SystemRandom().randrange(1, 2**31)
    config.hymem_seed = seed
    config.hymem_sims = _selected_sims(config)
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


def pytest_collection_modifyitems(config, items):
    if not simrun.coverage_enabled():
        return
    keep = [i for i in items if "sim" in getattr(i, "fixturenames", ())]
    dropped = [i for i in items if "sim" not in getattr(i, "fixturenames", ())]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_generate_tests(metafunc):
    if "sim" in metafunc.fixturenames:
        metafunc.parametrize("sim", metafunc.config.hymem_sims)
    if "seed" in metafunc.fixturenames:
        if simrun.coverage_enabled():       # see the module docstring
            metafunc.parametrize("seed", [FIXED_SEED], ids=["seed_fixed"])
        else:
            metafunc.parametrize("seed", [FIXED_SEED, metafunc.config.hymem_seed],
                                 ids=["seed_fixed", "seed_random"])
