"""The switch for compiled kernels: numba when it is installed, plain Python and NumPy otherwise.

numba is a dependency of the package; ``HYMEM_NO_NUMBA=1`` disables it to test the fallbacks
(``tb/test_fastengine.py``). Results never depend on which runs: every compiled kernel either is
the same source as its NumPy form (:func:`jitable`) or is checked bit for bit against the NumPy
definition it replaces.
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
    computes element-wise) and compiled kernels can call it on scalars. Write it with
    operations that mean the same on both (NumPy ufuncs, ``np.uint64`` constants, no branches
    on values)."""
    return register_jitable(f) if HAVE_NUMBA else f


def njit(f):
    """``f`` compiled (cached, without the GIL), or None without numba."""
    return numba.njit(cache=True, nogil=True)(f) if HAVE_NUMBA else None


def vectorize(f):
    """A NumPy ufunc running the :func:`jitable` scalar function ``f`` compiled (types
    inferred at the first call, cached), or None without numba."""
    return numba.vectorize(cache=True)(f) if HAVE_NUMBA else None
