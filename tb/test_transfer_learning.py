"""Last-layer transfer learning (hymem.learn.transfer_learning, ``hymem features``, ``--features``) and
the endurance margins and guard (hymem.learn.endurance, ``--endurance-limit/--endurance-action``).
Pure Python and fast: tiny extractors (1 epoch, few units); the measured figures come from
bench/bench_transfer.py (docs/bench/transfer.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hymem import cli, published
from hymem.learn import datasets, endurance, quant, reference as R
from hymem.learn import transfer_learning as tl


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist5k")


@pytest.fixture(scope="module")
def ext(mnist):
    return tl.train_extractor("new-classes", seed=3, hidden=16, n_features=8, epochs=1, data=mnist)


@pytest.fixture(scope="module")
def npz(ext, tmp_path_factory):
    p = tmp_path_factory.mktemp("feat") / "f.npz"
    tl.save(ext, p)
    return p


def run(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


# ---------------------------------------------------------------------- tasks


def test_new_classes_target_is_the_unseen_digits(mnist):
    src, tgt = tl.tasks("new-classes", mnist)
    assert src.n_classes == tgt.n_classes == 5
    assert len(src.y_train) == int((mnist.y_train < 5).sum())
    assert len(tgt.y_train) == int((mnist.y_train >= 5).sum())
    # the target's images are the digits 5-9 (labels shifted down by 5), none of the source's
    assert set(np.unique(tgt.y_train)) == set(range(5))
    for c in range(5):
        assert (tgt.x_train[tgt.y_train == c] == mnist.x_train[mnist.y_train == c + 5]).all()


def test_domain_shift_target_images_differ_and_do_not_overlap_the_source(mnist):
    src, tgt = tl.tasks("domain-shift", mnist)
    assert src.n_classes == tgt.n_classes == 10
    assert len(src.y_train) + len(tgt.y_train) == len(mnist.y_train)
    a, b = tl._halves(mnist.y_train)
    assert not set(a) & set(b)
    assert (tgt.y_train == mnist.y_train[b]).all()
    assert tgt.x_train.min() >= 0 and tgt.x_train.max() <= 1
    # rotated, shifted and noisy: far from the upright originals
    assert np.abs(tgt.x_train - mnist.x_train[b]).mean() > 0.1
    # deterministic (fixed noise seed)
    assert (tl.shift_images(mnist.x_train[:5]) == tl.shift_images(mnist.x_train[:5])).all()


# ----------------------------------------------------------------- extractor


def test_features_are_4_bit_and_exact_for_the_hybrid_quantizer(ext, mnist):
    codes = ext.codes(mnist.x_test)
    assert codes.shape == (len(mnist.y_test), 8)
    assert codes.min() >= 0 and codes.max() <= 15 and codes.max() == 15
    f = ext.features(mnist.x_test)
    assert (f * 16 == codes).all()
    # the hybrid layer's power-of-two quantization of x keeps the 4-bit codes exactly
    for row in f[:50]:
        q, exp = quant.quantize_pow2(row)
        assert (q.astype(np.float64) * 2.0 ** exp == row).all()


def test_clip_is_a_quantile_of_the_source_features(ext, mnist):
    src, _ = tl.tasks("new-classes", mnist)
    f = ext.float_features(src.x_train)
    saturated = (f >= ext.clip).mean(axis=0)
    active = f.max(axis=0) > 0
    # at most 1 - CLIP_QUANTILE of a live feature's values reach its clip (plus ties)
    assert (saturated[active] <= 1 - tl.CLIP_QUANTILE + 0.01).all()
    assert (ext.clip > 0).all()


def test_extractor_is_deterministic_in_its_seed(mnist, ext):
    again = tl.train_extractor("new-classes", seed=3, hidden=16, n_features=8, epochs=1, data=mnist)
    assert (again.w1 == ext.w1).all() and (again.clip == ext.clip).all()
    other = tl.train_extractor("new-classes", seed=4, hidden=16, n_features=8, epochs=1, data=mnist)
    assert not (other.w1 == ext.w1).all()


@pytest.mark.parametrize("kw, message", [
    (dict(scenario="rotate"), "scenario must be one of new-classes, domain-shift; got 'rotate'"),
    (dict(seed=-1), "seed must be an integer in 0..4294967295; got -1"),
    (dict(hidden=0), "hidden must be an integer in 1..4096; got 0"),
    (dict(n_features=2000), "features must be an integer in 1..1024; got 2000"),
    (dict(epochs=1.5), "epochs must be an integer in 1..1000; got 1.5"),
])
def test_extractor_parameters_out_of_range(kw, message):
    args = dict(scenario="new-classes", seed=1)
    args.update(kw)
    with pytest.raises(tl.FeatureError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        tl.train_extractor(**args)


# -------------------------------------------------------------------- files


def test_save_load_round_trip(ext, npz, mnist):
    back = tl.load_extractor(npz)
    for k in ("w1", "b1", "w2", "b2", "clip"):
        assert (getattr(back, k) == getattr(ext, k)).all()
    assert (back.scenario, back.dataset, back.seed, back.bits) == ("new-classes", "mnist5k", 3, 4)
    d = tl.target_dataset(back, mnist)
    assert d.n_features == 8 and d.n_classes == 5 and d.info["features_seed"] == 3
    assert (d.x_train == ext.features(tl.tasks("new-classes", mnist)[1].x_train)).all()


def _write(path, ext, **override):
    d = dict(format=np.array(tl.FORMAT), scenario=np.array(ext.scenario),
             dataset=np.array(ext.dataset), seed=np.array(ext.seed), w1=ext.w1, b1=ext.b1,
             w2=ext.w2, b2=ext.b2, clip=ext.clip, bits=np.array(4),
             source_accuracy=np.array(0.5))
    d.update(override)
    d = {k: v for k, v in d.items() if v is not None}
    np.savez(path, **d)
    return path


@pytest.mark.parametrize("override, message", [
    (dict(clip=None), "missing clip"),
    (dict(format=np.array("other/1")), "format 'other/1'"),
    (dict(scenario=np.array("x")), "scenario must be one of"),
    (dict(w2=np.zeros((8, 17), np.float32)), "do not chain 784 -> H -> F"),
    (dict(clip=np.zeros(8, np.float32)), "every clip value > 0"),
    (dict(b1=np.full(16, np.nan, np.float32)), "must be finite"),
    (dict(bits=np.array(8)), "bits must be 4; got 8"),
])
def test_bad_features_files_are_refused(override, message, ext, tmp_path):
    p = _write(tmp_path / "bad.npz", ext, **override)
    with pytest.raises(tl.FeatureError, match=f"features file {p}: .*{message}"):
        tl.load_extractor(p)


def test_a_file_that_is_not_npz(tmp_path):
    p = tmp_path / "x.npz"
    p.write_text("hello")
    with pytest.raises(tl.FeatureError, match="cannot be read as .npz"):
        tl.load_extractor(p)
    with pytest.raises(tl.FeatureError, match="cannot be read"):
        tl.load_extractor(tmp_path / "missing.npz")


# ---------------------------------------------------------------------- CLI


def test_cli_train_with_features_learns_the_last_layer_only(npz, tmp_path, capsys):
    js = tmp_path / "r.json"
    rc, out, err = run(["train", "--features", str(npz), "--epochs", "1", "--k", "512",
                        "--max-train-samples", "600", "--quiet", "--json", str(js)], capsys)
    assert rc == 0, err
    d = json.loads(js.read_text())
    assert d["options"]["arch"] == "8-5"                 # FEATURES-CLASSES by default
    assert d["dataset"] == "features:new-classes" and d["features_seed"] == 3
    assert d["transfers"] == 1 and d["train_samples"] == 600
    assert d["endurance"]["memristor_worst"] == d["worst_device_writes"] == 4
    assert d["endurance"]["fecap_worst"] == 600 + 2 * 2


def test_cli_features_writes_a_loadable_file(tmp_path, capsys):
    p = tmp_path / "e.npz"
    rc, out, err = run(["features", "--scenario", "domain-shift", "--hidden", "8", "--size", "4",
                        "--epochs", "1", "--out", str(p)], capsys)
    assert rc == 0, err
    e = tl.load_extractor(p)
    assert e.scenario == "domain-shift" and e.n_features == 4
    assert "features:domain-shift" in out


@pytest.mark.parametrize("argv, message", [
    (["features", "--scenario", "new-classes", "--size", "0", "--out", "x.npz"],
     "argument --size: must be an integer in 1..1024; got 0"),
    (["features", "--scenario", "other", "--out", "x.npz"], "argument --scenario: invalid choice"),
    (["features", "--scenario", "new-classes"], "the following arguments are required: --out"),
])
def test_cli_features_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_train_features_errors(npz, tmp_path, capsys):
    rc, _, err = run(["train", "--features", str(tmp_path / "none.npz"), "--quiet"], capsys)
    assert rc == 2 and "hymem train: error: features file" in err and "cannot be read" in err
    rc, _, err = run(["train", "--features", str(npz), "--dataset", "digits", "--quiet"], capsys)
    assert rc == 2 and "--dataset digits does not match the features file's source dataset mnist5k" in err
    rc, _, err = run(["train", "--quiet"], capsys)
    assert rc == 2 and "hymem train: error: give --dataset NAME (or --features FILE.npz)" in err
    rc, _, err = run(["train", "--features", str(npz), "--arch", "8-10-5", "--epochs", "1",
                      "--max-train-samples", "10", "--quiet"], capsys)
    assert rc == 0, err                                   # a hidden layer on the features is allowed
    rc, _, err = run(["train", "--features", str(npz), "--arch", "9-5", "--quiet"], capsys)
    assert rc == 2 and "arch input size must be the dataset's 8 features; got 9" in err


def test_cli_features_file_may_not_be_an_output(npz, capsys):
    rc, _, err = run(["train", "--features", str(npz), "--json", str(npz), "--quiet"], capsys)
    assert rc == 2 and "is an input file of --features" in err


def test_cosim_config_carries_the_features(npz):
    from hymem.sim import cosim

    cfg = cosim.CosimConfig(features=str(npz), dataset="mnist5k", arch="8-5", samples=1)
    d = cosim.load_data(cfg)
    assert d.n_features == 8 and d.n_classes == 5


# ---------------------------------------------------------------- endurance


def test_published_endurance_is_the_one_source():
    assert endurance.ENDURANCE == {"memristor": published.MEMRISTOR_ENDURANCE_CYCLES,
                                   "fecap": published.FECAP_ENDURANCE_CYCLES}


@pytest.mark.parametrize("limit, action, message", [
    (0.0, "warn", r"--endurance-limit\) must be a fraction of the published endurance in \(0, 1\]; got 0.0"),
    (1.5, "warn", r"in \(0, 1\]; got 1.5"),
    (float("nan"), "warn", "got nan"),
    (True, "warn", "got True"),
    (0.5, "halt", r"--endurance-action\) must be one of warn, stop; got 'halt'"),
])
def test_endurance_limit_checks(limit, action, message):
    with pytest.raises(ValueError, match=message):
        endurance.check_limit(limit, action)


def _hybrid(k=5):
    return R.Network(R.Options(arch=(64, 16, 10), epochs=1, k=k, seed=2, lr=0.01))


def test_margins_count_both_devices():
    data = datasets.load("digits")
    net = _hybrid()
    for i in range(20):
        net.train_sample(data.x_train[i], int(data.y_train[i]))
    m = endurance.margins(net)
    # 4 transfers + the initial programming, each RESET + SET of a synapse's target device at most
    assert 0 < m["memristor_worst"] <= 2 * 5 and m["memristor_worst"] == net.counters()["worst_device_writes"]
    assert m["fecap_worst"] == 20 + 2 * 5
    assert m["fecap_used"] == m["fecap_worst"] / 1e7
    assert m["memristor_margin"] == 1e5 / m["memristor_worst"]
    assert endurance.lifetime_runs(m) == min(m["memristor_margin"], m["fecap_margin"])
    fl = R.Network(R.Options(arch=(64, 16, 10), scheme="float", epochs=1))
    mf = endurance.margins(fl)
    assert mf["memristor_worst"] == mf["fecap_worst"] == 0 and mf["fecap_margin"] is None
    assert endurance.lifetime_runs(mf) is None


@pytest.mark.parametrize("action", endurance.ACTIONS)
def test_guard_trips_once_at_the_limit(action):
    data = datasets.load("digits")
    net = _hybrid(k=1)
    logs = []
    # a memristor gets at most 2 writes per transfer: a limit of 6 writes trips after 2 samples
    g = endurance.Guard(net, 6 / 1e5, action, log=logs.append)
    stops = []
    for i in range(6):
        stops.append(g())
        net.train_sample(data.x_train[i], int(data.y_train[i]))
    assert g.tripped is not None and g.tripped["device"] == "memristor"
    assert g.tripped["worst"] >= 6
    assert len(logs) == 1 and "the worst memristor has" in logs[0]
    first = stops.index(True) if action == "stop" else None
    if action == "stop":
        assert all(stops[first:]) and not any(stops[:first])
    else:
        assert not any(stops)


def test_cli_endurance_stop_ends_training_with_exit_0(tmp_path, capsys):
    js = tmp_path / "r.json"
    rc, out, err = run(["train", "--dataset", "digits", "--arch", "64-16-10", "--epochs", "1",
                        "--k", "1", "--endurance-limit", "0.0001", "--endurance-action", "stop",
                        "--quiet", "--json", str(js)], capsys)
    assert rc == 0, err
    d = json.loads(js.read_text())
    assert "STOPPED at the endurance limit" in out
    assert d["endurance"]["tripped"]["device"] == "memristor"
    assert d["train_samples"] < 20 and d["interrupted"]


@pytest.mark.parametrize("argv, message", [
    (["--endurance-limit", "0"], "must be a fraction of the published endurance in (0, 1]; got 0.0"),
    (["--endurance-limit", "x"], "argument --endurance-limit: invalid float value: 'x'"),
    (["--endurance-limit", "0.5", "--endurance-action", "halt"], "invalid choice: 'halt'"),
])
def test_cli_endurance_bad_values(argv, message, capsys):
    base = ["train", "--dataset", "digits", "--quiet"]
    try:
        rc = cli.main(base + argv)
    except SystemExit as e:
        rc = e.code
    assert rc == 2
    assert message in capsys.readouterr().err


def test_cli_cosim_features_errors_before_any_simulation(npz, tmp_path, capsys, monkeypatch):
    from hymem.sim import cosim

    def boom(*a, **k):
        raise AssertionError("the co-simulation started")
    monkeypatch.setattr(cosim, "main_job", boom)
    rc, _, err = run(["cosim", "--features", str(tmp_path / "none.npz")], capsys)
    assert rc == 2 and "hymem cosim: error: features file" in err
    rc, _, err = run(["cosim", "--features", str(npz), "--arch", "64-5"], capsys)
    assert rc == 2 and "arch input size must be the dataset's 8 features; got 64" in err
    rc, _, err = run(["cosim", "--features", str(npz), "--dataset", "digits"], capsys)
    assert rc == 2 and "does not match the features file's source dataset mnist5k" in err


def test_cli_cosim_features_reach_the_config(npz, capsys, monkeypatch):
    from hymem.sim import cosim

    seen = {}

    def fake(cfg, sim, **kw):
        seen["cfg"] = cfg
        raise KeyboardInterrupt
    monkeypatch.setattr(cosim, "main_job", fake)
    rc, _, _ = run(["cosim", "--features", str(npz), "--samples", "5", "--emulated-seeds", "0"],
                   capsys)
    cfg = seen["cfg"]
    assert cfg.arch == "8-5" and cfg.dataset == "mnist5k"
    assert cfg.features == str(npz.resolve())        # absolute: the simulator runs elsewhere


def test_bench_rows_carry_both_endurance_figures():
    from hymem import bench

    runs = [dict(test_accuracy=0.9, options={}, train_samples=10, memristor_writes=4,
                 fecap_ops=8, energy_j=1.0, energy_memristor_j=0.5, samples_per_s=1,
                 transfers=1, transfers_skipped=0, worst_device_writes=w, verify_failures=0,
                 memristor_worst=w, memristor_used=w / 1e5, fecap_worst=10 * w,
                 fecap_used=10 * w / 1e7) for w in (2, 4)]
    row = bench._summarise("digits", "hybrid", runs)
    assert row["memristor_used"] == pytest.approx(3e-5) and row["fecap_used"] == pytest.approx(3e-6)
    assert bench._used(row) == "3e-05 / 3e-06"
    assert bench._used(dict(memristor_worst=0)) == ""          # float: nothing to wear
