"""The switch for compiled kernels: numba when it is installed, plain Python and NumPy otherwise.

numba is a dependency of the package; ``HYMEM_NO_NUMBA=1`` disables it to test the fallbacks
(``tb/test_fastengine.py``). Results never depend on which runs: every compiled kernel either is
the same source as its NumPy form (:func:`jitable`) or is checked bit for bit against the NumPy
definition it replaces. One limit: compiled kernels call libm's ``exp`` / ``log``, and NumPy on an
AVX-512 CPU uses its own, which round differently in the last bit for a few % of arguments; so
the NumPy forms of kernels with such calls match bit for bit only with NumPy's AVX-512 dispatch
off (``NPY_DISABLE_CPU_FEATURES``, as ``tb/test_refpin.py`` runs them). Do not make a result
depend on the two agreeing.

Caching: numba's cache of a compiled function is invalidated by changes to that function's own
file only. A cached kernel that calls a compiled or jitable function of another file keeps its
old copy of the callee after that file changes (``make clean`` clears the caches); keep such
calls within one file, or call the kernels one after the other from Python.
"""

from __future__ import annotations

import os

try:  # numba is optional: HYMEM_NO_NUMBA=1 forces the NumPy paths
    if os.environ.get("HYMEM_NO_NUMBA"):
        raise ImportError("disabled by HYMEM_NO_NUMBA")
    import numba
    from numba.extending import register_jitable
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised by the fallback test via the env variable
    numba = None
    HAVE_NUMBA = False


def jitable(f):
    """One source for both worlds: ``f`` stays a Python function (called on NumPy arrays it
    computes element-wise) and compiled kernels can call it on scalars or arrays. Write it with
    operations that mean the same on both (NumPy ufuncs, ``np.uint64`` constants, no ``if`` on
    an array's values)."""
    return register_jitable(f) if HAVE_NUMBA else f


def njit(f):
    """``f`` compiled (cached, without the GIL), or None without numba."""
    return numba.njit(cache=True, nogil=True)(f) if HAVE_NUMBA else None


def vectorize(signature: str, f):
    """A NumPy ufunc running the :func:`jitable` scalar function ``f`` compiled for
    ``signature`` (e.g. ``"float64(uint64, uint64)"``), or None without numba. It is compiled
    (or loaded from numba's cache) at its first call, not at import; calls go straight to the
    NumPy ufunc (numba's own wrapper adds tens of microseconds per call)."""
    return _LazyUfunc(signature, f) if HAVE_NUMBA else None


class _LazyUfunc:
    def __init__(self, signature: str, f) -> None:
        self.signature, self.f, self.ufunc = signature, f, None

    def __call__(self, *args):
        if self.ufunc is None:
            self.ufunc = numba.vectorize([self.signature], cache=True)(self.f).ufunc
        return self.ufunc(*args)


def compiled(f):
    """``f`` compiled (cached, without the GIL), or ``f`` itself without numba: for kernels
    written so that NumPy runs them as they are (array operations only)."""
    return numba.njit(cache=True, nogil=True)(f) if HAVE_NUMBA else f
