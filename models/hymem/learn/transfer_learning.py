"""Last-layer transfer learning: a frozen float feature extractor, 4-bit features, and only the
last layer learned on the hybrid array (the paper's MobileNet-V2 / CIFAR-10 use case, SPEC
section 1, rebuilt on data available offline).

The paper freezes a pretrained MobileNet-V2, quantizes its features to 4 bits and learns the last
layer on the hybrid memory with ``k = 512``. Nothing is downloaded here: :func:`train_extractor`
trains our own float extractor (NumPy, a 784-H-F ReLU MLP with a softmax head that is thrown
away) on a *source* task of ``mnist5k``, and the *target* task is what a device in the field
would meet later:

==================  =========================================================================
scenario            source task / target task (``mnist5k``, its fixed stratified split)
==================  =========================================================================
``new-classes``     source: digits 0-4; target: digits 5-9 (labels 0-4), never seen by the
                    extractor.
``domain-shift``    source: the first half of every class's training images, upright; target:
                    the other half and the test set as a new sensor gives them, rotated by
                    :data:`SHIFT_ROTATE_DEG`, shifted by :data:`SHIFT_PX` pixels and with
                    Gaussian noise (:data:`SHIFT_NOISE`), all 10 classes.
==================  =========================================================================

Features: ``f = relu(W2 relu(W1 x + b1) + b2)`` (F values), quantized to :data:`FEATURE_BITS`
bits with one clip value per feature (its :data:`CLIP_QUANTILE` quantile on the source training
set): ``q = clip(round(f / clip * 15), 0, 15)``. The last layer sees ``x = q / 16``, which the
hybrid layer's power-of-two quantization (:func:`hymem.learn.quant.quantize_pow2`) turns into
``8 q`` exactly: no rounding of the features beyond their 4 bits.

The frozen extractor is stored as ``.npz`` (:func:`save`, :func:`load_extractor`; keys in
:data:`NPZ_KEYS`), which ``hymem train --features FILE`` and ``hymem cosim --features FILE``
read; ``hymem features`` writes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import datasets

FORMAT = "hymem-features/1"
SCENARIOS = ("new-classes", "domain-shift")
#: Bits of a quantized feature (the paper's 4-bit features).
FEATURE_BITS = 4
#: Per-feature clip value: this quantile of the feature on the source training set.
CLIP_QUANTILE = 0.99
#: Domain shift of the target (a new sensor): rotation (degrees), shift (pixels, right and
#: down), additive Gaussian noise (std, pixel scale 0..1) and the seed of that noise.
SHIFT_ROTATE_DEG = 30.0
SHIFT_PX = 2
SHIFT_NOISE = 0.2
SHIFT_NOISE_SEED = 1414
#: Transfer period of the paper's transfer-learning run.
TRANSFER_K = 512
#: Source dataset of both scenarios.
SOURCE_DATASET = "mnist5k"

#: Extractor sizes and training (float, mini-batch SGD with momentum on the source task).
HIDDEN_DEFAULT = 256
FEATURES_DEFAULT = 64
EXTRACTOR_EPOCHS = 15
EXTRACTOR_BATCH = 32
EXTRACTOR_LR = 0.05
EXTRACTOR_MOMENTUM = 0.9

NPZ_KEYS = ("format", "scenario", "dataset", "seed", "w1", "b1", "w2", "b2", "clip", "bits",
            "source_accuracy")


class FeatureError(ValueError):
    """A features file or parameter that cannot be used."""


def _check_int(name, v, lo, hi):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not lo <= v <= hi:
        raise FeatureError(f"{name} must be an integer in {lo}..{hi}; got {v!r}")


def _check_scenario(scenario):
    if scenario not in SCENARIOS:
        raise FeatureError(f"scenario must be one of {', '.join(SCENARIOS)}; got {scenario!r}")


# ------------------------------------------------------------------------------ tasks


def shift_images(x: np.ndarray, seed: int = SHIFT_NOISE_SEED) -> np.ndarray:
    """The domain shift on 28x28 images (rows of 784 pixels in 0..1): rotation, shift, noise,
    clipped back to 0..1."""
    from scipy import ndimage

    img = x.reshape(-1, 28, 28).astype(np.float64)
    out = np.empty_like(img)
    for i, im in enumerate(img):
        r = ndimage.rotate(im, SHIFT_ROTATE_DEG, reshape=False, order=1, mode="constant")
        out[i] = ndimage.shift(r, (SHIFT_PX, SHIFT_PX), order=0, mode="constant")
    out += np.random.default_rng(seed).normal(0.0, SHIFT_NOISE, out.shape)
    return np.clip(out, 0.0, 1.0).reshape(len(x), -1).astype(np.float32)


def _halves(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first and the second half of every class's samples (in stored order)."""
    a, b = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        a.append(idx[: len(idx) // 2])
        b.append(idx[len(idx) // 2:])
    return np.sort(np.concatenate(a)), np.sort(np.concatenate(b))


def tasks(scenario: str, data: datasets.Dataset | None = None):
    """``(source, target)`` datasets of a scenario (pixels), from ``mnist5k``'s fixed split."""
    _check_scenario(scenario)
    d = data if data is not None else datasets.load(SOURCE_DATASET)
    if scenario == "new-classes":
        def pick(classes, name):
            tr, te = np.isin(d.y_train, classes), np.isin(d.y_test, classes)
            return datasets.Dataset(name, d.x_train[tr], d.y_train[tr] - classes[0], d.x_test[te],
                                    d.y_test[te] - classes[0], len(classes),
                                    f"{d.name} digits {classes[0]}-{classes[-1]} (labels from 0)")
        return pick(list(range(5)), "mnist5k-0-4"), pick(list(range(5, 10)), "mnist5k-5-9")
    a, b = _halves(d.y_train)
    src = datasets.Dataset("mnist5k-half-a", d.x_train[a], d.y_train[a], d.x_test, d.y_test,
                           d.n_classes, "mnist5k, first half of each class's training images")
    tgt = datasets.Dataset("mnist5k-shifted", shift_images(d.x_train[b], SHIFT_NOISE_SEED),
                           d.y_train[b], shift_images(d.x_test, SHIFT_NOISE_SEED + 1), d.y_test,
                           d.n_classes,
                           f"mnist5k, other half, rotated {SHIFT_ROTATE_DEG:g} deg, shifted "
                           f"{SHIFT_PX} px, noise {SHIFT_NOISE:g}")
    return src, tgt


# -------------------------------------------------------------------------- extractor


@dataclass
class Extractor:
    """A frozen float feature extractor and its 4-bit quantization."""

    scenario: str
    dataset: str
    seed: int
    w1: np.ndarray          # (H, 784)
    b1: np.ndarray          # (H,)
    w2: np.ndarray          # (F, H)
    b2: np.ndarray          # (F,)
    clip: np.ndarray        # (F,) per-feature clip value (> 0)
    bits: int = FEATURE_BITS
    source_accuracy: float = float("nan")

    @property
    def n_features(self) -> int:
        return int(self.w2.shape[0])

    def float_features(self, x: np.ndarray) -> np.ndarray:
        h = np.maximum(np.asarray(x, dtype=np.float32) @ self.w1.T + self.b1, 0)
        return np.maximum(h @ self.w2.T + self.b2, 0)

    def codes(self, x: np.ndarray) -> np.ndarray:
        """The features quantized to ``bits`` bits: integers ``0 .. 2**bits - 1``."""
        top = (1 << self.bits) - 1
        return np.clip(np.floor(self.float_features(x) / self.clip * top + 0.5), 0, top).astype(np.int64)

    def features(self, x: np.ndarray) -> np.ndarray:
        """What the last layer sees: ``codes / 2**bits`` (float32, exact)."""
        return (self.codes(x) / float(1 << self.bits)).astype(np.float32)


def train_extractor(scenario: str, seed: int = 1, hidden: int = HIDDEN_DEFAULT,
                    n_features: int = FEATURES_DEFAULT, epochs: int = EXTRACTOR_EPOCHS,
                    data: datasets.Dataset | None = None, log=None) -> Extractor:
    """Train the float extractor on the scenario's source task (784-hidden-features ReLU MLP
    plus a softmax head, mini-batch SGD with momentum, He initialisation, all from ``seed``)."""
    _check_scenario(scenario)
    _check_int("seed", seed, 0, 2 ** 32 - 1)
    _check_int("hidden", hidden, 1, 4096)
    _check_int("features", n_features, 1, 1024)
    _check_int("epochs", epochs, 1, 1000)
    src, _ = tasks(scenario, data)
    try:   # one BLAS thread: on this shared 2-core machine many threads made it 25x slower
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return _train_extractor(scenario, seed, hidden, n_features, epochs, src, log)
    with threadpool_limits(1):
        return _train_extractor(scenario, seed, hidden, n_features, epochs, src, log)


def _train_extractor(scenario, seed, hidden, n_features, epochs, src, log) -> Extractor:
    rng = np.random.default_rng([seed, 0xFEA7])
    n_in, C = src.n_features, src.n_classes
    sizes = [(hidden, n_in), (n_features, hidden), (C, n_features)]
    ws = [(rng.standard_normal(s) * math.sqrt(2.0 / s[1])).astype(np.float32) for s in sizes]
    bs = [np.zeros(s[0], dtype=np.float32) for s in sizes]
    vw = [np.zeros_like(w) for w in ws]
    vb = [np.zeros_like(b) for b in bs]
    x, y = src.x_train, src.y_train
    for ep in range(epochs):
        lr = EXTRACTOR_LR * 0.5 * (1 + math.cos(math.pi * ep / epochs))   # cosine schedule
        order = rng.permutation(len(y))
        for s in range(0, len(y), EXTRACTOR_BATCH):
            idx = order[s: s + EXTRACTOR_BATCH]
            hs = [x[idx]]
            for w, b in zip(ws[:-1], bs[:-1]):
                hs.append(np.maximum(hs[-1] @ w.T + b, 0))
            z = hs[-1] @ ws[-1].T + bs[-1]
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            g = p
            g[np.arange(len(idx)), y[idx]] -= 1.0
            g /= len(idx)
            for li in range(len(ws) - 1, -1, -1):
                gw, gb = g.T @ hs[li], g.sum(axis=0)
                if li > 0:
                    g = (g @ ws[li]) * (hs[li] > 0)
                vw[li] = EXTRACTOR_MOMENTUM * vw[li] - lr * gw
                vb[li] = EXTRACTOR_MOMENTUM * vb[li] - lr * gb
                ws[li] += vw[li]
                bs[li] += vb[li]
    h = src.x_test
    for w, b in zip(ws[:-1], bs[:-1]):
        h = np.maximum(h @ w.T + b, 0)
    acc = float(((h @ ws[-1].T + bs[-1]).argmax(axis=1) == src.y_test).mean())
    if log:
        log(f"extractor ({scenario}, seed {seed}): source task {src.name} test accuracy {acc:.4f}")
    ext = Extractor(scenario, SOURCE_DATASET, int(seed), ws[0], bs[0], ws[1], bs[1],
                    np.ones(n_features, dtype=np.float32), FEATURE_BITS, acc)
    f = ext.float_features(src.x_train)
    clip = np.quantile(f, CLIP_QUANTILE, axis=0).astype(np.float32)
    # a feature that is (almost) never active keeps the largest value seen, or 1 if it is dead
    clip = np.where(clip > 0, clip, np.where(f.max(axis=0) > 0, f.max(axis=0), 1.0))
    ext.clip = clip.astype(np.float32)
    return ext


# ------------------------------------------------------------------------------ files


def save(ext: Extractor, path) -> None:
    """Write the extractor as ``.npz`` (keys :data:`NPZ_KEYS`) to ``path`` (a path or a binary
    file object)."""
    np.savez(path, format=np.array(FORMAT), scenario=np.array(ext.scenario),
             dataset=np.array(ext.dataset), seed=np.array(ext.seed, dtype=np.int64),
             w1=ext.w1, b1=ext.b1, w2=ext.w2, b2=ext.b2, clip=ext.clip,
             bits=np.array(ext.bits, dtype=np.int64),
             source_accuracy=np.array(ext.source_accuracy, dtype=np.float64))


def load_extractor(path) -> Extractor:
    """Read a features file written by :func:`save`; FeatureError naming the file and what is
    wrong (not a .npz, a missing key, shapes that do not chain, non-finite values)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in NPZ_KEYS if k not in z.files]
            if missing:
                raise FeatureError(f"features file {path}: missing {', '.join(missing)} (not a "
                                   f"file written by `hymem features`?)")
            d = {k: z[k] for k in NPZ_KEYS}
    except FeatureError:
        raise
    except (OSError, ValueError, EOFError) as e:
        raise FeatureError(f"features file {path}: cannot be read as .npz ({e})") from None
    if str(d["format"]) != FORMAT:
        raise FeatureError(f"features file {path}: format {str(d['format'])!r}, expected {FORMAT!r}")
    scenario = str(d["scenario"])
    if scenario not in SCENARIOS:
        raise FeatureError(f"features file {path}: scenario must be one of {', '.join(SCENARIOS)}; "
                           f"got {scenario!r}")
    w1, b1, w2, b2, clip = (np.asarray(d[k], dtype=np.float32) for k in ("w1", "b1", "w2", "b2", "clip"))
    if (w1.ndim != 2 or w1.shape[1] != 784 or b1.shape != (w1.shape[0],) or w2.ndim != 2
            or w2.shape[1] != w1.shape[0] or b2.shape != (w2.shape[0],) or clip.shape != b2.shape):
        raise FeatureError(f"features file {path}: shapes w1 {w1.shape}, b1 {b1.shape}, w2 {w2.shape}, "
                           f"b2 {b2.shape}, clip {clip.shape} do not chain 784 -> H -> F")
    if not all(np.isfinite(a).all() for a in (w1, b1, w2, b2, clip)) or (clip <= 0).any():
        raise FeatureError(f"features file {path}: weights must be finite and every clip value > 0")
    bits = int(d["bits"])
    if bits != FEATURE_BITS:
        raise FeatureError(f"features file {path}: bits must be {FEATURE_BITS}; got {bits}")
    return Extractor(scenario, str(d["dataset"]), int(d["seed"]), w1, b1, w2, b2, clip, bits,
                     float(d["source_accuracy"]))


def target_dataset(ext: Extractor, data: datasets.Dataset | None = None) -> datasets.Dataset:
    """The scenario's target task as the last layer sees it: 4-bit features of the frozen
    extractor (``codes / 16``), target labels."""
    _, tgt = tasks(ext.scenario, data)
    return datasets.Dataset(f"features:{ext.scenario}", ext.features(tgt.x_train), tgt.y_train,
                            ext.features(tgt.x_test), tgt.y_test, tgt.n_classes,
                            f"{tgt.description}; {ext.n_features} frozen {ext.bits}-bit features "
                            f"(extractor seed {ext.seed})",
                            info={"features_scenario": ext.scenario, "features_seed": ext.seed,
                                  "features_source_accuracy": ext.source_accuracy})


def load_data(dataset: str | None, features: str | None) -> datasets.Dataset:
    """What ``--dataset`` / ``--features`` name: a dataset, or the target task of a features
    file (whose source dataset ``--dataset``, if given, must be)."""
    if not features:
        return datasets.load(dataset)
    ext = load_extractor(features)
    if dataset and dataset != ext.dataset:
        raise FeatureError(f"--dataset {dataset} does not match the features file's source "
                           f"dataset {ext.dataset} (leave --dataset out with --features)")
    return target_dataset(ext)
