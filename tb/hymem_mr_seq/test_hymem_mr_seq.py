"""hymem_mr_seq: the memristor pulse sequencer, cycle by cycle against a reference of its waveform.

The reference (:class:`MrSeqRef`) follows the datasheet in the RTL's header: an accepted
RESET / SET / FORM / READ is one pulse of t_reset / t_set / t_form / t_read cycles, an XFER is
precharge t_pre | gap t_gap | transfer pulse t_xfer; every operation ends with a t_gap
recovery and one DONE cycle (a zero length counting as one cycle). The ADC strobe is on from
cycle t_adc of the read pulse to its end, the read data is what mr_rdata_i holds in the
pulse's last cycle, xfer_fired_o is on in the cycle after the transfer pulse, and the
selection (slot, polarity, mask, per-line codes) is the accepted request's until the next
one. The test kit's lock-step monitor (``hymem.sim.tbkit.LockstepMonitor``) compares every
output in every cycle, in every test; the stimulus changes the request inputs every cycle they are not valid, so a selection output that
followed them would be caught.

With the macro model (hymem.analog.array.HybridArray through MacroPortModel, harness
tb_hymem_mr_seq.sv with an idle FeCAP port) the operations must obey docs/macro_port.md and
act on the devices the request selected: ADC codes of poked conductances read back through
OP_READ, and a "twin" array, driven directly through the model's row-operation API with the
same operations and the same random seed, must end in exactly the same state as the array
the RTL drove.
"""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from hymem.analog import devices
from hymem.analog.array import HybridArray
from hymem.digital import engine
from hymem.sim import simrun, tbkit
from hymem.sim.macro_port import MacroPortModel, bits_to_int, codes_to_int, int_to_codes
from hymem.digital.mr_seq import (OP_RESET, OP_SET, OP_FORM, OP_READ, OP_XFER, OP_NAMES,
                                  CODE_BITS, ADC_BITS, Timing, FIELDS, phase_cycles, op_cycles, Op,
                                  MrSeqRef)

TOPLEVEL = "tb_hymem_mr_seq"
HARNESS = Path(__file__).with_name("tb_hymem_mr_seq.sv")

PARAM_SETS = {
    "l128_s8": dict(Lines=128, Slots=8, FecapRows=128),
    "l16_s4": dict(Lines=16, Slots=4, FecapRows=64),
}
#: parameter corner (docs/coverage.md, "Parameter corners"): the smallest the block's check
#: allows (chk_lines: one line, one slot), with the 15 FeCAP rows the macro model's synapse
#: layout needs for one slot (the transfer pulses its MSB rows); every test; the fixed seed
#: only (`corner`), on Icarus only (its build costs a fraction of a second, a Verilator one
#: tens of seconds cold; nothing new for `make coverage`)
CORNER_SETS = {
    "min_l1_s1": dict(Lines=1, Slots=1, FecapRows=15),
}

MACRO_CLK_NS = 250   # 4 cycles = the 1 us minimum transfer / forming pulse of the model

INPUTS = ("rst_ni", "req_valid_i", "req_op_i", "req_slot_i", "req_pol_i", "req_mask_i",
          "req_code_i", "err_clear_i", "mr_rdata_i") + tuple(f"t_{k}_i" for k in FIELDS)


#: timing corner of an operation: its shortest timing field among those it uses (its pulse,
#: the gap; the ADC strobe of a read; the precharge of a transfer pulse) 0 (a phase of one
#: cycle), 1, or every one 2 or more
TIMING_CORNERS = ("zero", "one", "nominal")
VALID_OPS = (OP_RESET, OP_SET, OP_FORM, OP_READ, OP_XFER)
#: functional bins (docs/coverage.md): operation x timing corner, and a refused op code
FUNC_BINS = [f"{OP_NAMES[o]}.{c}" for o in VALID_OPS for c in TIMING_CORNERS] + ["refused.bad_op"]


def func_bins(op) -> list[str]:
    """The functional bins an operation the reference completed hits."""
    if not op.valid:
        return ["refused.bad_op"]
    t = op.timing
    used = [{OP_RESET: t.reset, OP_SET: t.set, OP_FORM: t.form, OP_READ: t.read,
             OP_XFER: t.xfer}[op.op], t.gap]
    used += [t.adc] if op.op == OP_READ else [t.pre] if op.op == OP_XFER else []
    return [f"{OP_NAMES[op.op]}.{TIMING_CORNERS[min(2, min(used))]}"]


class Env:
    def __init__(self, dut, clk_ns: int = tbkit.CLK_PERIOD_NS) -> None:
        self.dut = dut
        self.p = tbkit.params()
        self.L, self.S = self.p["Lines"], self.p["Slots"]
        self.slot_bits = max(1, (self.S - 1).bit_length())
        self.rng = tbkit.rng()
        self.py = random.Random(int(self.rng.integers(2**63)))
        self.ref = MrSeqRef()
        self.clk_ns = clk_ns
        self.mon = None
        self.driving = False

    async def start(self, timing: Timing = Timing(3, 3, 4, 4, 2, 2, 5, 2), stub: bool = True) -> None:
        d = self.dut
        for n in ("req_valid_i", "req_op_i", "req_slot_i", "req_pol_i", "req_mask_i",
                  "req_code_i", "err_clear_i"):
            getattr(d, n).value = 0
        d.mr_rdata_i.value = 0
        self.set_timing(timing)
        self.mon = tbkit.LockstepMonitor(d, self.ref, INPUTS)
        cocotb.start_soon(self._idle_noise())
        if stub:
            cocotb.start_soon(self._adc_stub())
        await tbkit.start_clock(d.clk_i, self.clk_ns)
        await tbkit.reset(d.clk_i, d.rst_ni)

    async def _adc_stub(self) -> None:
        while True:
            await RisingEdge(self.dut.clk_i)
            self.dut.mr_rdata_i.value = self.py.getrandbits(ADC_BITS * self.L)

    async def _idle_noise(self) -> None:
        """Random request fields whenever req_valid_i is low: they must not reach the port."""
        d = self.dut
        while True:
            await RisingEdge(d.clk_i)
            if not self.driving:
                d.req_op_i.value = self.py.getrandbits(3)
                d.req_slot_i.value = self.py.getrandbits(self.slot_bits)
                d.req_pol_i.value = self.py.getrandbits(self.L)
                d.req_mask_i.value = self.py.getrandbits(self.L)
                d.req_code_i.value = self.py.getrandbits(CODE_BITS * self.L)

    def set_timing(self, t: Timing) -> None:
        for k in FIELDS:
            getattr(self.dut, f"t_{k}_i").value = getattr(t, k)

    def random_timing(self, hi: int = 5) -> Timing:
        r = self.rng
        read = int(r.integers(2, hi + 1))
        v = {k: int(r.integers(0, hi + 1)) for k in FIELDS}
        v["read"], v["adc"] = read, int(r.integers(1, read))
        return Timing(**v)

    def random_sel(self) -> dict:
        return dict(slot=self.py.randrange(self.S), pol=self.py.getrandbits(self.L),
                    mask=self.py.getrandbits(self.L), code=self.py.getrandbits(CODE_BITS * self.L))

    async def issue(self, op: int, slot: int = 0, pol: int = 0, mask: int = 0, code: int = 0,
                    timing: Timing | None = None) -> Op:
        d = self.dut
        await FallingEdge(d.clk_i)
        while not tbkit.u(d.req_ready_o):
            await FallingEdge(d.clk_i)
        if timing is not None:
            self.set_timing(timing)
        self.driving = True
        d.req_valid_i.value = 1
        d.req_op_i.value = op
        d.req_slot_i.value = slot
        d.req_pol_i.value = pol
        d.req_mask_i.value = mask
        d.req_code_i.value = code
        n = len(self.ref.accepted)
        await RisingEdge(d.clk_i)
        d.req_valid_i.value = 0
        self.driving = False
        await FallingEdge(d.clk_i)
        assert len(self.ref.accepted) == n + 1
        return self.ref.accepted[-1]

    async def run(self, op: int, timing: Timing | None = None, **sel) -> Op:
        rec = await self.issue(op, timing=timing, **sel)
        while rec.done_at is None:
            await FallingEdge(self.dut.clk_i)
        return rec

    async def pulse(self, name: str) -> None:
        await FallingEdge(self.dut.clk_i)
        getattr(self.dut, name).value = 1
        await FallingEdge(self.dut.clk_i)
        getattr(self.dut, name).value = 0

    async def finish(self) -> None:
        d = self.dut
        await FallingEdge(d.clk_i)
        while not tbkit.u(d.req_ready_o):
            await FallingEdge(d.clk_i)
        await ClockCycles(d.clk_i, 2)
        assert self.mon.checked > 0
        cov = tbkit.FuncCov.of("hymem_mr_seq", FUNC_BINS)
        for op in self.ref.completed:
            for b in func_bins(op):
                cov.hit(b)
        cov.write()
        d._log.info(cov.summary())


# ------------------------------------------------------------------- port-level tests


@cocotb.test()
async def random_operations(dut):
    """Random operations (invalid codes included), selections and legal timings, random
    ADC data every cycle and random err_clear_i; every cycle checked."""
    env = Env(dut)
    await env.start()
    d, r = dut, env.rng
    n_ops = 90 if env.L > 16 else 120
    # every op code once, at random places among the random ones: coverage of all eight is
    # certain (codes 6 and 7 at p = 0.05 each were both drawn in only 98 % of 90-op runs)
    codes = [int(c) for c in r.choice(8, size=n_ops, p=[0.16, 0.16, 0.12, 0.2, 0.2, 0.06, 0.05, 0.05])]
    for c, at in zip(range(8), r.choice(n_ops + 8, size=8, replace=False)):
        codes.insert(int(at), c)
    for code in codes:
        timing = env.random_timing() if r.random() < 0.35 else None
        await env.issue(code, timing=timing, **env.random_sel())
        if r.random() < 0.1:
            d.err_clear_i.value = 1
            await RisingEdge(d.clk_i)
            d.err_clear_i.value = 0
    await env.finish()
    ops = env.ref.completed
    assert {o.op for o in ops} == set(range(8)), "not every op code was exercised"
    dut._log.info("%d operations, %d cycles checked", len(ops), env.mon.checked)


@cocotb.test()
async def timing_corners(dut):
    """Zero timings, t_adc = t_read - 1, long phases: DONE exactly one cycle after the gap."""
    env = Env(dut)
    await env.start()
    corners = [Timing(0, 0, 0, 2, 1, 0, 0, 0), Timing(1, 1, 1, 2, 1, 1, 1, 1),
               Timing(7, 9, 11, 13, 12, 5, 17, 3), Timing(2, 3, 4, 30, 29, 19, 23, 0),
               Timing(1, 1, 1, 9, 1, 1, 1, 9)]
    for t in corners:
        for op in range(5):
            rec = await env.run(op, timing=t, **env.random_sel())
            n = len(rec.cycles)
            assert rec.done_at - rec.accepted_at == n, f"{rec}: DONE after {rec.done_at - rec.accepted_at}"
    await env.finish()


@cocotb.test()
async def invalid_ops(dut):
    """Op codes 5..7 set err_o (sticky until err_clear_i), pulse done_o one cycle later and
    drive no pulse; the selection outputs still take the request's values."""
    env = Env(dut)
    await env.start()
    d = dut
    for bad in (5, 6, 7):
        sel = env.random_sel()
        rec = await env.run(bad, **sel)
        assert rec.phases_seen == ["DONE"] and tbkit.u(d.err_o) == 1
        assert tbkit.u(d.mr_slot_o) == sel["slot"] and tbkit.u(d.mr_mask_o) == sel["mask"]
        await env.run(OP_RESET, **env.random_sel())
        assert tbkit.u(d.err_o) == 1, "err_o must stay set through valid operations"
        await env.pulse("err_clear_i")
        assert tbkit.u(d.err_o) == 0
    await env.finish()


@cocotb.test()
async def reset_mid_operation(dut):
    """rst_ni during a transfer pulse: every pulse off, idle, selection and error cleared."""
    env = Env(dut)
    await env.start()
    d = dut
    await env.run(7)
    await env.issue(OP_XFER, timing=Timing(2, 2, 4, 4, 2, 3, 9, 2), **env.random_sel())
    while env.ref.phase is None or env.ref.phase[0] != "MAIN":
        await FallingEdge(d.clk_i)
    d.rst_ni.value = 0
    await ClockCycles(d.clk_i, 2, rising=False)
    d.rst_ni.value = 1
    await FallingEdge(d.clk_i)
    assert tbkit.u(d.xfer_o) == 0 and tbkit.u(d.busy_o) == 0 and tbkit.u(d.err_o) == 0
    assert tbkit.u(d.mr_mask_o) == 0 and tbkit.u(d.xfer_fired_o) == 0
    await env.run(OP_READ, **env.random_sel())
    await env.finish()


# ---------------------------------------------------------------------- with the macro


def _geom(env: Env) -> engine.Geometry:
    return engine.Geometry(lines=env.L, slots=env.S, fecap_rows=env.p["FecapRows"])


def _macro_timing(r: np.random.Generator) -> Timing:
    """Random legal timings for the macro at 250 ns per cycle (docs/macro_port.md minimums:
    transfer and forming 1 us = 4 cycles, the ADC strobe 50 ns into the read)."""
    read = int(r.integers(2, 6))
    return Timing(int(r.integers(1, 5)), int(r.integers(1, 5)), int(r.integers(4, 8)), read,
                  int(r.integers(1, read)), int(r.integers(1, 4)), int(r.integers(4, 9)),
                  int(r.integers(0, 3)))


@cocotb.test()
async def macro_adc_read(dut):
    """OP_READ on the macro model with noise-free reads: the ADC code of every selected line
    is clamp(round(G / 0.5 uS), 0, 255) of the device its polarity selects, 0 on lines
    outside the mask (docs/macro_port.md, ADC)."""
    env = Env(dut, clk_ns=MACRO_CLK_NS)
    L, S = env.L, env.S
    r = env.rng
    ideal = devices.MemristorParams(read_noise_rel=0.0, read_noise_us=0.0)
    array = HybridArray(_geom(env), memristor=ideal, rng=int(r.integers(2**31)), woken=True)
    codes = r.integers(0, 300, size=(S, 2, L))               # beyond 255: full scale clamps
    codes[0, 0, :4] = [0, 1, 254, 255][:L]                   # the ADC's ends, as lines allow
    g = (codes + r.uniform(-0.4, 0.4, size=codes.shape)) * 0.5
    g = np.maximum(g, 0.0)
    array.backdoor.poke_conductance(g)
    await env.start(stub=False)
    port = MacroPortModel(dut, array).start()
    for i in range(24):
        slot = i % S if i < 2 * S else int(r.integers(S))
        pol = r.random(L) < 0.5 if i >= 2 * S else np.full(L, i >= S)
        mask = r.random(L) < 0.8 if i % 3 else np.ones(L, dtype=bool)
        rec = await env.run(OP_READ, timing=_macro_timing(r), slot=slot, pol=bits_to_int(pol),
                            mask=bits_to_int(mask))
        got = int_to_codes(tbkit.u(dut.rdata_o), L, ADC_BITS)
        want = np.where(mask, np.clip(np.rint(g[slot, pol.astype(int), np.arange(L)] / 0.5), 0, 255), 0)
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (f"{rec}: ADC codes differ on lines {bad[:8].tolist()}: "
                               f"RTL {got[bad[:4]].tolist()}, expected {want[bad[:4]].tolist()}")
    port.check_quiescent()
    await env.finish()


class Twin:
    """A second array with the same seed, driven through the model's row-operation API with
    the operations the test requests; the RTL-driven array must stay identical to it."""

    def __init__(self, env: Env, seed: int, **kw) -> None:
        geom = _geom(env)
        self.env = env
        self.dut_array = HybridArray(geom, rng=seed, **kw, woken=True)
        self.ref_array = HybridArray(geom, rng=seed, **kw, woken=True)
        self.L = env.L

    def apply(self, op: int, slot: int, pol, mask, code, t: Timing):
        a, ns = self.ref_array, self.env.clk_ns
        if op == OP_RESET:
            a.mr_reset(slot, pol, mask, width_ns=phase_cycles(t.reset) * ns)
        elif op == OP_SET:
            a.mr_code_set(slot, pol, mask, code, width_ns=phase_cycles(t.set) * ns)
        elif op == OP_FORM:
            a.mr_form(slot, pol, mask, width_ns=phase_cycles(t.form) * ns)
        elif op == OP_READ:
            return a.mr_read(slot, pol, mask, width_ns=phase_cycles(t.read) * ns, adc_ns=t.adc * ns)
        else:
            a.tl_precharge(width_ns=phase_cycles(t.pre) * ns)
            a.mr_transfer(slot, pol, mask, width_ns=phase_cycles(t.xfer) * ns)
        return None

    def check(self, what: str) -> None:
        x, y = self.dut_array, self.ref_array
        gx, gy = x.backdoor.conductances(), y.backdoor.conductances()
        assert np.array_equal(gx, gy), (f"{what}: conductances differ at (slot, pol, line) "
                                        f"{np.argwhere(gx != gy)[:4].tolist()}")
        assert np.array_equal(x.mr.formed, y.mr.formed), f"{what}: formed devices differ"
        assert np.array_equal(x.backdoor.fecap_bits(), y.backdoor.fecap_bits()), \
            f"{what}: FeCAP bits differ"
        assert x.backdoor.pending_rows() == y.backdoor.pending_rows(), f"{what}: pending rows differ"
        assert x.counts == y.counts, f"{what}: operation counts differ: {x.counts} vs {y.counts}"


@cocotb.test()
async def macro_ops_twin(dut):
    """RESET, code SET (per-line codes), FORM, READ and XFER with random selections and legal
    timings on the macro model (published device physics, noise and all): after every
    operation the array equals the twin driven directly with the requested operation.

    A transfer pulse reads the slot's 7 MSB FeCAP rows destructively on every line (they are
    pending write-back in the model afterwards, which the test checks). In the controller,
    hymem_xfer_engine rewrites them through hymem_fecap_seq; this harness has no FeCAP
    sequencer, so the test does that write-back itself through the backdoor, in both arrays:
    it restores the bits it saved before the pulse and clears the pending set, which leaves the
    model exactly where a write-back would (and lets the next transfer of the slot start,
    rule mr.3)."""
    env = Env(dut, clk_ns=MACRO_CLK_NS)
    L, S = env.L, env.S
    r = env.rng
    tw = Twin(env, int(r.integers(2**31)))
    geom = _geom(env)
    h = r.integers(-511, 512, size=(S, L))
    for a in (tw.dut_array, tw.ref_array):
        a.backdoor.poke_hidden(h)
    await env.start(stub=False)
    port = MacroPortModel(dut, tw.dut_array).start()
    R = geom.rows_per_synapse
    seen = set()
    for i in range(30 if L > 16 else 45):
        op = [OP_RESET, OP_XFER, OP_READ, OP_SET, OP_READ, OP_FORM][i] if i < 6 else int(r.integers(5))
        slot = int(r.integers(S))
        pol, mask = r.random(L) < 0.5, r.random(L) < 0.75
        code = r.integers(0, 8, size=L)
        t = _macro_timing(r)
        msb_rows = [slot * R + 1 + u for u in range(7)]
        saved = tw.dut_array.backdoor.fecap_bits()[msb_rows]
        rec = await env.run(op, timing=t, slot=slot, pol=bits_to_int(pol), mask=bits_to_int(mask),
                            code=codes_to_int(code, CODE_BITS))
        want = tw.apply(op, slot, pol, mask, code, t)
        if op == OP_READ:
            got = int_to_codes(tbkit.u(dut.rdata_o), L, ADC_BITS)
            assert np.array_equal(got, want), f"{rec}: read data differ on lines {np.flatnonzero(got != want)[:8]}"
        tw.check(str(rec))
        if op == OP_XFER:
            assert tw.dut_array.backdoor.pending_rows() == msb_rows, \
                f"after {rec}: pending {tw.dut_array.backdoor.pending_rows()}, want the MSB rows {msb_rows}"
            for a in (tw.dut_array, tw.ref_array):       # the write-back hymem_xfer_engine would do
                for k, row in enumerate(msb_rows):
                    a.backdoor.poke_fecap_row(row, saved[k])
                a.backdoor.clear_pending()
        port.check_quiescent()
        seen.add(op)
    assert seen == set(range(5))
    # the twin comparison is not vacuous: selected devices changed, unselected did not
    g0 = tw.dut_array.backdoor.conductances()
    slot = int(r.integers(S))
    mask = np.zeros(L, dtype=bool)
    mask[: max(1, L // 2)] = True                     # half the lines; the line of a 1-line build
    zeros = np.zeros(L, dtype=bool)
    for op, code in ((OP_RESET, None), (OP_SET, np.full(L, 7))):
        t = _macro_timing(r)
        await env.run(op, timing=t, slot=slot, pol=0, mask=bits_to_int(mask),
                      code=0 if code is None else codes_to_int(code, CODE_BITS))
        tw.apply(op, slot, zeros, mask, code, t)
    g1 = tw.dut_array.backdoor.conductances()
    lv = devices.MemristorParams().level_mean_us
    assert (g1[slot, 0, mask] > lv[3]).all(), "a code-7 SET left a device below level 3"
    assert np.array_equal(g1[slot, 0, ~mask], g0[slot, 0, ~mask]) and \
        np.array_equal(g1[slot, 1], g0[slot, 1]), "devices outside the selection changed"
    tw.check("final RESET + SET")
    await env.finish()


#: a forming run's false-failure probability the directed pulse of macro_forming allows
FORM_MISS_P = 1e-9


@cocotb.test()
async def macro_forming(dut):
    """OP_FORM on pristine devices: only the selected devices can form, and the array equals
    its twin; then one long FORM of every device, after which every device is formed.
    (Forming time constant shortened to 2 us for simulation time, without the device-to-device
    spread; the pulse widths stay legal: at least 1 us.)"""
    env = Env(dut, clk_ns=MACRO_CLK_NS)
    L, S = env.L, env.S
    r = env.rng
    # form_tau_sigma_ln 0: every device forms in a pulse of w with probability exactly
    # 1 - exp(-w / form_tau_s) (the spread of forming times is a device property, the
    # devices' tests form with it; the sequencer only selects and times pulses), so the
    # directed pulse below can make forming certain to FORM_MISS_P
    fast = devices.MemristorParams(form_tau_s=2e-6, form_tau_sigma_ln=0.0)
    tw = Twin(env, int(r.integers(2**31)), memristor=fast, formed=False)
    await env.start(stub=False)
    port = MacroPortModel(dut, tw.dut_array).start()

    async def form_and_read(slot, pol, mask, t):
        before = tw.dut_array.mr.formed.copy()
        rec = await env.run(OP_FORM, timing=t, slot=slot, pol=bits_to_int(pol), mask=bits_to_int(mask))
        tw.apply(OP_FORM, slot, pol, mask, None, t)
        tw.check(str(rec))
        sel = np.zeros_like(before)
        sel[2 * slot + pol.astype(int), np.arange(L)] = mask
        changed = tw.dut_array.mr.formed != before
        assert not (changed & ~sel).any(), f"{rec}: an unselected device formed"
        rec = await env.run(OP_READ, timing=t, slot=slot, pol=bits_to_int(pol), mask=bits_to_int(mask))
        want = tw.apply(OP_READ, slot, pol, mask, None, t)
        assert np.array_equal(int_to_codes(tbkit.u(dut.rdata_o), L, ADC_BITS), want)
        port.check_quiescent()
        return sel

    for i in range(10):
        await form_and_read(int(r.integers(S)), r.random(L) < 0.5, r.random(L) < 0.6,
                            _macro_timing(r))
    # Directed: every device of one slot, a FORM of w cycles per polarity on every line. A
    # device still pristine misses it with probability exp(-w * clk / form_tau_s); w is the
    # shortest that keeps a miss of any of the slot's 2 L devices below FORM_MISS_P per run
    # (at the forming voltage, which the port applies: tau = form_tau_s). So every device of
    # the slot must end formed, in the RTL-driven array as in its twin: the exact outcome, on
    # every build (one slot: the others' twin checks above are the same; 2 FORMs, not 2 S)
    n_dev = 2 * L
    w = math.ceil(fast.form_tau_s * math.log(n_dev / FORM_MISS_P) / (env.clk_ns * 1e-9))
    every = np.ones(L, dtype=bool)
    slot = int(r.integers(S))
    for pol in (np.zeros(L, dtype=bool), every):
        await form_and_read(slot, pol, every, dataclasses.replace(_macro_timing(r), form=w))
    missing = np.argwhere(~tw.dut_array.mr.formed[2 * slot: 2 * slot + 2])
    assert missing.size == 0, (f"slot {slot}: {len(missing)} device(s) (polarity, line) "
                               f"{missing[:4].tolist()} not formed after a {w}-cycle FORM")
    await env.finish()


# ------------------------------------------------------------ pytest: the RTL


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    *(pytest.param(p, id=k) for k, p in PARAM_SETS.items()),
    *(pytest.param(p, id=k, marks=[pytest.mark.corner, pytest.mark.icarus_only,
                                   pytest.mark.no_coverage]) for k, p in CORNER_SETS.items())])
def test_hymem_mr_seq(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_mr_seq", sim, parameters=params, seed=seed,
               extra_sources=[HARNESS])


def test_reference_phases():
    t = Timing(2, 3, 4, 5, 1, 2, 6, 0)
    assert [p for p, _ in op_cycles(OP_XFER, t)] == ["PRE"] * 2 + ["GAP1"] + ["MAIN"] * 6 + ["GAP", "DONE"]
    assert [p for p, _ in op_cycles(OP_SET, t)] == ["MAIN"] * 3 + ["GAP", "DONE"]
