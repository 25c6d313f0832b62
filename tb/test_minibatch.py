"""Mini-batch mode of the learning reference (hymem.learn.minibatch, ``hymem train --batch N``):
one update per batch with the gradient averaged over it, for float and hybrid layers; the
transfer schedule in samples; options and CLI errors. Pure Python, small networks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hymem import cli
from hymem.learn import datasets, reference as R


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def _grads(net, xs, ys):
    """Per layer, the mean gradient of the samples at the network's current weights."""
    g = {}
    for x, y in zip(xs, ys):
        _, pairs = net.gradients(x, int(y))
        for li, h, e in pairs:
            g[li] = g.get(li, 0) + np.outer(e, h).astype(np.float64)
    return {li: v / len(xs) for li, v in g.items()}


def test_float_batch_is_one_step_with_the_mean_gradient(digits):
    opts = R.Options(arch=(64, 16, 10), scheme="float", epochs=1, lr=0.05, batch=8, seed=4)
    net = R.Network(opts)
    w0 = [l.w.copy() for l in net.layers]
    xs, ys = digits.x_train[:8], digits.y_train[:8]
    g = _grads(net, xs, ys)
    for i in range(7):
        net.train_sample(xs[i], int(ys[i]))
        assert all((l.w == w).all() for l, w in zip(net.layers, w0))   # nothing until full
    net.train_sample(xs[7], int(ys[7]))
    for li, l in enumerate(net.layers):
        np.testing.assert_allclose(l.w, w0[li] + 0.05 * g[li], rtol=1e-5, atol=1e-6)
    assert net.samples == 8 and net.batcher.updates == 1


def test_hybrid_batch_adds_the_rounded_mean_increment_once(digits):
    # p = 1: every synapse updated, so the increment is exactly round(lr * G / lsb)
    opts = R.Options(arch=(64, 10), epochs=1, lr=0.02, p=1.0, k=1000, batch=5, seed=2)
    net = R.Network(opts)
    layer = net.layers[0]
    h0 = layer.hidden()
    r0, w0 = layer.state.counters.fe_reads.copy(), layer.state.counters.fe_writes.copy()
    xs, ys = digits.x_train[:5], digits.y_train[:5]
    g = _grads(net, xs, ys)[0]
    for i in range(5):
        net.train_sample(xs[i], int(ys[i]))
    inc = np.floor(g * (0.02 / layer.lsb) + 0.5).astype(np.int64)
    mag_max = (1 << layer.geom.mag_width) - 1
    expect = np.clip(h0 + inc, -mag_max, mag_max)
    assert (layer.hidden() == expect).all()
    assert inc.any()
    c = layer.state.counters
    assert (c.samples == 1).all()                  # one update command per array
    # one read-modify-write of the updated slots' rows (and their flag rows)
    assert (c.fe_reads - r0 > 0).all() and (c.fe_reads - r0 == c.fe_writes - w0).all()


def test_hybrid_batch_mask_thins_the_update(digits):
    opts = R.Options(arch=(64, 10), epochs=1, lr=0.02, p=0.2, k=1000, batch=5, seed=2)
    full = R.Options(arch=(64, 10), epochs=1, lr=0.02, p=1.0, k=1000, batch=5, seed=2)
    changed = []
    for o in (opts, full):
        net = R.Network(o)
        h0 = net.layers[0].hidden()
        for i in range(5):
            net.train_sample(digits.x_train[i], int(digits.y_train[i]))
        changed.append(int((net.layers[0].hidden() != h0).sum()))
    # p = 0.2 updates a Bernoulli(0.2) subset of what p = 1 updates (640 synapses): far fewer
    assert 0 < changed[0] < 0.5 * changed[1]


def test_transfers_stay_every_k_samples(digits):
    net = R.Network(R.Options(arch=(64, 10), epochs=1, k=20, batch=10, seed=1))
    for i in range(10):
        net.train_sample(digits.x_train[i], int(digits.y_train[i]))
    assert net.transfers == 0
    for i in range(10, 20):
        net.train_sample(digits.x_train[i], int(digits.y_train[i]))
    assert net.transfers == 1 and net.transfer_after == [0, 20]


def test_the_epochs_last_shorter_batch_is_applied(digits):
    opts = R.Options(arch=(64, 10), scheme="float", epochs=2, batch=10, max_train_samples=25)
    res, net = R.train(opts, digits)
    assert net.batcher.updates == 6 and net.batcher.n == 0 and res.train_samples == 50


def test_batch_1_is_the_online_path(digits):
    a = R.Network(R.Options(arch=(64, 10), epochs=1, seed=5))
    b = R.Network(R.Options(arch=(64, 10), epochs=1, seed=5, batch=1))
    assert b.batcher is None
    for i in range(30):
        a.train_sample(digits.x_train[i], int(digits.y_train[i]))
        b.train_sample(digits.x_train[i], int(digits.y_train[i]))
    assert (a.layers[0].hidden() == b.layers[0].hidden()).all()


@pytest.mark.parametrize("batch", [0, 10001, 2.5, True])
def test_batch_out_of_range(batch):
    with pytest.raises(ValueError, match=f"batch must be an integer in 1..10000; got {batch!r}"):
        R.Options(batch=batch)


def test_no_recording_with_batches():
    with pytest.raises(ValueError, match="recording needs batch 1"):
        R.Network(R.Options(arch=(64, 10), batch=4), record=True)


def test_cli_batch(tmp_path, capsys):
    js = tmp_path / "r.json"
    base = ["train", "--dataset", "digits", "--arch", "64-16-10", "--epochs", "1",
            "--max-train-samples", "40", "--quiet"]
    assert cli.main(base + ["--batch", "10", "--json", str(js)]) == 0
    assert json.loads(js.read_text())["options"]["batch"] == 10
    capsys.readouterr()
    assert cli.main(base + ["--batch", "0"]) == 2
    assert "hymem train: error: batch must be an integer in 1..10000; got 0" in capsys.readouterr().err
    assert cli.main(base + ["--batch", "4", "--record", str(tmp_path / "r.npz")]) == 2
    assert "--record needs --batch 1" in capsys.readouterr().err
