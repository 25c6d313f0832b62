"""Wide vectors in and out of the simulator in 32-bit words, through its own VPI.

cocotb's GPI moves a vector's value only as a binary string (one character per bit, converted
bit by bit on both sides, and upper-cased by the GPI): for the transaction-level macro model,
which reads log banks of 12,160 bits and writes a 16,384-bit read cache several times per
training sample, that was about a tenth of the co-simulation's time
(docs/bench/cosim.md). IEEE 1800's VPI has the word format (``vpiVectorVal``: 32 bits per
``aval``/``bval`` pair) that every simulator implements; this module calls
``vpi_get_value`` / ``vpi_put_value`` with it directly (``ctypes`` on the simulator process's
own exported symbols: cocotb runs Python inside the simulator, so they are there).

Semantics are the GPI's: a read returns 1 where the bit is 1 and 0 where it is 0, X or Z (as
the binary-string readers of :mod:`hymem.sim.macro_tlm` did); a write is a deposit with the
delay mode cocotb's GPI uses on that simulator (Verilator: ``vpiInertialDelay``, applied
before its next evaluation; others: ``vpiNoDelay``). :func:`available` says whether the
simulator process exports the VPI (it does under cocotb on Icarus and Verilator); callers
fall back to the GPI's strings when it does not.
"""

from __future__ import annotations

import ctypes

import numpy as np

# vpi_user.h (IEEE 1800-2017, annex K)
VPI_VECTOR_VAL = 9
VPI_SIM_TIME = 2
VPI_NO_DELAY = 1
VPI_INERTIAL_DELAY = 2
VPI_SIZE = 4


class _VecVal(ctypes.Structure):
    _fields_ = [("aval", ctypes.c_uint32), ("bval", ctypes.c_uint32)]


class _ValueU(ctypes.Union):
    _fields_ = [("str", ctypes.c_char_p), ("integer", ctypes.c_int32),
                ("real", ctypes.c_double), ("vector", ctypes.c_void_p),
                ("misc", ctypes.c_void_p)]


class _Value(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int32), ("value", _ValueU)]


class _Time(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int32), ("high", ctypes.c_uint32), ("low", ctypes.c_uint32),
                ("real", ctypes.c_double)]


_LIB = None


def _lib():
    global _LIB
    if _LIB is None:
        lib = ctypes.CDLL(None)
        try:
            for name, res, args in (
                    ("vpi_handle_by_name", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_void_p]),
                    ("vpi_handle_by_index", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int32]),
                    ("vpi_get", ctypes.c_int32, [ctypes.c_int32, ctypes.c_void_p]),
                    ("vpi_get_value", None, [ctypes.c_void_p, ctypes.POINTER(_Value)]),
                    ("vpi_put_value", ctypes.c_void_p, [ctypes.c_void_p, ctypes.POINTER(_Value),
                                                        ctypes.POINTER(_Time), ctypes.c_int32])):
                f = getattr(lib, name)
                f.restype, f.argtypes = res, args
        except AttributeError:
            lib = False
        _LIB = lib
    return _LIB


def available() -> bool:
    """Whether this process exports the VPI (Python runs inside a simulator)."""
    return bool(_lib())


class Vector:
    """One packed vector (a variable of the design, or an element of an unpacked array of
    them), read and written as words. ``path``: its hierarchical name as cocotb gives it
    (``handle._path``); ``index``: an element of the unpacked array at ``path``;
    ``inertial``: deposit as Verilator's GPI does (see the module doc)."""

    def __init__(self, path: str, index: int | None = None, *, inertial: bool = False) -> None:
        lib = _lib()
        if not lib:
            raise RuntimeError("the VPI is not exported by this process (not in a simulator?)")
        self.path = path if index is None else f"{path}[{index}]"
        h = lib.vpi_handle_by_name(path.encode(), None)
        if h and index is not None:
            h = lib.vpi_handle_by_index(h, index)
        if not h:
            raise ValueError(f"VPI: no object {self.path}")
        self._h = h
        self.width = int(lib.vpi_get(VPI_SIZE, h))
        self.words = (self.width + 31) // 32
        self._get = _Value()                     # the simulator points it at its buffer
        self._get.format = VPI_VECTOR_VAL
        self._rbuf = (_VecVal * self.words)()      # a copy of that buffer
        self._rnp = np.frombuffer(self._rbuf, dtype=np.uint32).reshape(self.words, 2)
        self._buf = (_VecVal * self.words)()       # what a deposit writes (bval stays 0)
        self._np = np.frombuffer(self._buf, dtype=np.uint32).reshape(self.words, 2)
        self._put = _Value()
        self._put.format = VPI_VECTOR_VAL
        self._put.value.vector = ctypes.addressof(self._buf)
        self._nbytes = 8 * self.words
        self._time = _Time(VPI_SIM_TIME, 0, 0, 0.0)
        self._flags = VPI_INERTIAL_DELAY if inertial else VPI_NO_DELAY
        self._lib = lib

    def get_words(self) -> np.ndarray:
        """The value as (words,) uint32, bit i at word i // 32, bit i % 32 (X/Z read as 0)."""
        self._lib.vpi_get_value(self._h, self._get)
        ctypes.memmove(self._rbuf, self._get.value.vector, self._nbytes)
        vec = self._rnp
        return vec[:, 0] & ~vec[:, 1]

    def get_bits(self) -> np.ndarray:
        """The value as (width,) bools, bit 0 first."""
        w = self.get_words()
        return np.unpackbits(w.view(np.uint8), bitorder="little")[: self.width].view(bool)

    def get_int(self) -> int:
        return int.from_bytes(self.get_words().tobytes(), "little")

    def put_words(self, words) -> None:
        """Deposit (words,) uint32 (bits above the width are ignored)."""
        self._np[:, 0] = words
        self._lib.vpi_put_value(self._h, self._put, self._time, self._flags)

    def put_bits(self, bits) -> None:
        """Deposit (width,) bools, bit 0 first."""
        b = np.asarray(bits, dtype=bool).reshape(-1)
        if self.width % 32:
            b = np.concatenate([b, np.zeros(self.words * 32 - self.width, dtype=bool)])
        self.put_words(np.packbits(b, bitorder="little").view(np.uint32))


__all__ = ["Vector", "available"]
