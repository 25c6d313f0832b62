"""Output files of the ``hymem`` command line: checked before the work, written atomically.

Every subcommand declares its output options (:data:`hymem.cli` ``set_defaults(outputs=...)``)
and :func:`check` validates them before any work starts:

- a file (``--json``, ``--record``): not empty, not a directory; its folder is created if needed
  and a temporary file is created and removed there, which proves it writable (permissions,
  read-only or missing file systems: whatever the OS says, also for root);
- a plot (``--plot``): a file whose extension is a format matplotlib writes here (a tiny figure
  is rendered in that format to make sure, e.g. ``.pgf`` needs LaTeX);
- a folder (``--out``): not a file; created if needed; the files the command writes into it
  (``files``) are not directories;
- two options naming the same file are an error.

:class:`Writer` then writes each file atomically (:func:`atomic_write`: a temporary file in the
same folder, flushed and synced, then ``os.replace``; an existing device or pipe such as
``/dev/stdout`` is written directly), reports ``what: PATH`` on success, and turns an ``OSError``
into ``hymem CMD: error: cannot write PATH: reason`` while the other files are still written;
:attr:`Writer.status` is then 2.

:func:`deferred_interrupt` turns the first Ctrl-C (SIGINT) into a request the long loops poll
(``stop()``) so that the work finished so far can be written; a second Ctrl-C raises
``KeyboardInterrupt`` at once. Exit status after an interruption: :data:`EXIT_INTERRUPTED`.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable

#: Exit status of a command with a bad argument or an output it could not write.
EXIT_ERROR = 2
#: Exit status after Ctrl-C (128 + SIGINT, what shells report).
EXIT_INTERRUPTED = 128 + signal.SIGINT

KINDS = ("file", "plot", "dir")


class OutputError(ValueError):
    """An output path that cannot be used (the message names the option and the path)."""


def reason(e: OSError) -> str:
    """The OS's reason without the repeated file name (``No space left on device``)."""
    return e.strerror or str(e)


# --------------------------------------------------------------------------- checks


def plot_formats() -> dict[str, str]:
    """File extensions matplotlib can save (``{"png": "Portable Network Graphics", ...}``)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def plot_format(path, option: str = "--plot") -> str:
    """The matplotlib format of a plot path, from its extension; OutputError if none fits."""
    ext = Path(path).suffix.lower().lstrip(".")
    formats = plot_formats()
    if ext not in formats:
        got = f"extension '.{ext}'" if ext else "no extension"
        raise OutputError(f"{option} {path}: {got}; the plot file must end in one of "
                          f"{', '.join('.' + e for e in sorted(formats))}")
    return ext


def _check_plot_format(path, option: str) -> None:
    fmt = plot_format(path, option)
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    try:  # some formats need outside programs (.pgf: LaTeX for text): render a tiny figure
        fig = Figure(figsize=(0.5, 0.5))
        fig.text(0.5, 0.5, "1")
        fig.savefig(io.BytesIO(), format=fmt)
    except Exception as e:  # noqa: BLE001 - whatever the backend raises, the format is unusable
        raise OutputError(f"{option} {path}: matplotlib cannot write .{fmt} files here "
                          f"({type(e).__name__}: {e})") from None


def _writable_folder(folder: Path, path, option: str) -> None:
    """Create ``folder`` (and its parents) and prove it writable with a temporary file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{option} {path}: cannot create folder {folder}: a file of that "
                          f"name is in the way") from None
    except OSError as e:
        raise OutputError(f"{option} {path}: cannot create folder {e.filename or folder}: "
                          f"{reason(e)}") from None
    if not folder.is_dir():
        raise OutputError(f"{option} {path}: {folder} is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".hymem-check-", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise OutputError(f"{option} {path}: cannot write in folder {folder}: {reason(e)}") from None


def check_file(path, option: str) -> Path:
    """Check one output file path (see the module doc); returns its resolved target."""
    if path is None or str(path).strip() == "":
        raise OutputError(f"{option}: empty path; give a file name")
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise OutputError(f"{option} {path}: is a directory; give a file name")
    if target.exists() and not target.is_file():     # a device or a pipe: written directly
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {path}: permission denied")
        return target
    _writable_folder(target.parent, path, option)
    return target


def check_dir(path, option: str, files: Iterable[str] = ()) -> Path:
    """Check an output folder and the names of the files to be written in it."""
    if path is None or str(path).strip() == "":
        raise OutputError(f"{option}: empty path; give a folder name")
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_dir():
        raise OutputError(f"{option} {path}: is a file, not a folder")
    _writable_folder(target, path, option)
    for name in files:
        f = target / name
        if f.is_dir():
            raise OutputError(f"{option} {path}: {f} is a directory; cannot write {name} there")
    return target


def check(args) -> None:
    """Check every output option declared by the subcommand (``args.outputs``: tuples
    ``(attribute, option, kind[, files])``, kind one of :data:`KINDS`), and that none is an
    input file of the input options named by ``args.inputs`` (``(attribute, option)``: ``--dataset``
    reads the files its name gives, another option one file).
    Raises OutputError."""
    inputs: dict[Path, str] = {}
    for attr, option in getattr(args, "inputs", ()):
        value = getattr(args, attr, None)
        if isinstance(value, str):
            from .learn.datasets import input_files
            # a dataset name reads the files it names; any other input option is one file
            for p in (input_files(value) if option == "--dataset" else [value]):
                inputs[Path(os.path.realpath(p))] = f"{option} {value}"
    seen: dict[Path, str] = {}
    for spec in getattr(args, "outputs", ()):
        attr, option, kind = spec[:3]
        value = getattr(args, attr, None)
        if value is None:
            continue
        if kind == "dir":
            target = check_dir(value, option, spec[3] if len(spec) > 3 else ())
            paths = [target / f for f in (spec[3] if len(spec) > 3 else ())]
        else:
            paths = [check_file(value, option)]
            if kind == "plot":
                _check_plot_format(value, option)
        for p in paths:
            if p in inputs:
                raise OutputError(f"{option} {value}: is an input file of {inputs[p]}; give "
                                  f"another name")
            if p in seen:
                raise OutputError(f"{seen[p]} and {option} both write {p}; give different files")
            seen[p] = option


# --------------------------------------------------------------------------- writing


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file through ``write(binary_file)`` atomically: the whole new content or the old
    file, never a part (temporary file in the same folder, fsync, ``os.replace``). A symlink is
    followed (its target is replaced); an existing device or pipe is written directly.
    The folder is created if it went away since :func:`check`. Raises OSError (the temporary
    file is removed)."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file() and not target.is_dir():
        with open(target, "wb") as f:
            write(f)
        return
    mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else _new_file_mode()
    target.parent.mkdir(parents=True, exist_ok=True)     # again, if it went away meanwhile
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def json_bytes(obj, **kw) -> bytes:
    kw.setdefault("indent", 1)
    return (json.dumps(obj, **kw) + "\n").encode()


class Writer:
    """Writes one command's output files; a failed file is reported and the rest still written.

    ``status`` is 0 when every file was written, :data:`EXIT_ERROR` otherwise."""

    def __init__(self, cmd: str, out=None, err=None):
        self.cmd = cmd
        self.out = out
        self.err = err
        self.failed: list[str] = []
        self.written: list[str] = []

    def __call__(self, path, write: Callable[[IO[bytes]], None], what: str,
                 errors: tuple = (OSError,)) -> bool:
        try:
            atomic_write(path, write)
        except errors as e:
            why = reason(e) if isinstance(e, OSError) else f"{type(e).__name__}: {e}"
            print(f"hymem {self.cmd}: error: cannot write {path}: {why}",
                  file=self.err or sys.stderr)
            self.failed.append(str(path))
            return False
        print(f"{what}: {path}", file=self.out or sys.stdout)
        self.written.append(str(path))
        return True

    def bytes(self, path, data: bytes, what: str) -> bool:
        return self(path, lambda f: f.write(data), what)

    def json(self, path, obj, what: str, **kw) -> bool:
        return self.bytes(path, json_bytes(obj, **kw), what)

    def text(self, path, text: str, what: str) -> bool:
        return self.bytes(path, text.encode(), what)

    def plot(self, path, draw: Callable[[IO[bytes], str], None], what: str) -> bool:
        """``draw(file, format)`` saves a figure; the format comes from the path's extension.
        Whatever the plotting library raises is reported like an OSError."""
        fmt = plot_format(path)
        return self(path, lambda f: draw(f, fmt), what, errors=(Exception,))

    @property
    def status(self) -> int:
        return EXIT_ERROR if self.failed else 0


# --------------------------------------------------------------------------- stdout


class PipeSafe:
    """A text stream (stdout) whose reader may go away (``hymem train ... | head``): after a
    BrokenPipeError everything printed is dropped, so the command still finishes and writes
    its files; the descriptor is pointed at /dev/null so the interpreter's last flush is quiet."""

    def __init__(self, stream):
        self._stream = stream
        self.broken = False

    def _lost(self) -> None:
        self.broken = True
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, self._stream.fileno())
            os.close(fd)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._lost()

    def __getattr__(self, name):      # fileno, isatty, encoding, buffer...: the stream's own
        return getattr(self._stream, name)


@contextmanager
def pipe_safe_stdout():
    """Inside the block ``sys.stdout`` is a :class:`PipeSafe` wrapper of itself."""
    old = sys.stdout
    sys.stdout = PipeSafe(old)
    try:
        yield sys.stdout
    finally:
        try:
            sys.stdout.flush()
        finally:
            sys.stdout = old


# --------------------------------------------------------------------------- Ctrl-C


class Interrupt:
    """Set by the first Ctrl-C inside :func:`deferred_interrupt`; call it to poll."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


@contextmanager
def deferred_interrupt(message: str = "interrupted: finishing the current step, then writing "
                                      "what is done (Ctrl-C again to abort)"):
    """Inside the block the first SIGINT only sets the yielded :class:`Interrupt` (and prints
    ``message``); the handler in place before (normally: raise KeyboardInterrupt) is restored
    at once, so a second Ctrl-C acts as usual. Outside the main thread, or when SIGINT is
    ignored, nothing is changed."""
    flag = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    old = signal.getsignal(signal.SIGINT)
    if old in (signal.SIG_IGN, None):
        yield flag
        return

    def handler(signum, frame):
        flag.requested = True
        signal.signal(signal.SIGINT, old)
        print(f"\n{message}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, old)
