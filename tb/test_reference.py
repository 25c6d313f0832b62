"""hymem.learn.reference, hymem.analog.programmer, hymem.learn.stream: the learning reference's invariants.

Small networks on the bundled digits set keep this file to a few seconds per test; accuracy
figures that matter come from ``hymem bench``, not from here.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hymem import cli, published
from hymem.learn import datasets, reference as R, stream
from hymem.digital import engine
from hymem.analog import programmer as P
from hymem.analog.adc import AdcParams, default_verify_windows
from hymem.learn.quant import lr_registers, quantize_pow2

G = engine.DEFAULT_GEOMETRY


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def small(**kw):
    base = dict(arch=(64, 24, 10), epochs=1, k=20, max_train_samples=120, lr=0.02)
    base.update(kw)
    return R.Options(**base)


# ------------------------------------------------------------------------- tiling, seeds


@pytest.mark.parametrize("n_in,n_out,arrays,shape", [
    (784, 200, 160, (5, 196)), (200, 100, 20, (5, 200)), (100, 10, 1, (10, 100)),
    (64, 24, 2, (12, 64)), (2000, 1, 2, (1, 1000)), (3, 2, 1, (2, 3)), (1, 3000, 3, (1000, 1))])
def test_tiling(n_in, n_out, arrays, shape):
    tiles = R.tile_layer(n_in, n_out)
    assert len(tiles) == arrays and (tiles[0].rows, tiles[0].cols) == shape
    cover = np.zeros((n_out, n_in), dtype=int)
    for t in tiles:
        assert t.rows * t.cols <= G.synapses and t.cols >= min(n_in, G.lines)
        cover[t.row0: t.row0 + t.rows, t.col0: t.col0 + t.cols] += 1
    assert (cover == 1).all()
    tl = R.Tiling(n_in, n_out)
    w = np.arange(n_in * n_out).reshape(n_out, n_in)
    per = tl.from_matrix(w, fill=-1)
    assert per.shape == (arrays, G.slots, G.lines)
    np.testing.assert_array_equal(tl.to_matrix(per, dtype=np.int64), w)
    # inside an array, tile row i / column j sit at address a = i * n_in_tile + j
    t = tiles[-1]
    a = 1 * t.cols + 0 if t.rows > 1 else 0
    assert per[-1].reshape(-1)[a] == w[t.row0 + (1 if t.rows > 1 else 0), t.col0]


def test_array_seeds_are_fixed_and_distinct():
    s = [R.array_seed(1, l, k) for l in range(3) for k in range(200)]
    assert len(set(s)) == len(s) and all(0 <= v < 2 ** 32 for v in s)
    assert R.array_seed(1, 0, 0) == R.array_seed(1, 0, 0) != R.array_seed(2, 0, 0)
    assert R.splitmix64(0) == 0xE220A8397B1DCDAF     # the published SplitMix64 first output


# -------------------------------------------------------------------------- quantization


def test_quantize_pow2():
    q, e = quantize_pow2(np.array([0.5, -0.25, 0.001], dtype=np.float32))
    assert e == -7 and q.tolist() == [64, -32, 0]       # 0.5 / 2**-8 = 128 > 127, so exp = -7
    q, e = quantize_pow2(np.array([1.0, -0.5]))
    assert e == -6 and q.tolist() == [64, -32]          # 1.0 / 2**-7 = 128 > 127, so exp = -6
    q, e = quantize_pow2(np.array([127.0, 0.5, -0.5]))
    assert e == 0 and q.tolist() == [127, 1, 0]         # round half up: 0.5 -> 1, -0.5 -> 0
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = rng.standard_normal(50) * 10.0 ** rng.uniform(-6, 3)
        q, e = quantize_pow2(v)
        assert 64 <= np.abs(q).max() <= 127
        assert np.abs(q * 2.0 ** e - v).max() <= 2.0 ** (e - 1) * (1 + 1e-12)
    assert quantize_pow2(np.zeros(3))[1] == 0
    with pytest.raises(ValueError, match="diverged"):
        quantize_pow2(np.array([np.inf]))


def test_lr_registers():
    for c in 2.0 ** np.linspace(-15.9, 7.9, 300):
        m, s, clipped = lr_registers(c)
        assert 128 <= m <= 255 and 0 <= s <= 23 and not clipped
        assert abs(m * 2.0 ** -s / c - 1) <= 1 / 256 + 1e-12
    assert lr_registers(0.0) == (0, 0, False)
    assert lr_registers(2.0 ** -30) == (0, 23, False)
    assert lr_registers(2.0 ** -17)[:2] == (64, 23)
    assert lr_registers(300.0) == (255, 0, True)


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("kw,match", [
    (dict(scheme="analog"), r"scheme must be one of float, hybrid; got 'analog'"),
    (dict(k=0), r"k must be an integer in 1\.\.1000000000; got 0"),
    (dict(p=1.5), r"p must be a number in 0\.0\.\.1\.0; got 1\.5"),
    (dict(p=0.0), r"p must be in 1/65536\.\.1 for the hybrid scheme"),
    (dict(lr=-1.0), r"lr must be a number in 1e-09\.\.100\.0; got -1\.0"),
    (dict(epochs=2.5), r"epochs must be an integer in 1\.\.10000; got 2\.5"),
    (dict(verify_retries=300), r"verify_retries must be an integer in 0\.\.255; got 300"),
    (dict(transfer="floor"), r"transfer must be one of truncate, round; got 'floor'"),
    (dict(arch="784"), r"arch must have at least 2 layer sizes"),
    (dict(arch="784-x-10"), r"arch must be layer sizes joined by '-'"),
])
def test_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        R.Options(**kw)


def test_arch_must_fit_the_dataset(digits):
    with pytest.raises(ValueError, match=r"arch input size must be the dataset's 64 features; got 60"):
        R.train(R.Options(arch=(60, 10)), digits)
    with pytest.raises(ValueError, match=r"arch output size must be the dataset's 10 classes; got 9"):
        R.train(R.Options(arch=(64, 9)), digits)


# ------------------------------------------------------------------- programmer (statistics)


def test_programmer_level_statistics():
    n = 64
    mask = np.ones((n, G.lines), dtype=bool)
    pol = np.zeros((n, G.lines), dtype=bool)
    ideal = P.StatisticalProgrammer(n, G, np.random.default_rng(0), P.LevelStats(variability=False))
    for c in range(8):
        ideal.transfer_set(0, pol, mask, np.full((n, G.lines), c))
        assert (ideal.conductances_us()[:, 0] == np.float32(published.MEMRISTOR_LEVEL_MEAN_US[c])).all()
    stat = P.StatisticalProgrammer(n, G, np.random.default_rng(1))
    cm = np.full((n, G.lines), 3)
    draws = []
    for _ in range(20):
        stat.transfer_set(0, pol, mask, cm)
        draws.append(stat.conductances_us()[:, 0].copy())
    d = np.array(draws)                                # (cycles, arrays, lines)
    assert abs(d.mean() - 58.3) < 0.5 and abs(d.std() - 8.7) < 0.4
    # half of the variance is fixed per device: the per-device mean over cycles keeps ~sigma^2/2
    assert abs(d.mean(axis=0).var() - 8.7 ** 2 * (0.5 + 0.5 / 20)) < 6
    assert stat.device_writes()[:, 0].max() == 20 and stat.device_writes()[:, 1].max() == 0


def test_verify_windows_and_verify():
    lo, hi = default_verify_windows()
    assert lo[0] == 0 and hi[-1] == 255 and (lo[1:] == hi[:-1] + 1).all()
    codes = AdcParams().convert(np.array(published.MEMRISTOR_LEVEL_MEAN_US))
    assert ((codes >= lo) & (codes <= hi)).all()
    assert AdcParams().convert(np.array([0.24, 0.25, 200.0, -3.0])).tolist() == [0, 1, 255, 0]
    n = 8
    mask = np.ones((n, G.lines), dtype=bool)
    pol = np.random.default_rng(0).random((n, G.lines)) < 0.5
    cm = np.random.default_rng(1).integers(0, 8, (n, G.lines))
    for var, expect_all in ((False, True), (True, False)):
        pr = P.StatisticalProgrammer(n, G, np.random.default_rng(2), P.LevelStats(variability=var))
        pr.reset(1, np.zeros_like(pol), mask)
        pr.reset(1, np.ones_like(pol), mask)
        pr.transfer_set(1, pol, mask & (cm != 0), cm)
        ok = pr.verify(1, mask, pol, cm)
        assert ok.all() == expect_all and ok.any()


# ------------------------------------------------------------------------ hybrid invariants


def test_hybrid_invariants(digits):
    opts = small(k=20, max_train_samples=130)
    net = R.Network(opts)
    seen_max = 0
    xs, ys = digits.x_train[:130], digits.y_train[:130]
    for t in range(130):
        net.train_sample(xs[t], int(ys[t]))
        seen_max = max(seen_max, max(int(np.abs(l.state.h).max()) for l in net.layers))
    assert seen_max <= 511
    assert net.transfer_after == [0, 20, 40, 60, 80, 100, 120]     # exactly every k samples
    for layer in net.layers:
        c = layer.state.counters
        assert (c.transfers == 7).all() and (c.samples == 130).all()
        assert (layer.state.samples_since_transfer == 10).all()
        assert not layer.state.h[~layer.state.used].any()            # unused synapses never change
    tot = net.counters()
    used = sum(int(l.state.used.sum()) for l in net.layers)
    assert tot["transfers"] == 6
    assert tot["synapses_programmed"] + tot["transfers_skipped"] == 7 * used
    assert tot["transfers_skipped"] == 0                              # published: all of them
    assert tot["memristor_writes"] == tot["memristor_resets"] + tot["memristor_sets"]
    assert tot["memristor_resets"] == 2 * tot["synapses_programmed"]
    assert tot["fecap_ops"] == tot["fecap_reads"] + tot["fecap_writes"]
    assert math.isclose(tot["energy_j"], tot["memristor_writes"] * 1e-12 + tot["fecap_ops"] * 128 * 100e-15)
    assert tot["worst_device_writes"] == 14                           # 7 transfers x (RESET + SET)
    assert tot["endurance_margin"] == pytest.approx(1e5 / 14)
    assert tot["arrays"] == 2 + 1


def test_weights_read_through_the_adc(digits):
    opts = small(variability=False, init_codes=3.0)
    net = R.Network(opts)
    layer = net.layers[0]
    cs, cm = layer.state.codes(False)
    mean = np.array(published.MEMRISTOR_LEVEL_MEAN_US)
    g_code = AdcParams().convert(mean).astype(np.int64)
    per = np.where(cs.astype(bool), -1, 1) * (g_code[cm] - g_code[0])   # (G+ - G-) in ADC codes
    expect = layer.tiling.to_matrix(per) * np.float32(0.5 / ((mean[-1] - mean[0]) / 7) * layer.w_step)
    np.testing.assert_array_equal(layer.weights(), expect)
    assert len(np.unique(np.abs(layer.weights()))) == 8                 # 8 magnitude levels in use


def test_skip_unchanged_leaves_conductances_untouched(digits):
    net = R.Network(small(skip_unchanged=True, transfer="round", stochastic_rounding=True, k=1000))
    for t in range(30):
        net.train_sample(digits.x_train[t], int(digits.y_train[t]))
    layer = net.layers[0]
    flags = layer.state.flags.copy()
    g_before = layer.programmer.conductances_us().copy()
    writes_before = layer.programmer.device_writes().copy()
    layer.transfer()
    g_after = layer.programmer.conductances_us()
    skipped = np.repeat(~flags & layer.state.used, 2, axis=1)           # (n, 2S, L): G+ and G- rows
    programmed = np.repeat(flags, 2, axis=1)
    assert skipped.any() and programmed.any()
    np.testing.assert_array_equal(g_after[skipped], g_before[skipped])
    assert (layer.programmer.device_writes()[skipped] == writes_before[skipped]).all()
    assert (layer.programmer.device_writes()[programmed] > writes_before[programmed]).all()
    assert not layer.state.flags.any()
    c = layer.state.counters.as_dict()
    assert c["xfer_skipped"] == int((~flags & layer.state.used).sum())


def test_change_aware_verify_keeps_failed_flags(digits):
    net = R.Network(small(skip_unchanged=True, verify_retries=1, k=40))
    for t in range(80):
        net.train_sample(digits.x_train[t], int(digits.y_train[t]))
    c = net.counters()
    assert c["verify_failures"] > 0 and c["verify_retries"] > 0
    left = sum(int(l.state.flags.sum()) for l in net.layers)
    assert left > 0              # failed synapses keep their flag for the next transfer


def test_identical_seeds_identical_results(digits):
    opts = small(k=25, transfer="round", stochastic_rounding=True)
    r1, n1 = R.train(opts, digits)
    r2, n2 = R.train(opts, digits)
    r3, n3 = R.train(R.Options(**{**opts.to_dict(), "seed": 2}), digits)
    for a, b in zip(n1.layers, n2.layers):
        np.testing.assert_array_equal(a.state.h, b.state.h)
        np.testing.assert_array_equal(a.weights(), b.weights())
    assert r1.test_accuracy == r2.test_accuracy and r1.counters == r2.counters
    assert not np.array_equal(n1.layers[0].state.h, n3.layers[0].state.h)


@pytest.mark.parametrize("variant", [dict(), dict(transfer="round", skip_unchanged=True, verify_retries=2,
                                                  stochastic_rounding=True)], ids=["published", "improved"])
def test_compiled_and_numpy_paths_agree(digits, variant):
    opts = small(k=15, max_train_samples=60, **variant)
    ra, na = R.train(opts, digits)
    rb, nb = R.train(opts, digits, force_numpy=True)
    for a, b in zip(na.layers, nb.layers):
        np.testing.assert_array_equal(a.state.h, b.state.h)
        np.testing.assert_array_equal(a.state.flags, b.state.flags)
        np.testing.assert_array_equal(a.state.prng, b.state.prng)
        np.testing.assert_array_equal(a.weights(), b.weights())
        assert a.state.counters.as_dict() == b.state.counters.as_dict()
    assert ra.test_accuracy == rb.test_accuracy and rb.backend == "numpy"


def test_hybrid_update_follows_replaced_state_arrays(digits):
    """The hybrid layer's compiled per-sample step keeps the engine state's arrays between
    samples; a state whose arrays were replaced (the NumPy engine's apply_sample assigns new
    ones) must still be the one updated."""
    opts = small(k=10, max_train_samples=40)
    ra, na = R.train(opts, digits)
    nb = R.Network(opts)
    for layer in nb.layers:
        layer.state.h = layer.state.h.copy()
        layer.state.prng = layer.state.prng.copy()
    rb, nb = R.train(opts, digits, network=nb)
    for a, b in zip(na.layers, nb.layers):
        np.testing.assert_array_equal(a.state.h, b.state.h)
        np.testing.assert_array_equal(a.state.prng, b.state.prng)
        assert a.state.counters.as_dict() == b.state.counters.as_dict()
    assert ra.test_accuracy == rb.test_accuracy


def test_queued_updates_are_applied_when_the_state_is_read(digits):
    """The compiled hybrid layer queues updates and runs them on a working copy of the hidden
    weights: reading the state (between transfers, mid-queue) must show every sample's update,
    and a change made to the state must be what later updates start from."""
    opts = small(k=25, max_train_samples=70, transfer="round", skip_unchanged=True)
    nets = [R.Network(opts), R.Network(opts, force_numpy=True)]
    assert nets[0].layers[0]._fused is not None and nets[1].layers[0]._fused is None
    for t in range(70):
        x, y = digits.x_train[t], int(digits.y_train[t])
        for net in nets:
            net.train_sample(x, y)
            if t in (6, 30, 41):
                layer = net.layers[t % 2]
                layer.state.h[0, 0, 0] = 200 - t           # synapse 0 of array 0 is always used
        if t in (6, 30, 41, 69):
            for a, b in zip(nets[0].layers, nets[1].layers):
                np.testing.assert_array_equal(a.hidden(), b.hidden())
                np.testing.assert_array_equal(a.state.prng, b.state.prng)
                np.testing.assert_array_equal(a.state.flags, b.state.flags)
                assert a.state.counters.as_dict() == b.state.counters.as_dict()
    assert nets[0].counters() == nets[1].counters()


@pytest.mark.parametrize("variant", [dict(), dict(skip_unchanged=True, verify_retries=2)],
                         ids=["published", "verify"])
def test_record_and_replay(digits, tmp_path, variant):
    opts = small(k=16, max_train_samples=50, **variant)
    net = R.Network(opts, record=True)
    R.train(opts, digits, network=net)
    path = tmp_path / "rec.npz"
    net.save_record(path)
    rec = stream.Recording.load(path)
    assert rec.transfer_after == [0, 16, 32, 48] and rec.layers[0].samples == 50
    for compiled in (False, True):
        for layer, st in zip(net.layers, stream.replay(rec, compiled=compiled)):
            np.testing.assert_array_equal(layer.state.h, st.h)
            np.testing.assert_array_equal(layer.state.flags, st.flags)
            np.testing.assert_array_equal(layer.state.prng, st.prng)
            assert layer.state.counters.as_dict() == st.counters.as_dict()


def test_one_array_stream_replays_that_array(digits, tmp_path):
    """What a co-simulation does: drive one array's recorded stream into a single-array engine."""
    opts = small(k=16, max_train_samples=50)
    net = R.Network(opts, record=True)
    R.train(opts, digits, network=net)
    a = net.recording().array_stream(0, 1)
    st = engine.EngineState(a["n_in"], a["n_out"], seeds=a["seed"])
    st.h[0] = a["h0"]
    st.flags[:] = st.used
    tcfg = engine.TransferConfig(**a["transfer"])
    st.transfer(tcfg)
    for t in range(50):
        cfg = engine.UpdateConfig(lr_mult=int(a["lr_mult"][t]), lr_shift=int(a["lr_shift"][t]), **a["update"])
        st.apply_sample(a["x"][t], a["e"][t], cfg)
        if t + 1 in a["transfer_after"]:
            st.transfer(tcfg)
    np.testing.assert_array_equal(st.h[0], net.layers[0].state.h[1])
    np.testing.assert_array_equal(st.prng[0], net.layers[0].state.prng[1])
    assert st.counters.as_dict(0) == net.layers[0].state.counters.as_dict(1)


def test_record_needs_hybrid_and_recording(digits):
    with pytest.raises(ValueError, match="does not record"):
        R.Network(small()).recording()


# ------------------------------------------------------------------------------ learning


def test_both_schemes_learn_digits(digits):
    f, _ = R.train(small(scheme="float", arch=(64, 32, 10), max_train_samples=0, epochs=2), digits)
    h, _ = R.train(small(arch=(64, 32, 10), max_train_samples=0, epochs=2, k=50), digits)
    assert f.test_accuracy > 0.9 and h.test_accuracy > 0.8
    assert f.counters["memristor_writes"] == 0 and h.counters["memristor_writes"] > 0


def test_binary_output_uses_a_sigmoid():
    ds = datasets.load("breast_cancer")
    r, net = R.train(R.Options(arch=(30, 8, 1), scheme="float", epochs=2, lr=0.02), ds)
    assert net.binary and r.test_accuracy > 0.85


# ----------------------------------------------------------------------------------- CLI


def test_cli_train_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    rec = tmp_path / "s.npz"
    rc = cli.main(["train", "--dataset", "digits", "--arch", "64-16-10", "--epochs", "1", "--k", "30",
                   "--max-train-samples", "90", "--preset", "improved", "--verify-retries", "1",
                   "--json", str(out), "--record", str(rec), "--quiet"])
    assert rc == 0
    d = json.loads(out.read_text())
    for key in ("test_accuracy", "train_samples", "samples_per_s", "memristor_writes", "fecap_ops",
                "energy_j", "transfers", "transfers_skipped", "options"):
        assert key in d
    assert d["train_samples"] == 90 and d["transfers"] == 3 and 0 <= d["test_accuracy"] <= 1
    assert d["options"]["transfer"] == "round" and d["options"]["verify_retries"] == 1
    assert d["options"]["skip_unchanged"] is True and d["options"]["arch"] == "64-16-10"
    assert stream.Recording.load(rec).layers[0].samples == 90
    assert "memristor writes" in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [
    (["--dataset", "nope"], r"unknown dataset 'nope'; valid: digits"),
    (["--dataset", "digits", "--arch", "10-10"], r"arch input size must be the dataset's 64 features"),
    (["--dataset", "digits", "--k", "0"], r"k must be an integer in 1\.\.1000000000; got 0"),
    (["--dataset", "digits", "--scheme", "float", "--record", "x.npz"], r"--record needs --scheme hybrid"),
])
def test_cli_train_errors(argv, match, capsys):
    assert cli.main(["train"] + argv) == 2
    err = capsys.readouterr().err
    assert "hymem train: error:" in err and __import__("re").search(match, err)


def test_cli_rejects_bad_choices(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--dataset", "digits", "--scheme", "analog"])
    assert e.value.code == 2 and "invalid choice: 'analog'" in capsys.readouterr().err


def test_bench_small(tmp_path):
    from hymem import bench
    res = bench.run_bench(seeds=1, epochs=1, log=lambda m: None, datasets_used=(("iris", (4, 8, 3)),),
                          k_sweep=(5, 50), sweep=("iris", (4, 8, 3)), throughput_blocks=(2, 60))
    assert tuple(res["throughput"]["samples_per_s"]) == bench.THROUGHPUT_ROWS
    assert res["throughput"]["ratio_to_float"]["float"] == 1.0
    tp = res["throughput"]
    assert tp["hybrid_to_float"] == tp["samples_per_s"][bench.HEADLINE_ROW] / tp["samples_per_s"]["float"]
    assert [r["scheme"] for r in res["table"]] == [lbl for lbl, _ in bench.ROWS]
    assert [(r["preset"], r["k"]) for r in res["sweep"]] == [("published", 5), ("published", 50),
                                                             ("improved", 5), ("improved", 50)]
    pub = [r for r in res["sweep"] if r["preset"] == "published"]
    assert pub[0]["memristor_writes"] > pub[1]["memristor_writes"]   # fewer transfers, fewer writes
    paths = bench.write_outputs(res, tmp_path)
    assert [p.name for p in paths] == ["bench.json", "bench.md", "k_sweep.png"]
    md = paths[1].read_text()
    assert "| iris | float |" in md and paths[2].stat().st_size > 1000
    # the same-run ratio is in the table, next to the separate runs' samples/s
    assert f"relative to float, measured in one run (iris 4-8-3): **{tp['hybrid_to_float']:.2f}**" in md
    row = next(l for l in md.splitlines() if l.startswith(f"| iris | {bench.HEADLINE_ROW} |"))
    assert row.rstrip(" |").endswith(f"{tp['hybrid_to_float']:.2f}")
