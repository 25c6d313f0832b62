#!/usr/bin/env python3
"""Probe every ``hymem`` subcommand with bad input and classify what happens.

    scripts/probe_cli.py --json build/probes-after.json            run the probes
    PYTHONPATH=/old/models scripts/probe_cli.py --json before.json  the same on another checkout
    scripts/probe_cli.py --table before.json after.json             the markdown table

Each probe runs ``python -m hymem.cli ARGS`` in a fresh temporary folder holding the input files
made by :func:`make_files` (csv and IDX variants, a folder, a file in the way); ``{d}`` in the
arguments is that folder. Outcomes:

- ``clear error``: the probe expects an error; exit code 2 (130 after Ctrl-C), no traceback, and
  the probe's own check (e.g. "the other output was still written") holds;
- ``correct``: the probe expects a result; exit code 0 and its check holds;
- ``traceback``; ``silent``: exit code 0 where an error was due, or a wrong result;
  ``vague error``: an error without the file, line or figure the probe looks for;
  ``refused``: an error where a result was due; ``timeout``: still working after the probe's
  time limit (the error, if any, would only come after the work);
- ``skipped``: not run on this checkout (see the probe's note).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
FLOAT = "--scheme float --epochs 1 --quiet"
T = f"train --dataset digits --arch 64-16-10 {FLOAT} --max-train-samples 50"
HT = "train --dataset digits --arch 64-16-10 --epochs 1 --quiet --max-train-samples 30"


# ----------------------------------------------------------------------------- input files


def _csv_rows(n=50, feats=2, label=lambda i: i % 2, seed=1):
    import random
    r = random.Random(seed)
    return [",".join(f"{r.gauss(0, 1) + (i % 2):.4f}" for _ in range(feats)) + f",{label(i)}"
            for i in range(n)]


def _idx(path: Path, shape, data: bytes | None = None, gz=False, dims=None):
    head = bytes([0, 0, 8, len(shape)]) + b"".join(int(d).to_bytes(4, "big") for d in (dims or shape))
    n = 1
    for s in shape:
        n *= s
    body = data if data is not None else bytes((i * 37) % 256 for i in range(n))
    raw = head + body
    path.write_bytes(gzip.compress(raw) if gz else raw)


def _idx_dir(d: Path, train_labels, test_labels, gz=False):
    d.mkdir()
    sfx = ".gz" if gz else ""
    _idx(d / f"train-images-idx3-ubyte{sfx}", (len(train_labels), 4, 4), gz=gz)
    _idx(d / f"train-labels-idx1-ubyte{sfx}", (len(train_labels),), bytes(train_labels), gz=gz)
    _idx(d / f"t10k-images-idx3-ubyte{sfx}", (len(test_labels), 4, 4), gz=gz)
    _idx(d / f"t10k-labels-idx1-ubyte{sfx}", (len(test_labels),), bytes(test_labels), gz=gz)


def make_files(d: Path) -> None:
    (d / "adir").mkdir()
    (d / "afile").write_text("x\n")
    w = lambda name, rows, enc="utf-8": (d / name).write_bytes("\n".join(rows).encode(enc) + b"\n")
    w("good.csv", _csv_rows())
    (d / "bom.csv").write_bytes(b"\xef\xbb\xbf" + "\n".join(_csv_rows()).encode() + b"\n")
    rows = _csv_rows()
    w("typo.csv", ["2.0x" + rows[0][rows[0].index(","):]] + rows[1:])
    w("numhdr.csv", ["1,2,3"] + _csv_rows())
    w("species.csv", ["bill_len,bill_depth,species"] + _csv_rows(
        60, label=lambda i: ("Adelie", "Chinstrap", "Gentoo")[i % 3]))
    w("labels05.csv", _csv_rows(label=lambda i: 5 * (i % 2)))
    w("labels123.csv", _csv_rows(60, label=lambda i: 1 + i % 3))
    w("label1e6.csv", _csv_rows(label=lambda i: (0, 1000000)[i % 2]))
    w("quoted.csv", ['"f1","f2","label"'] + ['"' + r.replace(",", '","') + '"' for r in _csv_rows()])
    w("single.csv", _csv_rows(49) + ["0.5,0.5,2"])
    w("big.csv", [r if i else "1e300,1e300,0" for i, r in enumerate(_csv_rows())])
    w("bigall.csv", [f"{(1 + i % 7) * 1e300:.3e},{i % 5},{i % 2}" for i in range(50)])
    w("nan.csv", _csv_rows()[:10] + ["nan,1,0"] + _csv_rows()[10:])
    w("inf.csv", _csv_rows()[:10] + ["1e400,1,0"] + _csv_rows()[10:])
    w("latin1.csv", ["caract\u00e9ristique,b,label"] + _csv_rows(), enc="latin-1")
    (d / "empty.csv").write_text("")
    w("hdronly.csv", ["a,b,label"])
    w("ragged.csv", _csv_rows()[:5] + ["1,2"] + _csv_rows()[5:])
    w("oneclass.csv", _csv_rows(label=lambda i: 0))
    w("two.csv", ["1,2,0", "3,4,1"])
    w("nul.csv", _csv_rows()[:3] + ["1,\x002,0"] + _csv_rows()[3:])
    w("hugefield.csv", _csv_rows()[:3] + ["1," + "9" * 200000 + ",0"] + _csv_rows()[3:])
    w("mixed.csv", _csv_rows(label=lambda i: ("0", "1", "x")[i % 3]))
    (d / "crlf.csv").write_bytes(("\r\n".join(_csv_rows()) + "\r\n").encode())
    w("semicolon.csv", [r.replace(",", ";") for r in _csv_rows()])
    w("three.csv", _csv_rows(60, label=lambda i: i % 3))
    _idx_dir(d / "idx_ok", [i % 3 for i in range(30)], [i % 3 for i in range(9)])
    _idx_dir(d / "idx_oneclass", [0] * 30, [0] * 9)
    _idx_dir(d / "idx_gap", [5 * (i % 2) for i in range(30)], [5 * (i % 2) for i in range(8)])
    _idx_dir(d / "idx_testgap", [i % 3 for i in range(30)], [i % 2 for i in range(8)])
    _idx_dir(d / "idx_overflow", [i % 3 for i in range(30)], [i % 3 for i in range(9)])
    _idx(d / "idx_overflow" / "train-images-idx3-ubyte", (30, 4, 4), dims=(2**32 - 1,) * 3)
    _idx_dir(d / "idx_bomb", [i % 3 for i in range(30)], [i % 3 for i in range(9)])
    # header: 30 images of 4x4; the gzip stream holds 300 MB more (a decompression bomb)
    import zlib
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = bytes([0, 0, 8, 3]) + b"".join(int(v).to_bytes(4, "big") for v in (30, 4, 4))
    parts = [co.compress(head + bytes(480))]
    chunk = bytes(1 << 20)
    for _ in range(300):
        parts.append(co.compress(chunk))
    parts.append(co.flush())
    (d / "idx_bomb" / "train-images-idx3-ubyte").unlink()
    (d / "idx_bomb" / "train-images-idx3-ubyte.gz").write_bytes(b"".join(parts))
    _idx_dir(d / "idx_short", [i % 3 for i in range(30)], [i % 3 for i in range(9)])
    _idx(d / "idx_short" / "t10k-images-idx3-ubyte", (9, 4, 4), data=bytes(100), dims=(9, 4, 4))
    _idx_dir(d / "idx_missing", [i % 3 for i in range(30)], [i % 3 for i in range(9)])
    (d / "idx_missing" / "t10k-labels-idx1-ubyte").unlink()


# ----------------------------------------------------------------------------- checks


def has(*paths):
    return lambda rc, out, err, d: all((d / p).exists() for p in paths)


def lacks(*paths):
    return lambda rc, out, err, d: not any((d / p).exists() for p in paths)


def says(pattern, where="err"):
    return lambda rc, out, err, d: re.search(pattern, out if where == "out" else err) is not None


def both(*checks):
    return lambda rc, out, err, d: all(c(rc, out, err, d) for c in checks)


def json_key(path, key, value):
    def check(rc, out, err, d):
        try:
            return json.loads((d / path).read_text()).get(key) == value
        except (OSError, ValueError):
            return False
    return check


SPLIT_40_10 = says(r"40 train / 10 test", "out")

# (id, arguments, expect "error" | "ok", check or None, options)
PROBES = [
    ("cli-none", "", "error", None, {}),
    ("cli-unknown", "nosuch", "error", None, {}),
    ("cli-version", "--version", "ok", None, {}),
    # ----- devices
    ("dev-seed-neg", "devices --seed -1", "error", says("seed"), {}),
    ("dev-seed-huge", "devices --seed 99999999999999999999999", "error", says("seed"),
     {"note": "accepted before; every --seed now has the reference's range 0..2**32-1"}),
    ("dev-seed-text", "devices --seed abc", "error", None, {}),
    ("dev-json-newdir", "devices --json {d}/new/sub/d.json", "ok", has("new/sub/d.json"), {}),
    ("dev-json-dir", "devices --json {d}/adir", "error", says("adir"), {}),
    ("dev-json-parent-file", "devices --json {d}/afile/d.json", "error", says("afile"), {}),
    ("dev-json-unwritable", "devices --json /proc/hymem-probe/d.json", "error", says("/proc"), {}),
    ("dev-json-sys", "devices --json /sys/hymem-probe.json", "error", says("/sys"), {}),
    ("dev-json-full", "devices --json /dev/full --plot {d}/ok.png", "error",
     both(says("cannot write /dev/full"), has("ok.png")), {}),
    ("dev-json-empty", "devices --json ''", "error", says("--json"),
     {"note": "an empty --json was ignored"}),
    ("dev-plot-ext", "devices --plot {d}/x.xyz", "error", says(r"x\.xyz"), {}),
    ("dev-plot-dir", "devices --plot {d}/adir", "error", both(says("adir"), lacks("adir.png")),
     {"note": "before: wrote adir.png and reported adir"}),
    ("dev-plot-noext", "devices --plot {d}/levels", "error", lacks("levels.png"),
     {"note": "before: wrote levels.png and reported levels"}),
    ("dev-plot-pgf", "devices --plot {d}/p.pgf", "error", says(r"p\.pgf"), {}),
    ("dev-plot-svg", "devices --plot {d}/p.svg", "ok", has("p.svg"), {}),
    ("dev-plot-upper", "devices --plot {d}/P.PNG", "ok", has("P.PNG"), {}),
    ("dev-json-plot-same", "devices --json {d}/same.png --plot {d}/same.png", "error",
     says("same"), {}),
    # ----- train: outputs
    ("train-json-dir", f"{T} --json {{d}}/adir", "error", says("adir"), {}),
    ("train-json-newdir", f"{T} --json {{d}}/new/r.json", "ok", has("new/r.json"), {}),
    ("train-json-parent-file", f"{T} --json {{d}}/afile/r.json", "error", says("afile"), {}),
    ("train-json-unwritable", f"{T} --json /proc/hymem-probe/r.json", "error", says("/proc"), {}),
    ("train-json-full-record", f"{HT} --json /dev/full --record {{d}}/rec.npz", "error",
     both(says("cannot write /dev/full"), has("rec.npz")),
     {"note": "a full device: the recording must still be written"}),
    ("train-record-noext", f"{HT} --record {{d}}/rec", "ok", both(has("rec"), lacks("rec.npz")),
     {"note": "before: wrote rec.npz and reported rec"}),
    ("train-record-dir", f"{HT} --record {{d}}/adir", "error", says("adir"),
     {"note": "before: wrote adir.npz"}),
    ("train-json-record-same", f"{HT} --json {{d}}/x --record {{d}}/x", "error", says("x"),
     {"note": "before: the JSON went to x, the recording to x.npz"}),
    ("train-json-empty", f"{T} --json ''", "error", says("--json"), {}),
    ("train-record-empty", f"{HT} --record ''", "error", says("--record"), {}),
    ("train-ctrl-c", "train --dataset mnist5k --scheme float --arch 784-400-10 --epochs 20 "
                     "--json {d}/int.json", "error",
     both(json_key("int.json", "interrupted", True)),
     {"sigint_after": "epoch 1/20: 1000/4000",
      "note": "SIGINT after the first progress line; after: exit 130, the JSON holds the results so "
              "far with interrupted: true"}),
    # ----- train: numeric options
    ("train-epochs-0", f"{T} --epochs 0", "error", says("epochs"), {}),
    ("train-epochs-neg", f"{T} --epochs -1", "error", says("epochs"), {}),
    ("train-epochs-text", f"{T} --epochs abc", "error", None, {}),
    ("train-epochs-huge", f"{T} --epochs 100000", "error", says("epochs"), {}),
    ("train-k-0", f"{T} --k 0", "error", says(r"\bk\b"), {}),
    ("train-k-neg", f"{T} --k -5", "error", says(r"\bk\b"), {}),
    ("train-p-neg", f"{T} --p -0.1", "error", says(r"\bp\b"), {}),
    ("train-p-big", f"{T} --p 1.5", "error", says(r"\bp\b"), {}),
    ("train-p-nan", f"{T} --p nan", "error", says(r"\bp\b"), {}),
    ("train-p-zero-hybrid", f"{HT} --p 0", "error", says(r"\bp\b"), {}),
    ("train-p-tiny-hybrid", f"{HT} --p 1e-6", "error", says(r"\bp\b"), {}),
    ("train-lr-0", f"{T} --lr 0", "error", says("lr"), {}),
    ("train-lr-inf", f"{T} --lr inf", "error", says("lr"), {}),
    ("train-lr-neg", f"{T} --lr -1", "error", says("lr"), {}),
    ("train-seed-neg", f"{T} --seed -1", "error", says("seed"), {}),
    ("train-seed-huge", f"{T} --seed 4294967296", "error", says("seed"), {}),
    ("train-verify-neg", f"{T} --verify-retries -1", "error", says("verify"), {}),
    ("train-verify-huge", f"{T} --verify-retries 256", "error", says("verify"), {}),
    ("train-maxs-neg", f"{T} --max-train-samples -1", "error", says("max_train_samples"), {}),
    ("train-arch-zero", f"{T} --arch 64-0-10", "error", says("arch"), {}),
    ("train-arch-text", f"{T} --arch abc", "error", says("arch"), {}),
    ("train-arch-empty", f"{T} --arch ''", "error", says("arch"),
     {"note": "before: an empty --arch meant the default"}),
    ("train-arch-one", f"{T} --arch 64", "error", says("arch"), {}),
    ("train-arch-classes", f"{T} --arch 64-16-9", "error", says("arch"), {}),
    ("train-arch-memory-float", "train --dataset csv:{d}/three.csv --scheme float --epochs 1 "
                                "--arch 2-100000-100000-3", "error", says("memory"), {}),
    ("train-arch-memory-hybrid", "train --dataset csv:{d}/three.csv --epochs 1 "
                                 "--arch 2-100000-100000-3", "error", says("memory"),
     {"skip_before": "builds 9.8 million Tile objects before failing: not run on the shared machine"}),
    ("train-record-float", f"{T} --record {{d}}/r.npz", "error", says("--record"), {}),
    ("train-preset-bad", f"{T} --preset nosuch", "error", None, {}),
    ("train-csv-header-bad", f"{T} --csv-header maybe", "error", None, {}),
    # ----- train: datasets
    ("ds-unknown", f"train --dataset nope {FLOAT}", "error", says("nope"), {}),
    ("ds-csv-missing", f"train --dataset csv:{{d}}/missing.csv {FLOAT}", "error", says("missing.csv"), {}),
    ("ds-csv-dir", f"train --dataset csv:{{d}}/adir {FLOAT}", "error", says("adir.*director"), {}),
    ("ds-idx-missing-dir", f"train --dataset idx:{{d}}/nowhere {FLOAT}", "error", says("nowhere"), {}),
    ("ds-csv-good", f"train --dataset csv:{{d}}/good.csv --arch 2-8-2 --scheme float --epochs 1",
     "ok", SPLIT_40_10, {}),
    ("ds-csv-bom", f"train --dataset csv:{{d}}/bom.csv --arch 2-8-2 {FLOAT}".replace("--quiet", ""),
     "ok", SPLIT_40_10, {}),
    ("ds-csv-crlf", f"train --dataset csv:{{d}}/crlf.csv --arch 2-8-2 {FLOAT}".replace("--quiet", ""),
     "ok", SPLIT_40_10, {}),
    ("ds-csv-typo-first-row", f"train --dataset csv:{{d}}/typo.csv --arch 2-8-2 {FLOAT}",
     "error", says(r"typo\.csv:1\b.*2\.0x"), {"note": "before: the row was dropped as a header"}),
    ("ds-csv-numeric-header", f"train --dataset csv:{{d}}/numhdr.csv {FLOAT}", "error",
     says(r"numhdr\.csv.*0, 1, 3"),
     {"note": "header 1,2,3: before it became a sample and class 3 (class 2 empty)"}),
    ("ds-csv-numeric-header-yes", f"train --dataset csv:{{d}}/numhdr.csv --csv-header yes "
                                  f"--arch 2-8-2 {FLOAT}".replace("--quiet", ""), "ok", SPLIT_40_10, {}),
    ("ds-csv-header-no", f"train --dataset csv:{{d}}/species.csv --csv-header no {FLOAT}", "error",
     says(r"species\.csv:1\b"), {}),
    ("ds-csv-string-labels", f"train --dataset csv:{{d}}/species.csv --arch 2-8-3 --scheme float "
                             "--epochs 1 --json {d}/sp.json", "ok",
     both(says("Adelie", "out"), json_key("sp.json", "class_labels",
                                          ["Adelie", "Chinstrap", "Gentoo"])), {}),
    ("ds-csv-labels-0-5", f"train --dataset csv:{{d}}/labels05.csv {FLOAT}", "error",
     says(r"labels05\.csv.*0, 5"), {}),
    ("ds-csv-labels-1-3", f"train --dataset csv:{{d}}/labels123.csv {FLOAT}", "error",
     says(r"labels123\.csv.*1, 2, 3"), {}),
    ("ds-csv-label-1e6", f"train --dataset csv:{{d}}/label1e6.csv {FLOAT}", "error",
     says(r"label1e6\.csv.*1000000"), {}),
    ("ds-csv-mixed-labels", f"train --dataset csv:{{d}}/mixed.csv {FLOAT}", "error",
     says(r"mixed\.csv"), {}),
    ("ds-csv-quoted", f"train --dataset csv:{{d}}/quoted.csv --arch 2-8-2 {FLOAT}".replace("--quiet", ""),
     "ok", SPLIT_40_10, {}),
    ("ds-csv-class-no-test", f"train --dataset csv:{{d}}/single.csv {FLOAT}", "error",
     says(r"single\.csv.*test"), {"note": "one sample of class 2: before it was absent from the test set"}),
    ("ds-csv-1e300-one-row", f"train --dataset csv:{{d}}/big.csv --arch 2-8-2 {FLOAT}", "error",
     says(r"big\.csv"), {"note": "before: the column z-scored to zeros (a numpy warning only)"}),
    ("ds-csv-1e300-column", f"train --dataset csv:{{d}}/bigall.csv --arch 2-8-2 {FLOAT}", "error",
     says(r"bigall\.csv"), {}),
    ("ds-csv-nan", f"train --dataset csv:{{d}}/nan.csv {FLOAT}", "error", says(r"nan\.csv:11"), {}),
    ("ds-csv-1e400", f"train --dataset csv:{{d}}/inf.csv {FLOAT}", "error", says(r"inf\.csv:11"), {}),
    ("ds-csv-latin1", f"train --dataset csv:{{d}}/latin1.csv {FLOAT}", "error", says(r"latin1\.csv"), {}),
    ("ds-csv-empty", f"train --dataset csv:{{d}}/empty.csv {FLOAT}", "error", says(r"empty\.csv"), {}),
    ("ds-csv-header-only", f"train --dataset csv:{{d}}/hdronly.csv {FLOAT}", "error",
     says(r"hdronly\.csv"), {}),
    ("ds-csv-ragged", f"train --dataset csv:{{d}}/ragged.csv {FLOAT}", "error", says(r"ragged\.csv:6"), {}),
    ("ds-csv-one-class", f"train --dataset csv:{{d}}/oneclass.csv {FLOAT}", "error",
     says(r"oneclass\.csv"), {}),
    ("ds-csv-two-rows", f"train --dataset csv:{{d}}/two.csv {FLOAT}", "error", says(r"two\.csv"), {}),
    ("ds-csv-nul", f"train --dataset csv:{{d}}/nul.csv {FLOAT}", "error", says(r"nul\.csv:4"), {}),
    ("ds-csv-huge-field", f"train --dataset csv:{{d}}/hugefield.csv {FLOAT}", "error",
     says(r"hugefield\.csv:4"), {}),
    ("ds-csv-semicolon", f"train --dataset csv:{{d}}/semicolon.csv {FLOAT}", "error",
     says(r"semicolon\.csv"), {}),
    ("ds-idx-ok", f"train --dataset idx:{{d}}/idx_ok --arch 16-8-3 {FLOAT}", "ok", None, {}),
    ("ds-idx-one-class", f"train --dataset idx:{{d}}/idx_oneclass {FLOAT}", "error",
     says("idx_oneclass"), {"note": "before: trained and reported 100 %"}),
    ("ds-idx-gapped", f"train --dataset idx:{{d}}/idx_gap {FLOAT}", "error", says(r"idx_gap.*0, 5"), {}),
    ("ds-idx-test-missing-class", f"train --dataset idx:{{d}}/idx_testgap {FLOAT}", "error",
     says(r"idx_testgap"), {}),
    ("ds-idx-dims-overflow", f"train --dataset idx:{{d}}/idx_overflow {FLOAT}", "error",
     says(r"idx_overflow/train-images.*79,228,162,458"),
     {"note": "the true size is 7.9e28 bytes; numpy's product overflowed"}),
    ("ds-idx-gzip-bomb", f"train --dataset idx:{{d}}/idx_bomb {FLOAT}", "error",
     says(r"idx_bomb/train-images.*more data than that"),
     {"note": "300 MB of zeros in 300 kB of gzip: the old loader decompressed all of it first"}),
    ("ds-idx-short", f"train --dataset idx:{{d}}/idx_short {FLOAT}", "error",
     says(r"idx_short/t10k-images"), {}),
    ("ds-idx-missing-file", f"train --dataset idx:{{d}}/idx_missing {FLOAT}", "error",
     says(r"t10k-labels"), {}),
    ("train-json-is-input", "train --dataset csv:{d}/good.csv --arch 2-8-2 --scheme float --epochs 1 "
                            "--quiet --json {d}/good.csv", "error",
     both(says("good.csv"), lambda rc, out, err, d: (d / "good.csv").read_text().count("\n") == 50),
     {"note": "the results would replace the input data"}),
    ("train-stdout-closed", f"{T.replace('--quiet', '')} --json {{d}}/r.json", "ok",
     both(has("r.json"), lambda rc, out, err, d: "Traceback" not in err),
     {"close_stdout": True, "note": "`| head -1`: the reader closes the pipe after one line"}),
    # ----- bench
    ("bench-seeds-0", "bench --seeds 0", "error", says("seeds"), {}),
    ("bench-seeds-neg", "bench --seeds -1", "error", says("seeds"), {}),
    ("bench-seeds-text", "bench --seeds abc", "error", None, {}),
    ("bench-epochs-0", "bench --epochs 0", "error", says("epochs"),
     {"note": "0 meant the default (10 epochs): the bench ran"}),
    ("bench-epochs-neg", "bench --epochs -1", "error", says("epochs"), {}),
    ("bench-sweep-epochs-0", "bench --sweep-epochs 0", "error", says("epochs"),
     {"note": "0 meant the default: the bench ran"}),
    ("bench-sweep-epochs-neg", "bench --sweep-epochs -1", "error", says("epochs"),
     {"note": "the table ran; the error came at the sweep"}),
    ("bench-out-file", "bench --quick --out {d}/afile", "error", says("afile"),
     {"note": "before, --out was tried after the whole bench (3.5 min quick, 35 min full)"}),
    ("bench-out-unwritable", "bench --quick --out /proc/hymem-probe", "error", says("/proc"),
     {"note": "as above"}),
    ("bench-out-empty", "bench --quick --out ''", "error", says("--out"),
     {"note": "an empty --out was ignored: the results went nowhere"}),
    ("bench-out-content-dir", "bench --quick --out {d}/bo", "error", says("bench.json"),
     {"setup": "bo/bench.json/", "note": "a folder bo/bench.json is in the way"}),
    # ----- demo (argument errors only: a demo run builds three RTL blocks)
    ("demo-sim-bad", "demo --sim modelsim", "error", None, {}),
    ("demo-seed-neg", "demo --seed -1", "error", says("seed"),
     {"note": "before: the RTL builds started with the negative seed"}),
    ("demo-seed-text", "demo --seed abc", "error", None, {}),
    # ----- cosim: output paths (checked before the simulation) and arguments
    ("cosim-json-dir", "cosim --json {d}/adir", "error", says("adir"),
     {"note": "before, --json was tried after the co-simulation (minutes)"}),
    ("cosim-json-unwritable", "cosim --json /proc/hymem-probe/c.json", "error", says("/proc"),
     {"note": "as above"}),
    ("cosim-json-empty", "cosim --json ''", "error", says("--json"),
     {"note": "an empty --json was ignored"}),
    ("cosim-samples-neg", "cosim --samples -1", "error", says("samples"), {}),
    ("cosim-k-0", "cosim --k 0", "error", says(r"\bk\b"), {}),
    ("cosim-seed-neg", "cosim --seed -1", "error", says("seed"), {}),
    ("cosim-progress-neg", "cosim --progress -1", "error", says("progress"), {}),
    ("cosim-arch-bad", "cosim --arch 64-x-10", "error", says("arch"), {}),
    ("cosim-dataset-bad", "cosim --dataset nope", "error", says("nope"), {}),
]


# ----------------------------------------------------------------------------- running


def run_probe(probe, timeout: float, env) -> dict:
    pid, args, expect, check, opt = probe
    with tempfile.TemporaryDirectory(prefix="hymem-probe-") as tmp:
        d = Path(tmp)
        make_files(d)
        if "setup" in opt:
            (d / opt["setup"]).mkdir(parents=True)
        import shlex
        argv = [PY, "-m", "hymem.cli"] + shlex.split(args.replace("{d}", str(d)))
        t0 = time.time()
        p = subprocess.Popen(argv, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True,
                             # a background job's SIGINT may be ignored: Python then installs no
                             # KeyboardInterrupt handler in the child; restore the default
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        status = None
        if opt.get("close_stdout"):
            first = p.stdout.readline()
            p.stdout.close()
            try:
                err = p.stderr.read()
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                status = "timeout"
            out = first
        elif "sigint_after" in opt:
            out_lines = []
            deadline = time.time() + timeout
            for line in p.stdout:
                out_lines.append(line)
                if opt["sigint_after"] in line:
                    os.kill(p.pid, signal.SIGINT)
                    break
                if time.time() > deadline:
                    break
            try:
                rest, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                rest, err = p.communicate()
                status = "timeout"
            out = "".join(out_lines) + rest
        else:
            try:
                out, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                out, err = p.communicate()
                status = "timeout"
        rc = p.returncode
        ok_check = check is None or check(rc, out, err, d)
        if status is None:
            if "Traceback" in err:
                status = "traceback"
            elif expect == "ok":
                status = "correct" if rc == 0 and ok_check else ("refused" if rc else "silent")
            else:
                if rc == 0:
                    status = "silent"
                elif rc in (2, 130) and ok_check:
                    status = "clear error"
                else:
                    status = f"vague error (exit {rc})"
        lines = [l for l in err.strip().splitlines() if l.strip()]
        if status == "traceback":
            msg = next((l for l in reversed(lines) if re.match(r"^\w+(\.\w+)*(Error|Exception|Interrupt)\b", l)),
                       lines[-1] if lines else "")
        else:
            msg = next((l for l in lines if "error" in l.lower()), lines[-1] if lines else "")
        msg = msg.replace(str(d), "{d}")
        if len(msg) > 160:
            msg = msg[:157] + "..."
        return {"id": pid, "args": args, "expect": expect, "status": status, "rc": rc,
                "message": msg, "seconds": round(time.time() - t0, 1), "note": opt.get("note", "")}


def run_all(timeout: float, only=None, before: bool = False) -> list[dict]:
    env = dict(os.environ)
    res = []
    for probe in PROBES:
        if only and not any(re.search(o, probe[0]) for o in only):
            continue
        if before and "skip_before" in probe[4]:
            res.append({"id": probe[0], "args": probe[1], "expect": probe[2], "status": "skipped",
                        "rc": None, "message": probe[4]["skip_before"], "seconds": 0})
        else:
            res.append(run_probe(probe, timeout, env))
        r = res[-1]
        print(f"{r['id']:<30} {r['status']:<12} rc={r['rc']} {r['seconds']:>5}s  {r['message']}",
              flush=True)
    return res


def _cell(r):
    if r is None:
        return "-"
    m = r["message"].replace("|", "\\|")
    if r["status"] == "correct":
        return "correct result" if not m or "error" not in m.lower() else f"correct result ({m})"
    return f"**{r['status']}**: {m}" if r["status"] not in ("clear error",) else f"clear error: {m}"


def table(before: list[dict], after: list[dict]) -> str:
    b = {r["id"]: r for r in before}
    notes = {p[0]: p[4].get("note", "") for p in PROBES}
    lines = ["| probe | command (`{d}`: a folder of test inputs) | before | after | note |",
             "| --- | --- | --- | --- | --- |"]
    for r in after:
        args = r["args"].replace("|", "\\|")
        lines.append(f"| {r['id']} | `hymem {args}` | {_cell(b.get(r['id']))} | {_cell(r)} | "
                     f"{notes.get(r['id'], '')} |")
    good = ("clear error", "correct")
    nb = sum(1 for r in before if r["status"] in good)
    na = sum(1 for r in after if r["status"] in good)
    run_b = sum(1 for r in before if r["status"] != "skipped")
    lines += ["", f"Probes: {len(after)}; a clear error or a correct result before: {nb} of "
                  f"{run_b} run, after: {na} of {len(after)}."]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write the outcomes here")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per probe (default 60)")
    ap.add_argument("--only", nargs="*", help="regular expressions selecting probe ids")
    ap.add_argument("--before", action="store_true", help="skip the probes marked skip_before")
    ap.add_argument("--table", nargs=2, metavar=("BEFORE", "AFTER"), help="print the markdown table")
    a = ap.parse_args()
    if a.table:
        print(table(json.loads(Path(a.table[0]).read_text()), json.loads(Path(a.table[1]).read_text())))
        return 0
    res = run_all(a.timeout, a.only, a.before)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    bad = [r for r in res if r["status"] not in ("clear error", "correct", "skipped")]
    print(f"{len(res)} probes, {len(res) - len(bad)} clear error or correct result")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
