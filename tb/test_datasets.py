"""hymem.learn.datasets: built-in sets, IDX and CSV loaders, fixed splits, and their errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from hymem.learn import datasets
from hymem import resources
from hymem.learn.datasets import DatasetError


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
    assert ds.n_features == 2 and ds.n_classes == 2 and ds.labels is None
    assert len(ds.y_train) == 32 and len(ds.y_test) == 8
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    assert ds.info == {"csv_header": "auto: line 2 is the header (none of its fields is a number)"}
    f.write_text("1,2,0\n3,4,1\n5,6,1\n7,8,0\n9,1,0\n")   # no header
    t = datasets.read_csv(f)
    assert t.x.shape == (5, 2) and t.y.tolist() == [0, 1, 1, 0, 0] and t.columns is None
    assert t.header == ("auto: no header (line 1 holds numbers, e.g. '1'; use --csv-header yes "
                        "if it is one)")
    assert t.lines.tolist() == [1, 2, 3, 4, 5]


def csv_rows(n=50, label=lambda i: i % 2, feats=2):
    rng = np.random.default_rng(2)
    return [",".join(f"{rng.normal() + i % 2:.4f}" for _ in range(feats)) + f",{label(i)}"
            for i in range(n)]


def write_csv(tmp_path, rows, name="d.csv", prefix=b"", encoding="utf-8", eol="\n"):
    f = tmp_path / name
    f.write_bytes(prefix + (eol.join(rows) + eol).encode(encoding))
    return f


@pytest.mark.parametrize("prefix,eol", [(b"\xef\xbb\xbf", "\n"), (b"", "\r\n")], ids=["bom", "crlf"])
def test_csv_bom_and_crlf_keep_the_first_row(tmp_path, prefix, eol):
    """A headerless file starting with a UTF-8 BOM (or with CRLF line ends) loses no row."""
    rows = csv_rows()
    f = write_csv(tmp_path, rows, prefix=prefix, eol=eol)
    t = datasets.read_csv(f)
    assert t.x.shape == (50, 2) and t.columns is None
    assert t.x[0].tolist() == [float(v) for v in rows[0].split(",")[:2]]
    ds = datasets.load(f"csv:{f}")
    assert (len(ds.y_train), len(ds.y_test)) == (40, 10)


def test_csv_header_modes(tmp_path):
    rows = csv_rows()
    # a first row with a typo is data (it holds numbers): the typo is an error, not a header
    typo = write_csv(tmp_path, ["2.0x" + rows[0][rows[0].index(","):]] + rows[1:], "typo.csv")
    with pytest.raises(DatasetError, match=r"^\S*typo\.csv:1: column 1: '2\.0x' is not a number$"):
        datasets.read_csv(typo)
    # a numeric header (1,2,3) is data under auto: its label 3 leaves class 2 empty
    num = write_csv(tmp_path, ["1,2,3"] + rows, "num.csv")
    with pytest.raises(DatasetError, match=r"num\.csv: labels found: 0, 1, 3; integer labels must "
                       r"be 0\.\.C-1 with a sample of every class; no sample of 2 .*line 1 was read "
                       r"as data: if it is a header, use --csv-header yes$"):
        datasets.load(f"csv:{num}")
    ds = datasets.load(f"csv:{num}", csv_header="yes")
    assert (len(ds.y_train), len(ds.y_test)) == (40, 10)
    assert ds.info["csv_header"] == "yes: line 1 is the header"
    assert "csv header: yes: line 1 is the header" in ds.summary()
    # --csv-header no: a text first row is data, and an error naming line 1
    hdr = write_csv(tmp_path, ["f1,f2,label"] + rows, "hdr.csv")
    with pytest.raises(DatasetError, match=r"hdr\.csv:1: column 1: 'f1' is not a number$"):
        datasets.read_csv(hdr, "no")
    assert datasets.read_csv(hdr, "auto").columns == ("f1", "f2", "label")
    with pytest.raises(DatasetError, match=r"csv_header must be one of auto, yes, no; got 'maybe'"):
        datasets.load(f"csv:{hdr}", csv_header="maybe")


def test_csv_text_labels_are_mapped_in_sorted_order(tmp_path):
    names = ("Gentoo", "Adelie", "Chinstrap")
    f = write_csv(tmp_path, ["bill_len,bill_depth,species"] + csv_rows(60, lambda i: names[i % 3]))
    t = datasets.read_csv(f)
    assert t.labels == ("Adelie", "Chinstrap", "Gentoo")
    assert t.y[:3].tolist() == [2, 0, 1]
    ds = datasets.load(f"csv:{f}")
    assert ds.n_classes == 3 and ds.labels == ("Adelie", "Chinstrap", "Gentoo")
    assert ds.info["class_labels"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert "labels: 0 = 'Adelie', 1 = 'Chinstrap', 2 = 'Gentoo'" in ds.summary()


def test_csv_quoted_fields(tmp_path):
    rows = ['"f1","f2","label"'] + [f'"{a}", {b} ,"{"male, adult" if int(c) else "female"}"'
                                    for a, b, c in (r.split(",") for r in csv_rows())]
    t = datasets.read_csv(write_csv(tmp_path, rows))
    assert t.x.shape == (50, 2) and t.labels == ("female", "male, adult")


@pytest.mark.parametrize("label,match", [
    (lambda i: 5 * (i % 2), r"labels found: 0, 5; integer labels must be 0\.\.C-1 with a sample "
                            r"of every class; no sample of 1, 2, 3, 4 \(renumber them"),
    (lambda i: 1 + i % 3, r"labels found: 1, 2, 3; .*; no sample of 0 \("),
    (lambda i: (0, 1000000)[i % 2], r"labels found: 0, 1000000; integer labels must"),
    (lambda i: ("0", "1e30")[i % 2], r"labels found: 0, 1e30; integer labels must"),
    (lambda i: (-1, 1)[i % 2], r"labels found: -1, 1; integer labels must"),
    (lambda i: 0, r"needs at least 2 classes; every label is 0$"),
    (lambda i: "cat", r"needs at least 2 classes; every label is 'cat'$"),
    (lambda i: ("0", "1", "x")[i % 3], r"the label column mixes numbers and text \(line 1: '0', "
                                      r"line 3: 'x'\); use integers 0\.\.C-1 or names throughout"),
    (lambda i: ("0", "0.5")[i % 2], r"d\.csv:2: label '0\.5' is not an integer"),
])
def test_csv_label_errors_list_the_labels_found(tmp_path, label, match):
    f = write_csv(tmp_path, csv_rows(label=label))
    with pytest.raises(DatasetError, match=match) as e:
        datasets.load(f"csv:{f}")
    assert str(e.value).startswith(str(f))


def test_csv_class_absent_from_the_test_split(tmp_path):
    """A class with one sample would vanish from the test split (and the run report 100 %)."""
    f = write_csv(tmp_path, csv_rows(49) + ["0.5,0.5,2"])
    with pytest.raises(DatasetError, match=r"d\.csv: class 2 has no test sample in the 20 % "
                       r"stratified test split: it has only 1 sample\(s\); give it at least 3$"):
        datasets.load(f"csv:{f}")
    names = write_csv(tmp_path, csv_rows(49, lambda i: "ab"[i % 2]) + ["0.5,0.5,c"], "n.csv")
    with pytest.raises(DatasetError, match=r"n\.csv: class 2 \('c'\) has no test sample"):
        datasets.load(f"csv:{names}")
    ok = write_csv(tmp_path, csv_rows(47) + ["0.5,0.5,2"] * 3, "ok.csv")
    assert np.bincount(datasets.load(f"csv:{ok}").y_test).tolist() == [5, 5, 1]


@pytest.mark.parametrize("row,line,match", [
    ("1e300,1e300,0", 1, r"column 1: 1e\+300 is too large: the column cannot be standardised"),
    ("1,-3e200,1", 1, r"column 2: -3e\+200 is too large"),
])
def test_csv_features_that_overflow_the_zscore(tmp_path, row, line, match):
    """Values near 1e300 used to z-score to zeros without a word."""
    f = write_csv(tmp_path, [row] + csv_rows()[1:])
    with pytest.raises(DatasetError, match=rf"d\.csv:{line}: {match}"):
        datasets.load(f"csv:{f}")
    f = write_csv(tmp_path, [r.replace(",", "e150,", 1) if i else r for i, r in enumerate(csv_rows())])
    assert np.isfinite(datasets.load(f"csv:{f}").x_train).all()   # 1e150 still standardises


@pytest.mark.parametrize("text,match", [
    ("1,2,0\n3,4\n", r"d\.csv:2: 2 columns; expected 3$"),
    ("1,2,0\n3,x,1\n", r"d\.csv:2: column 2: 'x' is not a number$"),
    ("a,b,c\n1,2,0\n3,x,1\n", r"d\.csv:3: column 2 \('b'\): 'x' is not a number$"),
    ("1,2,0.5\n3,4,1\n", r"d\.csv:1: label '0\.5' is not an integer; labels \(last column\) must "
                         r"be integers 0\.\.C-1 or text$"),
    ("1,2,0\n", r"d\.csv: needs at least 2 samples; got 1$"),
    ("", r"d\.csv: needs at least 2 samples; got 0$"),
    ("a,b,label\n", r"d\.csv: needs at least 2 samples; got 0$"),
    ("5\n6\n", r"d\.csv: needs at least one feature column and a label column; got 1 column "
              r"\(is it comma-separated\?\)$"),
    ("1;2;0\n3;4;1\n", r"got 1 column \(is it comma-separated\?\)$"),
    ("1,2,0\n1,nan,0\n3,4,1\n", r"d\.csv:2: column 2: 'nan' is not a finite number$"),
    ("1,2,0\n-inf,2,0\n", r"d\.csv:2: column 1: '-inf' is not a finite number$"),
    ("1,2,0\n1e400,2,0\n", r"d\.csv:2: column 1: '1e400' is not a finite number$"),
    ("1,2,0\n3,\x004,1\n", r"d\.csv:2: column 2: '\\x004' is not a number$"),
    ("1,2,0\n3," + "9" * 200000 + ",1\n", r"d\.csv:2: field larger than field limit"),
    ('1,2,0\n3,"4,1\n', r"d\.csv:2: 2 columns; expected 3$"),     # an unclosed quote
])
def test_csv_errors(tmp_path, text, match):
    f = tmp_path / "d.csv"
    f.write_text(text)
    with pytest.raises(DatasetError, match=match) as e:
        datasets.read_csv(f)
    assert str(e.value).startswith(str(f))


def test_csv_encoding_errors_name_the_file_and_line(tmp_path):
    f = write_csv(tmp_path, ["caract\u00e9ristique,b,label"] + csv_rows(), encoding="latin-1")
    with pytest.raises(DatasetError, match=r"d\.csv:1: not UTF-8 text \(byte 0xe9 at column 7: "
                                           r"invalid continuation byte\)$"):
        datasets.load(f"csv:{f}")
    f.write_bytes(("\n".join(csv_rows(20)) + "\n").encode() + b"1,\xff,0\n")
    with pytest.raises(DatasetError, match=r"d\.csv:21: not UTF-8 text \(byte 0xff at column 3"):
        datasets.read_csv(f)


def test_csv_memory(tmp_path, monkeypatch):
    """The reader keeps float64 values (not Python lists): its peak is a few times the file's
    size (the former reader's was about 11x); past the memory available it refuses."""
    import tracemalloc

    f = write_csv(tmp_path, csv_rows(20000, feats=10))
    size = f.stat().st_size
    tracemalloc.start()
    t = datasets.read_csv(f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert t.x.shape == (20000, 10)
    assert peak < 3 * size, (peak, size)
    monkeypatch.setattr(resources, "available_memory", lambda: 1_000_000)
    with pytest.raises(DatasetError, match=r"d\.csv:4096: loading its first 40,960 values needs "
                                           r"about 1\.64 MB of memory; 1 MB available$"):
        datasets.read_csv(f)


def test_idx_classes_are_checked(tmp_path):
    """A one-class IDX set used to train and report 100 %; gapped labels made empty classes."""
    def idx_set(name, train, test):
        d = tmp_path / name
        d.mkdir()
        write_idx(d / "train-images-idx3-ubyte", np.zeros((len(train), 2, 2)))
        write_idx(d / "train-labels-idx1-ubyte", np.array(train))
        write_idx(d / "t10k-images-idx3-ubyte", np.zeros((len(test), 2, 2)))
        write_idx(d / "t10k-labels-idx1-ubyte", np.array(test))
        return d
    d = idx_set("one", [0] * 6, [0] * 3)
    with pytest.raises(DatasetError, match=rf"^idx:{d}: needs at least 2 classes; every label is 0$"):
        datasets.load(f"idx:{d}")
    d = idx_set("gap", [0, 5] * 3, [0, 5])
    with pytest.raises(DatasetError, match=rf"^idx:{d}: labels found: 0, 5; integer labels must be "
                                           r"0\.\.C-1 with a sample of every class; no sample of "
                                           r"1, 2, 3, 4$"):
        datasets.load(f"idx:{d}")
    d = idx_set("testgap", [0, 1, 2] * 2, [0, 1])
    with pytest.raises(DatasetError, match=rf"^idx:{d}: class 2 has no test sample in "
                                           r"t10k-labels-idx1-ubyte$"):
        datasets.load(f"idx:{d}")
    d = idx_set("traingap", [0, 1] * 3, [0, 1, 2])
    with pytest.raises(DatasetError, match=r"class 2 has no training sample$"):
        datasets.load(f"idx:{d}")


def test_idx_sizes_use_python_integers(tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    # 3 x (2**32 - 1): 7.9e28 bytes, which overflows int64 (the old code's numpy product)
    bad.write_bytes(bytes([0, 0, 8, 3]) + (2 ** 32 - 1).to_bytes(4, "big") * 3 + b"\x00" * 16)
    with pytest.raises(DatasetError, match=r"bad: IDX header says \[4294967295, 4294967295, "
                       r"4294967295\] \(79,228,162,458,924,105,385,300,197,375 bytes of data\); the "
                       r"limit is 17,179,869,184 bytes$"):
        datasets.read_idx(bad)
    write_idx(bad, np.zeros((4, 5)))
    monkeypatch.setattr(datasets, "MAX_DATA_BYTES", 19)
    with pytest.raises(DatasetError, match=r"\(20 bytes of data\); the limit is 19 bytes$"):
        datasets.read_idx(bad)
    monkeypatch.setattr(datasets, "MAX_DATA_BYTES", 1 << 34)
    monkeypatch.setattr(resources, "available_memory", lambda: 100)
    with pytest.raises(DatasetError, match=r"bad: loading 20 bytes of IDX data needs about 180 "
                                           r"bytes of memory; 100 bytes available$"):
        datasets.read_idx(bad)


def test_idx_gzip_is_read_only_as_far_as_the_header_says(tmp_path):
    """A gzip stream holding far more than its header declares (a decompression bomb: 256 MB
    of zeros in 250 kB) is refused after reading the declared size plus one byte."""
    import tracemalloc
    import zlib

    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [co.compress(bytes([0, 0, 8, 2]) + (2).to_bytes(4, "big") * 2 + bytes(4))]
    chunk = bytes(1 << 20)
    parts += [co.compress(chunk) for _ in range(256)] + [co.flush()]
    bomb = tmp_path / "bomb"
    bomb.write_bytes(b"".join(parts))
    tracemalloc.start()
    with pytest.raises(DatasetError, match=r"bomb: IDX header says \[2, 2\] \(4 bytes\) but the "
                                           r"decompressed file holds more data than that$"):
        datasets.read_idx(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20, peak
    short = tmp_path / "short"
    short.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(3)))
    with pytest.raises(DatasetError, match=r"holds only 3 bytes$"):
        datasets.read_idx(short)
    cut = tmp_path / "cut"
    cut.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(10))[:-12])
    with pytest.raises(DatasetError, match=r"cut: corrupt gzip data"):
        datasets.read_idx(cut)


def test_idx_header_corners(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(bytes([0, 0, 8, 0]))
    with pytest.raises(DatasetError, match=r"f: IDX header has 0 dimensions$"):
        datasets.read_idx(f)
    f.write_bytes(bytes([0, 0, 8, 2]) + bytes(4))
    with pytest.raises(DatasetError, match=r"f: truncated IDX header$"):
        datasets.read_idx(f)
    with pytest.raises(DatasetError, match=r"is a directory, not a file$"):
        datasets.read_idx(tmp_path)
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 0, 3)))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5, 0, 3)))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: images of shape \(0, 3\) have "
                                           r"no pixels$"):
        datasets.load(f"idx:{tmp_path}")


def test_missing_files_and_unknown_names(tmp_path):
    with pytest.raises(DatasetError, match="none.csv: no such file"):
        datasets.load(f"csv:{tmp_path / 'none.csv'}")
    with pytest.raises(DatasetError, match=rf"^{tmp_path}: is a directory, not a file$"):
        datasets.load(f"csv:{tmp_path}")
    with pytest.raises(DatasetError, match="no such file"):
        datasets.read_idx(tmp_path / "none")
    with pytest.raises(DatasetError, match=r"unknown dataset 'mnist'; valid: digits, iris, wine, "
                                           r"breast_cancer, mnist5k, idx:DIR, csv:FILE"):
        datasets.load("mnist")
    with pytest.raises(DatasetError, match="unknown dataset 'csv:'"):
        datasets.load("csv:")
    assert issubclass(DatasetError, ValueError)
