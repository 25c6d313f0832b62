"""hymem_cfg_check: write validation of checked registers and commands, against a Python
reference.

The reference (:func:`reference`) is the package's register model,
``hymem.host.regmodel.RegRules.check_code``: the state rules of the RTL's header (7 queue
slot taken, 6 busy, 10 not woken) and the value rules, which ``RegMap.check`` evaluates
from the RDL's legality properties (hymem_min, hymem_max, hymem_below, hymem_err,
hymem_rule) in Python, while the RTL's value checks (rtl/hymem_regs_legal.sv) are
generated from the same properties by scripts/regmap.py: so this test checks the generator
and the block's plumbing against an independent evaluation of the one source. Limits worth testing (each field's legal range and its neighbours) come
from the same model. The block is combinational: every vector
is applied, settled (1 ns) and ok_o / code_o compared. Vectors: every checked register's
fields at their interesting values (0, 1, the limits and their neighbours, the field's
maximum) in all combinations, idle and busy; every command bit pattern against every
queued-slot pattern, idle and busy; then constrained-random values, states and current
values of the cross-checked timing fields. Every error code the build can produce must
occur.

Where the header is silent the model follows the RTL and says so: a CMD write that both
re-queues a command and loads the seed while busy reports 7 (queue slot taken).
"""

from __future__ import annotations

import functools
import itertools

import cocotb
import pytest
from cocotb.triggers import Timer

from hymem.host import regmap, regmodel
from hymem.sim import simrun, tbkit

TOPLEVEL = "hymem_cfg_check"

PARAM_SETS = {
    "default": dict(Lines=128, Slots=8, XDepth=256, EDepth=128, VerifyLimit=15),
    "small_noverify": dict(Lines=16, Slots=4, XDepth=64, EDepth=32, VerifyLimit=0),
}

RM = regmap.load()
E_ILLEGAL, E_BUSY = RM.err("ILLEGAL"), RM.err("BUSY")
E_QUEUED, E_BUILD = RM.err("QUEUED"), RM.err("BUILD")
E_NOT_WOKEN = RM.err("NOT_WOKEN")
QUEUED = ("SAMPLE", "TRANSFER", "FORM", "READOUT", "WAKE")   # queued_i bit i (the port's order)
assert set(QUEUED) == set(regmodel.QUEUED_CMDS), "queued_i does not carry every queueable command"
# the block's inputs carrying the current values of the cross-checked fields
CUR_PORT = {("T_FE0", "PULSE"): "t_fe_pulse_i", ("T_FE1", "SENSE"): "t_fe_sense_i",
            ("T_MR1", "READ"): "t_mr_read_i", ("T_MR2", "ADC"): "t_mr_adc_i"}
CUR_INPUTS = tuple(CUR_PORT.values())
# (register, field) -> the other side of its cross-register rule, from the register model
CROSS = {}
for (_s, _p) in RM.below_pairs():
    CROSS[_s], CROSS[_p] = _p, _s
assert set(CROSS) == set(CUR_PORT), "a cross-register rule the block has no input for"
CHECKED = [r for r in RM.registers if r.checked]


def build(p: dict) -> dict:
    return regmap.build_values(p)


@functools.lru_cache(maxsize=None)
def _rules(items: tuple) -> regmodel.RegRules:
    return regmodel.RegRules(RM, build(dict(items)))


def rules(p: dict) -> regmodel.RegRules:
    """The register model's rules in the build of parameters ``p``."""
    return _rules(tuple(sorted(p.items())))


def is_timing(reg: regmap.Register) -> bool:
    return reg.name.startswith("T_")


def reference(p: dict, addr: int, wdata: int, busy: int, queued: int, cur: dict,
              woken: int = 1) -> int:
    """The ERR code the package's register model (``hymem.host.regmodel.RegRules.check_code``)
    gives this write in this build (0: accepted)."""
    reg = RM.decode(addr)
    assert reg is not None and getattr(reg, "checked", False), f"{addr:#x} is not a checked register"
    return rules(p).check_code(reg.name, wdata, busy=bool(busy),
                               queued={n for i, n in enumerate(QUEUED) if (queued >> i) & 1},
                               woken=bool(woken), current=lambda rn, fn: cur[CUR_PORT[(rn, fn)]])


def interesting(p: dict, reg: regmap.Register, f: regmap.Field, cur: dict) -> list[int]:
    """The values of one field worth testing exhaustively against each other."""
    top = (1 << f.width) - 1
    base = {0, 1, 2, top - 1, top}
    lim = list(RM.legal_range(reg.name, f.name, build(p)))       # the field's own range
    if reg.rule is not None and f.name in reg.rule.names:        # LAYER's product rule
        ls = p["Lines"] * p["Slots"]
        lim += [ls // p["EDepth"], ls // p["XDepth"], 3, 7]
    if (reg.name, f.name) in CROSS:
        lim += [cur[CUR_PORT[CROSS[(reg.name, f.name)]]]]
    for x in lim:
        base |= {x - 1, x, x + 1}
    return sorted(x for x in base if 0 <= x <= top)


class Checker:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.p = tbkit.params()
        self.n = 0
        self.codes_seen: set[int] = set()

    async def check(self, addr: int, wdata: int, busy: int = 0, queued: int = 0,
                    cur: dict | None = None, woken: int = 1) -> int:
        d = self.dut
        cur = cur or DEFAULT_CUR
        d.chk_addr_i.value = addr
        d.chk_wdata_i.value = wdata
        d.busy_i.value = busy
        d.queued_i.value = queued
        d.woken_i.value = woken
        for k in CUR_INPUTS:
            getattr(d, k).value = cur[k]
        await Timer(1, unit="ns")
        want = reference(self.p, addr, wdata, busy, queued, cur, woken)
        code, ok = tbkit.u(d.code_o), tbkit.u(d.ok_o)
        if code != want or ok != (want == 0):
            reg = RM.decode(addr)
            raise AssertionError(
                f"{reg.name} <= {wdata:#010x} {reg.unpack(wdata)} busy={busy} queued={queued:04b} "
                f"woken={woken} current {cur}: code_o {code}, ok_o {ok}; reference {want}")
        self.n += 1
        self.codes_seen.add(code)
        return code


def _reset_value(reg: str, field: str) -> int:
    return RM.reset_fields(reg)[field]


DEFAULT_CUR = {"t_fe_pulse_i": _reset_value("T_FE0", "PULSE"), "t_fe_sense_i": _reset_value("T_FE1", "SENSE"),
               "t_mr_read_i": _reset_value("T_MR1", "READ"), "t_mr_adc_i": _reset_value("T_MR2", "ADC")}


def _cur_corners() -> list[dict]:
    """Current values of the cross-checked fields: reset values, the smallest legal ones and
    the largest (the register block never holds a zero there: its checks reject it)."""
    top = 0xFFFF
    out = [DEFAULT_CUR]
    for pulse, sense, read, adc in ((2, 1, 2, 1), (top, top - 1, top, top - 1), (3, 2, 7, 5),
                                    (top, 1, top, 1)):
        out.append({"t_fe_pulse_i": pulse, "t_fe_sense_i": sense, "t_mr_read_i": read,
                    "t_mr_adc_i": adc})
    return out


@cocotb.test()
async def register_corners(dut):
    """Every checked register (but CMD): all combinations of its fields' interesting values
    (for registers of three or more fields: each field's values with the others at random),
    for several current timing values, idle; a random quarter of them again while busy."""
    chk = Checker(dut)
    rng = tbkit.rng()
    p = chk.p
    for reg in CHECKED:
        if reg.name == "CMD":
            continue
        curs = _cur_corners() if any(k[0] == reg.name for k in CROSS) else [DEFAULT_CUR]
        for cur in curs:
            vals = {f.name: interesting(p, reg, f, cur) for f in reg.fields}
            if len(reg.fields) <= 2:
                combos = [dict(zip(vals, c)) for c in itertools.product(*vals.values())]
            else:
                combos = []
                for f in reg.fields:
                    for x in vals[f.name]:
                        c = {g.name: int(rng.integers(1 << g.width)) for g in reg.fields}
                        c[f.name] = x
                        combos.append(c)
            for c in combos:
                w = reg.pack(**c)
                await chk.check(reg.addr, w, 0, 0, cur)
                if rng.random() < 0.25:
                    await chk.check(reg.addr, w, 1, int(rng.integers(16)), cur)
    dut._log.info("%d vectors, codes seen %s", chk.n, sorted(chk.codes_seen))


@cocotb.test()
async def commands_exhaustive(dut):
    """Every combination of the queueable command bits and SEED_LOAD against every queued_i
    pattern, idle and busy (the other command bits at random); every one of the 2^9 CMD
    values idle with nothing queued, and busy with everything queued."""
    chk = Checker(dut)
    rng = tbkit.rng()
    cmd = RM["CMD"]
    width = max(f.lsb + f.width for f in cmd.fields)
    rule_bits = [cmd.field(n) for n in QUEUED + ("SEED_LOAD",)]
    others = [f for f in cmd.fields if f not in rule_bits]
    all_queued = (1 << len(QUEUED)) - 1
    for busy, woken in itertools.product((0, 1), (0, 1)):
        for queued in range(all_queued + 1):
            for bits in itertools.product((0, 1), repeat=len(rule_bits)):
                v = sum(b << f.lsb for b, f in zip(bits, rule_bits))
                v |= sum(int(rng.integers(2)) << f.lsb for f in others)
                await chk.check(cmd.addr, v, busy, queued, woken=woken)
    for v in range(1 << width):
        await chk.check(cmd.addr, v, 0, 0)
        await chk.check(cmd.addr, v, 1, all_queued)
    assert chk.codes_seen == {0, E_BUSY, E_QUEUED, E_NOT_WOKEN}, chk.codes_seen
    dut._log.info("%d vectors", chk.n)


@cocotb.test()
async def constrained_random(dut):
    """Random checked registers, values (field-wise near the limits or anywhere, junk
    outside the fields included), busy / queued states and current timing values."""
    chk = Checker(dut)
    rng = tbkit.rng()
    p = chk.p
    for _ in range(800):
        reg = CHECKED[int(rng.integers(len(CHECKED)))]
        cur = {k: int(rng.integers(1, 1 << 16)) if rng.random() < 0.5 else int(rng.integers(1, 40))
               for k in CUR_INPUTS}
        if rng.random() < 0.3:
            w = int(rng.integers(1 << 32))
        else:
            c = {}
            for f in reg.fields:
                iv = interesting(p, reg, f, cur)
                c[f.name] = (int(rng.choice(iv)) if rng.random() < 0.5
                             else int(rng.integers(1 << f.width)))
            w = reg.pack(**c)
        busy = int(rng.random() < 0.25)
        queued = int(rng.integers(1 << len(QUEUED))) if busy and rng.random() < 0.5 else 0
        await chk.check(reg.addr, w, busy, queued, cur, woken=int(rng.random() >= 0.2))
    dut._log.info("%d vectors, codes seen %s", chk.n, sorted(chk.codes_seen))


@cocotb.test()
async def every_error_code(dut):
    """One write for each code the block can produce in this build."""
    chk = Checker(dut)
    p = chk.p
    lay = RM["LAYER"]
    assert await chk.check(lay.addr, lay.pack(N_IN=1, N_OUT=1)) == 0
    assert await chk.check(lay.addr, lay.pack(N_IN=0, N_OUT=1)) == E_ILLEGAL
    assert await chk.check(lay.addr, lay.pack(N_IN=1, N_OUT=1), busy=1) == E_BUSY
    cmd = RM["CMD"]
    assert await chk.check(cmd.addr, cmd.pack(TRANSFER=1), busy=1, queued=0b0010) == E_QUEUED
    assert await chk.check(cmd.addr, cmd.pack(SEED_LOAD=1), busy=1) == E_BUSY
    assert await chk.check(cmd.addr, cmd.pack(SAMPLE=1, ABORT=1), busy=1, queued=0b11110) == 0
    assert await chk.check(cmd.addr, cmd.pack(WAKE=1), busy=1, queued=0b10000) == E_QUEUED
    # an array not woken (STATUS.WOKEN 0) refuses a sample or a transfer, nothing else
    assert await chk.check(cmd.addr, cmd.pack(SAMPLE=1), woken=0) == E_NOT_WOKEN
    assert await chk.check(cmd.addr, cmd.pack(TRANSFER=1), busy=1, woken=0) == E_NOT_WOKEN
    assert await chk.check(cmd.addr, cmd.pack(FORM=1, READOUT=1, WAKE=1), woken=0) == 0
    mode = RM["MODE"]
    top = (1 << mode.field("VERIFY_MAX").width) - 1
    if p["VerifyLimit"] < top:
        assert await chk.check(mode.addr, mode.pack(VERIFY_MAX=p["VerifyLimit"] + 1)) == E_BUILD
    assert await chk.check(mode.addr, mode.pack(VERIFY_MAX=p["VerifyLimit"])) == 0
    possible = {0, E_ILLEGAL, E_BUSY, E_QUEUED, E_NOT_WOKEN} | ({E_BUILD} if p["VerifyLimit"] < top else set())
    assert chk.codes_seen == possible, (chk.codes_seen, possible)
    assert possible <= set(RM.error_codes), "a code outside the documented ERR codes"


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_hymem_cfg_check(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_cfg_check", sim, parameters=params, seed=seed)


@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_reference_rules(params):
    """The reference on the register map's reset values in each build: every checked
    register's reset value (build-dependent where the RDL says so) is accepted when idle,
    refused when busy."""
    b = build(params)
    for reg in CHECKED:
        if reg.name != "CMD":
            v = RM.reset_value(reg.name, b)
            assert reference(params, reg.addr, v, 0, 0, DEFAULT_CUR) == 0, reg.name
            assert reference(params, reg.addr, v, 1, 0, DEFAULT_CUR) == E_BUSY, reg.name
