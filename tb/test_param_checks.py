"""Every parameter check of the RTL refuses its illegal builds, on every tool.

Each `` `HYMEM_CHECK(name, condition, "message") `` in ``rtl/`` (rtl/hymem_defs.svh) gets one
illegal build per limit of its condition (:data:`CASES`), and each is elaborated on Icarus 11
(compiled and run: Icarus checks at time 0), Verilator (``--lint-only``) and Yosys 0.23
(``hierarchy``): each must fail with the check's own message (read from the RTL, not copied
here). A check without a case fails :func:`test_every_check_has_cases`, so a new check gets
its illegal builds when it is written.

The check must get to speak: a parameter it refuses must reach no logic whose widths it
would break, or the tool stops earlier with an error of its own (Icarus elaborates everything
before its time-0 check; Verilator and Yosys resolve some selects and casts first). The RTL
builds that logic from a guarded copy, equal to the parameter in every legal build (for
example hymem_top's ``Lanes = LanesOk ? SynPerCycle : 1``), or leaves it out of an illegal
build (hymem_vecbuf's ``gen_illegal``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from hymem.sim import simrun

TOOLS = ("icarus", "verilator", "yosys")

#: (module, check name, parameter overrides, the limit it breaks). Overrides are chosen to break
#: that one limit where the condition allows it (some limits imply others: Lanes = 0 also
#: breaks Heads <= Lanes).
CASES: list[tuple[str, str, dict[str, int], str]] = [
    ("hymem_cfg_check", "chk_limit", {"VerifyLimit": -1}, "VerifyLimit >= 0"),
    ("hymem_cfg_check", "chk_limit", {"VerifyLimit": 256}, "VerifyLimit <= 255"),
    ("hymem_fecap_seq", "chk_lines", {"Lines": 0}, "Lines >= 1"),
    ("hymem_fecap_seq", "chk_rows", {"Rows": 1}, "Rows >= 2"),
    ("hymem_fecap_seq", "chk_time", {"TimeBits": 1}, "TimeBits >= 2"),
    ("hymem_fecap_seq", "chk_time", {"TimeBits": 33}, "TimeBits <= 32"),
    ("hymem_form_engine", "chk_slots", {"Slots": 0}, "Slots >= 1"),
    ("hymem_form_engine", "chk_slots", {"Slots": 65}, "Slots <= 64"),
    ("hymem_mr_seq", "chk_lines", {"Lines": 0}, "Lines >= 1"),
    ("hymem_mr_seq", "chk_lines", {"Slots": 0}, "Slots >= 1"),
    ("hymem_mr_seq", "chk_time", {"TimeBits": 1}, "TimeBits >= 2"),
    ("hymem_mr_seq", "chk_time", {"TimeBits": 33}, "TimeBits <= 32"),
    ("hymem_msb_extract", "chk_widths", {"CodeBits": 0}, "CodeBits >= 1"),
    ("hymem_msb_extract", "chk_widths", {"CodeBits": 3, "MagWidth": 3}, "CodeBits < MagWidth"),
    ("hymem_msb_extract", "chk_lanes", {"Lanes": 0}, "Lanes >= 1"),
    ("hymem_prng", "chk_width", {"Width": 8}, "Width in {16, 32, 64}"),
    ("hymem_prng", "chk_width", {"Width": 48}, "Width in {16, 32, 64}"),
    ("hymem_prng", "chk_lanes", {"Lanes": 0, "Heads": 1}, "Lanes >= 1"),
    ("hymem_prng", "chk_heads", {"Lanes": 4, "Heads": 0}, "Heads >= 1"),
    ("hymem_prng", "chk_heads", {"Lanes": 4, "Heads": 8}, "Heads <= Lanes"),
    ("hymem_prng", "chk_heads", {"Lanes": 6, "Heads": 4}, "Heads divides Lanes"),
    ("hymem_slot_decode", "chk_widths", {"CodeBits": 0, "Lanes": 4}, "CodeBits >= 1"),
    ("hymem_slot_decode", "chk_widths", {"CodeBits": 3, "MagWidth": 3, "Lanes": 4}, "CodeBits < MagWidth"),
    ("hymem_slot_decode", "chk_widths", {"MagWidth": 31, "Lanes": 4}, "MagWidth <= 30"),
    ("hymem_slot_decode", "chk_lanes", {"Lanes": 0}, "Lanes >= 1"),
    ("hymem_sm_sat_add", "chk_inc", {"IncWidth": 1}, "IncWidth >= 2"),
    ("hymem_sm_sat_add", "chk_inc", {"IncWidth": 63}, "IncWidth <= 62"),
    ("hymem_sm_sat_add", "chk_mag", {"MagWidth": 1, "CodeBits": 1}, "MagWidth >= 2"),
    ("hymem_sm_sat_add", "chk_mag", {"MagWidth": 31}, "MagWidth <= 30"),
    ("hymem_wake_engine", "chk_geom", {"Slots": 0}, "Slots >= 1"),
    ("hymem_wake_engine", "chk_geom", {"FecapRows": 64}, "FecapRows >= Slots * (RowsPerSyn + 1)"),
    ("hymem_top", "chk_regmap", {"Lines": 256}, "Lines * AdcBits <= 1024"),
    ("hymem_top", "chk_regmap", {"Slots": 9}, "Slots <= 8"),
    ("hymem_top", "chk_regmap", {"CodeBits": 2}, "CodeBits == 3"),
    ("hymem_top", "chk_regmap", {"AdcBits": 7}, "AdcBits == 8"),
    ("hymem_top", "chk_regmap", {"XDepth": 512}, "XDepth <= 256"),
    ("hymem_top", "chk_regmap", {"EDepth": 256}, "EDepth <= 128"),
    ("hymem_top", "chk_regmap", {"MagWidth": 16, "FecapRows": 256}, "MagWidth <= 15"),
    ("hymem_top", "chk_build", {"Lines": 1, "SynPerCycle": 1}, "Lines >= 2"),
    ("hymem_top", "chk_build", {"Slots": 0}, "Slots >= 1"),
    ("hymem_top", "chk_build", {"MagWidth": 3}, "MagWidth >= 4"),
    ("hymem_top", "chk_build", {"VerifyLimit": -1}, "VerifyLimit >= 0"),
    ("hymem_top", "chk_build", {"VerifyLimit": 256}, "VerifyLimit <= 255"),
    ("hymem_top", "chk_build", {"XDepth": 4, "SynPerCycle": 4}, "XDepth >= 8"),
    ("hymem_top", "chk_build", {"EDepth": 4, "SynPerCycle": 4}, "EDepth >= 8"),
    ("hymem_top", "chk_build", {"XDepth": 192}, "XDepth a power of two"),
    ("hymem_top", "chk_build", {"EDepth": 96}, "EDepth a power of two"),
    ("hymem_top", "chk_build", {"FecapRows": 119}, "FecapRows >= Slots * (RowsPerSyn + 1)"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 0}, "SynPerCycle >= 1"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 3}, "SynPerCycle a power of two"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 12}, "SynPerCycle a power of two"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 256}, "SynPerCycle <= Lines"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 16, "Lines": 16, "EDepth": 8}, "SynPerCycle <= EDepth"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 16, "Lines": 16, "XDepth": 8}, "SynPerCycle <= XDepth"),
    ("hymem_top", "chk_lanes", {"SynPerCycle": 8, "Lines": 12}, "SynPerCycle divides Lines"),
    ("hymem_update_engine", "chk_geom", {"Lines": 1}, "Lines >= 2"),
    ("hymem_update_engine", "chk_geom", {"Slots": 0}, "Slots >= 1"),
    ("hymem_update_engine", "chk_geom", {"FecapRows": 119}, "Slots*(RowsPerSyn+1) <= FecapRows"),
    ("hymem_update_engine", "chk_widths", {"MagWidth": 3, "CodeBits": 2}, "MagWidth >= 4"),
    ("hymem_update_engine", "chk_widths", {"MagWidth": 17, "FecapRows": 256}, "MagWidth <= 16"),
    ("hymem_update_engine", "chk_widths", {"CodeBits": 0}, "CodeBits >= 1"),
    ("hymem_update_engine", "chk_widths", {"CodeBits": 4, "MagWidth": 4, "FecapRows": 256}, "CodeBits < MagWidth"),
    ("hymem_update_engine", "chk_lanes", {"SynPerCycle": 0}, "SynPerCycle >= 1"),
    ("hymem_update_engine", "chk_lanes", {"SynPerCycle": 256}, "SynPerCycle <= Lines"),
    ("hymem_update_engine", "chk_lanes", {"SynPerCycle": 3}, "SynPerCycle a power of two"),
    ("hymem_update_engine", "chk_lanes", {"SynPerCycle": 8, "Lines": 12}, "SynPerCycle divides Lines"),
    ("hymem_vecbuf", "chk_depth", {"Depth": 4, "Ports": 1}, "Depth >= 8"),
    ("hymem_vecbuf", "chk_depth", {"Depth": 24}, "Depth a power of two"),
    ("hymem_vecbuf", "chk_addr", {"Depth": 256, "AddrBits": 7}, "(1 << AddrBits) >= Depth"),
    ("hymem_vecbuf", "chk_ports", {"Ports": 0}, "Ports >= 1"),
    ("hymem_vecbuf", "chk_ports", {"Depth": 8, "Ports": 16}, "Ports <= Depth"),
    ("hymem_vecbuf", "chk_ports", {"Ports": 3}, "Ports a power of two"),
    ("hymem_verify_scan", "chk_params", {"Lines": 1}, "Lines >= 2"),
    ("hymem_verify_scan", "chk_params", {"CodeBits": 0}, "CodeBits >= 1"),
    ("hymem_verify_scan", "chk_params", {"CodeBits": 9}, "CodeBits <= 8"),
    ("hymem_verify_scan", "chk_params", {"AdcBits": 1}, "AdcBits >= 2"),
    ("hymem_verify_scan", "chk_params", {"AdcBits": 17}, "AdcBits <= 16"),
    ("hymem_xfer_engine", "chk_geom", {"Lines": 1}, "Lines >= 2"),
    ("hymem_xfer_engine", "chk_geom", {"Slots": 0}, "Slots >= 1"),
    ("hymem_xfer_engine", "chk_geom", {"FecapRows": 119}, "Slots*(RowsPerSyn+1) <= FecapRows"),
    ("hymem_xfer_engine", "chk_widths", {"CodeBits": 0}, "CodeBits >= 1"),
    ("hymem_xfer_engine", "chk_widths", {"CodeBits": 4, "MagWidth": 4, "FecapRows": 256}, "CodeBits < MagWidth"),
    ("hymem_xfer_engine", "chk_widths", {"AdcBits": 1}, "AdcBits >= 2"),
    ("hymem_xfer_engine", "chk_widths", {"AdcBits": 17}, "AdcBits <= 16"),
    ("hymem_xfer_log", "chk_geom", {"Lines": 1}, "Lines >= 2"),
    ("hymem_xfer_log", "chk_geom", {"Slots": 0}, "Slots >= 1"),
    ("hymem_xfer_log", "chk_geom", {"Lines": 2, "Slots": 32769}, "Lines * Slots <= 65536"),
]

_CHECK_RE = re.compile(r"`HYMEM_CHECK\(\s*(\w+)\s*,(.*?),\s*\"((?:[^\"\\]|\\.)*)\"\s*\)", re.S)
_INST_RE = re.compile(r"^\s*(hymem_\w+)\s*(?:#|\w+\s*\()", re.M)


@lru_cache(maxsize=None)
def checks() -> dict[tuple[str, str], str]:
    """(module, check name) -> its message, from every rtl/*.sv."""
    out = {}
    for f in simrun.rtl_sources():
        for name, _cond, msg in _CHECK_RE.findall(f.read_text()):
            out[(f.stem, name)] = msg
    return out


@lru_cache(maxsize=None)
def sources(module: str) -> tuple[Path, ...]:
    """``module``'s file and those of every module it instantiates, transitively."""
    todo, seen = [module], []
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.append(m)
        text = (simrun.rtl_dir() / f"{m}.sv").read_text()
        todo += [d for d in _INST_RE.findall(text) if (simrun.rtl_dir() / f"{d}.sv").exists()]
    return tuple(simrun.rtl_dir() / f"{m}.sv" for m in seen)


#: Seconds one tool may take for one illegal build (they take about one; an illegal value that
#: makes an elaboration explode would otherwise hang the regression).
TIMEOUT_S = 120


def elaborate(tool: str, module: str, params: dict[str, int], workdir: Path):
    """Elaborate ``module`` with ``params`` on ``tool``: (return code, everything it printed)."""
    try:
        return _elaborate(tool, module, params, workdir)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{tool} did not finish elaborating {module} {params} in {e.timeout} s")


def _elaborate(tool: str, module: str, params: dict[str, int], workdir: Path):
    rtl = simrun.rtl_dir()
    srcs = [str(p) for p in sources(module)]
    if tool == "verilator":
        cmd = [simrun.verilator_executable(), "--lint-only", f"-I{rtl}", "--top-module", module,
               *(f"-G{k}={v}" for k, v in params.items()), *srcs]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, timeout=TIMEOUT_S,
                           env={**os.environ, **simrun.verilator_env()})
        return r.returncode, r.stdout + r.stderr
    if tool == "icarus":
        out = workdir / "sim.vvp"
        cmd = ["iverilog", "-g2012", f"-I{rtl}", "-s", module, "-o", str(out),
               *(f"-P{module}.{k}={v}" for k, v in params.items()), *srcs]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, timeout=TIMEOUT_S)
        if r.returncode != 0:
            return r.returncode, r.stdout + r.stderr
        r2 = subprocess.run(["vvp", "-n", str(out)], capture_output=True, text=True, cwd=workdir,
                            stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
        # vvp's exit code is 0 even after $fatal: the FATAL line and the time-0 stop decide
        text = r.stdout + r.stderr + r2.stdout + r2.stderr
        return (1 if "FATAL" in text else r2.returncode), text
    # Yosys reads a -chparam value as a Verilog constant without a sign: -1 is 32'hFFFFFFFF
    chparams = "".join(f" -chparam {k} {v if v >= 0 else f'32' + chr(39) + f'h{v & 0xFFFFFFFF:08X}'}"
                       for k, v in params.items())
    # -defer: elaborate once, with the overrides (read_verilog alone elaborates the defaults)
    script = f"read_verilog -defer -sv -I{rtl} {' '.join(srcs)}; hierarchy -check -top {module}{chparams}"
    r = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True, cwd=workdir,
                       timeout=TIMEOUT_S)
    return r.returncode, r.stdout + r.stderr


def _case_id(module: str, check: str, params: dict[str, int]) -> str:
    return f"{module}.{check}.{'_'.join(f'{k}{v}' for k, v in params.items())}"


def test_every_check_has_cases():
    """Every HYMEM_CHECK in rtl/ has an illegal build here, and every case names a real check."""
    have = {(m, c) for m, c, _, _ in CASES}
    missing = sorted(set(checks()) - have)
    assert not missing, f"HYMEM_CHECKs without an illegal build in CASES: {missing}"
    unknown = sorted(have - set(checks()))
    assert not unknown, f"CASES naming no HYMEM_CHECK of rtl/: {unknown}"


def _tool_available(tool: str) -> bool:
    if tool == "verilator":
        try:
            simrun.check_simulator("verilator")
        except simrun.SimulatorError:
            return False
        return True
    return shutil.which({"icarus": "iverilog", "yosys": "yosys"}[tool]) is not None


def _params():
    return [pytest.param(tool, m, c, p, limit, id=f"{_case_id(m, c, p)}-{tool}")
            for m, c, p, limit in CASES for tool in TOOLS]


@pytest.mark.parametrize("tool, module, check, params, limit", _params())
def test_illegal_build(tool, module, check, params, limit, tmp_path):
    """The illegal build fails on ``tool`` with the check's message (which names the limit)."""
    if not _tool_available(tool):
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI")
        pytest.skip(f"{tool} not installed")
    msg = checks()[(module, check)]
    rc, text = elaborate(tool, module, params, tmp_path)
    assert rc != 0, f"{module} {params} ({limit}) elaborated on {tool}:\n{text[-1500:]}"
    assert msg in text, (f"{module} {params} ({limit}) on {tool}: refused, but without the "
                         f"message {msg!r}:\n{text[-1500:]}")
