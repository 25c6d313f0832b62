"""The ``hymem`` command line with bad input: output paths, atomic writes, Ctrl-C, argument
ranges, memory (issue 12). Pure Python, in-process (``cli.main``) except where a real pipe is
needed; every case asserts the exit code, the message and what is (not) on disk."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hymem import bench, cli, outputs
from hymem.learn import datasets, reference as R, stream
from hymem.analog import device_report

TRAIN = ["train", "--dataset", "digits", "--arch", "64-16-10", "--scheme", "float", "--epochs", "1",
         "--max-train-samples", "50", "--quiet"]
HYBRID = ["train", "--dataset", "digits", "--arch", "64-16-10", "--epochs", "1",
          "--max-train-samples", "30", "--k", "10", "--quiet"]


def run(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def no_work(monkeypatch):
    """Every command's work fails the test if it starts (the checks must come first)."""
    def boom(*a, **k):
        raise AssertionError("the work started before the output paths were checked")
    from hymem.sim import cosim
    monkeypatch.setattr(device_report, "device_figures", boom)
    monkeypatch.setattr(datasets, "load", boom)
    monkeypatch.setattr(bench, "run_bench", boom)
    monkeypatch.setattr(cosim, "run", boom)


# ------------------------------------------------------------------- output paths


COMMANDS = {
    "devices --json": (["devices", "--json"], "--json"),
    "devices --plot": (["devices", "--plot"], "--plot"),
    "train --json": (TRAIN + ["--json"], "--json"),
    "train --record": (HYBRID + ["--record"], "--record"),
    "cosim --json": (["cosim", "--json"], "--json"),
}


@pytest.mark.parametrize("cmd", list(COMMANDS))
@pytest.mark.parametrize("bad", ["dir", "parent_is_file", "empty", "unwritable", "read_only"])
def test_bad_output_paths_are_refused_before_the_work(cmd, bad, tmp_path, capsys, no_work):
    argv, option = COMMANDS[cmd]
    (tmp_path / "afile").write_text("x")
    name = "r.png" if option == "--plot" else "r.json"
    path = {"dir": str(tmp_path), "parent_is_file": str(tmp_path / "afile" / name), "empty": "",
            "unwritable": f"/proc/hymem-test/{name}", "read_only": f"/sys/hymem-test-{name}"}[bad]
    if bad == "read_only" and not os.path.isdir("/sys/kernel"):
        pytest.skip("needs Linux sysfs (a folder nobody may write, root included)")
    rc, out, err = run(argv + [path], capsys)
    sub = argv[0]
    expect = {
        "dir": f"hymem {sub}: error: {option} {path}: is a directory; give a file name\n",
        "parent_is_file": f"hymem {sub}: error: {option} {path}: cannot create folder "
                          f"{tmp_path / 'afile'}: a file of that name is in the way\n",
        "empty": f"hymem {sub}: error: {option}: empty path; give a file name\n",
        "unwritable": f"hymem {sub}: error: {option} {path}: cannot create folder "
                      f"/proc/hymem-test: ",
        "read_only": f"hymem {sub}: error: {option} {path}: cannot write in folder /sys: "
                     f"Permission denied\n",
    }[bad]
    assert rc == 2 and out == ""
    assert err.startswith(expect) if bad == "unwritable" else err == expect


def test_bench_out_is_checked_before_the_work(tmp_path, capsys, no_work):
    (tmp_path / "afile").write_text("x")
    rc, _, err = run(["bench", "--out", str(tmp_path / "afile")], capsys)
    assert rc == 2 and err == f"hymem bench: error: --out {tmp_path / 'afile'}: is a file, not a folder\n"
    (tmp_path / "o" / "bench.json").mkdir(parents=True)
    rc, _, err = run(["bench", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and err == (f"hymem bench: error: --out {tmp_path / 'o'}: {tmp_path / 'o' / 'bench.json'} "
                               f"is a directory; cannot write bench.json there\n")
    rc, _, err = run(["bench", "--out", ""], capsys)
    assert rc == 2 and err == "hymem bench: error: --out: empty path; give a folder name\n"


def test_the_same_file_twice_is_refused(tmp_path, capsys, no_work):
    p = str(tmp_path / "x")
    rc, _, err = run(HYBRID + ["--json", p, "--record", p], capsys)
    assert rc == 2 and err == f"hymem train: error: --json and --record both write {p}; give different files\n"
    assert not Path(p).exists()


def test_an_output_may_not_replace_the_dataset(tmp_path, capsys, no_work):
    f = tmp_path / "d.csv"
    f.write_text("1,2,0\n")
    rc, _, err = run(["train", "--dataset", f"csv:{f}", "--json", str(f)], capsys)
    assert rc == 2 and err == (f"hymem train: error: --json {f}: is an input file of --dataset "
                               f"csv:{f}; give another name\n")
    assert f.read_text() == "1,2,0\n"
    rec = tmp_path / "train-labels-idx1-ubyte.gz"
    rc, _, err = run(["cosim", "--dataset", f"idx:{tmp_path}", "--json", str(rec)], capsys)
    assert rc == 2 and err == (f"hymem cosim: error: --json {rec}: is an input file of --dataset "
                               f"idx:{tmp_path}; give another name\n")


@pytest.mark.parametrize("name,match", [
    ("x.xyz", r"--plot {p}: extension '\.xyz'; the plot file must end in one of .*\.pdf, .*\.png, .*\.svg"),
    ("levels", r"--plot {p}: no extension; the plot file must end in one of "),
])
def test_plot_paths_need_a_known_extension(name, match, tmp_path, capsys, no_work):
    p = tmp_path / name
    rc, _, err = run(["devices", "--plot", str(p)], capsys)
    import re
    assert rc == 2 and re.fullmatch(f"hymem devices: error: {match.format(p=re.escape(str(p)))}.*\n", err)
    assert list(tmp_path.iterdir()) == []       # nothing written (formerly levels.png)


def test_plot_format_that_cannot_be_written_here(tmp_path, capsys, no_work):
    import shutil
    if shutil.which("xelatex"):
        pytest.skip("LaTeX is installed: .pgf can be written")
    rc, _, err = run(["devices", "--plot", str(tmp_path / "p.pgf")], capsys)
    assert rc == 2 and err.startswith(f"hymem devices: error: --plot {tmp_path / 'p.pgf'}: matplotlib "
                                      "cannot write .pgf files here (RuntimeError: 'xelatex' not found")


def test_devices_outputs_folders_created_format_from_extension(tmp_path, capsys):
    js, svg, png = tmp_path / "new" / "sub" / "d.json", tmp_path / "p" / "levels.svg", tmp_path / "L.PNG"
    rc, out, err = run(["devices", "--json", str(js), "--plot", str(svg)], capsys)
    assert rc == 0 and err == ""
    assert f"JSON: {js}\nplot: {svg}\n" in out
    assert json.loads(js.read_text())["seed"] == 1
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    rc, out, _ = run(["devices", "--plot", str(png)], capsys)
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["L.PNG", "d.json", "levels.svg", "new",
                                                           "p", "sub"]   # no temporary file left


# ------------------------------------------------------------------- write failures


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_fails_that_file_only(tmp_path, capsys):
    png = tmp_path / "ok.png"
    rc, out, err = run(["devices", "--json", "/dev/full", "--plot", str(png)], capsys)
    assert rc == 2
    assert err == "hymem devices: error: cannot write /dev/full: No space left on device\n"
    assert f"plot: {png}" in out and png.stat().st_size > 1000


def fail_on(monkeypatch, name, err=errno.ENOSPC):
    """os.replace fails (like a full disk at the last step) for files called ``name``."""
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == name:
            raise OSError(err, os.strerror(err), str(dst))
        return real(src, dst)
    monkeypatch.setattr(outputs.os, "replace", replace)


def test_train_json_failure_still_writes_the_record(tmp_path, capsys, monkeypatch):
    js, rec = tmp_path / "r.json", tmp_path / "rec"
    js.write_text("old results\n")
    fail_on(monkeypatch, "r.json")
    rc, out, err = run(HYBRID + ["--json", str(js), "--record", str(rec)], capsys)
    assert rc == 2
    assert err == f"hymem train: error: cannot write {js}: No space left on device\n"
    assert f"  x/e stream: {rec}\n" in out and "test accuracy" in out
    assert stream.Recording.load(rec).layers[0].samples == 30     # written under its own name
    assert js.read_text() == "old results\n"                       # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "rec"]


def test_bench_write_failure_writes_the_other_files(tmp_path, monkeypatch):
    res = {"date": "d", "machine": "m", "epochs": 1, "seeds": 1, "table": [], "sweep": [],
           "wall_s": 1.0, "sweep_dataset": "iris 4-8-3"}
    fail_on(monkeypatch, "bench.json", errno.EACCES)
    w = outputs.Writer("bench")
    paths = bench.write_outputs(res, tmp_path, w)
    assert paths == [tmp_path / "bench.md"] and w.status == 2
    assert w.failed == [str(tmp_path / "bench.json")]
    assert not (tmp_path / "bench.json").exists() and "Bench wall time" in (tmp_path / "bench.md").read_text()


def test_atomic_write(tmp_path, monkeypatch):
    f = tmp_path / "f.txt"
    f.write_text("old")
    os.chmod(f, 0o640)

    def half(fh):
        fh.write(b"new, half")
        raise OSError(errno.EIO, "I/O error")
    with pytest.raises(OSError):
        outputs.atomic_write(f, half)
    assert f.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    outputs.atomic_write(f, lambda fh: fh.write(b"new"))
    assert f.read_text() == "new" and stat.S_IMODE(f.stat().st_mode) == 0o640   # mode kept
    link = tmp_path / "link"
    link.symlink_to(f)
    outputs.atomic_write(link, lambda fh: fh.write(b"via link"))
    assert link.is_symlink() and f.read_text() == "via link"
    g = tmp_path / "g"
    outputs.atomic_write(g, lambda fh: fh.write(b"x"))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(g.stat().st_mode) == 0o666 & ~mask
    h = tmp_path / "gone" / "h"            # the folder was removed while the work ran
    outputs.atomic_write(h, lambda fh: fh.write(b"y"))
    assert h.read_bytes() == b"y"


def test_a_closed_stdout_does_not_cost_the_files(tmp_path):
    """`hymem devices --json F | head -1`: the reader goes away, the JSON is still written."""
    js = tmp_path / "d.json"
    p = subprocess.Popen([sys.executable, "-m", "hymem.cli", "devices", "--json", str(js)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 0 and err == "" and first.startswith(b"hymem device models")
    assert json.loads(js.read_text())["seed"] == 1


# ------------------------------------------------------------------- Ctrl-C


def interrupt_after(monkeypatch, n: int, times: int = 1):
    """Send SIGINT to this process (a real signal) after the n-th trained sample."""
    real = R.Network.train_sample
    count = [0]

    def train_sample(self, x, label):
        count[0] += 1
        if n <= count[0] < n + times:
            signal.raise_signal(signal.SIGINT)
        return real(self, x, label)
    monkeypatch.setattr(R.Network, "train_sample", train_sample)


def test_ctrl_c_during_training_writes_the_results_so_far(tmp_path, capsys, monkeypatch):
    js, rec = tmp_path / "r.json", tmp_path / "r.npz"
    interrupt_after(monkeypatch, 17)
    rc, out, err = run([a for a in HYBRID if a != "--quiet"] + ["--json", str(js), "--record", str(rec)],
                       capsys)
    assert rc == 130
    assert "interrupted: finishing the current sample, then writing the results so far" in err
    assert "INTERRUPTED after" in out and "17 of 30 samples" in out
    d = json.loads(js.read_text())
    assert d["interrupted"] is True and d["train_samples"] == 17 and d["epoch_test_accuracy"] == []
    assert 0 <= d["test_accuracy"] <= 1           # the network as trained so far, evaluated
    r = stream.Recording.load(rec)
    assert [lr.samples for lr in r.layers] == [17, 17] and r.transfer_after == [0, 10]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # restored


def test_a_second_ctrl_c_aborts(tmp_path, capsys, monkeypatch):
    js = tmp_path / "r.json"
    real = R.Network.evaluate

    def evaluate(self, x, y):               # the second Ctrl-C comes while evaluating
        signal.raise_signal(signal.SIGINT)
        return real(self, x, y)
    interrupt_after(monkeypatch, 5)
    monkeypatch.setattr(R.Network, "evaluate", evaluate)
    rc, out, err = run(TRAIN + ["--json", str(js)], capsys)
    assert rc == 130 and err.endswith("\nhymem train: interrupted\n") and not js.exists()


def test_ctrl_c_outside_training(capsys, monkeypatch):
    def load(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(datasets, "load", load)
    rc, out, err = run(TRAIN, capsys)
    assert rc == 130 and err == "\nhymem train: interrupted\n"


def test_training_not_interrupted_is_marked_so(tmp_path, capsys):
    js = tmp_path / "r.json"
    rc, _, _ = run(TRAIN + ["--json", str(js)], capsys)
    d = json.loads(js.read_text())
    assert rc == 0 and d["interrupted"] is False and d["train_samples"] == 50


def test_bench_stop_keeps_the_finished_runs(tmp_path):
    """An interrupted bench keeps the table rows whose runs all finished, marks the result."""
    calls = [0]

    def stop():                        # polled once per sample: iris trains on 120 per run
        calls[0] += 1
        return calls[0] > 250          # during the third run
    res = bench.run_bench(seeds=1, epochs=1, log=lambda m: None, datasets_used=(("iris", (4, 8, 3)),),
                          k_sweep=(5,), sweep=("iris", (4, 8, 3)), throughput_blocks=(2, 60), stop=stop)
    assert res["interrupted"] is True
    assert [r["scheme"] for r in res["table"]] == ["float", "hybrid published, no variability"]
    assert res["sweep"] == [] and "throughput" not in res
    paths = bench.write_outputs(res, tmp_path)
    assert [p.name for p in paths] == ["bench.json", "bench.md"]
    assert "**Interrupted (Ctrl-C)**" in paths[1].read_text()
    assert json.loads(paths[0].read_text())["interrupted"] is True


@pytest.mark.parametrize("stop_after", [None, 200])
def test_cli_bench_writes_its_files_also_when_interrupted(stop_after, tmp_path, capsys, monkeypatch):
    real = bench.run_bench
    monkeypatch.setattr(bench, "run_bench", lambda **kw: real(
        **kw, datasets_used=(("iris", (4, 8, 3)),), k_sweep=(5,), sweep=("iris", (4, 8, 3)),
        throughput_blocks=(2, 60)))
    if stop_after:
        interrupt_after(monkeypatch, stop_after)      # in the second run (120 samples each)
    out_dir = tmp_path / "b"
    rc, out, err = run(["bench", "--seeds", "1", "--epochs", "1", "--out", str(out_dir)], capsys)
    res = json.loads((out_dir / "bench.json").read_text())
    if stop_after is None:
        assert rc == 0 and err == "" and res["interrupted"] is False and len(res["table"]) == 6
        assert sorted(p.name for p in out_dir.iterdir()) == ["bench.json", "bench.md", "k_sweep.png"]
    else:
        assert rc == 130 and "interrupted: finishing the current run" in err
        assert res["interrupted"] is True and [r["scheme"] for r in res["table"]] == ["float"]
        assert sorted(p.name for p in out_dir.iterdir()) == ["bench.json", "bench.md"]
    for name in ("bench.json", "bench.md"):
        assert f"wrote: {out_dir / name}\n" in out


# ------------------------------------------------------------------- argument ranges


@pytest.mark.parametrize("argv,message", [
    (["devices", "--seed", "-1"], "argument --seed: must be an integer in 0..4294967295; got -1"),
    (["devices", "--seed", "99999999999999999999"],
     "argument --seed: must be an integer in 0..4294967295; got 99999999999999999999"),
    (["devices", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["demo", "--seed", "-1"], "argument --seed: must be an integer in 0..4294967295; got -1"),
    (["train", "--dataset", "digits", "--csv-header", "maybe"],
     "argument --csv-header: invalid choice: 'maybe' (choose from 'auto', 'yes', 'no')"),
])
def test_argument_ranges(argv, message, capsys, no_work):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.endswith(f"hymem {argv[0]}: error: {message}\n")


@pytest.mark.parametrize("args,message", [
    (["--seeds", "0"], "--seeds must be an integer in 1..4294967295; got 0"),
    (["--seeds", "-1"], "--seeds must be an integer in 1..4294967295; got -1"),
    (["--epochs", "0"], "--epochs must be an integer in 1..10000; got 0"),
    (["--epochs", "-1"], "--epochs must be an integer in 1..10000; got -1"),
    (["--sweep-epochs", "0"], "--sweep-epochs must be an integer in 1..10000; got 0"),
    (["--quick", "--sweep-epochs", "-3"], "--sweep-epochs must be an integer in 1..10000; got -3"),
])
def test_bench_arguments(args, message, capsys, no_work):
    rc, out, err = run(["bench"] + args, capsys)
    assert rc == 2 and err == f"hymem bench: error: {message}\n" and out == ""


def test_bench_plan_defaults():
    assert bench.plan() == dict(quick=False, seeds=3, epochs=10, sweep_epochs=10)
    assert bench.plan(quick=True) == dict(quick=True, seeds=1, epochs=2, sweep_epochs=1)
    assert bench.plan(quick=True, seeds=2, epochs=3) == dict(quick=True, seeds=2, epochs=3, sweep_epochs=1)
    assert bench.plan(epochs=4) == dict(quick=False, seeds=3, epochs=4, sweep_epochs=4)


def test_train_empty_arch_is_an_error(capsys):
    rc, _, err = run(TRAIN[:4] + ["", "--scheme", "float"], capsys)
    assert rc == 2 and err == ("hymem train: error: arch must be layer sizes joined by '-', e.g. "
                               "784-200-100-10; got ''\n")


# ------------------------------------------------------------------- memory


@pytest.fixture
def three_class_csv(tmp_path):
    f = tmp_path / "three.csv"
    f.write_text("\n".join(f"{i % 7},{i % 5},{i % 3}" for i in range(60)) + "\n")
    return f


@pytest.mark.parametrize("scheme,what", [
    ("float", r"needs about 243 GB of memory \(10,000,500,000 weights\)"),
    ("hybrid", r"needs about 1\.44 TB of memory \(9,775,490 arrays, 10,000,500,000 weights\)"),
])
def test_a_network_too_large_for_memory_is_refused(scheme, what, three_class_csv, capsys, monkeypatch):
    """--arch 2-100000-100000-3 died with a MemoryError (float) or built 9.8 million tiles first."""
    from hymem import resources
    monkeypatch.setattr(resources, "available_memory", lambda: 24 * 10 ** 9)
    rc, out, err = run(["train", "--dataset", f"csv:{three_class_csv}", "--scheme", scheme,
                        "--arch", "2-100000-100000-3"], capsys)
    import re
    assert rc == 2 and out == ""
    assert re.fullmatch(rf"hymem train: error: arch 2-100000-100000-3 \({scheme}\) {what}; 24 GB "
                        r"available: use a smaller network\n", err), err
    with pytest.raises(ValueError, match="use a smaller network"):
        R.Network(R.Options(arch=(2, 100000, 100000, 3), scheme=scheme))


def test_recording_memory_counts(monkeypatch):
    opts = R.Options(arch=(64, 16, 10))
    base = R.memory_needed(opts)
    assert R.memory_needed(opts, record_samples=1000) == base + 1000 * (
        2 * (64 + 16) + R.MEMORY_RECORD_SAMPLE_BYTES + 2 * (16 + 10) + R.MEMORY_RECORD_SAMPLE_BYTES)
    assert R.arrays_needed((784, 200, 100, 10)) == sum(
        len(R.tile_layer(a, b)) for a, b in ((784, 200), (200, 100), (100, 10))) == 181


@pytest.mark.parametrize("scheme,arch", [("float", (64, 300, 200, 10)), ("hybrid", (64, 200, 100, 10)),
                                         ("hybrid", (2, 1500, 3))])
def test_memory_estimate_bounds_what_training_uses(scheme, arch):
    """The estimate is an upper bound of the memory tracemalloc sees while a network is built
    and trained (and evaluated on a full batch), and not more than 4x that."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 1500
    data = datasets.Dataset("t", rng.standard_normal((n, arch[0])).astype(np.float32),
                            np.arange(n) % arch[-1], rng.standard_normal((n, arch[0])).astype(np.float32),
                            np.arange(n) % arch[-1], arch[-1], "random")
    opts = R.Options(arch=arch, scheme=scheme, epochs=1, max_train_samples=200)
    warm = R.Options(arch=(arch[0], 4, arch[-1]), scheme=scheme, epochs=1, max_train_samples=20)
    R.train(warm, data)                 # one-time imports and compilation, outside the count
    tracemalloc.start()
    R.train(opts, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    need = R.memory_needed(opts) - R.MEMORY_BASE_BYTES
    assert peak <= need <= 4 * peak, (peak, need)


# ------------------------------------------------------------------- datasets through the CLI


def test_text_labels_mapping_printed_and_stored(tmp_path, capsys):
    f = tmp_path / "p.csv"
    names = ("Gentoo", "Adelie", "Chinstrap")
    f.write_text("bill,depth,species\n" + "\n".join(f"{i % 7},{i % 3},{names[i % 3]}" for i in range(60)))
    js = tmp_path / "r.json"
    rc, out, err = run(["train", "--dataset", f"csv:{f}", "--scheme", "float", "--epochs", "1",
                        "--arch", "2-8-3", "--json", str(js)], capsys)
    assert rc == 0 and err == ""
    assert "  labels: 0 = 'Adelie', 1 = 'Chinstrap', 2 = 'Gentoo'\n" in out
    assert "classes (labels of the file)             0 = 'Adelie', 1 = 'Chinstrap', 2 = 'Gentoo'" in out
    assert "csv header: auto: line 1 is the header (none of its fields is a number)" in out
    d = json.loads(js.read_text())
    assert d["class_labels"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert d["csv_header"] == "auto: line 1 is the header (none of its fields is a number)"


def test_csv_header_option_reaches_the_loader(tmp_path, capsys):
    f = tmp_path / "n.csv"
    f.write_text("1,2,3\n" + "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(50)))
    rc, _, err = run(["train", "--dataset", f"csv:{f}", "--scheme", "float", "--quiet"], capsys)
    assert rc == 2 and err.startswith(f"hymem train: error: {f}: labels found: 0, 1, 3;")
    rc, out, _ = run(["train", "--dataset", f"csv:{f}", "--scheme", "float", "--epochs", "1",
                      "--csv-header", "yes", "--arch", "2-8-2"], capsys)
    assert rc == 0 and "40 train / 10 test" in out and "csv header: yes: line 1 is the header" in out


def test_cosim_table_says_above_or_below(capsys):
    """`hymem cosim`'s table names the side of float the RTL is on (a shipped make sim result,
    and the same with the RTL above float, as on wine)."""
    res = json.loads((Path(__file__).parents[1] / "docs" / "bench" / "make_sim.json").read_text())
    cli._cosim_table(res)
    below = f"(RTL {100 * res['float_gap']:.2f} points below: within 3 points)"
    assert below in capsys.readouterr().out
    cli._cosim_table(dict(res, float_gap=-0.0278))
    assert "(RTL 2.78 points above: within 3 points)" in capsys.readouterr().out
