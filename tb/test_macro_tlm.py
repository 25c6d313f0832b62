"""The transaction-level macro model's pure-Python parts (no simulator).

* the generated record layout (tb/hdl/hymem_macro_tlm_layout.svh) is up to date;
* record decoding reads back what was encoded;
* HybridArray.fe_batch (the vectorized path) leaves an array in exactly the state the
  pulse-by-pulse path (fe_begin / fe_sense / fe_end) does, returns the same read data, and
  stops at the first read of a row pending write-back;
* keyed reads are predictable: FecapBank.predict_rows gives what the next read returns.
The simulator-level equivalence (the HDL monitor against the pin-level model on the same
controller) is tb/hymem_macro_tlm.
"""

from __future__ import annotations

import numpy as np
import pytest

from hymem.digital import engine
from hymem.analog import devices as dv
from hymem.analog.array import HybridArray
from hymem.analog.port import MacroProtocolError
from hymem.sim import macro_tlm, simrun

L = 128


def test_layout_header_is_up_to_date():
    path = simrun.repo_root() / "tb" / "hdl" / "hymem_macro_tlm_layout.svh"
    assert path.read_text() == macro_tlm.layout_svh(), (
        f"{path} is stale: regenerate it (see its first lines)")


def test_fields_of_a_byte_or_more_are_byte_aligned():
    for fields in (macro_tlm.FE_FIELDS, macro_tlm.MR_FIELDS):
        off, w = macro_tlm._offsets(fields, L, 3)
        assert w % 8 == 0
        for name, (o, n) in off.items():
            if n >= 8:
                assert o % 8 == 0, f"{name} at bit {o}"


def _encode(fields, values: dict, lines: int = L) -> str:
    off, w = macro_tlm._offsets(fields, lines, 3)
    bits = np.zeros(w, dtype=bool)
    for name, v in values.items():
        o, n = off[name]
        if isinstance(v, np.ndarray):
            bits[o:o + n] = v
        else:
            bits[o:o + n] = (int(v) >> np.arange(n)) & 1
    return "".join("1" if b else "0" for b in bits[::-1])


def test_decode_reads_back_records():
    rng = np.random.default_rng(3)
    recs = []
    for i in range(5):
        recs.append(dict(seq=1000 + i, err=i % 3, terr=123456 * i, row=i * 7, np=2, bl0=0,
                         sns0=1, srv0=1, bl1=1, sns1=0, srv1=0, twl=2**40 + i, ts0=20_000,
                         ta0=1_000_000 + i, te0=2_000_000, ts1=3_000_000, ta1=0,
                         te1=4_000_000, tfall=4_100_000, mask0=rng.random(L) < 0.5,
                         mask1=rng.random(L) < 0.5, rdata=rng.random(L) < 0.5))
    off, w = macro_tlm._offsets(macro_tlm.FE_FIELDS, L, 3)
    text = "".join(_encode(macro_tlm.FE_FIELDS, r) for r in reversed(recs))   # record 0 lowest
    bits = macro_tlm._str_bits(text)                   # as the GPI's string gives them
    got = macro_tlm._decode(macro_tlm._bits(bits, 5, w, 3, 4), off)            # 3, 4, 0, 1
    for j, i in enumerate((3, 4, 0, 1)):
        for k, v in recs[i].items():
            if isinstance(v, np.ndarray):
                assert np.array_equal(got[k][j], v), k
            else:
                assert got[k][j] == v, (k, got[k][j], v)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("fields", ["FE", "MR"])
def test_decode_matches_the_field_definition(fields, compiled, monkeypatch):
    """Every field of random records of both layouts decodes to the value of its bits
    (little-endian), whatever path :func:`macro_tlm._decode` takes for it (compiled, or
    NumPy without numba)."""
    if not compiled:
        monkeypatch.setattr(macro_tlm, "_fields_compiled", None)
    elif macro_tlm._fields_compiled is None:
        pytest.skip("numba disabled")
    flds = getattr(macro_tlm, f"{fields}_FIELDS")
    off, w = macro_tlm._offsets(flds, L, 3)
    bits = np.random.default_rng(11).random((7, w)) < 0.5
    got = macro_tlm._decode(bits, off)
    assert set(got) == set(off)
    for name, (o, fw) in off.items():
        if name in macro_tlm._WIDE:
            assert np.array_equal(got[name], bits[:, o:o + fw]), name
        else:
            want = [sum(int(b) << i for i, b in enumerate(row[o:o + fw])) for row in bits]
            # (int64: a 64-bit field with its top bit set wraps; times never reach 2**63 ps)
            assert [v & ((1 << fw) - 1) for v in got[name].tolist()] == want, name


def _plan_reference(fe, lo, hi, nominal_ns, tm):
    """The nominal/legal check and the pulses in port order of FeCAP records lo..hi-1,
    written as NumPy expressions (as macro_tlm had them before its compiled plan)."""
    R = len(nominal_ns)
    ns = {k: fe[k][lo:hi] / 1000.0 for k in ("ts0", "ta0", "te0", "ts1", "ta1", "te1", "tfall")}
    npl, row = fe["np"][lo:hi], fe["row"][lo:hi]
    nominal = nominal_ns[np.minimum(row, R - 1)]
    ok = (fe["err"][lo:hi] == 0) & (npl >= 1) & (row < R)
    ok &= ns["tfall"] - np.where(npl == 2, ns["te1"], ns["te0"]) >= tm.t_hold_ns
    ops = []
    for p in (0, 1):
        on = npl > p
        s, e = ns[f"ts{p}"], ns[f"te{p}"]
        w = e - s
        good = (s >= tm.t_setup_ns) & (w >= tm.fe_min_ns) & (w >= nominal)
        sns = fe[f"sns{p}"][lo:hi].astype(bool)
        el = ns[f"ta{p}"] - s
        good &= ~sns | ((el >= tm.t_sense_ns) & (el >= nominal))
        ok &= ~on | good
        bl = fe[f"bl{p}"][lo:hi].astype(bool)
        kind = np.where(bl, HybridArray.FE_WRITE1, np.where(sns, HybridArray.FE_READ,
                                                            HybridArray.FE_WRITE0))
        tw = fe["twl"][lo:hi] / 1000.0
        for i in np.flatnonzero(on):
            ops.append((2 * i + p, row[i], kind[i], fe[f"mask{p}"][lo + i], tw[i] + ns[f"ta{p}"][i],
                        tw[i] + ns[f"te{p}"][i], sns[i] & bool(fe[f"srv{p}"][lo + i]), lo + i, p))
    return ok, sorted(ops, key=lambda o: o[0])


@pytest.mark.parametrize("compiled", [True, False])
def test_fe_plan_matches_the_rules(compiled):
    """macro_tlm's plan of a FeCAP run (compiled, or the same source as Python) gives the
    NumPy statement of the nominal/legal check and the pulses in port order, on random
    records whose times sit at the limits."""
    kernel = macro_tlm._fe_plan_compiled if compiled else macro_tlm._fe_plan_kernel
    if compiled and kernel is macro_tlm._fe_plan_kernel:
        pytest.skip("numba disabled")
    from hymem.analog.port import PortTiming
    tm = PortTiming()
    rng = np.random.default_rng(5)
    n, R = 1000, 128
    nominal = rng.uniform(400.0, 900.0, R)
    pick = lambda *v: rng.choice(np.array(v, dtype=np.int64), n)   # noqa: E731
    fe = {"row": pick(0, 5, 127, 128, 200), "np": pick(0, 1, 2, 2, 2, 3),
          "err": pick(0, 0, 0, 0, 3), "twl": rng.integers(0, 2 ** 40, n)}
    for p in (0, 1):
        fe[f"bl{p}"], fe[f"sns{p}"], fe[f"srv{p}"] = pick(0, 1), pick(0, 1), pick(0, 1)
        ts = pick(19_999, 20_000, 20_001, 3_000_000) if p == 0 else pick(2_000_000, 4_000_000)
        fe[f"ts{p}"] = ts
        fe[f"ta{p}"] = ts + pick(499_999, 500_000, 899_999, 900_000, 1_000_000)
        fe[f"te{p}"] = ts + pick(99_999, 100_000, 899_999, 900_000, 2_000_000)
        fe[f"mask{p}"] = rng.random((n, L)) < 0.5
    fe["tfall"] = np.maximum(fe["te0"], fe["te1"]) + pick(19_999, 20_000, 20_001)
    lo, hi = 7, n - 5
    want_ok, want_ops = _plan_reference(fe, lo, hi, nominal, tm)
    m = hi - lo
    ok, first = np.empty(m, dtype=bool), np.empty(m + 1, dtype=np.int64)
    orow, okind, orec, opulse = (np.empty(2 * m, dtype=np.int64) for _ in range(4))
    otsn, oten, osrv = np.empty(2 * m), np.empty(2 * m), np.empty(2 * m, dtype=bool)
    omask = np.empty((2 * m, L), dtype=bool)
    k = kernel(lo, hi, *(fe[f] for f in ("row", "np", "err", "bl0", "sns0", "srv0", "bl1",
                                         "sns1", "srv1", "twl", "ts0", "ta0", "te0", "ts1",
                                         "ta1", "te1", "tfall", "mask0", "mask1")),
               nominal, tm.t_setup_ns, tm.t_hold_ns, tm.fe_min_ns, tm.t_sense_ns, ok, first,
               orow, okind, omask, otsn, oten, osrv, orec, opulse)
    assert want_ok.sum() >= 30 and (~want_ok).sum() >= 30       # both outcomes
    assert np.array_equal(ok, want_ok)
    assert k == len(want_ops) == first[m]
    for j, (_, r, kd, msk, tsn, ten, srv, rec, p) in enumerate(want_ops):
        assert (orow[j], okind[j], otsn[j], oten[j], osrv[j], orec[j], opulse[j]) == \
            (r, kd, tsn, ten, srv, rec, p), j
        assert np.array_equal(omask[j], msk), j
        assert first[rec - lo] <= j < first[rec - lo + 1]


def _pulses(rng, n, rows, allow_bad: bool):
    """Random nominal FeCAP pulses on ``rows``: reads of rows not pending (or, with
    ``allow_bad``, sometimes of pending ones), unsensed writes of '0', bit-line writes."""
    ops, pend, t = [], set(), 0.0
    for _ in range(n):
        r = int(rng.integers(0, rows))
        k = HybridArray.FE_WRITE1 if r in pend else int(rng.integers(0, 3))
        if allow_bad and rng.random() < 0.03:
            k = HybridArray.FE_READ
        if k == HybridArray.FE_READ:
            pend.add(r)
        elif k == HybridArray.FE_WRITE1:
            pend.discard(r)
        m = rng.random(L) < 0.7 if rng.random() < 0.5 else np.ones(L, dtype=bool)
        ops.append((r, k, m, t, t + 1000.0, t + 2000.0))
        t += 3000.0
    return ops


@pytest.mark.parametrize("case", range(8))
def test_fe_batch_equals_pulse_by_pulse(case):
    seed = case
    rng = np.random.default_rng(seed)
    bits = rng.random((128, L)) < 0.5
    one, many = (HybridArray(rng=seed, key=seed * 7 + 1, woken=True) for _ in range(2))
    for a in (one, many):
        a.fe.bits[:] = bits
    ops = _pulses(rng, 250, 12 if seed % 2 else 128, allow_bad=seed >= 4)
    data1, stop = [], len(ops)
    for i, (r, k, m, t0, ts, te) in enumerate(ops):
        one.fe_begin("bl" if k == HybridArray.FE_WRITE1 else "sl", r, m, t0)
        d = None
        if k == HybridArray.FE_READ:
            try:
                d = one.fe_sense(ts)
            except MacroProtocolError as e:
                assert e.rule == "fe.6"
                one.active = None
                stop = i
                break
        one.fe_end(te)
        data1.append(d)
    row, kind = np.array([o[0] for o in ops]), np.array([o[1] for o in ops])
    mask = np.array([o[2] for o in ops])
    data, done = many.fe_batch(row, kind, mask, np.array([o[4] for o in ops]),
                               np.array([o[5] for o in ops]))
    assert done == stop
    for name in ("bits", "cycles", "sense_n"):
        assert np.array_equal(getattr(one.fe, name), getattr(many.fe, name)), name
    assert one.pending == many.pending
    assert one.counts == many.counts and one.fe.ops == many.fe.ops
    for k in one.energy_j:
        assert one.energy_j[k] == pytest.approx(many.energy_j[k], rel=1e-12)
    for i, d in enumerate(data1):
        if d is not None:
            assert np.array_equal(d, data[i]), i
    assert one.now_ns == many.now_ns or stop < len(ops)


def _near_bank(seed):
    """A woken keyed array whose cells sit near their thresholds (the keyed noise decides many
    reads) at cycle counts from woken to fatigued."""
    a = HybridArray(rng=seed, key=seed * 3 + 2, woken=True)
    fe = a.fe
    rng = np.random.default_rng(seed)
    fe.bits[:] = rng.random(fe.shape) < 0.5
    fe.cycles[:] += 0.5 * rng.integers(0, 2 * 10 ** 7, fe.shape)
    fe._thr = fe.params.sense_ref_v + rng.normal(0, 0.08, L)
    return a


@pytest.mark.parametrize("case", range(6))
def test_compiled_rows_equal_numpy(case, monkeypatch):
    """The compiled FeCAP row kernels (fe_batch, predict_rows) give NumPy's results bit for bit:
    the same data, bits, cycles, read counts, pending rows, counters, energy and time."""
    from hymem.jit import HAVE_NUMBA
    if not HAVE_NUMBA:
        pytest.skip("numba disabled")
    rng = np.random.default_rng(100 + case)
    arrays = [_near_bank(case) for _ in range(2)]
    kern, ref = arrays
    assert kern.fe._compiled_ok()
    calls = []
    kernel = dv._fe_ops_compiled
    monkeypatch.setattr(dv, "_fe_ops_compiled", lambda *a: calls.append(kernel(*a)) or calls[-1])
    ops = _pulses(rng, 300, 12 if case % 2 else 128, allow_bad=case >= 3)
    row, kind = np.array([o[0] for o in ops]), np.array([o[1] for o in ops])
    mask = np.array([o[2] for o in ops])
    ts, te = np.array([o[4] for o in ops]), np.array([o[5] for o in ops])
    out = []
    for a in arrays:
        if a is ref:
            monkeypatch.setattr(dv, "_fe_ops_compiled", None)
            assert not a.fe._compiled_ok()
        pred = a.fe.predict_rows(np.arange(0, 128, 1 + case))
        got, done = [], 0
        while done < len(row):              # restart after each stop (rule fe.6): write back
            d, k = a.fe_batch(row[done:], kind[done:], mask[done:], ts[done:], te[done:])
            got.append(d[:k])
            done += k
            if done < len(row):
                r = int(row[done])
                a.fe_batch(np.array([r]), np.array([HybridArray.FE_WRITE1]), np.ones((1, L), bool),
                           ts[done:done + 1], te[done:done + 1])
        out.append((pred, np.concatenate(got)))
    assert calls and min(calls) >= 0          # the kernel ran every batch of the first array
    assert np.array_equal(out[0][0], out[1][0])
    assert np.array_equal(out[0][1], out[1][1])
    for name in ("bits", "cycles", "sense_n"):
        assert np.array_equal(getattr(kern.fe, name), getattr(ref.fe, name)), name
    assert kern.pending == ref.pending and kern.now_ns == ref.now_ns
    assert kern.counts == ref.counts and kern.energy_j == ref.energy_j
    assert kern.fe.ops == ref.fe.ops and kern.fe.energy_j == ref.fe.energy_j
    near = np.abs(np.where(ref.fe.bits, ref.fe._window(None), 0.0) - ref.fe._thr) < \
        ref.fe.KEYED_Z_MAX * ref.fe.params.sense_noise_v
    assert near.mean() > 0.1                # the keyed noise decided many of the reads


def test_compiled_rows_only_past_the_wake_up():
    """The compiled kernels run only where the wake-up term is exactly 1 (no exp needed):
    at and beyond FecapParams.woken_cycles it is 1.0 in NumPy, some cycles below it not."""
    p = dv.FecapParams()
    c0 = p.woken_cycles
    k_wake, rate, _ = p._window_prm()
    c = c0 * np.array([1.0, 1.0 + 1e-9, 1.5, 10.0])
    assert np.all(1.0 - k_wake * np.exp(-c * rate) == 1.0)
    assert 1.0 - k_wake * np.exp(-(c0 - 3.0 / rate) * rate) < 1.0
    assert p.initial_cycles >= c0                 # woken banks start past it
    from hymem.jit import HAVE_NUMBA
    if not HAVE_NUMBA:
        pytest.skip("numba disabled: no compiled kernels")
    one = np.ones((1, L), dtype=bool)

    def compiled(a, row):
        b = a.fe.bits.copy()
        res = a.fe.ops_compiled(np.array([row]), np.array([HybridArray.FE_WRITE1]), one,
                                np.zeros(128, dtype=bool))
        assert res is not None or np.array_equal(a.fe.bits, b)      # nothing changed
        return res is not None

    pristine = HybridArray(rng=1, key=5)
    assert pristine.fe._compiled_ok() and not compiled(pristine, 0)   # NumPy until woken
    woken = HybridArray(rng=1, key=5, woken=True)
    woken.fe.cycles[3, 7] = c0 * 0.9
    assert compiled(woken, 2) and not compiled(woken, 3)
    assert woken.fe.predict_rows([3]) is not None                        # by NumPy


def test_predict_rows_is_the_next_read():
    a = HybridArray(rng=1, key=99, woken=True)
    rng = np.random.default_rng(0)
    a.fe.bits[:] = rng.random((128, L)) < 0.5
    rows = np.arange(0, 128, 3)
    pred = a.fe.predict_rows(rows)
    n0 = a.fe.sense_n.copy()
    assert np.array_equal(a.fe.predict_rows(rows), pred)        # changes nothing
    assert np.array_equal(a.fe.sense_n, n0)
    t = 0.0
    for i, r in enumerate(rows.tolist()):
        got = a.fe_read_row(r, t_ns=t)
        assert np.array_equal(got, pred[i]), r
        a.fe_write_row(r, got, t_ns=t + 2500)
        t += 10_000
    assert np.array_equal(a.fe.bits[rows], pred)               # every woken cell read right


def test_predict_needs_keys_and_no_faults():
    assert HybridArray(rng=1, woken=True).fe.predict_rows([0]) is None          # unkeyed
    a = HybridArray(rng=1, key=5, woken=True)
    a.inject_weak_fecap(3, [0, 1])
    assert a.fe.predict_rows([0]) is None
    with pytest.raises(ValueError, match="nominal"):
        a.fe_batch(np.array([0]), np.array([0]), np.ones((1, L), bool), np.zeros(1), np.ones(1))


def test_keyed_sense_skips_noise_only_where_it_cannot_matter():
    """A keyed read computes the noise only near the threshold; the result is the one the
    noise everywhere would give (checked on a bank whose thresholds sit near the signal)."""
    g = engine.Geometry()
    a = HybridArray(g, rng=4, key=77, woken=True)
    fe = a.fe
    rng = np.random.default_rng(1)
    fe.bits[:] = rng.random(fe.shape) < 0.5
    fe._thr = fe.params.sense_ref_v + rng.normal(0, 0.03, fe.shape[-1])   # many near ones
    rows = np.arange(128)
    got = fe.predict_rows(rows)
    from hymem.analog import devices as dv
    z = dv.keyed_normal(fe.keys[rows], dv._K_SENSE, fe.sense_n[rows])
    sig = np.where(fe.bits[rows], fe._window((rows,)), 0.0) + fe.params.sense_noise_v * z
    assert np.array_equal(got, sig > fe._thr)
