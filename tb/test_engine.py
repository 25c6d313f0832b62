"""hymem.digital.engine: the controller's digital state, checked against a literal reading of
docs/controller.md (a slow per-synapse loop written independently of the vectorized code)."""

from __future__ import annotations

import numpy as np
import pytest

from hymem import digital
from hymem.digital import engine

G = engine.DEFAULT_GEOMETRY


def literal_sample(h, flags, lanes, x, e, n_in, n_out, cfg, geom=G):
    """docs/controller.md 'Update engine', step by step, one synapse at a time."""
    h = h.copy(); flags = flags.copy(); lanes = lanes.copy()
    reads = writes = skipped = 0
    for s in range(geom.slots):
        incs = []
        for l in range(geom.lines):
            lanes[l] = digital.xorshift(int(lanes[l]), 32)
            rnd = int(lanes[l])
            a = s * geom.lines + l
            if a >= n_in * n_out:
                incs.append(0)
                continue
            i, j = divmod(a, n_in)
            mask = (rnd & 0xFFFF) < cfg.p16
            prod = int(x[j]) * int(e[i]) * cfg.lr_mult
            sh = cfg.lr_shift
            if cfg.stoch_round:
                r = ((rnd >> 16) << sh) >> 16
            else:
                r = (1 << (sh - 1)) if sh > 0 else 0
            inc = max(-512, min(511, (prod + r) >> sh))
            incs.append(inc if mask else 0)
        if cfg.skip_zero and not any(incs):
            skipped += 1
            continue
        reads += geom.rows_per_synapse
        writes += geom.rows_per_synapse
        any_changed = False
        for l in range(geom.lines):
            v = int(h[s, l])
            so, mo, _, ch = digital.sm_sat_add(int(v < 0), abs(v), incs[l], cfg.code_round)
            h[s, l] = -mo if so else mo
            if ch:
                flags[s, l] = True
                any_changed = True
        if any_changed:
            reads += 1
            writes += 1
    return h, flags, lanes, reads, writes, skipped


@pytest.mark.parametrize("n_in,n_out", [(64, 16), (100, 7), (1, 1), (1024, 1)])
@pytest.mark.parametrize("stoch", [True, False])
def test_apply_sample_matches_literal_reading(n_in, n_out, stoch):
    rng = np.random.default_rng(n_in * 31 + n_out + stoch)
    st = engine.EngineState(n_in, n_out, seeds=12345)
    st.h[0] = rng.integers(-511, 512, size=st.h[0].shape)
    ref_h, ref_f, ref_lanes = st.h[0].copy(), st.flags[0].copy(), st.prng[0].copy()
    for t in range(3):
        cfg = engine.UpdateConfig(lr_mult=int(rng.integers(0, 256)), lr_shift=int(rng.integers(0, 24)),
                                  p16=int(rng.choice([0, 13107, 40000, 65536])), stoch_round=stoch,
                                  code_round=bool(t % 2), skip_zero=bool(rng.integers(2)))
        x = rng.integers(-128, 128, size=n_in)
        e = rng.integers(-128, 128, size=n_out)
        before = st.counters.as_dict(0)
        st.apply_sample(x, e, cfg)
        ref_h, ref_f, ref_lanes, r, w, sk = literal_sample(ref_h, ref_f, ref_lanes, x, e, n_in, n_out, cfg)
        after = st.counters.as_dict(0)
        np.testing.assert_array_equal(st.h[0], ref_h)
        np.testing.assert_array_equal(st.flags[0], ref_f)
        np.testing.assert_array_equal(st.prng[0], ref_lanes)
        assert after["fe_reads"] - before["fe_reads"] == r
        assert after["fe_writes"] - before["fe_writes"] == w
        assert after["slots_skipped"] - before["slots_skipped"] == sk
        assert after["samples"] - before["samples"] == 1


def test_many_arrays_match_one_at_a_time():
    rng = np.random.default_rng(7)
    n_in, n_out = np.array([112, 112, 50]), np.array([9, 9, 2])
    many = engine.EngineState(n_in, n_out, seeds=[1, 2, 3])
    singles = [engine.EngineState(int(n_in[k]), int(n_out[k]), seeds=k + 1) for k in range(3)]
    cfg = engine.UpdateConfig(lr_mult=200, lr_shift=9, p16=30000)
    for _ in range(4):
        x = rng.integers(-128, 128, size=(3, 112))
        e = rng.integers(-128, 128, size=(3, 9))
        many.apply_sample(x, e, cfg)
        for k, s in enumerate(singles):
            s.apply_sample(x[k, : n_in[k]], e[k, : n_out[k]], cfg)
    for k, s in enumerate(singles):
        np.testing.assert_array_equal(many.h[k], s.h[0])
        assert many.counters.as_dict(k) == s.counters.as_dict(0)


def test_p_zero_changes_nothing_and_p_one_masks_nothing():
    st = engine.EngineState(64, 16)
    x = np.full(64, 100); e = np.full(16, 100)
    st.apply_sample(x, e, engine.UpdateConfig(p16=0, lr_mult=255, lr_shift=0))
    assert not st.h.any() and st.counters.as_dict()["slots_skipped"] == 8
    assert st.counters.as_dict()["fe_reads"] == 0
    st.apply_sample(x, e, engine.UpdateConfig(p16=65536, lr_mult=1, lr_shift=0))
    assert (st.h == 511).all()  # 100*100 saturates the increment at 511, then the weight
    assert st.flags.all()


def test_stochastic_rounding_is_unbiased():
    st = engine.EngineState(1, 1, seeds=99)
    cfg = engine.UpdateConfig(lr_mult=3, lr_shift=4, p16=65536)  # 1*1*3/16 = 0.1875 per sample
    total = 0
    for _ in range(4000):
        total += int(st.increments(np.array([1]), np.array([1]), cfg)[0, 0, 0])
    assert abs(total / 4000 - 3 / 16) < 0.02


def test_abort_leaves_each_slot_old_or_new():
    rng = np.random.default_rng(1)
    a = engine.EngineState(64, 16, seeds=5)
    b = engine.EngineState(64, 16, seeds=5)
    cfg = engine.UpdateConfig(lr_mult=255, lr_shift=6, p16=65536)
    x = rng.integers(-128, 128, 64); e = rng.integers(-128, 128, 16)
    a.apply_sample(x, e, cfg)
    b.apply_sample(x, e, cfg, abort_slot=3)
    assert (b.h[0, :3] == a.h[0, :3]).all() and not b.h[0, 3:].any()
    assert b.counters.as_dict()["samples"] == 0
    # the PRNG was drawn for slots 0..3: four rounds
    c = engine.EngineState(64, 16, seeds=5)
    expect = c.prng.copy()
    for _ in range(4):
        expect = digital.xorshift(expect, 32)
    np.testing.assert_array_equal(b.prng, expect)
    with pytest.raises(ValueError, match=r"abort_slot must be in 0\.\.7; got 8"):
        b.apply_sample(x, e, cfg, abort_slot=8)


def test_encode_decode_roundtrip_and_majority():
    v = np.arange(-511, 512)
    s, m = (v < 0).astype(int), np.abs(v)
    rows = engine.encode_slot(s, m)
    assert rows.shape == (14, v.size)
    s2, m2 = engine.decode_slot(rows)
    assert (m2 == m).all() and (s2 == s).all()
    # one of the four MSB1 copies reads 0: still 1; two of four: still 1 (ties to 1); three: 0
    rows = engine.encode_slot(np.array([0]), np.array([511]))
    rows[1, 0] = False
    assert engine.decode_slot(rows)[1][0] == 511
    rows[2, 0] = False
    assert engine.decode_slot(rows)[1][0] == 511
    rows[3, 0] = False
    assert engine.decode_slot(rows)[1][0] == 511 - 256


def test_transfer_counts_published_and_change_aware():
    st = engine.EngineState(16, 10)     # 160 synapses: slot 0 full, slot 1 has 32
    st.h[0, 0, :5] = [64, -64, 0, 500, -1]
    t = engine.TransferConfig()
    st.transfer(t)
    c = st.counters.as_dict()
    assert c["transfers"] == 1 and c["xfer_programmed"] == 160 and c["xfer_skipped"] == 0
    assert c["mr_resets"] == 320
    assert c["mr_sets"] == 3            # codes +1, -1, +7; code 0 needs no SET
    assert c["fe_reads"] == 2 * 8 and c["fe_writes"] == 2 * 8 + 7   # slot 1 has no SET
    st2 = engine.EngineState(16, 10)
    st2.flags[0, 0, [3, 7]] = True
    st2.transfer(engine.TransferConfig(change_aware=True))
    c = st2.counters.as_dict()
    assert c["xfer_programmed"] == 2 and c["xfer_skipped"] == 158
    assert not st2.flags.any()


def test_bad_configuration_errors():
    with pytest.raises(ValueError, match=r"lr_shift must be in 0\.\.23; got 24"):
        engine.UpdateConfig(lr_shift=24)
    with pytest.raises(ValueError, match=r"p16 must be in 0\.\.65536; got 70000"):
        engine.UpdateConfig(p16=70000)
    with pytest.raises(ValueError, match=r"p must be in 0\.\.1; got 1\.5"):
        engine.UpdateConfig.p_to_p16(1.5)
    with pytest.raises(ValueError, match=r"n_in \* n_out must be in 1\.\.1024"):
        engine.EngineState(64, 17)
    with pytest.raises(ValueError, match=r"x values must be int8"):
        engine.EngineState(4, 4).apply_sample(np.array([200, 0, 0, 0]), np.zeros(4), engine.UpdateConfig())


class FailingVerify(engine.NullProgrammer):
    """Every verify read fails."""

    def verify(self, slot, mask, pol, code_mag):
        return np.zeros_like(mask)


def test_change_aware_flag_row_not_written_when_every_candidate_fails():
    """docs/controller.md transfer step 6: with change_aware the flag row is written (a full
    write of flag & ~succeeded) only when a flag clears; if every candidate failed verify the
    row is left as it is (the RTL's behaviour: no FeCAP operation that changes nothing)."""
    st = engine.EngineState(16, 10)     # slot 0: 128 synapses, slot 1: 32
    st.flags[0, 0, [3, 7]] = True
    st.flags[0, 1, 5] = True
    st.h[0, 0, 3] = 100
    st.transfer(engine.TransferConfig(change_aware=True, verify_max=1), FailingVerify())
    c = st.counters.as_dict()
    assert c["failures"] == 3 and c["xfer_programmed"] == 3
    assert st.flags[0, 0, [3, 7]].all() and st.flags[0, 1, 5]       # kept for the next transfer
    # per slot: flag read + restore, 8 code rows read + written, no flag-row write;
    # slot 0 also rewrites its 7 MSB rows after the SET of synapse 3 (code 1)
    assert c["fe_reads"] == 2 * (1 + 8)
    assert c["fe_writes"] == 2 * (1 + 8) + 7


def test_transfer_phases_and_abort():
    """EngineState.last_phases (the phases STATUS.XFER_PHASE goes through, the reference of
    tb/hymem_xfer_engine's per-cycle check) for the cases of rtl/hymem_xfer_engine.sv's
    header: an unused slot, an empty candidate set, no SET, verify with a retry, an abort."""
    st = engine.EngineState(16, 10)     # slot 0: 128 synapses, slot 1: 32, slots 2..7 unused
    st.flags[0, 1, 5] = True            # change-aware: slot 0 has no candidate
    st.h[0, 1, 5] = 100                 # code 1: a SET
    st.transfer(engine.TransferConfig(change_aware=True, verify_max=1), FailingVerify())
    verify = ["VRDP", "VCHKP", "VRDN", "VCHKN", "VDEC"]
    assert st.last_phases == (
        [("SLOT", 0), ("FRD", 0), ("FWB", 0), ("CAND", 0), ("NEXT", 0),
         *((n, 1) for n in ["SLOT", "FRD", "FWB", "CAND", "CRD", "CWB", "RST0", "RST1", "XFER",
                            "RESTORE", *verify, "VR0", "VR1", "VSET", *verify, "FLAG", "NEXT"]),
         *((n, s) for s in range(2, 8) for n in ("SLOT", "NEXT")), ("DONE", 7), ("IDLE", 7)])
    st.transfer(engine.TransferConfig(), abort_slot=1)     # slot 0: every code 0, no SET
    assert st.last_phases == [*((n, 0) for n in ["SLOT", "CAND", "CRD", "CWB", "RST0", "RST1",
                                                  "FLAG", "NEXT"]),
                              ("SLOT", 1), ("DONE", 1), ("IDLE", 1)]
    assert st.counters.transfers[0] == 2
    with pytest.raises(ValueError, match=r"abort_slot must be in 0\.\.7; got 8"):
        st.transfer(engine.TransferConfig(), abort_slot=8)
    two = engine.EngineState(16, 10, n=2)
    two.transfer(engine.TransferConfig())
    assert two.last_phases is None      # several arrays: no one engine's sequence
