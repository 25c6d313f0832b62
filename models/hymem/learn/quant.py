"""Host-side quantization of a layer's vectors and learning rate into controller register values.

The controller's update engine takes int8 vectors ``x`` (layer input) and ``e`` (``-dL/dy``)
and a learning rate ``lr_mult * 2**-lr_shift`` (docs/controller.md). These functions are what a
host (firmware) computes from its float vectors; they are exact functions of their float
inputs (all arithmetic in float64 on float32 data, or on Python floats), so a recorded stream
replays bit for bit. :func:`quantize_pow2` has a compiled twin (:func:`quantize_pow2_fast`)
that ``tb/test_reference.py`` checks against it.
"""

from __future__ import annotations

import math

import numpy as np

from ..jit import HAVE_NUMBA as _HAVE_NUMBA, numba

Q_MAX = 127


def pow2_exponent(m: float) -> int:
    """Smallest integer ``exp`` with ``m <= 127 * 2**exp`` (``m > 0``, finite)."""
    _, e2 = math.frexp(m)                  # m = mant * 2**e2, mant in [0.5, 1)
    exp = e2 - 7
    return exp if m <= math.ldexp(Q_MAX, exp) else exp + 1


def quantize_pow2(v: np.ndarray) -> tuple[np.ndarray, int]:
    """A vector -> ``(q, exp)`` with ``v ~= q * 2**exp``, ``q`` int8 in -127..127.

    ``exp`` = :func:`pow2_exponent` of ``max|v|`` (so the largest magnitude lands in 64..127);
    ``q = clip(floor(v * 2**-exp + 0.5), -127, 127)`` (round half up) in float64. An all-zero
    (or empty) vector gives ``q = 0, exp = 0``. A non-finite value raises ``ValueError``
    (a diverging network).
    """
    v = np.asarray(v)
    if v.size == 0:
        return np.zeros(0, dtype=np.int8), 0
    m = float(np.max(np.abs(v)))
    if not math.isfinite(m):
        raise ValueError("cannot quantize a vector holding inf or nan (the network diverged)")
    if m == 0.0:
        return np.zeros(v.shape, dtype=np.int8), 0
    exp = pow2_exponent(m)
    q = np.floor(v.astype(np.float64) * math.ldexp(1.0, -exp) + 0.5)
    return np.clip(q, -Q_MAX, Q_MAX).astype(np.int8), exp


def _quantize_kernel(v, out):
    m = 0.0
    for i in range(v.size):
        a = abs(np.float64(v[i]))
        if not a <= 1.7976931348623157e308:   # inf or nan
            return -100000
        if a > m:
            m = a
    if m == 0.0:
        for i in range(v.size):
            out[i] = 0
        return 0
    _, e2 = math.frexp(m)
    exp = e2 - 7
    if m > math.ldexp(127.0, exp):
        exp += 1
    scale = math.ldexp(1.0, -exp)
    for i in range(v.size):
        q = math.floor(np.float64(v[i]) * scale + 0.5)
        out[i] = min(max(q, -127.0), 127.0)
    return exp


if _HAVE_NUMBA:
    _quantize_jit = numba.njit(cache=True, nogil=True)(_quantize_kernel)
else:  # pragma: no cover
    _quantize_jit = None


def quantize_pow2_fast(v: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`quantize_pow2` for a 1-D float32/float64 vector, compiled when numba is there."""
    if _quantize_jit is None or v.ndim != 1 or v.dtype not in (np.float32, np.float64):
        return quantize_pow2(v)
    out = np.empty(v.shape, dtype=np.int8)
    exp = _quantize_jit(v, out)
    if exp == -100000:
        raise ValueError("cannot quantize a vector holding inf or nan (the network diverged)")
    return out, exp


def lr_registers(c: float) -> tuple[int, int, bool]:
    """Multiplier ``c`` (hidden LSBs per unit of ``x_q * e_q``) -> ``(lr_mult, lr_shift, clipped)``.

    ``lr_mult * 2**-lr_shift ~= c``: ``lr_shift = 8 - e2`` where ``c = mant * 2**e2`` (mant in
    [0.5, 1)) and ``lr_mult = floor(c * 2**lr_shift + 0.5)`` in 128..255 (a rounding up to 256
    takes one shift less). Below ``2**-16`` the shift stops at 23 and the mantissa shrinks
    (possibly to 0: no update); at 256 or above ``(255, 0)`` with ``clipped`` True (the update
    is then smaller than asked; the caller counts these).
    """
    if not c > 0.0:
        return 0, 0, False
    if not math.isfinite(c):
        return 255, 0, True
    _, e2 = math.frexp(c)
    sh = 8 - e2
    if sh > 23:
        return min(255, math.floor(math.ldexp(c, 23) + 0.5)), 23, False
    if sh < 0:
        return 255, 0, True
    m = math.floor(math.ldexp(c, sh) + 0.5)
    if m > 255:
        if sh == 0:
            return 255, 0, True
        sh -= 1
        m = math.floor(math.ldexp(c, sh) + 0.5)
    return m, sh, False


def registers(x: np.ndarray, e: np.ndarray, lr_per_lsb: float):
    """One sample's register values for a layer: ``(xq, eq, lr_mult, lr_shift, clipped)``.

    ``xq, ex = quantize_pow2(x)``, ``eq, ee = quantize_pow2(e)`` and ``lr_registers(lr_per_lsb *
    2**(ex + ee))`` (``lr_per_lsb``: the learning rate in hidden LSBs per unit of ``x * e``);
    ``(0, 0)`` when either vector quantizes to all zeros (nothing to add).
    """
    xq, ex = quantize_pow2(x)
    eq, ee = quantize_pow2(e)
    if not xq.any() or not eq.any():
        return xq, eq, 0, 0, False
    m, s, clipped = lr_registers(math.ldexp(lr_per_lsb, ex + ee))
    return xq, eq, m, s, clipped


def _lr_kernel(c):
    if not c > 0.0:
        return 0, 0, False
    if not c <= 1.7976931348623157e308:
        return 255, 0, True
    _, e2 = math.frexp(c)
    sh = 8 - e2
    if sh > 23:
        return min(255, int(math.floor(math.ldexp(c, 23) + 0.5))), 23, False
    if sh < 0:
        return 255, 0, True
    m = int(math.floor(math.ldexp(c, sh) + 0.5))
    if m > 255:
        if sh == 0:
            return 255, 0, True
        sh -= 1
        m = int(math.floor(math.ldexp(c, sh) + 0.5))
    return m, sh, False


def _registers_kernel(x, e, xq, eq, lr_per_lsb):
    ex = _quantize_kernel(x, xq)
    ee = _quantize_kernel(e, eq)
    if ex == -100000 or ee == -100000:
        return -100000, 0, False
    nzx = False
    for i in range(xq.size):
        if xq[i] != 0:
            nzx = True
            break
    nze = False
    for i in range(eq.size):
        if eq[i] != 0:
            nze = True
            break
    if not (nzx and nze):
        return 0, 0, False
    return _lr_kernel(math.ldexp(lr_per_lsb, ex + ee))


if _HAVE_NUMBA:
    _quantize_kernel = _quantize_jit
    _lr_kernel = numba.njit(cache=True, nogil=True)(_lr_kernel)
    _registers_jit = numba.njit(cache=True, nogil=True)(_registers_kernel)
else:  # pragma: no cover
    _registers_jit = None
#: The compiled :func:`registers` for callers that keep their own output buffers (the
#: reference's hybrid layer): ``registers_into(x, e, xq, eq, lr_per_lsb)`` writes ``xq`` and ``eq``
#: (int8, the lengths of ``x`` and ``e``; float32 or float64 vectors of one dtype) and returns
#: ``(lr_mult, lr_shift, clipped)``, or ``lr_mult == INF_OR_NAN`` when a vector holds inf or
#: nan; None without numba.
registers_into = _registers_jit
INF_OR_NAN = -100000


def registers_fast(x: np.ndarray, e: np.ndarray, lr_per_lsb: float):
    """:func:`registers` for 1-D float32/float64 vectors, compiled when numba is there."""
    if (_registers_jit is None or x.ndim != 1 or e.ndim != 1 or x.dtype not in (np.float32, np.float64)
            or e.dtype != x.dtype):
        return registers(x, e, lr_per_lsb)
    xq = np.empty(x.shape, dtype=np.int8)
    eq = np.empty(e.shape, dtype=np.int8)
    m, s, clipped = _registers_jit(x, e, xq, eq, float(lr_per_lsb))
    if m == -100000:
        raise ValueError("cannot quantize a vector holding inf or nan (the network diverged)")
    return xq, eq, m, s, clipped
