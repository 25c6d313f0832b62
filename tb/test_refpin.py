"""Pinned results of the learning reference: a speed change must not change what it computes.

Short training runs of the fast reference (the RTL's golden model and the engine of every
sweep), each reduced to fingerprints: SHA-256 of the hidden weights, flags and PRNG lanes
(``digital``), of every counter (``counters``), of the memristor ADC codes the host reads
(``adc``), of the programmed conductances bit for bit (``g_us``) and of the per-device write
counts (``writes``), plus the test accuracy. The expected values were generated from the code
before the reference was made faster (the commit that added this file) and must stay
identical; a deliberate change of the model regenerates them with
``.venv/bin/python tb/test_refpin.py`` and says why in its commit.

The cases cover every path a transfer can take: the statistical programmer through the fused
compiled transfer (published and improved options) and through the protocol path (verify,
stochastic rounding), the keyed device-physics programmer of the co-simulation (with and
without verify) and the unkeyed one; some also run on the NumPy engine (``force_numpy``) and
with numba switched off (``HYMEM_NO_NUMBA=1``: the kernels written once for NumPy and numba then
run as NumPy), which must give the same fingerprints.

Floating point: the forward pass goes through BLAS and the device models through libm, so the
pinned values are those of this platform (x86-64, OpenBLAS, glibc); another CPU family may sum
in another order and must regenerate them first (on the commit that added this file). NumPy's
own AVX-512 ``exp`` / ``log`` round differently from libm, so the NumPy-only run
(``test_pinned_without_numba``) switches them off; with numba the device kernels call libm on
every x86-64 CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hymem.learn import datasets, reference as R
from hymem.analog import programmer as P

#: name -> (dataset, training samples, Options keywords, programmer: None for the statistical
#: one, "keyed" / "unkeyed" for the device physics)
CASES = {
    "stat-mnist5k": ("mnist5k", 400, dict(arch=(784, 200, 100, 10), k=50, lr=0.02), None),
    "stat-improved": ("digits", 300, dict(arch=(64, 24, 10), k=10, transfer="round",
                                          skip_unchanged=True, lr=0.05), None),
    "stat-verify-sr": ("digits", 200, dict(arch=(64, 24, 10), k=10, transfer="round",
                                           verify_retries=2, stochastic_rounding=True, lr=0.05), None),
    "phys-keyed": ("digits", 300, dict(arch=(64, 16, 10), k=10, p=0.5, lr=0.1), "keyed"),
    "phys-keyed-verify": ("digits", 200, dict(arch=(64, 16, 10), k=10, p=0.5, lr=0.1, transfer="round",
                                              skip_unchanged=True, verify_retries=2), "keyed"),
    "phys-unkeyed": ("digits", 150, dict(arch=(64, 16, 10), k=10, p=0.5, lr=0.1), "unkeyed"),
}

#: Cases run a second time on the NumPy engine (same expected fingerprints).
NUMPY_CASES = ("stat-improved", "stat-verify-sr", "phys-keyed")

EXPECTED = {
    'stat-mnist5k': {'accuracy': 0.583, 'digital': 'ee6aa11a8876d5ec', 'counters': '487404a911b8304c', 'writes': '8225449a2f241ee3', 'g_us': '8f169a673f991160', 'adc': '1f2ba98e578775f0'},
    'stat-improved': {'accuracy': 0.504178, 'digital': 'f4e2e607ce92c17f', 'counters': '933057b54856354a', 'writes': '47e62ef8435b32f8', 'g_us': '764d99e6bbd91493', 'adc': 'b68118f2fe1e0ec2'},
    'stat-verify-sr': {'accuracy': 0.4039, 'digital': '7150204677e6bdc7', 'counters': '5c56807bc1ff42d1', 'writes': 'a3054e4a2c94990f', 'g_us': '2cb23096dc043801', 'adc': '190f1eac251c231b'},
    'phys-keyed': {'accuracy': 0.554318, 'digital': '5b853bf1cad06d40', 'counters': 'c1bad453eac16dca', 'writes': '1c38ee247431ac11', 'g_us': 'eed6a90351e0000d', 'adc': 'f6f15b937cddae8e'},
    'phys-keyed-verify': {'accuracy': 0.387187, 'digital': 'fed1d65ec26fa673', 'counters': '22ca7ecd8352e210', 'writes': 'b58c0d0a1288db8c', 'g_us': '15d162a6def0081c', 'adc': '72de8d05605fc194'},
    'phys-unkeyed': {'accuracy': 0.208914, 'digital': 'af0c38d7b57bd74c', 'counters': '0f95035091356f8e', 'writes': '730758a0c1e6fc42', 'g_us': '22ead8abdf1e4200', 'adc': '1b2788227d023032'},
}


def _sha(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def fingerprint(name: str, force_numpy: bool = False, data=None) -> dict:
    """Train case ``name`` and return its fingerprints (module doc)."""
    ds, samples, kw, prog = CASES[name]
    data = data or datasets.load(ds)
    opts = R.Options(scheme="hybrid", epochs=1, seed=3, **kw)
    factory = None if prog is None else P.physical_factory(keyed=prog == "keyed")
    net = R.Network(opts, factory, force_numpy=force_numpy)
    with threadpool_limits(1):           # as reference.train: one BLAS thread
        for i in net.rng_order.permutation(len(data.y_train))[:samples]:   # part of an epoch
            net.train_sample(data.x_train[i], int(data.y_train[i]))
        accuracy = net.evaluate(data.x_test, data.y_test)
    layers = net.layers
    counters = net.counters()
    return {
        "accuracy": round(accuracy, 6),
        "digital": _sha(*[a for l in layers for a in (l.state.h, l.state.flags, l.state.prng)]),
        "counters": _sha(np.frombuffer(json.dumps(counters, sort_keys=True).encode(), np.uint8)),
        "writes": _sha(*[l.programmer.device_writes().astype(np.int64) for l in layers]),
        "g_us": _sha(*[np.asarray(l.programmer.conductances_us(), dtype=np.float64) for l in layers]),
        # last: a read of keyed devices counts (it indexes their read-noise draws)
        "adc": _sha(*[l.programmer.read_adc() for l in layers]),
    }


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = datasets.load(name)
        return cache[name]
    return get


@pytest.mark.parametrize("name,force_numpy",
                         [(n, False) for n in CASES] + [(n, True) for n in NUMPY_CASES])
def test_pinned(name, force_numpy, loaded):
    got = fingerprint(name, force_numpy, loaded(CASES[name][0]))
    assert got == EXPECTED[name], (
        f"{name}{' (NumPy engine)' if force_numpy else ''}: the reference computes something "
        f"else than when its results were pinned: {got} != {EXPECTED[name]}")


def _numpy_libm_env() -> dict:
    """The environment that makes NumPy's transcendental functions round as libm's.

    NumPy dispatches ``exp``, ``log``, ``log10`` and ``log1p`` of float64 to its own AVX-512
    kernels where the CPU has them (``numpy.show_runtime()``: X86_V4, AVX512_ICL, ...); those
    differ from glibc's libm in the last bit for about 5 % of arguments, while numba's kernels
    call libm. ``NPY_DISABLE_CPU_FEATURES`` switches those dispatch targets off, so both
    paths compute the same bits and the pins compare the kernels' source, not the CPU."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__   # NumPy 2
    except ImportError:                                                # NumPy 1.26
        from numpy.core._multiarray_umath import __cpu_dispatch__
    off = [f for f in __cpu_dispatch__ if "AVX512" in f or f == "X86_V4"]
    return {"NPY_DISABLE_CPU_FEATURES": " ".join(off)} if off else {}


def test_pinned_without_numba():
    """HYMEM_NO_NUMBA=1: the kernels that are one source for NumPy and numba (device physics,
    keyed draws, transfer pulse) run as NumPy and land on the same fingerprints (with NumPy's
    AVX-512 math switched off: :func:`_numpy_libm_env`)."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_refpin as T\n"
            "from hymem.digital import fastengine; assert fastengine.backend() == 'numpy'\n"
            "for n in ('phys-keyed', 'stat-improved'):\n"
            "    got = T.fingerprint(n)\n"
            "    assert got == T.EXPECTED[n], (n, got)\n"
            "print('ok')\n")
    env = dict(os.environ, HYMEM_NO_NUMBA="1", **_numpy_libm_env())
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


if __name__ == "__main__":      # print the fingerprints of the current code (to regenerate EXPECTED)
    print("EXPECTED = {")
    for n in CASES:
        print(f"    {n!r}: {fingerprint(n)!r},")
    print("}")
    sys.exit(0)
