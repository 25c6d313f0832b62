"""hymem.digital.fastengine and hymem.learn.quant: the compiled twins are bit-exact with their NumPy definitions."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from hymem.analog import devices as dv, normals, programmer as P
from hymem.digital import engine, fastengine
from hymem.learn import quant

pytestmark = pytest.mark.skipif(fastengine.backend() != "numba",
                                reason="numba not installed: only the NumPy engine runs")


def random_state(rng, n, geom=engine.DEFAULT_GEOMETRY):
    n_in = rng.integers(1, geom.synapses // 2, n)
    n_out = np.maximum(1, geom.synapses // n_in - rng.integers(0, 3, n))
    n_out = np.minimum(n_out, geom.synapses // n_in)
    seeds = rng.integers(0, 2 ** 32, n)
    a = engine.EngineState(n_in, n_out, geom, seeds=seeds)
    b = engine.EngineState(n_in, n_out, geom, seeds=seeds)
    m = geom.fmt.mag_max
    h = np.where(a.used, rng.integers(-m, m + 1, a.h.shape), 0)
    if rng.random() < 0.5:   # many weights near code boundaries and saturation
        h = np.where(a.used, rng.choice([-m, -65, -64, -63, -1, 0, 1, 63, 64, 65, m - 1, m], a.h.shape), 0)
    a.h[:] = h
    b.h[:] = h
    return a, b


def random_cfg(rng):
    return engine.UpdateConfig(lr_mult=int(rng.integers(0, 256)), lr_shift=int(rng.integers(0, 24)),
                               p16=int(rng.choice([0, 1, 13107, 40000, 65535, 65536])),
                               stoch_round=bool(rng.integers(2)), code_round=bool(rng.integers(2)),
                               skip_zero=bool(rng.integers(2)))


def assert_same(a, b):
    np.testing.assert_array_equal(a.h, b.h)
    np.testing.assert_array_equal(a.flags, b.flags)
    np.testing.assert_array_equal(a.prng, b.prng)
    np.testing.assert_array_equal(a.samples_since_transfer, b.samples_since_transfer)
    for k in range(a.n):
        assert a.counters.as_dict(k) == b.counters.as_dict(k)


@pytest.mark.parametrize("geom", [engine.DEFAULT_GEOMETRY,
                                  engine.Geometry(lines=16, slots=4, mag_width=7, code_bits=2, fecap_rows=64)],
                         ids=["published", "small"])
def test_updater_matches_numpy_engine(geom):
    rng = np.random.default_rng(2024)
    for trial in range(6):
        a, b = random_state(rng, int(rng.integers(1, 6)), geom)
        upd = fastengine.Updater(b)
        for _ in range(8):
            cfg = random_cfg(rng)
            wx, we = int(a.n_in.max()) + int(rng.integers(0, 3)), int(a.n_out.max())
            x = rng.integers(-128, 128, (a.n, wx))
            x[rng.random(x.shape) < rng.random()] = 0          # sparse inputs, as after a ReLU
            e = rng.integers(-128, 128, (a.n, we))
            e[rng.random(e.shape) < 0.3] = 0
            a.apply_sample(x, e, cfg)
            upd.apply(x.astype(np.int8) if trial % 2 else x, e, cfg)
            assert_same(a, b)


def test_apply_layer_matches_per_array_vectors():
    rng = np.random.default_rng(5)
    n_in, n_out = 300, 9                       # 3 column blocks x 3 row blocks of 100 x 3
    x_off = np.array([0, 100, 200] * 3)
    e_off = np.repeat([0, 3, 6], 3)
    a = engine.EngineState(100, 3, n=9, seeds=np.arange(9))
    b = engine.EngineState(100, 3, n=9, seeds=np.arange(9))
    c = engine.EngineState(100, 3, n=9, seeds=np.arange(9))
    ub, uc = fastengine.Updater(b), fastengine.Updater(c, force_numpy=True)
    for _ in range(10):
        cfg = random_cfg(rng)
        xq = rng.integers(-127, 128, n_in).astype(np.int8)
        xq[rng.random(n_in) < 0.6] = 0
        eq = rng.integers(-127, 128, n_out).astype(np.int8)
        x = np.stack([xq[o: o + 100] for o in x_off])
        e = np.stack([eq[o: o + 3] for o in e_off])
        a.apply_sample(x, e, cfg)
        ub.apply_layer(xq, eq, x_off, e_off, cfg)
        uc.apply_layer(xq, eq, x_off, e_off, cfg)
        assert_same(a, b)
        assert_same(a, c)
    with pytest.raises(ValueError, match="xq and eq must be int8"):
        ub.apply_layer(xq.astype(np.int16), eq, x_off, e_off, cfg)
    with pytest.raises(ValueError, match=r"at least 300 / 9 entries"):
        ub.apply_layer(xq[:299], eq, x_off, e_off, cfg)


@pytest.mark.parametrize("hdt", [np.int64, np.int16])
def test_batch_kernel_matches_numpy_engine(hdt):
    """update_batch_kernel: a queue of samples (each with its own lr_mult, lr_shift) in one
    call, on the state's hidden weights or a narrower working copy (the reference's hybrid
    layer), leaves the state as the NumPy engine's samples one by one."""
    rng = np.random.default_rng(77)
    n_in, n_out = 300, 9
    x_off = np.array([0, 100, 200] * 3)
    e_off = np.repeat([0, 3, 6], 3)
    for trial in range(4):
        a = engine.EngineState(100, 3, n=9, seeds=np.arange(9) + trial)
        b = engine.EngineState(100, 3, n=9, seeds=np.arange(9) + trial)
        h = rng.choice([-511, -65, -64, -63, -1, 0, 1, 63, 64, 65, 510, 511], a.h.shape)
        a.h[:] = h
        b.h[:] = h
        base = random_cfg(rng)
        prm, head, tail = fastengine.Updater(b).layer_args(x_off, e_off, base)
        hw = b.h.astype(hdt)
        for nb in (1, 5, 12):
            qx = rng.integers(-127, 128, (nb, n_in)).astype(np.int8)
            qx[rng.random(qx.shape) < 0.6] = 0
            qe = rng.integers(-127, 128, (nb, n_out)).astype(np.int8)
            qe[rng.random(qe.shape) < 0.3] = 0
            regs = np.stack([rng.integers(0, 256, nb), rng.integers(0, 24, nb)], axis=1).astype(np.int64)
            for t in range(nb):
                cfg = engine.UpdateConfig(lr_mult=int(regs[t, 0]), lr_shift=int(regs[t, 1]), p16=base.p16,
                                          stoch_round=base.stoch_round, code_round=base.code_round,
                                          skip_zero=base.skip_zero)
                a.apply_sample(np.stack([qx[t, o: o + 100] for o in x_off]),
                               np.stack([qe[t, o: o + 3] for o in e_off]), cfg)
            fastengine.update_batch_kernel(hw, *head[1:], qx, x_off, qe, e_off, regs, nb, prm, *tail)
            b.h[:] = hw
            assert_same(a, b)


def test_updater_validates_like_the_engine():
    st = engine.EngineState(4, 4)
    with pytest.raises(ValueError, match=r"x values must be int8"):
        fastengine.Updater(st).apply(np.array([200, 0, 0, 0]), np.zeros(4), engine.UpdateConfig())


def _physical(n, geom, keyed):
    keys = np.arange(n, dtype=np.uint64) * 7919 + 3 if keyed else None
    # a transfer pulse too short for every MSB unit to switch: the levels then depend on
    # which switching time each unit draws, i.e. on the order of the draws
    return P.PhysicalProgrammer(n, geom, np.random.default_rng(1), keys=keys,
                                transfer=dv.TransferLineParams(pulse_s=25e-9))


def _same_programmers(pa, pb):
    np.testing.assert_array_equal(pa.device_writes(), pb.device_writes())
    np.testing.assert_array_equal(pa.conductances_us(), pb.conductances_us())
    if isinstance(pa, P.PhysicalProgrammer):
        ma, mb = pa, pb
        assert ma.counts == mb.counts
        for name in ("g_us", "cycles", "stuck", "programs", "t_prog_s"):
            np.testing.assert_array_equal(getattr(ma.mr, name), getattr(mb.mr, name))
        np.testing.assert_array_equal(ma.msb.bits, mb.msb.bits)
        np.testing.assert_array_equal(ma.msb.cycles, mb.msb.cycles)
        assert ma.mr.ops == mb.mr.ops
        assert ma.msb.rng.random() == mb.msb.rng.random()   # the same draws were taken
    else:
        for x, y in ((pa.level, pb.level), (pa.pending, pb.pending)):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(pa.read_adc(), pb.read_adc())


@pytest.mark.parametrize("change_aware,code_round", [(False, False), (True, False), (True, True), (False, True)])
@pytest.mark.parametrize("kind", ["statistical", "physical-keyed"])
def test_fused_transfer_matches_protocol(change_aware, code_round, kind):
    """fastengine.transfer (compiled digital side, one program_transfer call) leaves the engine
    and the programmer exactly as the engine's slot-by-slot transfer does."""
    rng = np.random.default_rng(int(change_aware) * 2 + int(code_round))
    cfg = engine.TransferConfig(change_aware=change_aware, code_round=code_round)
    n = 4
    make = (lambda: P.StatisticalProgrammer(n, engine.DEFAULT_GEOMETRY, np.random.default_rng(1))) \
        if kind == "statistical" else (lambda: _physical(n, engine.DEFAULT_GEOMETRY, True))
    pa, pb = make(), make()
    for _ in range(3):
        a, b = random_state(rng, n)
        fl = (rng.random(a.h.shape) < 0.3) & a.used
        a.flags[:] = fl
        b.flags[:] = fl
        a.transfer(cfg, pa)
        fastengine.transfer(b, cfg, pb)
        assert_same(a, b)
        _same_programmers(pa, pb)


def test_unkeyed_device_physics_keeps_the_protocol_path():
    """Unkeyed devices draw from one generator in call order: no one-call transfer."""
    geom = engine.DEFAULT_GEOMETRY
    assert _physical(2, geom, False).program_transfer is None
    a, b = random_state(np.random.default_rng(7), 2)
    pa, pb = _physical(2, geom, False), _physical(2, geom, False)
    a.transfer(engine.TransferConfig(), pa)
    fastengine.transfer(b, engine.TransferConfig(), pb)
    assert_same(a, b)
    _same_programmers(pa, pb)


def test_program_by_protocol_is_the_bulk_definition():
    """engine.program_by_protocol (the definition of program_transfer) gives what the engine's
    transfer gives, for both programmers."""
    rng = np.random.default_rng(11)
    for make in (lambda: P.StatisticalProgrammer(3, engine.DEFAULT_GEOMETRY, np.random.default_rng(2)),
                 lambda: _physical(3, engine.DEFAULT_GEOMETRY, True)):
        a, b = random_state(rng, 3)
        pa, pb = make(), make()
        a.transfer(engine.TransferConfig(), pa)
        cs, cm = b.codes(False)
        engine.program_by_protocol(pb, b.used.copy(), cs.astype(bool), cm)
        _same_programmers(pa, pb)


def test_fused_transfer_falls_back_with_verify():
    a, b = random_state(np.random.default_rng(3), 2)
    cfg = engine.TransferConfig(verify_max=2)
    pa = P.StatisticalProgrammer(2, a.geom, np.random.default_rng(4))
    pb = P.StatisticalProgrammer(2, a.geom, np.random.default_rng(4))
    a.transfer(cfg, pa)
    fastengine.transfer(b, cfg, pb)
    assert_same(a, b)
    assert a.counters.as_dict()["vfy_reads"] > 0


def test_quantize_fast_matches_reference():
    rng = np.random.default_rng(0)
    for t in range(3000):
        n = int(rng.integers(1, 40))
        v = rng.standard_normal(n) * 10.0 ** rng.uniform(-30, 6)
        if t % 3 == 0:
            v[int(rng.integers(n))] = 127 * 2.0 ** int(rng.integers(-20, 5))   # exact boundaries
        if t % 5 == 0:
            v = np.round(v * 2.0 ** int(rng.integers(-3, 8))) / 2.0 ** int(rng.integers(-3, 8))
        v = v.astype(np.float32 if t % 2 else np.float64)
        qa, ea = quant.quantize_pow2(v)
        qb, eb = quant.quantize_pow2_fast(v)
        assert ea == eb and np.array_equal(qa, qb), v
    z = np.zeros(5, dtype=np.float32)
    assert quant.quantize_pow2_fast(z)[1] == 0 and not quant.quantize_pow2_fast(z)[0].any()
    with pytest.raises(ValueError, match="inf or nan"):
        quant.quantize_pow2_fast(np.array([1.0, np.nan], dtype=np.float32))


@pytest.mark.parametrize("gen_seed", [0, 7])
def test_compiled_normals_are_numpys(gen_seed):
    """normals.fill draws NumPy's float32 standard normals from a PCG64 generator bit for bit and
    leaves the generator where NumPy would: 300,000 draws take the Ziggurat's wedge (~1.5 %) and
    tail (~0.03 %, through log1p) paths a few thousand and ~80 times; the odd gen_seed starts with a
    buffered 32-bit half."""
    a, b = np.random.default_rng([gen_seed, 3, 0]), np.random.default_rng([gen_seed, 3, 0])
    if gen_seed % 2:
        a.random(dtype=np.float32), b.random(dtype=np.float32)
    assert normals.available(a)
    for n in (1, 299_999, 2):
        x, y = normals.fill(a, n), b.standard_normal(n, dtype=np.float32)
        assert x.dtype == np.float32 and np.array_equal(x.view(np.uint32), y.view(np.uint32))
    assert a.bit_generator.state == b.bit_generator.state
    other = np.random.Generator(np.random.MT19937(gen_seed))     # another bit generator: NumPy draws
    assert not normals.available(other)
    assert np.array_equal(normals.fill(other, 9), np.random.Generator(np.random.MT19937(gen_seed))
                          .standard_normal(9, dtype=np.float32))


def test_numpy_fallback_without_numba():
    """HYMEM_NO_NUMBA=1: the package imports, backend() says numpy, and the Updater still works."""
    code = ("import numpy as np\nfrom hymem.digital import engine, fastengine\n"
            "assert fastengine.backend() == 'numpy'\n"
            "a = engine.EngineState(64, 16, seeds=3); b = engine.EngineState(64, 16, seeds=3)\n"
            "x = np.arange(64) % 7 - 3; e = np.arange(16) - 8; c = engine.UpdateConfig(lr_shift=2)\n"
            "a.apply_sample(x, e, c); fastengine.Updater(b).apply(x, e, c)\n"
            "assert (a.h == b.h).all() and a.counters.as_dict() == b.counters.as_dict()\nprint('ok')\n")
    env = dict(os.environ, HYMEM_NO_NUMBA="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
