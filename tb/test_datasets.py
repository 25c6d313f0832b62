"""hymem.datasets: built-in sets, IDX and CSV loaders, fixed splits, and their errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from hymem import datasets
from hymem.datasets import DatasetError


def write_idx(path, array: np.ndarray, gz: bool = False, magic: bytes | None = None) -> None:
    a = np.asarray(array, dtype=np.uint8)
    head = magic if magic is not None else bytes([0, 0, 0x08, a.ndim])
    head += b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    data = head + a.tobytes()
    if gz:
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)


def make_idx_dir(tmp_path, gz=False, n_train=12, n_test=5):
    rng = np.random.default_rng(0)
    sfx = ".gz" if gz else ""
    tr = rng.integers(0, 256, (n_train, 4, 3))
    te = rng.integers(0, 256, (n_test, 4, 3))
    write_idx(tmp_path / f"train-images-idx3-ubyte{sfx}", tr, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", np.arange(n_train) % 3, gz)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", te, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", np.arange(n_test) % 3, gz)
    return tr, te


@pytest.mark.parametrize("name,n_train,n_test,features,classes", [
    ("digits", 1438, 359, 64, 10), ("iris", 120, 30, 4, 3), ("wine", 142, 36, 13, 3),
    ("breast_cancer", 456, 113, 30, 2)])
def test_sklearn_sets_split_and_normalisation(name, n_train, n_test, features, classes):
    ds = datasets.load(name)
    assert ds.n_features == features and ds.n_classes == classes
    assert (len(ds.y_train), len(ds.y_test)) == (n_train, n_test)     # as documented
    # stratified: each class's test share is its rounded 20 %
    y_all = np.concatenate([ds.y_train, ds.y_test])
    for c in range(classes):
        assert (ds.y_test == c).sum() == round((y_all == c).sum() * 0.2)
    assert ds.x_train.dtype == np.float32
    if name == "digits":
        assert ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    else:   # z-score with the training statistics
        np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    again = datasets.load(name)
    np.testing.assert_array_equal(again.y_test, ds.y_test)   # the split is fixed
    np.testing.assert_array_equal(again.x_train, ds.x_train)


def test_mnist5k():
    ds = datasets.load("mnist5k")
    assert ds.x_train.shape == (4000, 784) and ds.x_test.shape == (1000, 784)
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert "4000 train / 1000 test" in ds.summary()


def test_stratified_split_is_a_partition():
    y = np.repeat(np.arange(3), [10, 7, 3])
    tr, te = datasets.stratified_split(y)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(y)))
    assert [int((y[te] == c).sum()) for c in range(3)] == [2, 1, 1]
    with pytest.raises(DatasetError, match=r"test_fraction must be in \(0, 1\); got 1\.5"):
        datasets.stratified_split(y, 1.5)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory(tmp_path, gz):
    tr, te = make_idx_dir(tmp_path, gz)
    ds = datasets.load(f"idx:{tmp_path}")
    assert ds.x_train.shape == (12, 12) and ds.x_test.shape == (5, 12)
    np.testing.assert_allclose(ds.x_train, tr.reshape(12, -1) / 255.0, rtol=1e-6)
    assert ds.y_train.tolist() == [i % 3 for i in range(12)] and ds.n_classes == 3


def test_idx_gzip_recognised_by_content(tmp_path):
    write_idx(tmp_path / "a", np.arange(6).reshape(2, 3), gz=True)
    assert datasets.read_idx(tmp_path / "a").tolist() == [[0, 1, 2], [3, 4, 5]]


def test_idx_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such directory"):
        datasets.load(f"idx:{tmp_path / 'nowhere'}")
    make_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="missing t10k-labels-idx1-ubyte"):
        datasets.load(f"idx:{tmp_path}")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4))       # 4 labels for 5 images
    with pytest.raises(DatasetError, match=r"test images \(5\) and labels \(4\) differ"):
        datasets.load(f"idx:{tmp_path}")
    bad = tmp_path / "bad"
    write_idx(bad, np.zeros(3), magic=b"\x12\x34\x08\x01")
    with pytest.raises(DatasetError, match="bad magic number"):
        datasets.read_idx(bad)
    write_idx(bad, np.zeros(3), magic=b"\x00\x00\x0d\x01")
    with pytest.raises(DatasetError, match="data type 0x0d not supported"):
        datasets.read_idx(bad)
    bad.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 7)
    with pytest.raises(DatasetError, match=r"holds 7 bytes"):
        datasets.read_idx(bad)
    bad.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(DatasetError, match="corrupt gzip"):
        datasets.read_idx(bad)


def test_csv(tmp_path):
    rng = np.random.default_rng(1)
    f = tmp_path / "d.csv"
    rows = ["# comment", "a,b,label"]
    for i in range(40):
        rows.append(f"{rng.normal():.4f},{rng.normal() + i % 2:.4f},{i % 2}")
    rows.append("")
    f.write_text("\n".join(rows))
    ds = datasets.load(f"csv:{f}")
    assert ds.n_features == 2 and ds.n_classes == 2
    assert len(ds.y_train) == 32 and len(ds.y_test) == 8
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    f.write_text("1,2,0\n3,4,1\n5,6,1\n7,8,0\n9,1,0\n")   # no header
    assert datasets.read_csv(f)[0].shape == (5, 2)


@pytest.mark.parametrize("text,match", [
    ("1,2,0\n3,4\n", r"d\.csv:2: 2 columns; expected 3"),
    ("1,2,0\n3,x,1\n", r"d\.csv:2: 'x' is not a number"),
    ("1,2,0.5\n3,4,1\n", r"labels \(last column\) must be integers 0\.\.C-1"),
    ("1,2,-1\n3,4,1\n", r"labels \(last column\) must be integers"),
    ("1,2,0\n3,4,0\n", r"at least 2 classes"),
    ("1,2,0\n", r"at least 2 samples"),
    ("5\n6\n", r"at least one feature column"),
    ("1,nan,0\n3,4,1\n", r"finite"),
])
def test_csv_errors(tmp_path, text, match):
    f = tmp_path / "d.csv"
    f.write_text(text)
    with pytest.raises(DatasetError, match=match):
        datasets.read_csv(f)


def test_missing_files_and_unknown_names(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        datasets.load(f"csv:{tmp_path / 'none.csv'}")
    with pytest.raises(DatasetError, match="no such file"):
        datasets.read_idx(tmp_path / "none")
    with pytest.raises(DatasetError, match=r"unknown dataset 'mnist'; valid: digits, iris, wine, "
                                           r"breast_cancer, mnist5k, idx:DIR, csv:FILE"):
        datasets.load("mnist")
    with pytest.raises(DatasetError, match="unknown dataset 'csv:'"):
        datasets.load("csv:")
    assert issubclass(DatasetError, ValueError)
