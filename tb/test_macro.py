"""The macro model: the hybrid array's row operations (hymem.analog.array), its protocol checks
(directly and through hymem.analog.port.MacroPort's signal-level engine, with randomized legal
and illegal sequences), counters and energy, backdoor, fault injection, the ADC and verify
windows (hymem.analog.adc), and hymem.analog.programmer.PhysicalProgrammer against
hymem.digital.engine and against keyed arrays."""

from __future__ import annotations

import numpy as np
import pytest

from hymem.analog import devices as dv
from hymem.analog.adc import AdcParams, default_verify_windows
from hymem.analog.array import OPS, HybridArray
from hymem.analog.port import CONTROLS, MacroPort, MacroProtocolError, PortTiming, waveform
from hymem.analog.programmer import PhysicalProgrammer
from hymem.digital import engine

G = engine.Geometry()
L = G.lines


def _array(seed=1, **kw):
    return HybridArray(G, rng=seed, **kw, woken=True)


def play(port, events):
    """Feed a waveform to a MacroPort; return outputs and errors."""
    outs, errs = [], []
    for t, ch in events:
        o, e = port.apply(t, ch)
        outs.append(o)
        errs += e
    return outs, errs


# -------------------------------------------------------------- row operations


def test_row_read_write_roundtrip_and_counters():
    a = _array()
    rng = np.random.default_rng(0)
    h = rng.integers(-511, 512, size=(G.slots, L))
    a.backdoor.poke_hidden(h)
    assert (a.backdoor.hidden_weights() == h).all()
    for r in range(G.slots * G.rows_per_synapse):
        a.fe_write_row(r, a.fe_read_row(r))
    assert (a.backdoor.hidden_weights() == h).all()
    a.check_quiescent()
    assert a.counts["fe_read"] == 112 and a.counts["fe_write1"] == 112 and a.counts["fe_write0"] == 0
    assert a.fe.ops["read"] == 112 * L
    assert a.energy_j["fe_read"] == pytest.approx(112 * L * 100e-15)
    assert a.energy_j["fe_write1"] == pytest.approx(a.fe.ops["write1"] * 100e-15)
    assert a.now_ns == pytest.approx(2 * 112 * 2000)


def test_partial_masks():
    a = _array()
    a.backdoor.poke_fecap_row(120, np.ones(L, dtype=bool))
    m = np.zeros(L, dtype=bool)
    m[::3] = True
    got = a.fe_read_row(120, m)
    assert (got == m).all()                              # unmasked lines read 0
    assert (a.fe.bits[120] == ~m).all()                   # and keep their data
    a.fe_write_row(120, np.zeros(L, dtype=bool), m)       # all-zero write-back: empty bl mask
    assert a.backdoor.pending_rows() == []
    data = np.arange(L) % 2 == 0
    a.fe_write_row(121, data)                             # not pending: sl pulse for zeros too
    assert (a.fe.bits[121] == data).all()
    assert a.counts["fe_write0"] == 1 and a.counts["fe_write1"] == 2


def test_transfer_levels_and_destruction():
    a = _array(seed=4)
    code = np.arange(L) % 8
    sign = (np.arange(L) // 8) % 2
    h = np.zeros((G.slots, L), dtype=np.int64)
    h[3] = np.where(sign == 1, -(code << 6), code << 6)
    a.backdoor.poke_hidden(h)
    cs, cm = a.backdoor.codes()
    pol = cs[3].astype(bool)
    a.mr_reset(3, np.zeros(L, dtype=bool))
    a.mr_reset(3, np.ones(L, dtype=bool))
    a.tl_precharge()
    a.mr_transfer(3, pol, cm[3] != 0)
    msb = [G.data_row(3, k) for k in range(1, 8)]
    assert a.backdoor.pending_rows() == msb
    assert not a.fe.bits[msb].any()                       # destroyed on every line
    rows = engine.encode_slot(sign * (code != 0), code << 6, G)
    for k in range(1, 8):
        a.fe_write_row(G.data_row(3, k), rows[k])
    a.check_quiescent()
    assert (a.backdoor.hidden_weights() == h).all()
    g = a.backdoor.conductances()[3]
    tgt = np.where(pol, g[1], g[0])
    lv = np.asarray(a.mr.params.level_mean_us)
    assert abs((tgt - lv[code]).mean()) < 3.0
    assert np.corrcoef(tgt, code)[0, 1] > 0.9
    assert a.counts["mr_transfer"] == 1 and a.counts["mr_reset"] == 2
    assert a.mr.ops["set"] == int((cm[3] != 0).sum())
    # transfer energy: 1 pJ per SET device + 7 x L FeCAP pulses
    assert a.energy_j["mr_transfer"] == pytest.approx(a.mr.ops["set"] * 1e-12 + 7 * L * 1e-13)
    # weak MSB1 copies on line 7 (code 7) program a lower level than nominal
    i_nom = a.last_transfer_ua[7]
    for r in msb[:4]:
        a.inject_weak_fecap(r, [7])
    a.mr_reset(3, pol)
    a.tl_precharge()
    a.mr_transfer(3, pol, cm[3] != 0)
    assert a.last_transfer_ua[7] < i_nom - 10


def test_host_read_adc():
    a = _array(seed=2)
    g = np.random.default_rng(3).uniform(0, 140, size=(G.slots, 2, L))
    a.backdoor.poke_conductance(g)
    r = a.read_conductances_us()
    assert r.shape == (G.slots, 2, L)
    assert (r <= 127.5).all() and (r[g > 130] == 127.5).all()   # ADC full scale
    ok = g < 125
    assert (np.abs(r - g)[ok] < 0.25 + 5 * (0.01 * g[ok] + 0.1)).all()
    assert np.allclose(r * 2, np.round(r * 2))                   # 0.5 uS codes
    assert a.counts["mr_read"] == 16
    w = a.read_weights_us()
    assert w.shape == (G.slots, L)
    codes = a.mr_read(0, np.ones(L, dtype=bool), np.arange(L) < 10)
    assert (codes[10:] == 0).all() and codes.dtype == np.uint8


def test_forming_through_array():
    a = _array(formed=False)
    with pytest.raises(MacroProtocolError, match=r"RESET slot 1 at t = 0 ns: unformed "
                                                      r"device\(s\) on line\(s\) \[0, 1, 2"):
        a.mr_reset(1)
    n = 0
    while not a.mr.formed[2].all() and n < 300:
        a.mr_form(1)
        n += 1
    assert a.mr.formed[2].all() and a.counts["mr_form"] == n
    a.mr_reset(1)


def test_faults_stuck_memristor_and_sense():
    a = _array()
    a.inject_stuck_memristor(2, 1, [5, 6], high=True)
    a.mr_reset(2, np.ones(L, dtype=bool))
    g = a.backdoor.conductances()[2, 1]
    assert g[5] == g[6] == a.mr.params.stuck_high_us and g[7] < 15
    a.backdoor.poke_fecap_row(10, np.ones(L, dtype=bool))
    a.inject_sense_error([1], stuck=0)
    a.inject_read_flip(10, [2])
    got = a.fe_read_row(10)
    assert not got[1] and not got[2] and got[3:].all()


# ------------------------------------------------------------ protocol checks


def test_array_protocol_errors():
    a = _array()
    with pytest.raises(MacroProtocolError,
                       match=r"FeCAP source-line pulse row 128 at t = 0 ns: row address out of "
                             r"range 0\.\.127 \[rule addr\]"):
        a.fe_read_row(128)
    with pytest.raises(MacroProtocolError, match=r"RESET slot 8 .*slot out of range 0\.\.7"):
        a.mr_reset(8)
    with pytest.raises(MacroProtocolError, match=r"line mask must be 128 booleans; got "
                                                      r"shape \(3,\)"):
        a.fe_read_row(0, np.ones(3, dtype=bool))
    with pytest.raises(MacroProtocolError, match=r"code must be 128 values in 0\.\.7"):
        a.mr_code_set(0, None, None, np.full(L, 9))
    a.fe_read_row(5, t_ns=1000)
    with pytest.raises(MacroProtocolError, match=r"FeCAP read row 5 at t = 4000 ns: row 5 "
                                                      r"was read destructively at t = 2000 ns and "
                                                      r"not written back \[rule fe.6\]"):
        a.fe_read_row(5, t_ns=3000)
    with pytest.raises(MacroProtocolError, match=r"2 row\(s\) read destructively and never "
                                                      r"written back"):
        a.backdoor.clear_pending()
        a.fe_read_row(1)
        a.fe_read_row(2)
        a.check_quiescent()
    a.backdoor.clear_pending()
    with pytest.raises(MacroProtocolError, match=r"no transfer-line precharge"):
        a.mr_transfer(0)
    a.tl_precharge()
    a.fe_read_row(G.data_row(0, 4))
    with pytest.raises(MacroProtocolError, match=r"MSB rows \[4\] of the slot"):
        a.mr_transfer(0)
    a.backdoor.clear_pending()
    with pytest.raises(MacroProtocolError, match=r"pulse 500 ns wide; at least 1000 ns"):
        a.mr_transfer(0, width_ns=500)
    with pytest.raises(MacroProtocolError, match=r"sense-amplifier enable 300 ns after the "
                                                      r"pulse started; at least 500 ns"):
        a.fe_read_row(9, sense_ns=300)
    a.backdoor.clear_pending()
    with pytest.raises(MacroProtocolError, match=r"pulse 60 ns wide; the drivers need at "
                                                      r"least 100 ns \[rule fe.5\]"):
        a.fe_write_row(9, np.ones(L, dtype=bool), width_ns=60)
    a.fe_begin("bl", 3)
    with pytest.raises(MacroProtocolError, match=r"RESET slot 0 .*overlaps the FeCAP "
                                                      r"bit-line pulse that started at"):
        a.mr_begin("reset", 0)
    with pytest.raises(MacroProtocolError, match=r"a FeCAP bit-line pulse is still on"):
        a.check_quiescent()
    a.fe_end(a.now_ns + 2000)
    with pytest.raises(ValueError, match=r"t_ns must not go back in time"):
        a.fe_read_row(0, t_ns=0)
    with pytest.raises(ValueError, match=r"kind must be 'sl' or 'bl'; got 'x'"):
        a.fe_begin("x", 0)


def _random_legal(rng, n_ops, t0=0.0):
    """A random legal mix of operations as one event list, with what each op expects."""
    ev, ops = [], []
    t = t0
    pending = set()
    precharged = False
    for _ in range(n_ops):
        choice = rng.choice(["read", "write", "reset", "set", "mread", "xfer"])
        mask = rng.random(L) < 0.7
        row = int(rng.integers(0, 128))
        slot = int(rng.integers(0, 8))
        if pending:                                      # write back first
            row = pending.pop()
            w = waveform("fe_writeback", L=L, row=row, bits=rng.random(L) < 0.5, t_ns=t)
            ops.append("fe_write1")
        elif choice == "read":
            w = waveform("fe_read", L=L, row=row, mask=mask, t_ns=t,
                               width_ns=float(rng.choice([1200.0, 2000.0])))
            pending.add(row)
            ops.append("fe_read")
        elif choice == "write":
            w = waveform("fe_write", L=L, row=row, bits=rng.random(L) < 0.5, mask=mask,
                               t_ns=t)
            ops += ["fe_write0", "fe_write1"]
        elif choice in ("reset", "set", "mread"):
            op = {"reset": "mr_reset", "set": "mr_set", "mread": "mr_read"}[choice]
            w = waveform(op, L=L, slot=slot, pol=rng.random(L) < 0.5, mask=mask,
                               code=rng.integers(0, 8, size=L), t_ns=t)
            ops.append(op)
        else:
            if not precharged:
                w = waveform("tl_pre", L=L, t_ns=t)
                ops.append("tl_precharge")
                precharged = True
            else:
                w = waveform("xfer", L=L, slot=slot, pol=rng.random(L) < 0.5, mask=mask,
                                   t_ns=t)
                ops.append("mr_transfer")
                precharged = False
                pending |= {G.data_row(slot, k) for k in range(1, 8)}
        ev += w
        t = w[-1][0] + float(rng.integers(20, 200))
    while pending:
        row = pending.pop()
        w = waveform("fe_writeback", L=L, row=row, t_ns=t)
        ops.append("fe_write1")
        ev += w
        t = w[-1][0] + 40.0
    return ev, ops


@pytest.mark.parametrize("case", range(6))
def test_random_legal_sequences_pass_and_count(case):
    """Property: any legal mix of operations raises nothing, leaves the array quiescent, and
    the counters and energies add up per operation type."""
    rng = np.random.default_rng(case)
    a = _array(case)
    port = MacroPort(a)
    ev, ops = _random_legal(rng, 40)
    outs, errs = play(port, ev)
    assert errs == []
    a.check_quiescent()
    for k in OPS:
        assert a.counts[k] == ops.count(k), k
    assert a.counts["mr_read"] == sum(1 for o in outs if "mr_rdata" in o)
    assert a.counts["fe_read"] == sum(1 for o in outs if "fe_rdata" in o)
    fe_e = a.energy_j["fe_read"] + a.energy_j["fe_write0"] + a.energy_j["fe_write1"]
    fe_e += a.counts["mr_transfer"] * 7 * L * 1e-13
    assert fe_e == pytest.approx(a.fe.total_energy_j)
    assert a.total_energy_j == pytest.approx(a.fe.total_energy_j + a.mr.total_energy_j)
    assert a.mr.ops["set"] * 1e-12 + a.mr.ops["reset"] * 1e-12 == pytest.approx(
        a.mr.energy_j["set"] + a.mr.energy_j["reset"])


# one violation per rule: (rule, message regex, edit of a legal waveform)
def _shift(ev, sig, value, dt):
    """Move the event where ``sig`` takes ``value`` by ``dt`` ns."""
    out = []
    for t, ch in ev:
        out.append((t + dt, ch) if ch.get(sig) is not None and not isinstance(ch[sig], np.ndarray)
                   and ch[sig] == value else (t, ch))
    return sorted(out, key=lambda e: e[0])


VIOLATIONS = [
    ("fe.2", r"at least 20 ns setup",
     lambda: _shift(waveform("fe_read", L=L, row=7), "fe_sl", 1, -15)),
    ("fe.2", r"at least 20 ns hold",
     lambda: _shift(waveform("fe_writeback", L=L, row=7), "fe_wl", 0, -15)),
    ("fe.4", r"at least 500 ns needed",
     lambda: _shift(waveform("fe_read", L=L, row=7), "fe_sae", 1, -700)),
    ("fe.5", r"at least 100 ns",
     lambda: waveform("fe_writeback", L=L, row=7, width_ns=90)),
    ("mr.4", r"pulse 50 ns wide; at least 100 ns",
     lambda: waveform("mr_reset", L=L, width_ns=50)),
    ("mr.4", r"pulse 40 ns wide; at least 50 ns",
     lambda: waveform("tl_pre", L=L, width_ns=40)),
    ("mr.4", r"pulse 500 ns wide; at least 1000 ns",
     lambda: waveform("mr_form", L=L, width_ns=500)),
    ("mr.4", r"ADC strobe 20 ns after the read started",
     lambda: _shift(waveform("mr_read", L=L), "mr_adc", 1, -80)),
    ("mr.3", r"no transfer-line precharge",
     lambda: waveform("xfer", L=L)),
    ("fe.1", r"fe_row_o changed while fe_wl_o is on",
     lambda: waveform("fe_writeback", L=L, row=7) + [(500.0, {"fe_row": 8})]),
    ("mr.2", r"mr_slot_o changed while mr_set_o is on",
     lambda: waveform("mr_set", L=L, slot=1) + [(300.0, {"mr_slot": 2})]),
]


@pytest.mark.parametrize("rule,match,make", VIOLATIONS,
                         ids=[f"{v[0]}-{i}" for i, v in enumerate(VIOLATIONS)])
def test_each_violation_reported(rule, match, make):
    a = _array()
    port = MacroPort(a)
    ev = sorted(make(), key=lambda e: e[0])
    _, errs = play(port, ev)
    assert [e.rule for e in errs] == [rule], [str(e) for e in errs]
    assert errs[0].t_ns >= 0 and errs[0].op
    import re
    assert re.search(match, str(errs[0])), str(errs[0])


@pytest.mark.parametrize("case", range(4))
def test_random_overlaps_detected(case):
    """Property: starting any pulse while another port pulse is on is reported (fe.3 / mr.1)
    and the offending pulse has no effect."""
    rng = np.random.default_rng(case)
    a = _array(case)
    port = MacroPort(a)
    first = rng.choice(["mr_reset", "mr_read", "tl_pre", "mr_set"])
    ev = waveform(str(first), L=L, width_ns=3000.0)
    t_on = next(t for t, ch in ev if any(k in CONTROLS and v for k, v in ch.items()))
    second = rng.choice([k for k in ("fe_bl", "fe_sl", "mr_reset", "mr_set", "xfer", "fe_wl")
                         if k != {"tl_pre": "tl_pre"}.get(str(first), str(first))])
    ev.append((t_on + 1000.0, {second: 1}))
    ev.append((t_on + 1500.0, {second: 0}))
    before = a.counts.copy()
    _, errs = play(port, sorted(ev, key=lambda e: e[0]))
    want = "mr.1" if second in ("mr_reset", "mr_set", "xfer", "fe_wl") else "fe.3"
    assert errs and errs[0].rule == want, [str(e) for e in errs]
    k = {"mr_reset": "mr_reset", "mr_set": "mr_set", "xfer": "mr_transfer"}.get(str(second))
    if k and k != {"mr_reset": "mr_reset", "mr_set": "mr_set"}.get(str(first)):
        assert a.counts[k] == before[k]


def test_port_simultaneous_edges_are_legal():
    """Address/mask changes and pulse edges in the same time step are taken together."""
    a = _array()
    port = MacroPort(a)
    ones = np.ones(L, dtype=bool)
    ev = [(0.0, {"fe_row": 3, "fe_wl": 1}), (20.0, {"fe_mask": ones, "fe_bl": 1}),
          (2020.0, {"fe_bl": 0, "fe_mask": ~ones}), (2040.0, {"fe_wl": 0, "fe_row": 4}),
          (2040.0, {"mr_mask": ones, "mr_reset": 1}), (3040.0, {"mr_reset": 0, "mr_slot": 5})]
    _, errs = play(port, ev)
    assert errs == []
    assert a.fe.bits[3].all() and a.counts["mr_reset"] == 1


def test_port_int_vectors():
    """The adapter passes masks and codes as ints (bit l = line l)."""
    a = _array()
    port = MacroPort(a)
    mask = (1 << L) - 1
    code = sum(5 << (3 * l) for l in range(L))
    ev = [(0.0, {"mr_slot": 2, "mr_mask": mask, "mr_pol": 0, "mr_code": code}),
          (40.0, {"mr_set": 1}), (1040.0, {"mr_set": 0}),
          (1100.0, {"mr_read": 1}), (1200.0, {"mr_adc": 1}), (1300.0, {"mr_read": 0, "mr_adc": 0})]
    outs, errs = play(port, ev)
    assert errs == []
    codes = [o["mr_rdata"] for o in outs if "mr_rdata" in o][0]
    assert abs(codes.mean() * 0.5 - 85.5) < 4


# --------------------------------------------------------------- backdoor, bad input


def test_backdoor_roundtrip_and_errors():
    a = _array()
    rng = np.random.default_rng(5)
    f = rng.random((G.slots, L)) < 0.5
    a.backdoor.poke_flags(f)
    assert (a.backdoor.flags() == f).all()
    assert a.backdoor.fecap_bits()[G.flag_row(0):G.flag_row(0) + 8].tolist() == f.tolist()
    before = dict(a.counts)
    a.backdoor.hidden_weights()
    a.backdoor.conductances()
    assert a.counts == before                          # the backdoor counts nothing
    with pytest.raises(ValueError, match=r"hidden weights must be in -511\.\.511; got -600\.\.-600"):
        a.backdoor.poke_hidden(np.full((G.slots, L), -600))
    with pytest.raises(ValueError, match=r"hidden weights must be integers of shape \(8, 128\)"):
        a.backdoor.poke_hidden(np.zeros((8, 127), dtype=np.int64))
    with pytest.raises(ValueError, match=r"conductances must have shape \(8, 2, 128\)"):
        a.backdoor.poke_conductance(np.zeros((16, 128)))
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator or an integer seed"):
        HybridArray(G)
    with pytest.raises(ValueError, match=r"geom must be a hymem.digital.engine.Geometry; got dict"):
        HybridArray({}, rng=1)
    with pytest.raises(ValueError, match=r"bits must be an integer in 1\.\.16; got 0"):
        AdcParams(bits=0)
    with pytest.raises(ValueError, match=r"t_setup_ns must be in \[0, 1e\+09\]; got -1"):
        PortTiming(t_setup_ns=-1)
    with pytest.raises(ValueError, match=r"op must be one of fe_read"):
        waveform("nope")
    with pytest.raises(ValueError, match=r"unknown port signal 'fe_xx'"):
        MacroPort(a).apply(0.0, {"fe_xx": 1})


def test_small_geometry():
    g = engine.Geometry(lines=8, slots=2, fecap_rows=32)
    a = HybridArray(g, rng=3, woken=True)
    a.backdoor.poke_hidden(np.array([[5, -511, 0, 300, 1, 2, 3, -64]] * 2))
    for r in range(2 * g.rows_per_synapse):
        a.fe_write_row(r, a.fe_read_row(r))
    assert a.backdoor.hidden_weights()[1].tolist() == [5, -511, 0, 300, 1, 2, 3, -64]
    with pytest.raises(MacroProtocolError, match=r"slot out of range 0\.\.1"):
        a.mr_reset(2)


def test_bare_fecap_rows():
    """layout=False: fewer FeCAP rows than one synapse needs (hymem_fecap_seq's 2-row bench);
    row operations and the protocol work, what needs the synapse layout refuses clearly."""
    with pytest.raises(ValueError, match=r"fecap_rows must be at least slots \* \(rows_per_synapse "
                                         r"\+ 1\) = 15; got 2"):
        engine.Geometry(lines=1, slots=1, fecap_rows=2)
    with pytest.raises(ValueError,
                       match=r"fecap_rows must be at least 1 \(bare rows, layout=False\); got 0"):
        engine.Geometry(lines=1, slots=1, fecap_rows=0, layout=False)
    with pytest.raises(ValueError, match=r"layout must be True or False; got 1"):
        engine.Geometry(layout=1)
    g = engine.Geometry(lines=3, slots=1, fecap_rows=2, layout=False)
    a = HybridArray(g, rng=4, woken=True)
    a.fe_write_row(1, [True, False, True])
    assert a.fe_read_row(1).tolist() == [True, False, True]
    assert a.backdoor.pending_rows() == [1]
    with pytest.raises(MacroProtocolError, match=r"row address out of range 0\.\.1"):
        a.fe_write_row(2, [True] * 3)
    with pytest.raises(MacroProtocolError, match=r"not written back|fe\.6"):
        a.fe_read_row(1)
    a.backdoor.clear_pending()
    a.tl_precharge()
    with pytest.raises(MacroProtocolError, match=r"no MSB rows to transfer: the array has 2 bare "
                                                 r"FeCAP rows \(Geometry layout=False\)"):
        a.mr_transfer(0)
    a.backdoor.clear_pending()
    what = r": the FeCAP rows hold no synapse layout \(layout=False: 2 bare rows\)"
    with pytest.raises(ValueError, match="the backdoor's hidden weights" + what):
        a.backdoor.hidden_weights()
    with pytest.raises(ValueError, match="a slot's flag row" + what):
        a.backdoor.flags()
    with pytest.raises(ValueError, match="EngineState" + what):
        engine.EngineState(1, 1, g)


# ------------------------------------------------------------ PhysicalProgrammer


def test_physical_programmer_with_engine():
    n = 3
    prog = PhysicalProgrammer(n, G, rng=11)
    st = engine.EngineState(256, 4, G, n=n, seeds=5)
    rng = np.random.default_rng(2)
    st.h[:] = rng.integers(-511, 512, size=st.h.shape)
    st.transfer(engine.TransferConfig(), prog)
    cs, cm = st.codes(False)
    g = prog.conductances_us().reshape(n, G.slots, 2, L)
    tgt = np.where(cs.astype(bool), g[:, :, 1], g[:, :, 0])
    oth = np.where(cs.astype(bool), g[:, :, 0], g[:, :, 1])
    lv = np.asarray(prog.mr.params.level_mean_us)
    assert abs((tgt - lv[cm]).mean()) < 1.5
    assert (oth < 25).all()          # RESET (log-normal, mean 1.4 uS)
    assert prog.counts["transfer_set"] == int(st.counters.mr_sets.sum())
    assert prog.counts["reset"] == int(st.counters.mr_resets.sum())
    assert prog.mr.ops["set"] == prog.counts["transfer_set"]
    # verify with retries: fewer failures than without verify
    st2 = engine.EngineState(256, 4, G, n=n, seeds=5)
    st2.h[:] = st.h
    prog2 = PhysicalProgrammer(n, G, rng=11)
    st2.transfer(engine.TransferConfig(verify_max=4), prog2)
    assert st2.counters.vfy_reads.sum() > 0
    lo, hi = prog2.vfy_lo, prog2.vfy_hi
    codes = prog2.read_codes(0, np.ones((n, L), dtype=bool))
    assert codes[0].shape == (n, L)
    no_vfy_fail = ~prog.verify(0, np.ones((n, L), dtype=bool), cs[:, 0].astype(bool), cm[:, 0])
    vfy_fail = ~prog2.verify(0, np.ones((n, L), dtype=bool), cs[:, 0].astype(bool), cm[:, 0])
    assert vfy_fail.sum() < no_vfy_fail.sum()
    assert (lo[1:] > hi[:-1]).all()
    r = prog2.read_conductances_us()
    assert r.shape == (n, G.slots, 2, L)


def test_physical_programmer_fatigued_msb_gives_lower_levels():
    n = 1
    p = PhysicalProgrammer(n, G, rng=3)
    q = PhysicalProgrammer(n, G, rng=3)
    q.msb.cycles[:] = 3e7                                # fatigued MSB FeCAPs
    cm = np.full((n, L), 7)
    mask = np.ones((n, L), dtype=bool)
    pol = np.zeros((n, L), dtype=bool)
    for pr in (p, q):
        pr.reset(0, pol, mask)
        pr.transfer_set(0, pol, mask, cm)
    assert q.conductances_us()[0, 0].mean() < p.conductances_us()[0, 0].mean() - 20


def test_physical_programmer_bad_input():
    with pytest.raises(ValueError, match=r"n must be an integer >= 1; got 0"):
        PhysicalProgrammer(0, G, rng=1)
    p = PhysicalProgrammer(2, G, rng=1)
    with pytest.raises(ValueError, match=r"mask and pol must have shape \(2, 128\); got \(128,\)"):
        p.reset(0, np.zeros((2, L), bool), np.zeros(L, bool))
    with pytest.raises(ValueError, match=r"slot must be in 0\.\.7; got 9"):
        p.reset(9, np.zeros((2, L), bool), np.zeros((2, L), bool))
    with pytest.raises(ValueError, match=r"verify_windows must be two arrays of 8 ADC codes"):
        PhysicalProgrammer(1, G, rng=1, verify_windows=([0, 1], [2, 3]))


def test_default_verify_windows():
    lo, hi = default_verify_windows()
    m = np.asarray(dv.MemristorParams().level_mean_us) / 0.5
    assert ((lo <= m) & (m <= hi)).all()
    assert lo[0] == 0 and hi[-1] == 255


# ------------------------------------------------------------ keyed device noise


def _transfer_through_array(a: HybridArray, slot: int, h_slot, pol, mask) -> None:
    """One published transfer of a slot through the array's row operations: RESET both
    devices, precharge, DAC-free transfer, write the MSB rows back."""
    a.mr_reset(slot, np.zeros(L, dtype=bool), mask)
    a.mr_reset(slot, np.ones(L, dtype=bool), mask)
    a.tl_precharge()
    a.mr_transfer(slot, pol, mask)
    rows = engine.encode_slot(np.asarray(h_slot) < 0, np.abs(h_slot), G)
    for k in range(1, 8):
        a.fe_write_row(G.data_row(slot, k), rows[k])


def test_keyed_array_and_programmer_draw_the_same_devices():
    """Same devices (keys), same operations, different order and batching: the macro model
    of one array, slot by slot, and the reference's programmer of two arrays at once give
    identical conductances and ADC codes (docs/models.md, keyed devices)."""
    keys = [0xDEADBEEF12345678, 7]
    rng = np.random.default_rng(5)
    h = rng.integers(-511, 512, size=(2, G.slots, L))
    arrays = [HybridArray(G, rng=100 + i, key=k, woken=True) for i, k in enumerate(keys)]
    prog = PhysicalProgrammer(2, G, rng=99, keys=np.array(keys, dtype=np.uint64))
    cs, cm = [], []
    for i, a in enumerate(arrays):
        a.backdoor.poke_hidden(h[i])
        s_, m_ = a.backdoor.codes()
        cs.append(s_), cm.append(m_)
    cs, cm = np.stack(cs).astype(bool), np.stack(cm)
    mask = cm != 0
    for slot in reversed(range(G.slots)):              # the array: slots in reverse order
        for i, a in enumerate(arrays):
            _transfer_through_array(a, slot, h[i, slot], cs[i, slot], mask[i, slot])
    for slot in range(G.slots):                        # the programmer: both arrays at once
        m = mask[:, slot]
        prog.reset(slot, np.zeros((2, L), dtype=bool), m)
        prog.reset(slot, np.ones((2, L), dtype=bool), m)
        prog.transfer_set(slot, cs[:, slot], m, cm[:, slot])
    g_arr = np.stack([a.backdoor.conductances() for a in arrays])      # (2, S, 2, L)
    assert np.array_equal(g_arr.reshape(2, 2 * G.slots, L), prog.conductances_us())
    codes_arr = np.stack([a.read_conductances_us() for a in arrays])
    assert np.array_equal(codes_arr, prog.read_conductances_us())
    # a second read draws new noise, the same on both sides
    assert np.array_equal(np.stack([a.read_conductances_us() for a in arrays]),
                          prog.read_conductances_us())
    # unkeyed, the same operations give other values (the generators' order)
    plain = PhysicalProgrammer(2, G, rng=99)
    for slot in range(G.slots):
        m = mask[:, slot]
        plain.reset(slot, np.zeros((2, L), dtype=bool), m)
        plain.reset(slot, np.ones((2, L), dtype=bool), m)
        plain.transfer_set(slot, cs[:, slot], m, cm[:, slot])
    assert not np.array_equal(plain.conductances_us(), prog.conductances_us())


def test_keys_bad_input():
    with pytest.raises(ValueError, match=r"key must be an integer in \[0, 2\^64\); got -1"):
        HybridArray(G, rng=1, key=-1)
    with pytest.raises(ValueError, match=r"keys must be 2 integers \(one per array\)"):
        PhysicalProgrammer(2, G, rng=1, keys=[1, 2, 3])
    with pytest.raises(ValueError, match=r"keys must be an integer array of the bank's shape"):
        dv.MemristorBank((2, 3), None, 1, keys=np.zeros((3, 2), dtype=np.uint64))


# -------------------------------------------------------------------- FeCAP wake-up


def test_pristine_array_reads_ones_as_zeros_until_woken():
    """HybridArray starts pristine (woken=False): every window is wakeup_initial_fraction of
    its woken value, below the sense reference, so a row of ones reads as zeros; write-1 /
    write-0 cycles (the controller's wake-up) open it as FecapParams.window_factor says, and
    after the published 1,000 cycles the row reads back. Bounds: pristine, a cell reads '1'
    when 0.05 x window0 + noise > 60 mV + offset, i.e. N(18, 3) + N(0, 5) - N(0, 8) > 60 mV
    (window, noise, offset sigmas in mV; the offset's clip only helps): z > 4.2, 1.1e-5 per
    cell, so more than 4 of 128 (mean 1.4e-3) has probability below 1e-13. Woken, every
    read has 6.8 sense-noise sigmas of margin or more (FecapParams): 5e-12 per cell, under
    1e-9 for the 128 cells."""
    a = HybridArray(G, rng=5)
    p = a.fe.params
    row = 3
    assert (a.fe.cycles == 0).all()
    assert np.allclose(a.fe.row_window(row), a.fe.window0_v[row] * p.wakeup_initial_fraction,
                       rtol=1e-9)
    a.fe_write_row(row, np.ones(L, bool), zeros=True)
    got = a.fe_read_row(row)
    assert got.sum() <= 4, f"a pristine row of ones read {int(got.sum())} ones"
    a.fe_write_row(row, np.zeros(L, bool))          # completes the write-back
    for _ in range(1000):
        a.fe_write_row(row, np.ones(L, bool), zeros=True)
        a.fe_write_row(row, np.zeros(L, bool), zeros=True)
    assert (a.fe.cycles[row] >= 1000).all() and (a.fe.cycles[row + 1] == 0).all()
    f = p.window_factor(a.fe.cycles[row])
    assert np.allclose(a.fe.row_window(row), a.fe.window0_v[row] * f, rtol=1e-9)
    assert (f > 0.98).all()
    a.fe_write_row(row, np.ones(L, bool), zeros=True)
    assert a.fe_read_row(row).all(), "a woken row of ones reads back"
    a.fe_write_row(row, np.ones(L, bool))
    with pytest.raises(ValueError, match="woken must be True or False"):
        dv.FecapBank((2, 4), None, 1, woken=1)
