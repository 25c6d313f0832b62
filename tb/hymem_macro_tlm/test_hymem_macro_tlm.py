"""The transaction-level macro model against the pin-level one, on the same controller traffic.

tb_hymem_macro_tlm.sv holds two hymem_top controllers fed by one APB burst master: A's
macro port is watched pin by pin by hymem.sim.macro_port.MacroPortModel, B's through the HDL
monitor by hymem.sim.macro_tlm.MacroTlmModel. Both arrays are keyed alike (same devices).
Constrained-random configuration (transfer mode, verify, timing set), hidden weights and
samples, transfers and read-outs, forming on pristine arrays: after every operation both
arrays must be in the same state (FeCAP bits, switching cycles and read counts, pending
write-backs, memristor conductances, operation counts and energy), the two controllers must
have answered the bus alike every cycle, and neither model may report an error.
"""

from __future__ import annotations

import json

import cocotb
import numpy as np
import pytest

from hymem.digital import engine
from hymem.host import firmware
from hymem.analog.array import HybridArray
from hymem.sim import simrun, tbkit
from hymem.host.apb import ApbBurstMaster
from hymem.host.firmware import Hymem
from hymem.sim.macro_port import MacroPortModel
from hymem.sim.macro_tlm import MacroTlmModel

TOPLEVEL = "tb_hymem_macro_tlm"
HERE = simrun.repo_root() / "tb"
SOURCES = [HERE / "hymem_macro_tlm" / f"{TOPLEVEL}.sv", HERE / "hdl" / "hymem_apb_burst.sv",
           HERE / "hdl" / "hymem_macro_tlm.sv"]
TIMINGS = {"cosim": (firmware.COSIM_TIMING, firmware.COSIM_TIMING_CLK_NS),
           "fast": (firmware.FAST_TIMING, firmware.FAST_TIMING_CLK_NS)}


def _same(a: HybridArray, b: HybridArray, what: str) -> None:
    """The two arrays are in the same state (``what`` names the point of the test)."""
    for name, x, y in (("FeCAP bits", a.fe.bits, b.fe.bits),
                       ("FeCAP cycles", a.fe.cycles, b.fe.cycles),
                       ("FeCAP reads per device", a.fe.sense_n, b.fe.sense_n),
                       ("memristor conductances", a.mr.g_us, b.mr.g_us),
                       ("memristors formed", a.mr.formed, b.mr.formed)):
        if not np.array_equal(x, y):
            bad = np.argwhere(x != y)
            raise AssertionError(f"{what}: {name} differ at {len(bad)} places, first "
                                 f"{tuple(bad[0])}: pin-level {x[tuple(bad[0])]}, "
                                 f"transaction-level {y[tuple(bad[0])]}")
    assert a.pending == b.pending, f"{what}: pending write-backs {a.pending} vs {b.pending}"
    assert a.counts == b.counts, f"{what}: operation counts {a.counts} vs {b.counts}"
    assert a.fe.ops == b.fe.ops and a.mr.ops == b.mr.ops, f"{what}: device operation counts"
    for k in a.energy_j:
        assert np.isclose(a.energy_j[k], b.energy_j[k], rtol=1e-12, atol=0), \
            f"{what}: energy of {k}: {a.energy_j[k]} vs {b.energy_j[k]}"


@cocotb.test()
async def equivalence(dut):
    p = tbkit.params()
    rng = tbkit.rng()
    geom = engine.Geometry(lines=p.get("Lines", 128), slots=p.get("Slots", 8),
                           fecap_rows=p.get("FecapRows", 128))
    formed = bool(p.get("Formed", 1))
    timing, clk_ns = TIMINGS[p.get("Timing", "cosim")]
    key = int(rng.integers(1, 2**62))
    arrays = [HybridArray(geom, rng=key % 2**31, key=key, formed=formed, woken=True) for _ in (0, 1)]
    pin = MacroPortModel(dut.pin, arrays[0], scope=dut.pin).start()
    tlm = MacroTlmModel(dut.tlm, arrays[1]).start()
    await tbkit.start_clock(dut.clk_i, clk_ns, impl="gpi")
    await tbkit.reset(dut.clk_i, dut.rst_ni)
    fw = Hymem(ApbBurstMaster(dut.u_bm))
    hw = await fw.identify()
    assert (hw.lines, hw.slots) == (geom.lines, geom.slots)
    n_in = int(rng.integers(1, geom.synapses // 2 + 1))
    n_out = max(1, min(hw.edepth, int(rng.integers(1, geom.synapses // n_in + 1))))
    n_in = min(n_in, hw.xdepth)
    mode = dict(change_aware=bool(rng.integers(2)), code_round=bool(rng.integers(2)),
                verify_max=int(rng.integers(0, hw.verify_limit + 1)))
    cocotb.log.info("tile %d x %d, %s, timing %s, %s arrays", n_in, n_out, mode,
                    p.get("Timing", "cosim"), "formed" if formed else "pristine")
    await fw.configure(n_in=n_in, n_out=n_out, p16=int(rng.integers(6000, 40000)),
                       stoch_round=bool(rng.integers(2)), skip_zero=True,
                       k=int(rng.integers(2, 6)), seed=int(rng.integers(1, 2**31)),
                       timing=timing, **mode)
    await fw.write("IRQ_ENABLE", DONE=1)

    async def op(*cmds, also=()):
        await fw.run([fw.op_write("IRQ_STATUS", DONE=1), fw.op_write("CMD", **{c: 1 for c in cmds}),
                      ("irq",), *also])
        tlm.sync()

    if not formed:
        await op("FORM")
        _same(*arrays, "after forming")
        # as a host does: FORM again while a device is left unformed (each stays unformed after
        # one FORM with probability ~7e-4; the transfer below would pulse it: rule mr.5)
        for again in range(3):
            if arrays[0].mr.formed.all():
                break
            await op("FORM")
            _same(*arrays, f"after forming again ({again + 1})")
        assert arrays[0].mr.formed.all(), "devices still unformed after four FORM commands"
    # the wake-up's row writes (every used FeCAP row written all ones, then all zeros) through
    # both models; it also sets STATUS.WOKEN, which TRANSFER and SAMPLE need (the arrays are
    # built woken: two cycles do not change what they read)
    await fw.write("WAKE", CYCLES=2)
    await op("WAKE")
    _same(*arrays, "after the wake-up")
    h = rng.integers(-(2 ** geom.mag_width - 1), 2 ** geom.mag_width, (geom.slots, geom.lines))
    f = rng.random((geom.slots, geom.lines)) < 0.5
    for a in arrays:
        a.backdoor.poke_hidden(h)
        a.backdoor.poke_flags(f)
    await op("TRANSFER")
    changed = {name: int((a.backdoor.hidden_weights() != h).sum())
               for name, a in zip(("pin-level", "transaction-level"), arrays)}
    assert not any(changed.values()), (f"hidden weights changed by the transfer (it must "
                                       f"restore every FeCAP it reads): {changed}")
    _same(*arrays, "after the first transfer")
    for i in range(int(p.get("Samples", 6))):
        x = rng.integers(-128, 128, n_in) * (rng.random(n_in) < 0.7)
        e = rng.integers(-128, 128, n_out)
        await fw.run(fw.vector_ops("XBUF", x) + fw.vector_ops("EBUF", e))
        await op("SAMPLE")
        _same(*arrays, f"after sample {i}")
    codes = await fw.read_conductance_codes()
    tlm.sync()
    _same(*arrays, "after the read-out")
    assert codes.shape == (geom.slots, 2, geom.lines)
    pin.check_quiescent()
    tlm.check_quiescent()
    assert not pin.errors and not tlm.errors, (pin.errors, tlm.errors)
    assert int(dut.mismatch_q.value) == 0, "the two controllers answered the bus differently"
    st = tlm.stats()
    cocotb.log.info("transaction-level model: %s; pin-level: %d wake-ups", st, pin.wakeups)
    assert st["served"] > 0                 # the read cache answered reads
    assert st["records"] > 0


@cocotb.test()
async def vpi_words(dut):
    """hymem.sim.vpi_vec against the GPI's binary strings (after the equivalence test: it
    writes vectors the model writes at its start): reads of vectors of every width class
    (a multiple of 32 bits, an odd width, an element of an unpacked array), X/Z read as 0,
    deposits read back."""
    from cocotb.triggers import Timer

    from hymem.sim import macro_tlm, vpi_vec
    assert vpi_vec.available(), "the simulator process does not export the VPI"
    m = dut.tlm.u_tlm
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    deposit = cocotb.handle._GPISetAction.DEPOSIT.value
    inertial = "verilator" in cocotb.SIM_NAME.lower()
    for name in ("cache_v", "cert_v", "fe_rdata_o", "mr_rdata_o"):
        h = getattr(m, name)._handle
        v = vpi_vec.Vector(getattr(m, name)._path, inertial=inertial)
        assert v.width == len(getattr(m, name)), name
        bits = rng.random(v.width) < 0.5
        h.set_signal_val_binstr(deposit, "".join("1" if b else "0" for b in bits[::-1]))
        await Timer(1, unit="ns")
        assert np.array_equal(v.get_bits(), bits), f"{name}: words differ from the GPI's string"
        bits = rng.random(v.width) < 0.5
        v.put_bits(bits)
        await Timer(1, unit="ns")
        assert np.array_equal(macro_tlm._str_bits(h.get_signal_val_binstr()), bits), \
            f"{name}: a deposit of words reads back differently through the GPI"
        assert v.get_int() == int.from_bytes(np.packbits(bits, bitorder="little").tobytes(),
                                             "little"), name
    # read-only vectors: an unpacked array's element, an odd width, a log
    for path, index, h in ((m.fe_log._path, 0, m.fe_log[0]._handle),
                           (m.fe_cur_q._path, None, m.fe_cur_q._handle),
                           (m.mr_log._path, None, m.mr_log._handle)):
        v = vpi_vec.Vector(path, index)
        assert np.array_equal(v.get_bits(), macro_tlm._str_bits(h.get_signal_val_binstr())), path
    if not inertial:                       # 4-state: X and Z read as 0, as from the string
        h = m.fe_rdata_o._handle
        n = len(m.fe_rdata_o)
        text = "".join(rng.choice(list("01xz"), n))
        h.set_signal_val_binstr(deposit, text)
        await Timer(1, unit="ns")
        got = vpi_vec.Vector(m.fe_rdata_o._path).get_bits()
        assert np.array_equal(got, np.frombuffer(text.encode(), np.uint8)[::-1] == ord("1"))
    with pytest.raises(ValueError, match="no object"):
        vpi_vec.Vector(m._path + ".no_such_signal")


@cocotb.test()
async def burst_errors(dut):
    """The burst master's error path (its status read from the raw handles): an access the
    controller refuses (PSLVERR) stops the list there and raises ApbError naming it; the
    master runs the next list."""
    from hymem.host.apb import ApbError
    from hymem.host import regmap
    m = regmap.load()
    bad = 0xFFC
    assert m.decode(bad) is None, "the test needs an unmapped address"
    await tbkit.start_clock(dut.clk_i, firmware.COSIM_TIMING_CLK_NS, impl="gpi")
    await tbkit.reset(dut.clk_i, dut.rst_ni)
    bm = ApbBurstMaster(dut.u_bm)
    ident = (await bm.transact([("r", 0)]))[0]
    for op, write, data in ((("r", bad), False, None), (("w", bad, 0x1234_5678), True, 0x1234_5678)):
        with pytest.raises(ApbError) as e:
            await bm.transact([("r", 0), op, ("r", 0)])
        assert (e.value.write, e.value.addr, e.value.data) == (write, bad, data), str(e.value)
    assert await bm.transact([("r", 0), ("r", 0)]) == [ident, ident]


PARAM_SETS = {
    "small-cosim": dict(Lines=16, Slots=4, FecapRows=64, XDepth=64, EDepth=32, VerifyLimit=3,
                        Timing="cosim", Samples=8),
    "small-fast-pristine": dict(Lines=16, Slots=4, FecapRows=64, XDepth=64, EDepth=32,
                                VerifyLimit=3, Timing="fast", Samples=4, Formed=0),
    "default-cosim": dict(Timing="cosim", Samples=4),
}
#: what the RTL build takes (the rest configures the test)
RTL_PARAMS = ("Lines", "Slots", "FecapRows", "XDepth", "EDepth", "VerifyLimit")


#: Parameter sets simulated on Verilator only (tb/conftest.py `heavy`; make test FULL=1 runs them
#: on Icarus too): forming pristine arrays at the fast timing costs Icarus about 40 s of CPU; Icarus
#: checks the HDL monitor at the co-simulation's timing (the one its co-simulation runs).
HEAVY_SETS = ("small-fast-pristine",)


@pytest.mark.parametrize("params", [
    pytest.param(p, id=k, marks=[pytest.mark.heavy] if k in HEAVY_SETS else [])
    for k, p in PARAM_SETS.items()])
def test_hymem_macro_tlm(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_macro_tlm", sim,
               parameters={k: v for k, v in params.items() if k in RTL_PARAMS}, seed=seed,
               # lean as the co-simulation's harness (the signals its model touches marked
               # public), compiled at the regression's levels: it runs short
               extra_sources=SOURCES, public_all=False, fast=False,
               extra_env={"HYMEM_PARAMS": json.dumps(params)})    # the test's options too
