"""The register map: generated files up to date, the model consistent, the C header usable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hymem.host import regmap

ROOT = Path(__file__).resolve().parents[1]


def test_generated_files_are_up_to_date():
    r = subprocess.run([sys.executable, "scripts/regmap.py", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_model_is_consistent():
    m = regmap.load()
    addrs = [r.addr for r in m.registers]
    assert len(addrs) == len(set(addrs)), "two registers at one address"
    for r in m.registers:
        assert r.addr % 4 == 0 and r.addr < 0x400
        used = 0
        for f in r.fields:
            assert not used & f.mask, f"{r.name}.{f.name} overlaps another field"
            used |= f.mask
            assert f.lsb + f.width <= 32
    for mem in m.memories:
        for r in m.registers:
            assert not mem.addr <= r.addr < mem.end
    assert m["ID"].reset == 0x48594D31
    assert m.decode(0x030).name == "LAYER" and m.decode(0x404).name == "XBUF"
    assert m.decode(0x02C) is None
    with pytest.raises(KeyError, match="register LR has no field 'RATE'"):
        m["LR"].field("RATE")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_c_header_compiles_and_matches(tmp_path):
    m = regmap.load()
    src = tmp_path / "t.c"
    checks = "\n".join(
        f'_Static_assert(offsetof(hymem_regs_t, {r.name}) == 0x{r.addr:X}, "{r.name}");'
        for r in m.registers)
    src.write_text('#include <stddef.h>\n#include "hymem_regs.h"\n' + checks +
                   "\nint main(void) { return 0; }\n")
    r = subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-I", str(ROOT / "sw" / "include"),
                        "-o", str(tmp_path / "t"), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------- legality, build-dependent resets

#: builds across the parameter limits of docs/top.md
BUILDS = [dict(Lines=L, Slots=S, XDepth=X, EDepth=E, VerifyLimit=V, FecapRows=max(64, S * 15))
          for L in (2, 16, 128) for S in (1, 4, 8) for X in (8, 64, 256) for E in (8, 32, 128)
          for V in (0, 15)]


def test_reset_values_are_legal_in_every_build():
    """Every checked register's reset value, in each of 162 builds across the parameter
    limits, passes its own legality rules (the issue: LAYER's fixed 64 x 16 was illegal in
    builds with XDEPTH < 64 or fewer synapses)."""
    m = regmap.load()
    for params in BUILDS:
        b = regmap.build_values(params)
        cur = lambda rn, fn: m.reset_fields(rn, b)[fn]  # noqa: E731
        for r in m.registers:
            if r.checked and r.name != "CMD":
                bad = m.check(r.name, m.reset_value(r.name, b), b, cur)
                assert bad is None, f"{r.name} reset value in {params}: {bad}"


def test_reset_expressions_match_the_literal_in_the_default_build():
    m = regmap.load()
    b = regmap.build_values()
    for r in m.registers:
        for f in r.fields:
            if f.reset_expr is not None:
                assert m.reset_fields(r.name, b)[f.name] == f.reset, f"{r.name}.{f.name}"


def test_checked_registers_state_their_legal_values():
    """Every field whose legal range is narrower than its width says so in the RDL (the
    firmware, the generated RTL checks and the docs read it from there)."""
    m = regmap.load()
    b = regmap.build_values()
    assert m.legal_range("LAYER", "N_IN", b) == (1, 256)
    assert m.legal_range("LR", "SHIFT", b) == (0, 23)
    assert m.legal_range("MASK_P", "P16", b) == (0, 65536)
    assert m.legal_range("MODE", "VERIFY_MAX", b) == (0, 15)
    assert m.legal_range("READOUT_SEL", "SLOT", b) == (0, 7)
    assert m["MODE"].field("VERIFY_MAX").err == "BUILD"
    assert m.check("MODE", m["MODE"].pack(VERIFY_MAX=16), b).code == m.err("BUILD")
    assert set(m.below_pairs()) == {(("T_FE1", "SENSE"), ("T_FE0", "PULSE")),
                                    (("T_MR2", "ADC"), ("T_MR1", "READ"))}
    for r in m.registers:
        if r.name.startswith("T_"):
            for f in r.fields:
                assert m.legal_range(r.name, f.name, b)[0] >= 1, f"{r.name}.{f.name} may be 0"
    with pytest.raises(ValueError, match="needs the current value of T_FE0.PULSE"):
        m.check("T_FE1", m["T_FE1"].pack(SENSE=1, HOLD=1), b)


def test_error_codes_come_from_the_rdl_enum():
    m = regmap.load()
    assert m.error_codes == regmap.ERROR_CODES
    assert [e.code for e in m.errors] == [0, 1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert all(e.desc for e in m.errors)


@pytest.mark.parametrize("text", ["__import__('os')", "XDEPTH ** 2", "a.b", "[1, 2]", "lambda: 1",
                                  "1 if X else 2", "min(X, key=1)"])
def test_expressions_are_restricted(text):
    with pytest.raises(ValueError, match="not allowed|cannot parse"):
        regmap.Expr(text, "test")


def test_error_codes_have_one_source():
    """ERR.CODE is defined once, in the RDL's enum hymem_err_e; the RTL's macros, the C
    header's enum and the Python IntEnum are generated from it and agree; no RTL file writes
    an error code as a number."""
    import re

    from hymem.paths import repo_root

    m = regmap.load()
    rdl = {e.ident: e.code for e in m.errors}
    assert rdl["NONE"] == 0 and rdl["BUSY"] == 6 and len(rdl) >= 9
    assert {e.name: int(e) for e in m.Err} == rdl
    root = repo_root()
    svh = (root / "rtl" / "hymem_regs_defs.svh").read_text()
    sv = {k: int(v) for k, v in re.findall(r"`define HYMEM_ERR_(\w+) 8'd(\d+)", svh)}
    assert sv == rdl
    h = (root / "sw" / "include" / "hymem_regs.h").read_text()
    c = {k: int(v) for k, v in re.findall(r"^\s*HYMEM_ERR_(\w+) = (\d+),", h, flags=re.M)}
    assert c == rdl
    # the FSM phases (STATUS.UPD_PHASE, XFER_PHASE): SV typedef enums the state registers are
    # typed with, and C enums, generated from the RDL's
    for where, prefix in (("STATUS.UPD_PHASE", "UPD_"), ("STATUS.XFER_PHASE", "XFER_")):
        py = {e.name: int(e) for e in m.enum(where)}
        assert py["IDLE"] == 0 and len(py) >= 10
        sv = {k: int(v) for k, v in re.findall(rf"^\s*{prefix}(\w+) = \d+'d(\d+)", svh, flags=re.M)}
        c = {k: int(v) for k, v in re.findall(rf"^\s*HYMEM_{prefix}(\w+) = (\d+),", h, flags=re.M)}
        assert sv == py and c == py, where
    # every FSM's state register is of an enum type: the phase machines of the RDL's, the
    # others of rtl/hymem_defs.svh's (hand-written, with a GTKWave filter each)
    fsms = (("hymem_update_engine", "hymem_upd_phase_e"), ("hymem_xfer_engine", "hymem_xfer_phase_e"),
            ("hymem_form_engine", "hymem_xfer_phase_e"), ("hymem_fecap_seq", "hymem_fe_state_e"),
            ("hymem_mr_seq", "hymem_mr_state_e"), ("hymem_core", "hymem_run_e"),
            ("hymem_wake_engine", "hymem_wake_state_e"))
    defs = (root / "rtl" / "hymem_defs.svh").read_text()
    for f, ty in fsms:
        text = (root / "rtl" / f"{f}.sv").read_text()
        assert re.search(rf"^\s*{ty}\s+\w+_q, \w+_d;", text, flags=re.M), f"{f}: state not of {ty}"
        if not ty.startswith(("hymem_upd_", "hymem_xfer_")):
            assert re.search(rf"\}}\s*{ty};", defs), f"{ty} is not defined in hymem_defs.svh"
            wave = (root / "tb" / "waves" / f"{ty}.txt").read_text().split()
            body = defs[defs.rindex("{", 0, defs.index(f"}} {ty};")): defs.index(f"}} {ty};")]
            members = re.findall(r"(\w+)\s*=\s*\d+'d(\d+)", body)
            assert wave[1::2] == [n for n, _ in members], f"tb/waves/{ty}.txt out of date"
    for f in sorted((root / "rtl").glob("*.sv")):
        assert not re.search(r"localparam logic \[\d:0\] [A-Z]+_\w+\s*= \d'd", f.read_text()), \
            f"{f.name}: a state, phase or op code defined locally (a typedef enum shows names in waves)"
    # hand-written RTL names the codes: no `8'd<code>` assigned to an error-code signal
    for f in sorted((root / "rtl").glob("*.sv")):
        text = f.read_text()
        bad = re.findall(r"(?:code\w*|E_\w+)\s*(?:=|<=)\s*8'd[1-9]\d*", text)
        assert not bad, f"{f.name}: error code written as a number: {bad}"


# ------------------------------------------------------------- the register model (regmodel)


def test_register_model_access_codes():
    """Address rules: misaligned first, then unmapped, then direction against the target."""
    from hymem.host import regmodel

    m = regmap.load()
    r = regmodel.RegRules(m)
    E = m.Err
    assert r.address_code(m["LAYER"].addr + 2, False) == E.MISALIGNED
    assert r.address_code(0x02C, True) == E.UNMAPPED
    assert r.address_code(m["ID"].addr, True) == E.READ_ONLY
    assert r.address_code(m["CMD"].addr, False) == E.WRITE_ONLY
    assert r.address_code(m.mem("READOUT").addr, True) == E.READ_ONLY
    assert r.address_code(m.mem("XBUF").addr + 4, False) == E.WRITE_ONLY
    assert r.address_code(m["LAYER"].addr, True) == r.address_code(m["LAYER"].addr, False) == 0
    assert r.target(m["LAYER"].addr + 1) is None and r.target(m["LAYER"].addr).name == "LAYER"


def test_register_model_checker_rules():
    """hymem_cfg_check's rules in the model: CMD's queue, busy and woken rules in that order,
    other checked registers busy before the value rules (those are RegMap.check's)."""
    from hymem.host import regmodel

    m = regmap.load()
    E = m.Err
    small = regmap.build_values(dict(Lines=16, Slots=4, XDepth=64, EDepth=32, VerifyLimit=0))
    r = regmodel.RegRules(m, small)
    cmd = m["CMD"]
    assert r.check_code("CMD", cmd.pack(TRANSFER=1), busy=True, queued={"TRANSFER"}) == E.QUEUED
    assert r.check_code("CMD", cmd.pack(TRANSFER=1, SEED_LOAD=1), busy=True,
                        queued={"TRANSFER"}, woken=False) == E.QUEUED
    assert r.check_code("CMD", cmd.pack(SAMPLE=1, SEED_LOAD=1), busy=True, woken=False) == E.BUSY
    assert r.check_code("CMD", cmd.pack(SAMPLE=1), woken=False) == E.NOT_WOKEN
    assert r.check_code("CMD", cmd.pack(FORM=1, WAKE=1, READOUT=1), woken=False) == 0
    assert r.check_code("CMD", cmd.pack(SAMPLE=1), busy=True, queued={"TRANSFER"}) == 0
    lay = m["LAYER"]
    assert r.check_code("LAYER", lay.pack(N_IN=1, N_OUT=1)) == 0
    assert r.check_code("LAYER", lay.pack(N_IN=1, N_OUT=1), busy=True) == E.BUSY
    assert r.check_code("LAYER", lay.pack(N_IN=0, N_OUT=1)) == E.ILLEGAL
    assert r.check_code("LAYER", lay.pack(N_IN=16, N_OUT=5)) == E.ILLEGAL     # 80 > 16 x 4
    assert r.check_code("MODE", m["MODE"].pack(VERIFY_MAX=1)) == E.BUILD      # VerifyLimit 0
    assert regmodel.RegRules(m).check_code("MODE", m["MODE"].pack(VERIFY_MAX=1)) == 0
    cur = {("T_FE0", "PULSE"): 4}
    assert r.check_code("T_FE1", m["T_FE1"].pack(SENSE=4, HOLD=1), current=cur) == E.ILLEGAL
    assert r.check_code("T_FE1", m["T_FE1"].pack(SENSE=3, HOLD=1), current=cur) == 0
    with pytest.raises(ValueError, match="ID is not a checked register"):
        r.check_code("ID", 0)
    xbuf = m.mem("XBUF").addr
    assert r.window_code("XBUF", xbuf + 4 * 15) == 0 and r.window_code("XBUF", xbuf + 4 * 16) == E.BUILD
    assert r.window_code("XBUF", xbuf, sample_pending=True) == E.BUSY
    with pytest.raises(ValueError, match="build: missing build values"):
        regmodel.RegRules(m, {"LINES": 16})


def test_register_model_state():
    """Reset values of the build, byte strobes, write-1-to-clear, pulses, the merged value the
    checker sees, unknown fields left out of a read's mask, LOST kept over rst_ni."""
    from hymem.host import regmodel

    m = regmap.load()
    small = regmap.build_values(dict(Lines=16, Slots=4, XDepth=64, EDepth=32))
    r = regmodel.RegModel(m, small)
    assert r.value("LAYER") == m.reset_value("LAYER", small)
    lr = m["LR"]
    r.write("LR", lr.pack(MULT=0xAB, SHIFT=3), strb=0b0001)       # MULT's byte only
    assert r.field("LR", "MULT") == 0xAB and r.field("LR", "SHIFT") == m.reset_fields("LR")["SHIFT"]
    assert r.merged("LR", lr.pack(MULT=1, SHIFT=5), strb=0b0010) == lr.pack(MULT=0xAB, SHIFT=5)
    assert r.merged("CMD", 0xFFFF_FFFF, 0b0001) == 0xFF & sum(f.mask for f in m["CMD"].fields)
    assert r.write("CMD", m["CMD"].pack(SAMPLE=1)) == {f.name: int(f.name == "SAMPLE")
                                                        for f in m["CMD"].fields}
    r.set("IRQ_STATUS", "DONE", 1)
    r.set("IRQ_STATUS", "FAIL", 1, known=False)
    v, mask = r.read("IRQ_STATUS")
    done, fail = m["IRQ_STATUS"].field("DONE"), m["IRQ_STATUS"].field("FAIL")
    assert v & done.mask and not mask & fail.mask and mask & done.mask
    r.write("IRQ_STATUS", done.mask)
    assert r.field("IRQ_STATUS", "DONE") == 0 and r.field("IRQ_STATUS", "FAIL") == 1
    r.load("LOST", m["LOST"].pack(OP=2, SLOT=1))
    r.reset()
    assert r.field("LOST", "OP") == 2 and r.value("LR") == m.reset_value("LR", small)
    assert r.field("IRQ_STATUS", "FAIL") == 0 and r.known[("IRQ_STATUS", "FAIL")]
    r.power_on()
    assert r.value("LOST") == 0
    v, mask = r.read("STATUS", lambda reg, f: 1 if f == "BUSY" else None)
    assert v & 1 and mask & 1 and not mask & m["STATUS"].field("WOKEN").mask
    with pytest.raises(ValueError, match="needs the value of STATUS"):
        r.read("STATUS")
