"""hymem.sim.macro_port.MacroPortModel on a stub of the controller's macro port.

The stub (hymem_macro_port_stub.sv, testbench only) has every port signal as an input. A
Python fake controller plays the legal waveforms of docs/macro_port.md
(:func:`hymem.analog.port.waveform`) on the pins; the model under test watches them and drives
fe_rdata_i / mr_rdata_i. Legal sequences must give the right data; each protocol rule's
violation must be reported with its message.
"""

from __future__ import annotations

import time
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from hymem.digital import engine
from hymem.analog.array import HybridArray
from hymem.analog.port import CONTROLS, VECTORS, MacroProtocolError, waveform
from hymem.sim import simrun, tbkit
from hymem.sim.macro_port import DEFAULT_PINS, MON_SIGNAL, MacroPortModel, bits_to_int, \
    codes_to_int, int_to_bits, int_to_codes
from hymem.sim.scoreboard import check_reset

TOPLEVEL = "hymem_macro_port_stub"
STUB = Path(__file__).with_name("hymem_macro_port_stub.sv")
L = 128
GEOM = engine.Geometry()


class FakeController:
    """Plays waveforms on the stub's pins; reads back what the model drives."""

    def __init__(self, dut) -> None:
        self.dut = dut

    def set(self, name: str, value) -> None:
        h = getattr(self.dut, DEFAULT_PINS[name])
        if isinstance(value, np.ndarray):
            value = codes_to_int(value, 3) if name == "mr_code" else bits_to_int(value)
        h.value = int(value)

    async def play(self, events, tail_ns: float = 40.0) -> None:
        t0 = get_sim_time("ns")
        start = events[0][0]
        for t, changes in events:
            dt = t0 + (t - start) - get_sim_time("ns")
            if dt > 0:
                await Timer(round(dt, 3), "ns")
            for k, v in changes.items():
                self.set(k, v)
        await Timer(tail_ns, "ns")

    async def op(self, op: str, **kw):
        await self.play(waveform(op, L=L, **kw))
        if op == "fe_read":
            return int_to_bits(self.dut.fe_rdata_i.value.to_unsigned(), L)
        if op == "mr_read":
            return int_to_codes(self.dut.mr_rdata_i.value.to_unsigned(), L, 8)
        return None

    async def idle(self) -> None:
        """Every control low: pulses and strobes first, then the word line."""
        for k in CONTROLS:
            if k != "fe_wl":
                self.set(k, 0)
        await Timer(50, "ns")
        self.set("fe_wl", 0)
        await Timer(50, "ns")


#: what the model watches (MacroPortModel watch= and mon=): every rule test runs with each,
#: the simulator's default first
WATCH_MODES = [None, "all", "lazy"]
MON_MODES = [MON_SIGNAL, None]


async def _setup(dut, watch=None, mon=MON_SIGNAL, **array_kw):
    for k in CONTROLS:
        getattr(dut, DEFAULT_PINS[k]).value = 0
    for k in VECTORS:
        getattr(dut, DEFAULT_PINS[k]).value = 0
    await Timer(10, "ns")
    rng = tbkit.rng()
    array = HybridArray(GEOM, rng=rng, **array_kw, woken=True)
    port = MacroPortModel(dut, array, watch=watch, mon=mon).start()
    assert port.stats()["port_monitor"] == (mon is not None)
    await Timer(10, "ns")
    return FakeController(dut), array, port, rng


# ------------------------------------------------------------------- legal use


def _rank(x):
    r = np.empty(len(x))
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def _check_levels(array, g, code):
    """Conductances of lines programmed with ``code``: on average at the published level
    means (128 lines, sigma ~9 uS: the mean residual is within 4 uS) and ranked like the
    codes (Spearman > 0.85)."""
    lv = np.asarray(array.mr.params.level_mean_us)
    res = g - lv[code]
    assert abs(res.mean()) < 4.0, f"mean residual {res.mean():.2f} uS"
    rho = np.corrcoef(_rank(g), _rank(code + 1e-6 * np.arange(len(code))))[0, 1]
    assert rho > 0.85, f"conductance/code rank correlation {rho:.3f}"


@cocotb.test()
@cocotb.parametrize(watch=WATCH_MODES)
async def fecap_rows(dut, watch):
    """Row reads return the stored bits (destructively); write-backs restore them; a full
    row write (source-line zeros + bit-line ones) stores new data, also when the row
    address and mask were set well before the word line rose."""
    fc, array, port, rng = await _setup(dut, watch)
    h = rng.integers(-511, 512, size=(GEOM.slots, L))
    array.backdoor.poke_hidden(h)
    stored = array.backdoor.fecap_bits()
    for s in (0, 5):
        for k in range(GEOM.rows_per_synapse):
            row = GEOM.data_row(s, k)
            got = await fc.op("fe_read", row=row)
            assert (got == stored[row]).all(), f"row {row}: read {bits_to_int(got):#x}"
            assert (array.fe.bits[row] == 0).all(), f"row {row} not cleared by the read"
            assert array.backdoor.pending_rows() == [row]
            await fc.op("fe_writeback", row=row, bits=got)
            assert array.backdoor.pending_rows() == []
    assert (array.backdoor.hidden_weights() == h).all()
    for row in (120, 127):                    # spare rows: full writes, then read back
        data = rng.random(L) < 0.5
        mask = rng.random(L) < 0.8
        before = array.fe.bits[row].copy()
        fc.set("fe_row", row)                 # address and first mask early
        fc.set("fe_mask", mask & ~data)
        await Timer(100, "ns")
        await fc.op("fe_write", row=row, bits=data, mask=mask)
        want = np.where(mask, data, before)
        assert (array.fe.bits[row] == want).all()
        got = await fc.op("fe_read", row=row)
        assert (got == want).all()
        await fc.op("fe_writeback", row=row, bits=got)
    port.check_quiescent()
    c = array.counts
    assert (c["fe_read"], c["fe_write0"], c["fe_write1"]) == (30, 2, 32), c
    assert port.errors == []


@cocotb.test()
@cocotb.parametrize(watch=WATCH_MODES)
async def memristor_ops(dut, watch):
    """RESET, code SET and ADC reads; the published transfer sequence programs the levels
    of the codes held in the MSB FeCAPs."""
    fc, array, port, rng = await _setup(dut, watch)
    lsb = array.adc.lsb_us
    ones = np.ones(L, dtype=bool)
    # RESET G+ of slot 1, digital-code SET with random codes, read through the ADC
    code = rng.integers(0, 8, size=L)
    await fc.op("mr_reset", slot=1)
    await fc.op("mr_set", slot=1, mask=code > 0, code=code)
    adc = await fc.op("mr_read", slot=1)
    g = array.backdoor.conductances()[1, 0]
    fs = array.adc.full_scale_us
    inside = g < fs - 5.0                       # away from the ADC's full scale
    err = np.abs(adc * lsb - g)[inside]
    assert (err <= 0.05 * g[inside] + 1.0).all(), f"ADC vs conductance: worst {err.max():.2f} uS"
    assert (adc[g > fs + 5.0] == array.adc.max_code).all()
    _check_levels(array, g, code)
    # masked read: other lines read 0
    mask = rng.random(L) < 0.5
    adc = await fc.op("mr_read", slot=1, mask=mask)
    assert (adc[~mask] == 0).all()
    # transfer of slot 2: codes from the hidden weights, sign selects G+/G-
    h = np.zeros((GEOM.slots, L), dtype=np.int64)
    h[2] = rng.integers(-511, 512, size=L)
    array.backdoor.poke_hidden(h)
    cs, cm = array.backdoor.codes()
    pol = cs[2].astype(bool)
    rows = engine.encode_slot((h[2] < 0).astype(np.int64), np.abs(h[2]), GEOM)
    for k in range(8):                                  # sign + MSB rows: read, write back
        got = await fc.op("fe_read", row=GEOM.data_row(2, k))
        assert (got == rows[k]).all()
        await fc.op("fe_writeback", row=GEOM.data_row(2, k), bits=got)
    await fc.op("mr_reset", slot=2, pol=np.zeros(L, dtype=bool))
    await fc.op("mr_reset", slot=2, pol=ones)
    await fc.op("tl_pre")
    await fc.op("xfer", slot=2, pol=pol, mask=cm[2] != 0)
    assert array.backdoor.pending_rows() == [GEOM.data_row(2, k) for k in range(1, 8)]
    for k in range(1, 8):
        await fc.op("fe_writeback", row=GEOM.data_row(2, k), bits=rows[k])
    port.check_quiescent()
    gs = array.backdoor.conductances()[2]
    tgt = np.where(pol, gs[1], gs[0])
    other = np.where(pol, gs[0], gs[1])
    check_reset(other, array.mr.params, "the device not selected by the sign must stay RESET")
    _check_levels(array, tgt, cm[2])
    assert (array.backdoor.hidden_weights() == h).all()
    assert array.counts["mr_transfer"] == 1 and array.counts["tl_precharge"] == 1
    assert port.errors == []


@cocotb.test()
async def forming(dut):
    """Pristine devices: operations other than forming and reading are errors; adaptive
    forming (pulse, read, repeat until 50 kOhm) forms every device."""
    fc, array, port, rng = await _setup(dut, formed=False)
    with port.expect_error(rule="mr.5", match=r"unformed device"):
        await fc.op("mr_reset", slot=0)
    target = int(np.ceil(1e6 / 50e3 / array.adc.lsb_us))     # 20 uS in ADC codes
    todo = np.ones(L, dtype=bool)
    pulses = 0
    # Forming times are log-normal (ln-sigma 1, median one pulse): a device still unformed
    # after 300 pulses, 3.4e-6, failed 4.3e-4 of the runs; after 3,000 pulses 3.4e-11, all
    # 128 devices 4.4e-9. The loop ends as soon as every device reads formed (typically
    # after some tens of pulses), so the cap costs time only when forming is broken.
    while todo.any() and pulses < 3000:
        await fc.op("mr_form", slot=0, mask=todo)
        adc = await fc.op("mr_read", slot=0)
        todo &= adc < target
        pulses += 1
    assert not todo.any(), f"{todo.sum()} devices unformed after {pulses} pulses"
    assert array.mr.formed[0].all() and not array.mr.formed[1:].any()
    assert array.counts["mr_form"] == pulses
    await fc.op("mr_reset", slot=0)
    check_reset(array.backdoor.conductances()[0, 0], array.mr.params, "formed devices not RESET")
    cocotb.log.info("adaptive forming: %d pulses", pulses)


# ------------------------------------------------------------ protocol errors


def _ev(*items):
    """Events from (t_ns, {signal: value}) pairs (for hand-made illegal sequences)."""
    return list(items)


def _check_vector_error_time(e, events, t0):
    """A changed address or mask (fe.1, mr.2) is reported at the time step it changed, in
    every watch mode."""
    if e.rule in ("fe.1", "mr.2"):
        tv = next(t for t, ch in events if set(ch) <= set(VECTORS))    # the change
        assert abs(e.t_ns - (t0 + tv - events[0][0])) < 1e-6, (str(e), t0, tv)


@cocotb.test()
@cocotb.parametrize(watch=WATCH_MODES, mon=MON_MODES)
async def fecap_rules(dut, watch, mon):
    """Each FeCAP-port rule of docs/macro_port.md, violated once, with its message."""
    fc, array, port, rng = await _setup(dut, watch, mon)
    ones = np.ones(L, dtype=bool)
    cases = [
        ("fe.1", r"fe_row_o changed while fe_wl_o is on",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (100, {"fe_row": 4}))),
        ("fe.1", r"fe_mask_o changed while fe_bl_o is on",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_bl": 1}),
             (500, {"fe_mask": ~ones}), (2020, {"fe_bl": 0}), (2040, {"fe_wl": 0}))),
        ("fe.2", r"started 10 ns after fe_wl_o rose; at least 20 ns setup",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (10, {"fe_mask": ones, "fe_bl": 1}),
             (2010, {"fe_bl": 0}), (2040, {"fe_wl": 0}))),
        ("fe.2", r"fe_wl_o is off",
         _ev((0, {"fe_row": 3, "fe_mask": ones, "fe_bl": 1}), (2000, {"fe_bl": 0}))),
        ("fe.2", r"5 ns after the FeCAP pulse ended; at least 20 ns hold",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_bl": 1}),
             (2020, {"fe_bl": 0}), (2025, {"fe_wl": 0}))),
        ("fe.3", r"fe_sl_o is on too",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_sl": 1}),
             (100, {"fe_bl": 1}), (2020, {"fe_sl": 0, "fe_bl": 0}), (2040, {"fe_wl": 0}))),
        ("fe.3", r"mr_reset_o \(memristor port\) is on",
         _ev((0, {"mr_mask": ones, "mr_reset": 1}), (200, {"fe_row": 3, "fe_bl": 1}))),
        ("fe.4", r"sense-amplifier enable 100 ns after the pulse started; at least 500 ns",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_sl": 1}),
             (120, {"fe_sae": 1}), (2020, {"fe_sl": 0, "fe_sae": 0}), (2040, {"fe_wl": 0}))),
        ("fe.4", r"sense-amplifier enable outside a source-line pulse",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_bl": 1}),
             (1000, {"fe_sae": 1}), (2020, {"fe_bl": 0, "fe_sae": 0}), (2040, {"fe_wl": 0}))),
        ("fe.5", r"pulse 50 ns wide; the drivers need at least 100 ns",
         _ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_bl": 1}),
             (70, {"fe_bl": 0}), (100, {"fe_wl": 0}))),
    ]
    for rule, match, events in cases:
        t0 = get_sim_time("ns")
        with port.expect_error(rule=rule, match=match) as exp:
            await fc.play(events)
            await fc.idle()
        assert "at t = " in str(exp.seen[0]) and f"[rule {rule}]" in str(exp.seen[0])
        _check_vector_error_time(exp.seen[0], events, t0)
        array.backdoor.clear_pending()
    # fe.6: a row read twice without its write-back, and the quiescence check
    await fc.op("fe_read", row=9)
    with port.expect_error(rule="fe.6", match=r"FeCAP read row 9 .*row 9 was read "
                           r"destructively at t = [\d.]+ ns and not written back"):
        await fc.op("fe_read", row=9)
    with port.expect_error(rule="fe.6", match=r"1 row\(s\) read destructively and never "
                           r"written back"):
        port.check_quiescent()
    await fc.op("fe_writeback", row=9)
    port.check_quiescent()
    assert len(port.unexpected) == 0


@cocotb.test()
@cocotb.parametrize(watch=WATCH_MODES, mon=MON_MODES)
async def memristor_rules(dut, watch, mon):
    """Each memristor-port rule of docs/macro_port.md, violated once, with its message."""
    fc, array, port, rng = await _setup(dut, watch, mon)
    ones = np.ones(L, dtype=bool)
    cases = [
        ("mr.1", r"RESET slot 0 .*mr_read_o is on too",
         _ev((0, {"mr_mask": ones, "mr_read": 1}), (100, {"mr_reset": 1}),
             (300, {"mr_reset": 0, "mr_read": 0}))),
        ("mr.1", r"fe_wl_o \(FeCAP port\) is on",
         _ev((0, {"fe_row": 1, "fe_wl": 1}), (100, {"mr_mask": ones, "mr_set": 1}),
             (1100, {"mr_set": 0}), (1200, {"fe_wl": 0}))),
        ("mr.2", r"mr_mask_o changed while mr_reset_o is on",
         _ev((0, {"mr_mask": ones, "mr_reset": 1}), (500, {"mr_mask": ~ones}),
             (1000, {"mr_reset": 0}))),
        ("mr.2", r"mr_code_o changed while mr_set_o is on",
         _ev((0, {"mr_mask": ones, "mr_set": 1}), (500, {"mr_code": np.full(L, 3)}),
             (1000, {"mr_set": 0}))),
        ("mr.3", r"no transfer-line precharge since the previous transfer",
         _ev((0, {"mr_mask": ones, "xfer": 1}), (10000, {"xfer": 0}))),
        ("mr.4", r"RESET slot 0 .*pulse 50 ns wide; at least 100 ns",
         _ev((0, {"mr_slot": 0, "mr_mask": ones, "mr_reset": 1}), (50, {"mr_reset": 0}))),
        ("mr.4", r"mr_adc_o rose outside a memristor read pulse",
         _ev((0, {"mr_adc": 1}), (50, {"mr_adc": 0}))),
        ("mr.4", r"ADC strobe 10 ns after the read started; at least 50 ns",
         _ev((0, {"mr_mask": ones, "mr_read": 1}), (10, {"mr_adc": 1}),
             (200, {"mr_read": 0, "mr_adc": 0}))),
        # the FeCAP port after memristor pulses (watch="lazy" stopped watching its vectors),
        # then the memristor port again
        ("fe.1", r"fe_mask_o changed while fe_sl_o is on",
         _ev((0, {"fe_row": 5, "fe_wl": 1}), (20, {"fe_mask": ones, "fe_sl": 1}),
             (300, {"fe_mask": ~ones}), (2020, {"fe_sl": 0}), (2040, {"fe_wl": 0}))),
        ("mr.2", r"mr_pol_o changed while mr_set_o is on",
         _ev((0, {"mr_slot": 1, "mr_mask": ones, "mr_set": 1}), (400, {"mr_pol": ones}),
             (1000, {"mr_set": 0}))),
    ]
    for rule, match, events in cases:
        t0 = get_sim_time("ns")
        with port.expect_error(rule=rule, match=match) as exp:
            await fc.play(events)
            await fc.idle()
        _check_vector_error_time(exp.seen[0], events, t0)
        array.backdoor.clear_pending()
    # mr.3: a transfer while one of the slot's MSB rows waits for its write-back
    await fc.op("tl_pre")
    await fc.op("fe_read", row=GEOM.data_row(4, 2))
    with port.expect_error(rule="mr.3", match=r"MSB rows \[58\] of the slot were read and not "
                           "written back"):
        await fc.op("xfer", slot=4)
    await fc.op("fe_writeback", row=58)
    # mr.5: an unformed device
    array.mr.formed[2 * 3 + 1, 17] = False
    with port.expect_error(rule="mr.5", match=r"code SET slot 3 .*unformed device\(s\) on "
                           r"line\(s\) \[17\]"):
        await fc.op("mr_set", slot=3, pol=ones, code=np.full(L, 5))
    port.check_quiescent()
    assert len(port.unexpected) == 0


@cocotb.test()
async def undefined_pins(dut):
    """X/Z on a control after it was driven is an error (Icarus only: Verilator is 2-state)."""
    if tbkit.sim_name() != "icarus":
        return
    fc, array, port, rng = await _setup(dut)
    with port.expect_error(rule="data", match=r"fe_sl_o .*went to X"):
        dut.fe_sl_o.value = "X"
        await Timer(20, "ns")
    fc.set("fe_sl", 0)
    await Timer(20, "ns")


@cocotb.test()
async def unexpected_error_fails(dut):
    """An error nobody expects is raised (cocotb then fails the test): checked here by
    recording instead of raising, and by expect_error's own failure when nothing happens."""
    fc, array, port, rng = await _setup(dut)
    port.raise_errors = False
    await fc.play(_ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": np.ones(L, dtype=bool),
                                                            "fe_sl": 1}),
                      (70, {"fe_sl": 0}), (100, {"fe_wl": 0})))
    assert [e.rule for e in port.unexpected] == ["fe.5"]
    try:
        port.check()
    except MacroProtocolError as e:
        assert "pulse 50 ns wide" in str(e)
    else:
        raise AssertionError("check() did not raise the recorded error")
    try:
        with port.expect_error(rule="fe.6"):
            await fc.op("fe_read", row=4)
    except AssertionError as e:
        assert "expected a macro protocol error (rule fe.6" in str(e)
    else:
        raise AssertionError("expect_error did not fail without an error")


@cocotb.test(expect_error=MacroProtocolError)
async def unexpected_error_raises(dut):
    """With raise_errors (the default) an unexpected error found in the model's simulator
    callback fails the test: cocotb sees it raised at the test's next scheduling point."""
    fc, array, port, rng = await _setup(dut)
    await fc.play(_ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": np.ones(L, dtype=bool),
                                                            "fe_sl": 1}),
                      (70, {"fe_sl": 0}), (100, {"fe_wl": 0})))
    raise AssertionError("the fe.5 error did not fail the test")


_LEFTOVER: list = []


@cocotb.test()
async def stop_and_end_of_test(dut):
    """stop() removes the callbacks: a stopped model sees nothing; a model left running at
    the end of a test is removed by cocotb's cleanup (checked by the next test)."""
    fc, array, port, rng = await _setup(dut)
    port.stop()
    await fc.play(_ev((0, {"fe_row": 3, "fe_wl": 1}), (20, {"fe_mask": np.ones(L, dtype=bool),
                                                            "fe_sl": 1}),
                      (70, {"fe_sl": 0}), (100, {"fe_wl": 0})))
    assert port.errors == [] and port.wakeups == 1, "a stopped model must not process"
    port2 = MacroPortModel(dut, HybridArray(GEOM, rng=1, woken=True)).start()
    port2.raise_errors = False
    _LEFTOVER.append(port2)


@cocotb.test()
async def previous_model_removed(dut):
    """(continues stop_and_end_of_test) the model it left running no longer sees the pins."""
    for k in CONTROLS:
        getattr(dut, DEFAULT_PINS[k]).value = 0
    await Timer(10, "ns")
    old = _LEFTOVER[0]
    w = old.wakeups
    dut.fe_row_o.value = 5
    dut.fe_wl_o.value = 1
    await Timer(20, "ns")
    dut.fe_sl_o.value = 1          # a pulse with an empty mask and 20 ns wide: errors if seen
    await Timer(20, "ns")
    dut.fe_sl_o.value = 0
    await Timer(20, "ns")
    dut.fe_wl_o.value = 0
    await Timer(20, "ns")
    assert old.wakeups == w and old.errors == [], "the previous test's model still watches"


@cocotb.test()
async def throughput(dut):
    """Many row operations: logs the Python time the adapter spends per operation."""
    fc, array, port, rng = await _setup(dut)
    n = 60
    w0 = time.perf_counter()
    p0, k0 = port.py_time_s, port.wakeups
    for i in range(n):
        row = i % 112
        got = await fc.op("fe_read", row=row)
        await fc.op("fe_writeback", row=row, bits=got)
    wall = time.perf_counter() - w0
    ops = 2 * n
    cocotb.log.info("macro port: %d row ops, %.1f us wall per op (simulator + fake controller "
                    "+ model), %.1f us in the model's processing per op, %.1f wake-ups per op",
                    ops, 1e6 * wall / ops, 1e6 * (port.py_time_s - p0) / ops,
                    (port.wakeups - k0) / ops)
    port.check_quiescent()


# ------------------------------------------------------------ pytest: the sims


@pytest.mark.sim
def test_hymem_macro_port(sim, seed):
    simrun.run(TOPLEVEL, "test_hymem_macro_port", sim, seed=seed, extra_sources=[STUB],
               parameters={"Lines": L})
