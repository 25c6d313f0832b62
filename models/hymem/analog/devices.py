"""Behavioural models of the analogue devices: memristor (1T1R), FeCAP (1T1C), transfer line.

Vectorized NumPy models of banks of devices of any shape. Every random draw comes from a
``numpy.random.Generator`` passed in (never NumPy's global state), so a seed reproduces a run.

Keyed devices (``keys=``, optional): each device has a 64-bit identity, and its memristor
draws (device-to-device parameters, the cycle-to-cycle part of every RESET and SET, read
noise, forming) and its FeCAP device-to-device parameters come from a counter-based stream
keyed by (identity, draw, that device's own count of such events) instead of the bank's
generator. A device then behaves the same whatever order, batching or bank shape its
operations come in: the co-simulation's macro model (one array, row by row, as the RTL pulses
it) and the fast reference's programmer (all arrays of a layer at once) give identical
conductances for the same operations (:func:`device_keys`, docs/models.md).
Parameters are frozen dataclasses: a published figure is the default of its field, imported
from :mod:`hymem.published` (which names the source); a parameter the paper does not give is
marked "assumption" with the reason. ``docs/models.md`` describes the physics and every
parameter.

Selections. Methods that act on some devices take ``where``: a boolean mask of the bank's
shape, or any NumPy index into the bank's arrays (for example ``(row, line_indices)``). The
bank's state arrays (``g_us``, ``formed``, ``cycles``, ``bits``, ...) are public so that
testbenches can peek and poke them (the backdoor); physical operations go through methods.

Units are in the names: ``_us`` microsiemens (or microseconds where it says ``_s``/``_ns``),
``_ua`` microamperes, ``_v`` volts, ``_s`` seconds, ``_j`` joules, ``_f`` farads.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .. import published as pub
from ..jit import compiled, jitable, njit, vectorize

# ----------------------------------------------------------------------- helpers


def _check(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False,
           hi_open: bool = False) -> float:
    """``value`` as a float, or ValueError naming the parameter, the value and the range."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in {_rng_txt(lo, hi, lo_open, hi_open)}; "
                         f"got {value!r}") from None
    bad = (math.isnan(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi))
    if bad:
        raise ValueError(f"{name} must be in {_rng_txt(lo, hi, lo_open, hi_open)}; got {value!r}")
    return v


def _rng_txt(lo, hi, lo_open, hi_open) -> str:
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def _check_rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or an integer seed; got {rng!r}")


# -------------------------------------------------------- keyed (counter-based) noise

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
# the same constants as NumPy scalars, for the functions below that also run compiled
_U11, _U27, _U30, _U31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN64 = np.uint64(_GOLDEN)
_INV53 = 1.0 / (1 << 53)


@jitable
def _mix64(x):
    """SplitMix64's finalizer on uint64 (an array, or a scalar in a compiled kernel;
    wrapping arithmetic)."""
    x = x ^ (x >> _U30)
    x = x * _MIX1
    x = x ^ (x >> _U27)
    x = x * _MIX2
    return x ^ (x >> _U31)


def device_keys(base, *coords) -> np.ndarray:
    """64-bit device identities: ``base`` (an int or an array, e.g. one per array) combined
    with integer coordinates (broadcast together), e.g. ``device_keys(array_key, KIND_MR,
    rows[:, None], lines[None, :])``. Equal inputs give equal keys on any machine."""
    with np.errstate(over="ignore"):
        k = _mix64(np.asarray(base, dtype=np.uint64) + np.uint64(_GOLDEN))
        for c in coords:
            c = np.asarray(c)
            if c.dtype.kind not in "iu":
                raise ValueError(f"device key coordinates must be integers; got {c.dtype}")
            k = _mix64(k ^ (c.astype(np.uint64) * np.uint64(_GOLDEN) + np.uint64(0x632BE59BD9B4E019)))
    return k


def _salt(stream: int) -> np.ndarray:
    """The 64-bit constant that separates keyed stream ``stream`` from the others (a 0-d
    array: a ufunc takes it faster than a NumPy scalar)."""
    return np.array((stream * 0xD1B54A32D192ED03) & _M64, dtype=np.uint64)


@jitable
def _keyed_unit(key, salt, count):
    """Uniform in (0, 1) from a device key, a stream's salt and the device's event count
    (all uint64): element-wise on arrays, or on scalars in a compiled kernel."""
    b = _mix64(_mix64((key ^ salt) + count * _GOLDEN64))
    return (np.float64(b >> _U11) + 0.5) * _INV53


@jitable
def _keyed_gauss(key, salt1, salt2, count):
    """Standard normal (Box-Muller on two keyed uniforms, :func:`_keyed_unit`)."""
    u1 = _keyed_unit(key, salt1, count)
    u2 = _keyed_unit(key, salt2, count)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


# the same functions as compiled ufuncs (one pass instead of one NumPy call per operation)
_keyed_unit_ufunc = vectorize("float64(uint64, uint64, uint64)", _keyed_unit)
_keyed_gauss_ufunc = vectorize("float64(uint64, uint64, uint64, uint64)", _keyed_gauss)


def keyed_uniform(keys: np.ndarray, stream: int, count) -> np.ndarray:
    """Uniform draws in (0, 1), one per key: a function of (key, stream, count) only."""
    keys = np.asarray(keys, dtype=np.uint64)
    count = np.asarray(count, dtype=np.uint64)
    if _keyed_unit_ufunc is not None:
        return _keyed_unit_ufunc(keys, _salt(stream), count)
    with np.errstate(over="ignore"):
        return _keyed_unit(keys, _salt(stream), count)


def keyed_normal(keys: np.ndarray, stream: int, count) -> np.ndarray:
    """Standard normal draws, one per key (Box-Muller on two keyed uniforms: those of streams
    ``2 stream`` and ``2 stream + 1``)."""
    keys = np.asarray(keys, dtype=np.uint64)
    count = np.asarray(count, dtype=np.uint64)
    s1, s2 = _salt(2 * stream), _salt(2 * stream + 1)
    if _keyed_gauss_ufunc is not None:
        return _keyed_gauss_ufunc(keys, s1, s2, count)
    with np.errstate(over="ignore"):
        return _keyed_gauss(keys, s1, s2, count)


@jitable
def adc_code(g_us, lsb_us, max_code):
    """The read-out ADC's code of a conductance (the one definition; ``hymem.analog.adc.AdcParams``
    holds the parameters): round half up of ``g_us / lsb_us``, clamped to ``0..max_code``.
    Element-wise on arrays; a float (cast it) on scalars in compiled kernels."""
    return np.minimum(np.maximum(np.floor(g_us / lsb_us + 0.5), 0.0), max_code)


# keyed streams (never reuse a number for another draw)
_K_SET, _K_RESET, _K_RELAX, _K_FORM_TAU, _K_LIFE, _K_FAILS_HIGH = 1, 2, 3, 4, 5, 6
_K_PROGRAM, _K_READ, _K_FORM_HIT, _K_FORM_G = 7, 8, 9, 10
_K_WINDOW, _K_TAU, _K_SENSE = 11, 12, 13


def _check_keys(keys, shape) -> np.ndarray | None:
    if keys is None:
        return None
    k = np.asarray(keys)
    if k.dtype.kind not in "iu" or k.shape != shape:
        raise ValueError(f"keys must be an integer array of the bank's shape {shape}; got "
                         f"{k.dtype} {k.shape}")
    return np.ascontiguousarray(k, dtype=np.uint64)   # the state derived from it is C-ordered too


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise ValueError(f"shape must be a tuple of positive integers; got {shape!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"shape must be a tuple of positive integers; got {shape!r}")
    return shape


class _Bank:
    """Shared bookkeeping: shape, selection checks, op counters and energy."""

    OPS: tuple[str, ...] = ()

    def __init__(self, shape, rng, keys=None) -> None:
        self.shape = _check_shape(shape)
        self.rng = _check_rng(rng)
        self.keys = _check_keys(keys, self.shape)    # device identities (keyed noise) or None
        self.ops = {op: 0 for op in self.OPS}          # device operations (one per device)
        self.energy_j = {op: 0.0 for op in self.OPS}   # energy per operation type

    @functools.cached_property
    def _ids(self) -> np.ndarray:
        """The flat index of every device, in the bank's shape."""
        return np.arange(int(np.prod(self.shape))).reshape(self.shape)

    def _flat(self, name: str) -> np.ndarray:
        """State array ``name`` as a flat view (the compiled kernels write through it)."""
        a = getattr(self, name)
        if not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous array of the bank's shape (poke "
                             f"values into it, do not replace it)")
        return a.ravel()

    def _sel(self, where, what: str = "where"):
        """Validate a selection; return it in a form usable to index the state arrays."""
        if where is None:
            return (slice(None),) * len(self.shape)
        if isinstance(where, np.ndarray) and where.dtype == bool:
            if where.shape != self.shape:
                raise ValueError(f"{what} mask must have the bank's shape {self.shape}; "
                                 f"got {where.shape}")
            return where
        try:
            np.empty(self.shape, dtype=np.int8)[where]
        except (IndexError, TypeError, ValueError) as e:
            raise ValueError(f"{what} is not a valid index into a bank of shape {self.shape}: "
                             f"{e}") from None
        return where

    def _count(self, op: str, n: int, energy_each_j) -> None:
        self.ops[op] += int(n)
        self.energy_j[op] += float(np.sum(energy_each_j)) if np.ndim(energy_each_j) else \
            float(energy_each_j) * int(n)

    @property
    def total_energy_j(self) -> float:
        return float(sum(self.energy_j.values()))


# ================================================================== memristor (1T1R)


def ln_sigma(mean, sigma):
    """Sigma of ln(X) for a log-normal X with the given mean and sigma:
    ``sqrt(log1p((sigma / mean)^2))``."""
    return _ln_sigma(mean, np.asarray(sigma, dtype=float))


@jitable
def _ln_sigma(mean, sigma):
    return np.sqrt(np.log1p((sigma / mean) ** 2))


@dataclass(frozen=True)
class MemristorParams:
    """Parameters of a 1T1R HfO2 memristor. Published values are the defaults where they exist."""

    # -- programmed levels (published: Martemucci 2025, levels after DAC-free transfer)
    level_mean_us: tuple[float, ...] = pub.MEMRISTOR_LEVEL_MEAN_US  # code magnitude 0..7
    level_sigma_us: float = pub.MEMRISTOR_LEVEL_SIGMA_US            # average over the 8 levels
    compliance_range_ua: tuple[float, float] = pub.SET_COMPLIANCE_RANGE_UA  # levels 1 and 7
    # Assumption: the RESET (level 0) spread is not given separately; 1 uS at a 1.4 uS mean
    # is a typical HfO2 HRS spread (broad, log-normal). The SET spread follows from it below.
    hrs_sigma_us: float = 1.0
    # Assumption (calibration): part of the published transfer spread comes from the transfer
    # line itself (FeCAP window variability -> V_TL -> compliance). The intrinsic SET spread
    # is chosen so that, with the transfer line's own spread, the 8 level sigmas after a
    # transfer average the published 8.7 uS (`hymem devices` measures it; tb/test_devices.py
    # checks it). A digital-code SET (program-and-verify) sees only this intrinsic spread.
    set_sigma_us: float = 8.8
    # Assumption: the paper does not separate device-to-device from cycle-to-cycle spread;
    # half of the variance each. 0 = purely cycle-to-cycle, 1 = purely device-to-device.
    d2d_fraction: float = 0.5
    # Assumption: lowest compliance that grows a filament; below it a SET leaves the device
    # at its RESET level. The law runs from (i_set_min_ua, level 0) to level 1 with about
    # the slope of the segment above level 1, so it has no kink there.
    i_set_min_ua: float = 22.9
    # Assumption: the conductance law continues past level 7 with its last slope up to this.
    g_max_us: float = 150.0
    # -- read
    read_v: float = pub.MEMRISTOR_READ_V
    read_noise_rel: float = 0.01     # assumption: 1 % relative read noise (RTN, amplifier)
    read_noise_us: float = 0.1       # assumption: absolute floor of the read noise
    read_pulse_s: float = 100e-9     # assumption: default read pulse when none is given
    # -- forming (published: adaptive 6 V, 300 us pulses until 50 kOhm)
    form_v: float = pub.FORMING_V
    form_pulse_s: float = pub.FORMING_PULSE_S
    form_target_ohm: float = pub.FORMING_TARGET_OHM
    # Assumption: median time to form at form_v is one nominal pulse (so the adaptive scheme
    # typically needs 1-3 pulses), TDDB-like voltage acceleration (e-fold per 0.25 V) and a
    # log-normal device-to-device spread of the forming time.
    form_tau_s: float = 300e-6 / math.log(2)
    form_v_accel: float = 0.25
    form_tau_sigma_ln: float = 1.0
    # Assumption: a pristine (unformed) device is an open MIM capacitor: ~100 MOhm leakage.
    pristine_g_us: float = 0.01
    # Assumption: leakage current during a forming pulse, for its energy (V * I * t).
    form_current_ua: float = 1.0
    # -- endurance (published: about 1e5 SET/RESET cycles)
    endurance_cycles: float = pub.MEMRISTOR_ENDURANCE_CYCLES
    endurance_sigma_ln: float = 0.5      # assumption: log-normal device lifetime spread
    stuck_high_fraction: float = 0.5     # assumption: failures split between stuck high and low
    stuck_low_us: float = 0.5            # assumption: a broken filament (stuck RESET)
    stuck_high_us: float = 150.0         # assumption: a filament that cannot be RESET
    # -- relaxation (optional; published retention: stable about one month)
    # Assumption: off by default. When > 0, log-normal drift whose log-sigma grows by this
    # much per decade of time since programming (beyond relax_t0_s).
    relax_sigma_per_decade: float = 0.0
    relax_t0_s: float = 1.0
    # -- energy (published system estimate: 1 pJ per memristor write)
    energy_write_j: float = pub.ENERGY_MEMRISTOR_WRITE_J

    def __post_init__(self) -> None:
        lv = self.level_mean_us
        if len(lv) < 2 or any(not b > a for a, b in zip(lv, lv[1:])) or lv[0] <= 0:
            raise ValueError(f"level_mean_us must be positive and strictly increasing; got {lv!r}")
        lo, hi = self.compliance_range_ua
        _check("compliance_range_ua[0]", lo, 0, 1000, lo_open=True)
        _check("compliance_range_ua[1]", hi, lo, 1000, lo_open=True)
        _check("i_set_min_ua", self.i_set_min_ua, 0, lo, hi_open=True)
        _check("g_max_us", self.g_max_us, lv[-1], 1e4, lo_open=True)
        for name in ("level_sigma_us", "hrs_sigma_us", "set_sigma_us", "read_noise_us"):
            _check(name, getattr(self, name), 0, 1e3)
        for name in ("d2d_fraction", "stuck_high_fraction", "read_noise_rel"):
            _check(name, getattr(self, name), 0, 1)
        _check("read_v", self.read_v, 0, 1.0, lo_open=True)
        _check("form_v", self.form_v, 0, 10, lo_open=True)
        for name in ("form_pulse_s", "form_tau_s", "form_v_accel", "read_pulse_s",
                     "form_target_ohm", "endurance_cycles", "relax_t0_s", "pristine_g_us"):
            _check(name, getattr(self, name), 0, math.inf, lo_open=True)
        for name in ("form_tau_sigma_ln", "endurance_sigma_ln", "relax_sigma_per_decade",
                     "form_current_ua", "energy_write_j", "stuck_low_us", "stuck_high_us"):
            _check(name, getattr(self, name), 0, math.inf)

    # -- the conductance law

    @property
    def level_compliance_ua(self) -> np.ndarray:
        """Nominal compliance current of SET levels 1..N-1 (uA).

        Assumption: evenly spaced over the published compliance range, because the transfer
        line's voltage is linear in the area-weighted count of ones and the access transistor
        converts it linearly (see :class:`TransferLineParams`).
        """
        lo, hi = self.compliance_range_ua
        return np.linspace(lo, hi, len(self.level_mean_us) - 1)

    def law_knots(self) -> tuple[np.ndarray, np.ndarray]:
        """(I_cc uA, mean G uS) knots of the piecewise-linear conductance law."""
        i = self.level_compliance_ua
        g = np.asarray(self.level_mean_us, dtype=float)
        slope = (g[-1] - g[-2]) / (i[-1] - i[-2])
        i_top = i[-1] + (self.g_max_us - g[-1]) / slope
        return (np.concatenate(([self.i_set_min_ua], i, [i_top])),
                np.concatenate(([g[0]], g[1:], [self.g_max_us])))

    def mean_g_us(self, i_cc_ua) -> np.ndarray:
        """Mean conductance programmed by a SET at compliance ``i_cc_ua`` (from a RESET state)."""
        ki, kg = self.law_knots()
        return np.interp(np.asarray(i_cc_ua, dtype=float), ki, kg)

    def reset_quantile_us(self, z: float = 6.0) -> float:
        """The ``z``-sigma upper quantile (uS) of a RESET device's conductance.

        A RESET draws a log-normal conductance of mean ``level_mean_us[0]`` and sigma
        ``hrs_sigma_us`` (:meth:`MemristorBank.reset`; its device-to-device and
        cycle-to-cycle parts together are one standard normal ``Z``), so the quantile is
        ``mean * exp(z * s - s**2 / 2)`` with ``s = sqrt(log1p((sigma / mean)**2))``. A RESET
        of a device drawn from the population lands above it with probability ``Q(z)``:
        about 1e-9 for the default ``z = 6`` (about 54 uS with the default parameters), a
        bound for tests that check devices are RESET. It is a quantile over devices (one
        device's RESETs share its device-to-device factor); read noise and stuck devices are
        not included.
        """
        mean = self.level_mean_us[0]
        s_ln = float(ln_sigma(mean, self.hrs_sigma_us))
        return mean * math.exp(z * s_ln - 0.5 * s_ln ** 2)

    def read_noise_sigma_us(self, g_us) -> np.ndarray:
        """Sigma (uS) of the read noise of a device at conductance ``g_us``:
        ``sqrt((read_noise_rel * g)^2 + read_noise_us^2)``."""
        g = np.asarray(g_us, dtype=float)
        return np.sqrt((self.read_noise_rel * g) ** 2 + self.read_noise_us ** 2)


@jitable
def _lognormal_us(mean_us, s_ln, half_var, z_d, z_c, f):
    """Log-normal conductances (uS) of mean ``mean_us`` and log-sigma ``s_ln`` (``half_var`` =
    ``s_ln**2 / 2``): device-to-device part ``z_d``, cycle-to-cycle part ``z_c``, ``f`` the
    device-to-device share of the variance."""
    z = math.sqrt(f) * z_d + math.sqrt(1.0 - f) * z_c
    return mean_us * np.exp(s_ln * z - half_var)


@jitable
def _stuck_us(g_us, stuck, low_us, high_us):
    """Conductance of devices with the given ``stuck`` states (0 working, 1 low, 2 high)."""
    return np.where(stuck == 1, low_us, np.where(stuck == 2, high_us, g_us))


# The programming kernels work on the banks' state arrays seen flat, at the flat indices
# ``idx`` of the devices programmed, each device at most once. Each is one source: NumPy runs
# it as it is, numba compiles it (:func:`hymem.jit.compiled`); the results are the same.


def _reset_kernel(idx, z_c, g, t_prog, stuck, z_reset, mean_us, s_ln, half_var, f, now_s,
                  low_us, high_us):
    """RESET: the level-0 log-normal (``mean_us``, ``s_ln``, ``half_var``, scalars), then the
    stuck devices' own values."""
    g_new = _lognormal_us(mean_us, s_ln, half_var, z_reset[idx], z_c, f)
    t_prog[idx] = now_s
    g[idx] = _stuck_us(g_new, stuck[idx], low_us, high_us)


def _set_kernel(idx, i_cc, z_c, g, t_prog, cycles, stuck, z_set, life, fails_high, knot_i, knot_g,
                f, set_sigma_us, g1_us, i_min_ua, now_s, low_us, high_us):
    """SET at compliance ``i_cc`` (uA, one per device): log-normal around the conductance law
    (spread scaled down below level 1 ``g1_us``), never lower than before, nothing below
    ``i_min_ua``; one cycle of wear (a device past its life gets stuck), then the stuck
    devices' own values."""
    g_old = g[idx]
    mean = np.interp(i_cc, knot_i, knot_g)
    sigma = set_sigma_us * np.minimum(1.0, mean / g1_us)
    mean = np.maximum(mean, 1e-9)
    s_ln = _ln_sigma(mean, sigma)
    g_new = _lognormal_us(mean, s_ln, 0.5 * s_ln ** 2, z_set[idx], z_c, f)
    g_new = np.maximum(g_old, np.where(i_cc <= i_min_ua, g_old, g_new))
    t_prog[idx] = now_s
    c = cycles[idx] + 1
    cycles[idx] = c
    st = stuck[idx]
    st = np.where((c > life[idx]) & (st == 0), np.where(fails_high[idx], 2, 1), st).astype(np.int8)
    stuck[idx] = st
    g[idx] = _stuck_us(g_new, st, low_us, high_us)


_reset_compiled = compiled(_reset_kernel)
_set_compiled = compiled(_set_kernel)


class MemristorBank(_Bank):
    """A bank of 1T1R memristors of any ``shape``.

    State (public, for the backdoor): ``g_us`` conductance, ``formed``, ``cycles`` (SET
    operations, one per SET/RESET cycle), ``stuck`` (0 working, 1 stuck low, 2 stuck high),
    ``life_cycles`` (cycles at which the device fails), ``t_prog_s`` (time of the last
    programming, for relaxation). ``now_s`` is the bank's clock (:meth:`advance`).

    A new bank is pristine (unformed) unless ``formed=True``, in which case every device is
    formed and RESET.

    ``keys`` (optional, an integer array of the bank's shape): device identities for keyed
    noise (module docstring); ``programs``, ``reads`` and ``form_pulses`` count each device's
    events, which index its keyed draws.
    """

    OPS = ("form", "reset", "set", "read")

    def __init__(self, shape, params: MemristorParams | None = None, rng=None, *,
                 formed: bool = False, keys=None) -> None:
        if rng is None:
            raise ValueError("rng must be a numpy.random.Generator or an integer seed; got None")
        super().__init__(shape, rng, keys)
        self.params = p = params or MemristorParams()
        if not isinstance(p, MemristorParams):
            raise ValueError(f"params must be a MemristorParams; got {type(p).__name__}")
        r = self.rng
        n = self.shape
        self.g_us = np.full(n, p.pristine_g_us)
        self.formed = np.zeros(n, dtype=bool)
        self.cycles = np.zeros(n, dtype=np.int64)
        self.stuck = np.zeros(n, dtype=np.int8)
        self.t_prog_s = np.zeros(n)
        self.now_s = 0.0
        self.programs = np.zeros(n, dtype=np.int64)     # RESETs + SETs (keyed c2c draws)
        self.reads = np.zeros(n, dtype=np.int64)        # reads (keyed read noise)
        self.form_pulses = np.zeros(n, dtype=np.int64)  # forming pulses (keyed)
        # per-device (device-to-device) draws, fixed for the life of the device
        k = self.keys
        if k is None:
            z = [r.standard_normal(n) for _ in range(5)]
            u_high = r.random(n)
        else:
            z = [keyed_normal(k, st, 0) for st in (_K_SET, _K_RESET, _K_RELAX, _K_FORM_TAU,
                                                   _K_LIFE)]
            u_high = keyed_uniform(k, _K_FAILS_HIGH, 0)
        self._z_set = z[0]                      # its SET strength
        self._z_reset = z[1]                    # its RESET strength
        self._z_relax = z[2]
        self.form_tau_scale = np.exp(p.form_tau_sigma_ln * z[3])
        self.life_cycles = p.endurance_cycles * np.exp(p.endurance_sigma_ln * z[4])
        self._fails_high = u_high < p.stuck_high_fraction
        self._knots = p.law_knots()
        if formed:
            self.formed[...] = True
            self._program_reset(self._ids.reshape(-1))

    # -- internals

    def _normal(self, idx, stream: int, counter: str) -> np.ndarray:
        """Standard normal draws for the devices at flat indices ``idx``, one event each: the
        generator's, or keyed by each device's count in the state array ``counter`` (which
        then counts this event)."""
        if self.keys is None:
            return self.rng.standard_normal(idx.shape)
        cnt = self._flat(counter)
        c = cnt[idx]
        z = keyed_normal(self.keys.reshape(-1)[idx], stream, c)
        cnt[idx] = c + 1
        return z

    def _index(self, where) -> tuple[np.ndarray, tuple]:
        """Flat indices of the selected devices in the selection's order, and its shape."""
        if where is None:
            return self._ids.reshape(-1), self.shape
        if isinstance(where, np.ndarray) and where.dtype == bool:
            self._sel(where)
            idx = np.flatnonzero(where)
            return idx, idx.shape
        try:
            ids = self._ids[where]
        except (IndexError, TypeError, ValueError) as e:
            raise ValueError(f"where is not a valid index into a bank of shape {self.shape}: "
                             f"{e}") from None
        return np.ravel(ids), np.shape(ids)

    def _program_reset(self, idx) -> None:
        p = self.params
        mean = np.maximum(p.level_mean_us[0], 1e-9)
        s_ln = ln_sigma(mean, p.hrs_sigma_us)
        z_c = self._normal(idx, _K_PROGRAM, "programs")
        _reset_compiled(idx, z_c, self._flat("g_us"), self._flat("t_prog_s"), self._flat("stuck"),
                        self._z_reset.reshape(-1), mean, s_ln, 0.5 * s_ln ** 2, p.d2d_fraction,
                        self.now_s, p.stuck_low_us, p.stuck_high_us)

    def _apply_stuck(self, sel) -> None:
        st = self.stuck[sel]
        if st.any():
            self.g_us[sel] = _stuck_us(self.g_us[sel], st, self.params.stuck_low_us,
                                       self.params.stuck_high_us)

    def _need_formed(self, idx, op: str) -> None:
        formed = self._flat("formed")[idx]
        if not formed.all():
            raise ValueError(f"{op} on {int((~formed).sum())} unformed device(s): form them first")

    # -- operations

    def form(self, where=None, pulse_s: float | None = None, v: float | None = None) -> np.ndarray:
        """One forming pulse on the selected unformed devices. Returns which formed now.

        Each pulse forms a device with probability ``1 - exp(-pulse_s / tau)``, with
        ``tau = form_tau_s * scale_d * exp(-(v - form_v) / form_v_accel)``. A device that forms
        reaches the target resistance (``form_target_ohm``: its conductance is drawn at or
        above ``1 / form_target_ohm``), so the adaptive scheme (pulse, read, repeat until
        50 kOhm) stops on it. Already formed devices are not affected. A device stuck low
        (:meth:`inject_stuck`) stays low: the fault model of a device that never forms.
        """
        p = self.params
        pulse_s = p.form_pulse_s if pulse_s is None else _check("pulse_s", pulse_s, 0, 1.0,
                                                                  lo_open=True)
        v = p.form_v if v is None else _check("v", v, 0, 10, lo_open=True)
        sel = self._sel(where)
        todo = ~self.formed[sel]
        tau = p.form_tau_s * self.form_tau_scale[sel] * math.exp(-(v - p.form_v) / p.form_v_accel)
        if self.keys is None:
            hit = todo & (self.rng.random(np.shape(todo)) < -np.expm1(-pulse_s / tau))
        else:
            cnt = self.form_pulses[sel]
            u = keyed_uniform(self.keys[sel], _K_FORM_HIT, cnt)
            hit = todo & (u < -np.expm1(-pulse_s / tau))
        n = int(np.size(todo))
        self._count("form", n, v * p.form_current_ua * 1e-6 * pulse_s)
        if hit.any():
            g_target = 1e6 / p.form_target_ohm
            f = self.formed[sel]
            g = self.g_us[sel]
            f[hit] = True
            if self.keys is None:
                z = self.rng.standard_normal(int(hit.sum()))
            else:
                z = keyed_normal(self.keys[sel][hit], _K_FORM_G, cnt[hit])
            g[hit] = g_target * (1.0 + np.abs(0.1 * z))
            self.formed[sel] = f
            self.g_us[sel] = g
            self._apply_stuck(sel)   # a stuck device stays stuck: stuck low never forms
        if self.keys is not None:
            self.form_pulses[sel] = cnt + todo
        return hit

    def reset(self, where=None) -> None:
        """RESET the selected (formed) devices to the low-conductance state."""
        idx, _ = self._index(where)
        self._need_formed(idx, "RESET")
        self._count("reset", idx.size, self.params.energy_write_j)
        self._program_reset(idx)

    def set_compliance(self, where, i_cc_ua) -> None:
        """SET the selected (formed) devices with compliance current ``i_cc_ua`` (uA).

        The programmed conductance is log-normal with mean :meth:`MemristorParams.mean_g_us`
        and spread ``set_sigma_us`` (scaled down proportionally below level 1), split into
        device-to-device and cycle-to-cycle parts by ``d2d_fraction``. A SET never lowers the
        conductance (a device already above the drawn value keeps its own). Counts a cycle.
        """
        p = self.params
        idx, shape = self._index(where)
        self._need_formed(idx, "SET")
        i = np.broadcast_to(np.asarray(i_cc_ua, dtype=float), shape) if np.ndim(i_cc_ua) == 0 \
            else np.asarray(i_cc_ua, dtype=float)
        if i.shape != shape:
            raise ValueError(f"i_cc_ua must be a scalar or match the selection's shape {shape}; "
                             f"got {i.shape}")
        if i.size and (np.isnan(i).any() or i.min() < 0 or i.max() > 1000):
            raise ValueError(f"i_cc_ua must be in [0, 1000] uA; got {i.min()}..{i.max()}")
        self._count("set", idx.size, p.energy_write_j)
        z_c = self._normal(idx, _K_PROGRAM, "programs")
        knot_i, knot_g = self._knots
        _set_compiled(idx, np.ascontiguousarray(i).reshape(-1), z_c, self._flat("g_us"),
                      self._flat("t_prog_s"), self._flat("cycles"), self._flat("stuck"),
                      self._z_set.reshape(-1), self.life_cycles.reshape(-1),
                      self._fails_high.reshape(-1), knot_i, knot_g, p.d2d_fraction,
                      p.set_sigma_us, p.level_mean_us[1], p.i_set_min_ua, self.now_s,
                      p.stuck_low_us, p.stuck_high_us)

    def conductance_us(self, where=None) -> np.ndarray:
        """Noise-free conductance now, including relaxation (the backdoor view)."""
        idx, shape = self._index(where)
        return self._conductance(idx).reshape(shape)[()]

    def _conductance(self, idx) -> np.ndarray:
        g = self._flat("g_us")[idx]
        p = self.params
        if p.relax_sigma_per_decade > 0:
            age = np.maximum(self.now_s - self._flat("t_prog_s")[idx], 0.0)
            dec = np.log10(1.0 + age / p.relax_t0_s)
            g0 = g
            g = g * np.exp(p.relax_sigma_per_decade * dec * self._z_relax.reshape(-1)[idx])
            g = np.where(self._flat("stuck")[idx] == 0, g, g0)
        return g

    def read_us(self, where=None, rng: np.random.Generator | None = None,
                pulse_s: float | None = None) -> np.ndarray:
        """Read the selected devices at ``read_v`` (400 mV): conductance plus read noise (uS).

        Returns an array of the selection's shape (a full-shape array for a mask, zero
        outside it). ``rng`` overrides the bank's generator (or, for keyed devices, the keyed
        stream) for the noise.
        """
        p = self.params
        pulse_s = p.read_pulse_s if pulse_s is None else _check("pulse_s", pulse_s, 0, 1.0,
                                                                  lo_open=True)
        idx, shape = self._index(where)
        g = self._conductance(idx)
        noise = p.read_noise_sigma_us(g)
        z = self._normal(idx, _K_READ, "reads") if rng is None else \
            _check_rng(rng).standard_normal(idx.shape)
        out = np.maximum(g + noise * z, 0.0)
        self._count("read", idx.size, p.read_v ** 2 * g.reshape(shape) * 1e-6 * pulse_s)
        if isinstance(where, np.ndarray) and where.dtype == bool:
            full = np.zeros(self.shape)
            full.reshape(-1)[idx] = out
            return full
        return out.reshape(shape)[()]

    def advance(self, dt_s: float) -> None:
        """Let ``dt_s`` seconds pass (relaxation)."""
        self.now_s += _check("dt_s", dt_s, 0, math.inf)

    def inject_stuck(self, where, high: bool) -> None:
        """Fault injection: the selected devices are stuck high (True) or low (False) from now."""
        sel = self._sel(where)
        self.stuck[sel] = 2 if high else 1
        self._apply_stuck(sel)


# ======================================================================= FeCAP (1T1C)


@jitable
def _window_factor(cycles, k_wake, wake_rate, fatigue_cycles):
    """Wake-up x fatigue factor of the window after ``cycles`` (float) cycles
    (:meth:`FecapParams.window_factor`)."""
    wake = 1.0 - k_wake * np.exp(-cycles * wake_rate)
    return wake / (1.0 + cycles / fatigue_cycles)


@jitable
def _fe_window(window0_v, cycles, weak, k_wake, wake_rate, fatigue_cycles, weak_scale):
    """Memory window (V) of cells: the woken window x wake-up/fatigue, weak cells scaled."""
    w = window0_v * _window_factor(cycles, k_wake, wake_rate, fatigue_cycles)
    return np.where(weak, w * weak_scale, w)


@jitable
def _switch_times_s(tau_v_s, tau_scale, weak, weak_tau_scale, draws, inv_n):
    """Switching times (s) of cells with time constant ``tau_v_s x tau_scale`` (weak cells
    slower), from standard exponential ``draws``: ``tau * draws ** (1 / n)`` (nucleation-limited
    switching; the square root for n = 2, as NumPy computes ``** 0.5``)."""
    tau = tau_v_s * tau_scale
    tau = np.where(weak, tau * weak_tau_scale, tau)
    return tau * (np.sqrt(draws) if inv_n == 0.5 else draws ** inv_n)


def _expected_min_z(n: int) -> float:
    """Expected minimum of ``n`` standard normal samples (Blom's approximation), negated."""
    from statistics import NormalDist
    return -NormalDist().inv_cdf((1 - 0.375) / (n + 0.25))


@dataclass(frozen=True)
class FecapParams:
    """Parameters of a 1T1C Si:HfO2 FeCAP (one bit). Published values are the defaults."""

    # -- memory window (published: median 360 mV, worst 120 mV over 16,384 devices)
    window_median_v: float = pub.FECAP_WINDOW_MEDIAN_V
    window_worst_v: float = pub.FECAP_WINDOW_WORST_V
    window_population: int = pub.FECAP_POPULATION
    # Assumption: the normal spread is cut at the published worst case, 120 mV: the published
    # population had no woken device below it; the normal tail beyond it is an extrapolation
    # that would put a cell at the sense reference (60 mV) in a few arrays per hundred: read
    # errors the published arrays do not show. Weak cells are modelled by fault injection
    # (`inject(weak=True)`).
    window_floor_v: float = 0.120
    # -- programming pulse (published: 3 V, 2 us)
    pulse_v: float = pub.FECAP_PULSE_V
    pulse_s: float = pub.FECAP_PULSE_S
    # Assumption: nucleation-limited switching, P = 1 - exp(-(t / tau)^n), with the Merz law
    # tau(V) = tau_3v * exp(v_activation / V - v_activation / 3 V). tau_3v = 50 ns makes a
    # 3 V, 2 us pulse certain (1 - e^-1600) and a read sensed 500 ns into the pulse see the
    # switched charge (1 - e^-100); 2 V / 2 us switches ~90 %, 1.5 V / 2 us ~0.3 %.
    tau_3v_s: float = 50e-9
    v_activation: float = 20.0
    nls_exponent: float = 2.0
    tau_sigma_ln: float = 0.3           # assumption: device-to-device spread of tau
    # -- wake-up and fatigue (published: wake-up over ~1,000 cycles; median window still
    # positive beyond 1e7 cycles)
    wakeup_cycles: float = pub.FECAP_WAKEUP_CYCLES
    # Assumption: a pristine device opens 5 % of its woken window (the pinched loop of
    # fresh Si:HfO2): median 18 mV, the best of 16,384 about 30 mV, below the lowest sense
    # threshold (60 mV - 3 sigmas of offset = 36 mV), so a pristine '1' reads '0' (but for
    # about 1e-5 of the cells, with the sense noise). Exponential wake-up, 98 % at
    # wakeup_cycles; the median device reads reliably (7 sigmas of sense noise above the
    # highest threshold) after about 90 cycles, the worst (120 mV woken) after about 1,000
    # (6.8 sigmas) to 1,200 (7).
    wakeup_initial_fraction: float = 0.05
    # Assumption: window * 1 / (1 + N / fatigue_cycles): halved at 1e7 cycles, 10 % at 1e8.
    fatigue_cycles: float = pub.FECAP_ENDURANCE_CYCLES
    # Assumption: the window figures are for woken devices; a woken bank (FecapBank(...,
    # woken=True), the default for a bank; the macro model HybridArray starts pristine
    # unless told otherwise) starts at this many cycles, a pristine one at 0.
    initial_cycles: float = 1e4
    # -- sense amplifier (assumption: the paper gives no offsets)
    sense_ref_v: float = 0.060          # reference at half the published worst-case window
    sense_offset_sigma_v: float = 0.008  # per sense amplifier (one per line), fixed
    # Assumption: amplifiers whose offset is beyond this many sigmas are trimmed or screened
    # at test, so the offset is a normal cut there. With the window floor this leaves every
    # read at least 36 mV (7 sigmas of sense noise) from its threshold.
    sense_offset_clip: float = 3.0
    sense_noise_v: float = 0.005        # per read
    # -- capacitances and energy (published)
    c_d_f: float = pub.FECAP_C_D_F
    c_bl_f: float = pub.FECAP_C_BL_F
    energy_write_j: float = pub.ENERGY_FECAP_WRITE_J   # per cell per write or read pulse
    # Assumption: 10 nm Si:HfO2 breaks down above ~4.5 V; pulses are limited to it.
    v_max: float = 4.5
    # -- fault injection
    weak_window_scale: float = 0.3      # assumption: a weak FeCAP keeps 30 % of its window
    weak_tau_scale: float = 20.0        # assumption: and switches 20x slower

    def __post_init__(self) -> None:
        _check("window_median_v", self.window_median_v, 0, 5, lo_open=True)
        _check("window_worst_v", self.window_worst_v, 0, self.window_median_v, hi_open=True)
        _check("window_floor_v", self.window_floor_v, 0, self.window_worst_v)
        if not isinstance(self.window_population, (int, np.integer)) or self.window_population < 2:
            raise ValueError(f"window_population must be an integer >= 2; "
                             f"got {self.window_population!r}")
        _check("pulse_v", self.pulse_v, 0, self.v_max, lo_open=True)
        for name in ("pulse_s", "tau_3v_s", "v_activation", "nls_exponent", "wakeup_cycles",
                     "fatigue_cycles", "c_d_f", "c_bl_f", "weak_tau_scale"):
            _check(name, getattr(self, name), 0, math.inf, lo_open=True)
        for name in ("tau_sigma_ln", "initial_cycles", "sense_ref_v", "sense_offset_sigma_v",
                     "sense_offset_clip", "sense_noise_v", "energy_write_j"):
            _check(name, getattr(self, name), 0, math.inf)
        _check("wakeup_initial_fraction", self.wakeup_initial_fraction, 0, 1, lo_open=True)
        _check("weak_window_scale", self.weak_window_scale, 0, 1)
        _check("v_max", self.v_max, 0, 10, lo_open=True)

    @property
    def window_sigma_v(self) -> float:
        """Device-to-device sigma of the woken window (normal distribution), chosen so that the
        expected worst of ``window_population`` devices is the published worst case."""
        return (self.window_median_v - self.window_worst_v) / _expected_min_z(self.window_population)

    def tau_s(self, v) -> np.ndarray:
        """Characteristic switching time of a median device at pulse amplitude ``v`` (s)."""
        v = np.asarray(v, dtype=float)
        return self.tau_3v_s * np.exp(self.v_activation / v - self.v_activation / 3.0)

    def switch_probability(self, v, width_s) -> np.ndarray:
        """Probability that a median device switches under a ``v`` volt, ``width_s`` pulse."""
        t = np.asarray(width_s, dtype=float) / self.tau_s(v)
        return -np.expm1(-(t ** self.nls_exponent))

    def window_factor(self, cycles) -> np.ndarray:
        """Window relative to the woken window after ``cycles`` cycles (wake-up x fatigue)."""
        return _window_factor(np.asarray(cycles, dtype=float), *self._window_prm())

    def _window_prm(self) -> tuple[float, float, float]:
        return 1.0 - self.wakeup_initial_fraction, 4.0 / self.wakeup_cycles, self.fatigue_cycles

    @functools.cached_property
    def woken_cycles(self) -> float:
        """Cycles from which the wake-up term of :func:`_window_factor`, ``1 - k_wake
        exp(-cycles wake_rate)``, is exactly 1.0 in float64 whatever ``exp``'s last bits: there
        ``k_wake exp(-x)`` is below e^-1 of half an ulp under 1 (2^-54), so any ``exp`` within a
        factor e of the true value rounds the term to 1.0. The compiled FeCAP row kernels
        (:meth:`FecapBank.predict_rows`, :meth:`FecapBank.ops_compiled`) run only on banks whose
        every cell is past it: they need no ``exp`` (NumPy's and numba's may differ in the last
        bit on some machines), so their windows are NumPy's bit for bit."""
        k_wake, wake_rate, _ = self._window_prm()
        if k_wake <= 0.0:
            return 0.0
        return (math.log(k_wake * 2.0 ** 54) + 1.0) / wake_rate

    def switch_energy_j(self, window_v, v_prog: float | None = None) -> np.ndarray:
        """Published relation E = MW * (C_D + C_BL) * V_prog for one switching event (J)."""
        v = self.pulse_v if v_prog is None else v_prog
        return np.asarray(window_v, dtype=float) * (self.c_d_f + self.c_bl_f) * v


# ------------------------------------------ the keyed row paths, compiled (numba only)
# Cell by cell, the same arithmetic as FecapBank._sensed / apply_rows on a keyed bank without
# faults whose cells are all past FecapParams.woken_cycles (the window is then
# window0 * (1 / (1 + cycles / fatigue)), scaled for weak cells: no exp). Checked bit for bit
# against the NumPy paths by tb/test_macro_tlm.py.


@jitable
def _row_sensed(r, msk, bits, cycles, sense_n, keys, window0, weak, thr, out, sig, near_v,
                noise_v, s1, s2, fatigue, weak_scale):
    """The sense amplifiers' decisions on row ``r`` of a woken bank into ``out`` (L,), for the
    lines in ``msk`` (L,) (False elsewhere), the '1' charge of a cell on its bit line where it
    holds '1' (:meth:`FecapBank._sensed`); ``sig`` (L,) scratch. Counts nothing."""
    L = thr.shape[0]
    for ln in range(L):          # no calls, no branches: the compiler vectorizes it
        w = window0[r, ln] * (1.0 / (1.0 + cycles[r, ln] / fatigue))
        w = w * weak_scale if weak[r, ln] else w
        on = msk[ln]
        x = w if bits[r, ln] & on else 0.0
        sig[ln] = x
        out[ln] = on & (x > thr[ln])
    for ln in range(L):          # the keyed noise where it can change the decision
        if msk[ln] and abs(sig[ln] - thr[ln]) < near_v:
            out[ln] = sig[ln] + noise_v * _keyed_gauss(keys[r, ln], s1, s2,
                                                       np.uint64(sense_n[r, ln])) > thr[ln]


@jitable
def _rows_woken(rows, cycles, woken):
    """0 if every cell of ``rows`` has at least ``woken`` cycles, -1 if a row is out of
    range, -2 if a cell is below."""
    R, L = cycles.shape
    for i in range(rows.shape[0]):
        r = rows[i]
        if r < 0 or r >= R:
            return -1
        for ln in range(L):
            if not cycles[r, ln] >= woken:
                return -2
    return 0


def _fe_predict_kernel(rows, bits, cycles, sense_n, keys, window0, weak, thr, out, woken, near_v,
                       noise_v, s1, s2, fatigue, weak_scale):
    """:meth:`FecapBank.predict_rows` into ``out`` (n, L). Returns 0, or without computing
    anything -1 if a row is out of range, -2 if a cell has fewer than ``woken`` cycles."""
    R, L = bits.shape
    st = _rows_woken(rows, cycles, woken)
    if st < 0:
        return st
    sig = np.empty(L)
    every = np.ones(L, dtype=np.bool_)
    for i in range(rows.shape[0]):
        _row_sensed(rows[i], every, bits, cycles, sense_n, keys, window0, weak, thr, out[i], sig,
                    near_v, noise_v, s1, s2, fatigue, weak_scale)
    return 0


def _fe_ops_kernel(row, kind, mask, bits, cycles, sense_n, keys, window0, weak, thr, pend,
                   data, last, cnt, nl, woken, near_v, noise_v, s1, s2, fatigue, weak_scale):
    """Nominal FeCAP pulses in order (:meth:`FecapBank.ops_compiled`): ``kind`` 0 a sensed
    source-line pulse (read), 1 an unsensed one (write '0'), 2 a bit-line pulse (write '1').
    A read of a row pending write-back (``pend`` (R,) bools, updated) stops before it.
    Fills ``data`` (n, L) with the reads' data, ``last`` (R,) with each row's last read or
    bit-line pulse, ``cnt`` / ``nl`` (3,) with the pulses and lines pulsed per kind. Returns
    how many pulses were applied, or without applying any -1 if a row or kind is out of range,
    -2 if a cell of a row pulsed has fewer than ``woken`` cycles."""
    R, L = bits.shape
    n = row.shape[0]
    for i in range(n):
        if kind[i] < 0 or kind[i] > 2:
            return -1
    st = _rows_woken(row, cycles, woken)
    if st < 0:
        return st
    sig = np.empty(L)
    for i in range(n):
        r = row[i]
        k = kind[i]
        if k == 0:
            if pend[r]:
                return i
            _row_sensed(r, mask[i], bits, cycles, sense_n, keys, window0, weak, thr, data[i], sig,
                        near_v, noise_v, s1, s2, fatigue, weak_scale)
            for ln in range(L):
                sense_n[r, ln] += 1
        m = 0
        for ln in range(L):                 # branch-free: cycles += 0.5 * switched, as NumPy
            on = mask[i, ln]
            b = bits[r, ln]
            sw = on and (b != (k == 2))
            m += on
            bits[r, ln] = b != sw
            cycles[r, ln] += 0.5 * sw
        cnt[k] += 1
        nl[k] += m
        if k != 1:
            pend[r] = k == 0
            last[r] = i
    return n


_fe_predict_compiled = njit(_fe_predict_kernel)
_fe_ops_compiled = njit(_fe_ops_kernel)


class FecapBank(_Bank):
    """A bank of 1T1C FeCAPs of any ``shape``; the last axis is the bit line (one sense
    amplifier per bit line).

    ``woken``: the devices start woken up (``params.initial_cycles`` cycles: the window
    figures' devices); ``False``: pristine (0 cycles, the window at
    ``params.wakeup_initial_fraction``, below the sense reference until cycled).

    State (public): ``bits`` stored polarization (True = '1'), ``cycles`` (switching cycles,
    half a cycle per switch), ``window0_v`` each device's woken window, ``tau_scale`` its
    switching-time factor. Faults (public, see :meth:`inject`): ``weak``, ``read_flip``
    (the cell behaves as if it held the other bit), per bit line ``sa_stuck`` (-1 none, 0,
    1) and ``sa_flip_p`` (probability that the sense amplifier inverts).

    ``keys`` (optional): device identities; the device-to-device draws (``window0_v``,
    ``tau_scale``) and the sense noise of every read (keyed by each device's count of reads,
    ``sense_n``) are then keyed (module docstring): a read gives the same result whenever it is
    computed, which lets the transaction-level macro model predict the next read of a row
    (:meth:`predict_rows`). Switching times, which only matter for pulses shorter than
    nominal, and sense-amplifier flip faults always come from the generator.
    """

    OPS = ("read", "write0", "write1")

    def __init__(self, shape, params: FecapParams | None = None, rng=None, keys=None,
                 woken: bool = True) -> None:
        if rng is None:
            raise ValueError("rng must be a numpy.random.Generator or an integer seed; got None")
        super().__init__(shape, rng, keys)
        self.params = p = params or FecapParams()
        if not isinstance(p, FecapParams):
            raise ValueError(f"params must be a FecapParams; got {type(p).__name__}")
        if not isinstance(woken, (bool, np.bool_)):
            raise ValueError(f"woken must be True or False; got {woken!r}")
        r = self.rng
        n = self.shape
        self.bits = np.zeros(n, dtype=bool)
        self.cycles = np.full(n, float(p.initial_cycles) if woken else 0.0)
        k = self.keys          # keyed: the device-to-device draws only (sensing stays digital)
        z_w = r.standard_normal(n) if k is None else keyed_normal(k, _K_WINDOW, 0)
        z_t = r.standard_normal(n) if k is None else keyed_normal(k, _K_TAU, 0)
        self.window0_v = np.maximum(p.window_median_v + p.window_sigma_v * z_w, p.window_floor_v)
        self.tau_scale = np.exp(p.tau_sigma_ln * z_t)
        self.sa_offset_v = p.sense_offset_sigma_v * np.clip(
            r.standard_normal(n[-1]), -p.sense_offset_clip, p.sense_offset_clip)
        self.weak = np.zeros(n, dtype=bool)
        self.read_flip = np.zeros(n, dtype=bool)
        self.sa_stuck = np.full(n[-1], -1, dtype=np.int8)
        self.sa_flip_p = np.zeros(n[-1])
        self._cycles0 = self.cycles.copy()
        self._line = np.broadcast_to(np.arange(n[-1]), n)
        self._tau_max = float(self.tau_scale.max())
        self._faults = False            # any weak / read_flip / sense-amplifier fault
        self._thr = p.sense_ref_v + self.sa_offset_v
        self.sense_n = np.zeros(n, dtype=np.int64)   # reads of each device (keyed noise)
        self._kprm = (None, ())                      # (params, the compiled kernels' constants)

    @property
    def energy_physical_j(self) -> float:
        """Switching energy by the published relation E = MW (C_D + C_BL) V_prog, summed over
        the switching events since the bank was made (two per cycle), at each cell's current
        window and the nominal pulse amplitude (an estimate: no per-event bookkeeping)."""
        p = self.params
        switches = 2.0 * (self.cycles - self._cycles0)
        return float((switches * self._window(None)).sum() * (p.c_d_f + p.c_bl_f) * p.pulse_v)

    def refresh(self) -> None:
        """Recompute the fault flags and thresholds (after poking ``weak``, ``read_flip`` or
        the sense-amplifier arrays directly)."""
        self._faults = bool(self.weak.any() or self.read_flip.any() or (self.sa_stuck >= 0).any()
                            or self.sa_flip_p.any())
        self._thr = self.params.sense_ref_v + self.sa_offset_v

    # -- row paths for 2-D banks (the macro); the same physics as sense() / apply()

    #: Largest |z| a keyed normal draw can take (Box-Muller on 53-bit uniforms: sqrt(2 ln 2^54)
    #: = 8.65): where the signal is further than this many noise sigmas from the threshold,
    #: the noise cannot change the outcome and is not computed.
    KEYED_Z_MAX = 8.7

    def _sensed(self, sel, sw) -> np.ndarray:
        """Sense amplifiers' decisions for the selected cells, whose '1' charge is on the bit
        line where ``sw``: window (if ``sw``) + noise > reference + offset. Counts one read of
        each selected device (``sense_n``). Keyed banks compute the noise only where it can
        change the outcome (``KEYED_Z_MAX``): the same decisions as computing it everywhere."""
        p = self.params
        thr = self._thr[self._line[sel]]
        sig = np.where(sw, self._window(sel), 0.0)
        if self.keys is None:
            out = sig + p.sense_noise_v * self.rng.standard_normal(np.shape(sig)) > thr
        else:
            out = sig > thr
            near = np.abs(sig - thr) < self.KEYED_Z_MAX * p.sense_noise_v
            if near.any():
                keys = self.keys[sel][near]
                z = keyed_normal(keys, _K_SENSE, self.sense_n[sel][near])
                out[near] = sig[near] + p.sense_noise_v * z > thr[near]
        self.sense_n[sel] += 1
        return out

    def row_window(self, row: int) -> np.ndarray:
        """Memory window of every cell of ``row`` now (V)."""
        return self._window((row,))

    def row_sense(self, row: int, lmask, t_sw, elapsed_s: float) -> np.ndarray:
        """:meth:`sense` of one row; ``lmask`` (L,) bools or None for every line."""
        if self._faults:
            sel = (row, slice(None))
            out = self.sense(sel, t_sw, elapsed_s)
            return out if lmask is None else out & lmask
        sw = self.bits[row]
        if t_sw is not None:
            sw = sw & (t_sw <= elapsed_s)
        if lmask is not None:
            sw = sw & lmask
        out = self._sensed((row,), sw)
        return out if lmask is None else out & lmask

    def predict_rows(self, rows) -> np.ndarray | None:
        """What the next read of each of ``rows`` returns on every line, if the read is
        nominal (every cell switches within the time the read is sensed at, see
        :meth:`row_certain_s`): (n, L) bools. Needs a keyed bank without faults (else None):
        the read then draws the noise predicted here. Changes nothing."""
        if self.keys is None or self._faults:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        if self._compiled_ok():
            out = np.zeros((len(rows), self.shape[-1]), dtype=bool)
            st = _fe_predict_compiled(rows, self.bits, self.cycles, self.sense_n, self.keys,
                                      self.window0_v, self.weak, self._thr, out,
                                      *self._kernel_prm())
            if st == -1:
                raise IndexError(f"rows must be in 0..{self.shape[0] - 1}")
            if st == 0:
                return out
        n0 = self.sense_n[rows]
        out = self._sensed((rows,), self.bits[rows])
        self.sense_n[rows] = n0
        return out

    def _compiled_ok(self) -> bool:
        """The compiled row kernels may apply: numba, a keyed 2-D bank without faults, the
        state arrays C-ordered (the kernels then check that the rows they touch are woken past
        :attr:`FecapParams.woken_cycles`)."""
        return (_fe_ops_compiled is not None and self.keys is not None and not self._faults
                and len(self.shape) == 2 and self.bits.flags.c_contiguous
                and self.cycles.flags.c_contiguous and self.sense_n.flags.c_contiguous
                and self.window0_v.flags.c_contiguous and self.weak.flags.c_contiguous)

    def _kernel_prm(self) -> tuple:
        p = self.params
        if self._kprm[0] is not p:
            self._kprm = (p, (p.woken_cycles, self.KEYED_Z_MAX * p.sense_noise_v,
                              p.sense_noise_v,
                              _salt(2 * _K_SENSE)[()], _salt(2 * _K_SENSE + 1)[()],
                              p.fatigue_cycles, p.weak_window_scale))
        return self._kprm[1]

    def ops_compiled(self, row, kind, mask, pend):
        """:meth:`sense_rows` and :meth:`apply_rows` of nominal pulses one after the other,
        compiled, when :meth:`_compiled_ok` and the rows pulsed are woken (else None, nothing
        changed): ``kind`` (n,) 0 read, 1 write '0',
        2 write '1', ``row`` (n,), ``mask`` (n, L) bools; ``pend`` (R,) bools, the rows
        pending write-back (updated): a read of one stops the batch before it. Returns
        ``(done, data (n, L), last (R,) each row's last read or bit-line pulse or -1,
        pulses (3,) and lines pulsed (3,) per kind)``."""
        if not self._compiled_ok():
            return None
        n, L = len(row), self.shape[-1]
        if mask.shape != (n, L) or mask.dtype != bool:
            raise ValueError(f"mask must be ({n}, {L}) booleans; got {mask.shape} {mask.dtype}")
        data = np.zeros((n, L), dtype=bool)
        last = np.full(self.shape[0], -1, dtype=np.int64)
        cnt, nl = np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64)
        done = _fe_ops_compiled(row, kind, np.ascontiguousarray(mask), self.bits, self.cycles,
                                self.sense_n, self.keys, self.window0_v, self.weak, self._thr,
                                pend, data, last, cnt, nl, *self._kernel_prm())
        if done == -1:
            raise ValueError(f"row must be in 0..{self.shape[0] - 1} and kind in 0..2")
        if done == -2:
            return None
        return done, data, last, cnt, nl

    def sense_rows(self, rows, masks) -> np.ndarray:
        """Nominal reads of distinct ``rows`` (no faults): :meth:`row_sense` of each with its
        (n, L) ``masks``, vectorized. Returns (n, L) bools."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._sensed((rows,), self.bits[rows] & masks) & masks

    def apply_rows(self, rows, masks, target: bool) -> np.ndarray:
        """Nominal pulses (every candidate switches) towards ``target`` on distinct ``rows``,
        lines in the (n, L) ``masks``: :meth:`row_apply` of each, vectorized. Returns the
        number of cells that switched."""
        rows = np.asarray(rows, dtype=np.int64)
        bits = self.bits[rows]
        cand = (~bits if target else bits) & masks
        self.bits[rows] = bits | cand if target else bits & ~cand
        self.cycles[rows] += 0.5 * cand
        return int(np.count_nonzero(cand))

    def row_apply(self, row: int, lmask, t_sw, width_s: float, target: bool) -> None:
        """:meth:`apply` of one row; ``lmask`` (L,) bools or None for every line."""
        bits = self.bits[row]
        cyc = self.cycles[row]
        if not target and lmask is None and t_sw is None:   # a nominal read: all ones switch
            np.add(cyc, 0.5, out=cyc, where=bits)
            bits[:] = False
            return
        cand = ~bits if target else bits.copy()
        if lmask is not None:
            cand &= lmask
        if t_sw is not None:
            cand &= t_sw <= width_s
        if target:
            bits |= cand
        else:
            bits &= ~cand
        np.add(cyc, 0.5, out=cyc, where=cand)

    # -- physics on a selection

    def window_v(self, where=None) -> np.ndarray:
        """Memory window of the selected devices now (V): woken window x wake-up/fatigue."""
        sel = self._sel(where)
        return self._window(sel)

    def _window(self, sel) -> np.ndarray:
        p = self.params
        if sel is None:
            sel = Ellipsis
        return _fe_window(self.window0_v[sel], self.cycles[sel], self.weak[sel], *p._window_prm(),
                          p.weak_window_scale)

    def _check_pulse(self, v, width_s) -> tuple[float, float]:
        p = self.params
        v = _check("v", v, 0, p.v_max, lo_open=True)
        width_s = _check("width_s", width_s, 0, 1.0)
        return v, width_s

    def switch_times_s(self, sel, v: float, draws: np.ndarray | None = None) -> np.ndarray:
        """Time each selected device takes to switch under a ``v`` pulse (s), drawn now
        (``draws``: the standard exponential draws to use instead, one per device, when the
        caller draws them in another order than the selection's)."""
        p = self.params
        tau_scale = self.tau_scale[sel]
        if draws is None:
            draws = self.rng.standard_exponential(np.shape(tau_scale))
        return _switch_times_s(p.tau_s(v), tau_scale, self.weak[sel], p.weak_tau_scale, draws,
                               1.0 / p.nls_exponent)

    #: -ln of the miss probability below which switching is taken as certain (1e-15).
    CERTAIN_LN = 34.5

    def _certain_s(self, v: float, tau_max: float | None = None) -> float:
        """A pulse at least this long switches every (non-weak) device of the bank (or of
        devices whose largest tau_scale is ``tau_max``) with probability above 1 - 1e-15, so
        no switching times need drawing."""
        p = self.params
        tm = self._tau_max if tau_max is None else tau_max
        return float(p.tau_s(v)) * tm * self.CERTAIN_LN ** (1.0 / p.nls_exponent)

    def row_certain_s(self, v: float) -> np.ndarray:
        """:meth:`_certain_s` per row of a 2-D bank."""
        p = self.params
        return float(p.tau_s(v)) * self.tau_scale.max(axis=-1) * \
            self.CERTAIN_LN ** (1.0 / p.nls_exponent)

    def sense(self, sel, t_sw, elapsed_s: float, v: float | None = None) -> np.ndarray:
        """Sense amplifiers latch the selected cells, ``elapsed_s`` into a read pulse.

        A cell holding '1' (or behaving so) that has switched by then puts its window on the
        bit line; each sense amplifier compares with the reference plus its offset and noise.
        Does not change the stored bits (the pulse's end does: :meth:`apply`).
        """
        p = self.params
        holds1 = self.bits[sel] ^ self.read_flip[sel]
        sw = holds1 if t_sw is None else holds1 & (t_sw <= elapsed_s)
        out = self._sensed(sel, sw)
        lines = self._line[sel]
        if (self.sa_stuck >= 0).any() or self.sa_flip_p.any():
            flip = self.rng.random(np.shape(out)) < self.sa_flip_p[lines]
            out = out ^ flip
            st = self.sa_stuck[lines]
            out = np.where(st >= 0, st == 1, out)
        return out

    def apply(self, sel, t_sw, width_s: float, target: bool, v: float) -> np.ndarray:
        """End of a pulse of ``width_s`` driving the selected cells towards ``target``.

        Cells not already at ``target`` switch if their switching time is within the pulse
        (``t_sw`` None: all of them). Counts their cycles. Returns which cells switched.
        """
        bits = self.bits[sel]
        cand = bits != target
        sw = cand if t_sw is None else cand & (t_sw <= width_s)
        if sw.any():
            bits = bits.copy()
            bits[sw] = target
            self.bits[sel] = bits
            self.cycles[sel] = self.cycles[sel] + 0.5 * sw
        return sw

    # -- convenience operations (device-level use and tests)

    def _pulse(self, sel, v, width_s):
        t_sw = None if width_s >= self._certain_s(v) and not self.weak.any() else \
            self.switch_times_s(sel, v)
        return t_sw

    def write(self, where, value: bool, v: float | None = None,
              width_s: float | None = None) -> np.ndarray:
        """Write ``value`` ('0': source-line pulse, '1': bit-line pulse) into the selected cells.
        Returns which cells switched."""
        p = self.params
        v, width_s = self._check_pulse(p.pulse_v if v is None else v,
                                       p.pulse_s if width_s is None else width_s)
        sel = self._sel(where)
        t_sw = self._pulse(sel, v, width_s)
        n = int(np.size(self.bits[sel]))
        self._count("write1" if value else "write0", n, p.energy_write_j)
        return self.apply(sel, t_sw, width_s, bool(value), v)

    def read(self, where=None, v: float | None = None, width_s: float | None = None,
             sense_s: float | None = None) -> np.ndarray:
        """Destructive read: a source-line pulse drives the cells to '0'; the sense amplifiers
        latch ``sense_s`` into it (default: half the pulse). Returns the sensed bits; every
        cell whose switching completes within the pulse is '0' afterwards."""
        p = self.params
        v, width_s = self._check_pulse(p.pulse_v if v is None else v,
                                       p.pulse_s if width_s is None else width_s)
        sense_s = width_s / 2 if sense_s is None else _check("sense_s", sense_s, 0, width_s)
        sel = self._sel(where)
        t_sw = self._pulse(sel, v, min(sense_s, width_s))
        n = int(np.size(self.bits[sel]))
        self._count("read", n, p.energy_write_j)
        out = self.sense(sel, t_sw, sense_s, v)
        self.apply(sel, t_sw, width_s, False, v)
        if isinstance(sel, np.ndarray):
            full = np.zeros(self.shape, dtype=bool)
            full[sel] = out
            return full
        return out

    def inject(self, where, *, weak: bool | None = None, read_flip: bool | None = None) -> None:
        """Fault injection on the selected cells: ``weak`` (small window, slow switching) and/or
        ``read_flip`` (the cell reads and transfers as the other bit)."""
        sel = self._sel(where)
        if weak is not None:
            self.weak[sel] = bool(weak)
        if read_flip is not None:
            self.read_flip[sel] = bool(read_flip)
        self.refresh()

    def inject_sense(self, lines, *, stuck: int | None = None, flip_p: float = 0.0) -> None:
        """Fault injection on the sense amplifiers of ``lines``: stuck at 0/1 (``stuck``), or
        inverting with probability ``flip_p``. ``stuck=None, flip_p=0`` repairs them."""
        if stuck not in (None, 0, 1):
            raise ValueError(f"stuck must be None, 0 or 1; got {stuck!r}")
        flip_p = _check("flip_p", flip_p, 0, 1)
        try:
            self.sa_stuck[lines] = -1 if stuck is None else stuck
            self.sa_flip_p[lines] = flip_p
        except IndexError as e:
            raise ValueError(f"lines is not a valid index into {self.shape[-1]} lines: {e}") \
                from None
        self.refresh()


# ===================================================================== transfer line


@dataclass(frozen=True)
class TransferLineParams:
    """DAC-free transfer: MSB FeCAP charge -> transfer-line voltage -> compliance current."""

    # Published: transfer-line voltage about 0.5-1.5 V. Assumption: 0.5 V with no MSB FeCAP
    # switching (coupling of the 3.5 V source-line pulse through the FeCAPs' linear
    # capacitance) and 1.5 V with all 7 units switching.
    v_range: tuple[float, float] = pub.TRANSFER_LINE_V_RANGE
    # Published compliance range; assumption: it spans codes 1..7 (code 0 is never SET).
    compliance_range_ua: tuple[float, float] = pub.SET_COMPLIANCE_RANGE_UA
    # Area of the MSB groups (4:2:1, published), each unit one FeCAP row.
    units: tuple[int, ...] = (4, 2, 1)
    # The window whose switched charge gives the nominal V_TL step (calibration of C_TL:
    # a median device, published 360 mV).
    window_ref_v: float = pub.FECAP_WINDOW_MEDIAN_V
    c_d_f: float = pub.FECAP_C_D_F
    c_bl_f: float = pub.FECAP_C_BL_F
    # Published transfer pulse: FeCAP source lines 3.5 V, 10 us.
    fecap_v: float = pub.TRANSFER_FECAP_SL_V
    pulse_s: float = pub.TRANSFER_PULSE_S

    def __post_init__(self) -> None:
        lo, hi = self.v_range
        _check("v_range[0]", lo, 0, 5)
        _check("v_range[1]", hi, lo, 5, lo_open=True)
        ilo, ihi = self.compliance_range_ua
        _check("compliance_range_ua[0]", ilo, 0, 1000, lo_open=True)
        _check("compliance_range_ua[1]", ihi, ilo, 1000, lo_open=True)
        if not self.units or any(int(u) < 1 for u in self.units):
            raise ValueError(f"units must be positive integers; got {self.units!r}")
        _check("window_ref_v", self.window_ref_v, 0, 5, lo_open=True)

    @property
    def total_units(self) -> int:
        return int(sum(self.units))

    @property
    def dv_unit_v(self) -> float:
        """V_TL step per unit of switched charge at the reference window."""
        return (self.v_range[1] - self.v_range[0]) / self.total_units

    @property
    def c_tl_f(self) -> float:
        """Transfer-line capacitance implied by the published voltage range (F)."""
        return self.window_ref_v * (self.c_d_f + self.c_bl_f) / self.dv_unit_v

    @property
    def gm_ua_per_v(self) -> float:
        """Access-transistor transconductance mapping V_TL to the compliance current."""
        ilo, ihi = self.compliance_range_ua
        return (ihi - ilo) / ((self.total_units - 1) * self.dv_unit_v)

    @property
    def v_threshold_v(self) -> float:
        return self.v_range[0] + self.dv_unit_v - self.compliance_range_ua[0] / self.gm_ua_per_v

    def v_tl(self, switched_charge_c) -> np.ndarray:
        """Transfer-line voltage for a switched charge (C) shared on the line."""
        return self.v_range[0] + np.asarray(switched_charge_c, dtype=float) / self.c_tl_f

    def compliance_ua(self, v_tl) -> np.ndarray:
        """Compliance current set by V_TL on the access transistor's gate (uA)."""
        return np.maximum(self.gm_ua_per_v * (np.asarray(v_tl, dtype=float) - self.v_threshold_v),
                          0.0)

    def unit_weights(self) -> np.ndarray:
        """Per MSB FeCAP row of a slot (sign excluded): 1 unit each, group by group."""
        return np.ones(self.total_units)


def transfer_compliance_ua(switched, window_v, params: TransferLineParams | None = None) -> np.ndarray:
    """Compliance current of a DAC-free transfer from the actual MSB FeCAPs of one slot.

    ``switched``: ``(..., U)`` bool, which of the ``U`` MSB FeCAP units (7 rows: 4 MSB1
    copies, 2 MSB2, 1 MSB3) switched during the transfer pulse, i.e. held '1' and switched;
    ``window_v``: ``(..., U)`` their memory windows (V). Each switched unit puts
    ``MW (C_D + C_BL)`` of charge on the line; a weak or wrong-reading unit therefore gives a
    wrong level. Returns ``(...)`` uA.
    """
    p = params or TransferLineParams()
    switched = np.asarray(switched, dtype=bool)
    window_v = np.asarray(window_v, dtype=float)
    if switched.shape != window_v.shape or switched.shape[-1:] != (p.total_units,):
        raise ValueError(f"switched and window_v must have the same shape (..., {p.total_units}); "
                         f"got {switched.shape} and {window_v.shape}")
    return _line_compliance_ua(np.moveaxis(switched * window_v, -1, 0), *_line_prm(p))


@functools.lru_cache(maxsize=64)
def _line_prm(p: TransferLineParams) -> tuple[float, ...]:
    """Constants of the transfer line for :func:`_line_compliance_ua`."""
    return p.c_d_f + p.c_bl_f, p.v_range[0], p.c_tl_f, p.gm_ua_per_v, p.v_threshold_v


@functools.lru_cache(maxsize=64)
def _pulse_prm(fp: FecapParams, p: TransferLineParams) -> tuple[float, ...]:
    """Constants of :func:`_pulse_kernel` after ``width_s`` (parameters are frozen)."""
    return (float(fp.tau_s(p.fecap_v)), 1.0 / fp.nls_exponent, *fp._window_prm(),
            fp.weak_window_scale, fp.weak_tau_scale, *_line_prm(p))


@jitable
def _line_compliance_ua(charge_windows, c_cell_f, v0, c_tl_f, gm_ua_per_v, v_th):
    """Compliance current (uA) set by the switched units' windows ``charge_windows`` (V, the
    units along the first axis, 0 for those that did not switch): their charge, summed unit
    after unit, on the transfer line's capacitance gives V_TL on the access transistor."""
    q = charge_windows[0]
    for u in range(1, charge_windows.shape[0]):
        q = q + charge_windows[u]
    v_tl = v0 + (q * c_cell_f) / c_tl_f
    return np.maximum(gm_ua_per_v * (v_tl - v_th), 0.0)


def _pulse_kernel(idx, units, lines, bits, read_flip, window0, cycles, weak, tau_scale, draws,
                  width_s, tau_v_s, inv_n, k_wake, wake_rate, fatigue, weak_scale, weak_tau_scale,
                  c_cell_f, v0, c_tl_f, gm_ua_per_v, v_th):
    """:func:`transfer_pulse` on the FeCAP bank's flat state at ``idx`` (groups of ``units``
    x ``lines`` cells): returns the compliance per line ``(groups, lines)`` and which cells
    switched (flat, as ``idx``)."""
    c = cycles[idx]
    wk = weak[idx]
    w = _fe_window(window0[idx], c, wk, k_wake, wake_rate, fatigue, weak_scale)
    t_sw = _switch_times_s(tau_v_s, tau_scale[idx], wk, weak_tau_scale, draws, inv_n)
    b = bits[idx]
    within = t_sw <= width_s
    charge = (((b ^ read_flip[idx]) & within) * w).reshape((-1, units, lines))
    i_cc = _line_compliance_ua(np.transpose(charge, (1, 0, 2)), c_cell_f, v0, c_tl_f,
                               gm_ua_per_v, v_th)
    sw = b & within                              # the pulse drives them to '0'
    bits[idx] = b & ~sw
    cycles[idx] = c + 0.5 * sw
    return i_cc, sw


_pulse_compiled = compiled(_pulse_kernel)


def transfer_pulse(fe: FecapBank, sel, params: TransferLineParams | None = None,
                   width_s: float | None = None, draws: np.ndarray | None = None):
    """The DAC-free transfer pulse on MSB FeCAP units: ``sel`` selects them in ``fe`` as an
    array of shape ``(..., U, L)`` (the ``U`` units of each of ``L`` transfer lines), pulsed at
    ``params.fecap_v`` for ``width_s`` (default ``params.pulse_s``). Every unit holding '1'
    (or reading as '1') that switches within the pulse puts its window's charge on its line
    (:func:`transfer_compliance_ua`); the units that switch are '0' afterwards, their cycles
    counted (:meth:`FecapBank.apply`). ``draws``: the switching times' standard exponential
    draws, ``(..., U, L)`` (default: drawn now, in the selection's order).

    Returns the compliance current per line ``(..., L)`` uA and which units switched."""
    p = params or TransferLineParams()
    fp = fe.params
    width = p.pulse_s if width_s is None else width_s
    idx = fe._ids[sel]
    if draws is None:
        draws = fe.rng.standard_exponential(idx.shape)
    U, L = idx.shape[-2:]
    i_cc, sw = _pulse_compiled(
        np.ascontiguousarray(idx).reshape(-1), U, L, fe._flat("bits"), fe._flat("read_flip"),
        fe._flat("window0_v"), fe._flat("cycles"), fe._flat("weak"), fe._flat("tau_scale"),
        np.ascontiguousarray(draws, dtype=float).reshape(-1), float(width), *_pulse_prm(fp, p))
    return i_cc.reshape(idx.shape[:-2] + (L,)), sw.reshape(idx.shape)


def code_set_compliance_ua(code_mag, params: TransferLineParams | None = None) -> np.ndarray:
    """Compliance current of the digital-code SET (program-and-verify): the gate driver puts
    the nominal V_TL of ``code_mag`` (0..2^len(units)-1) on the gate. uA, same shape."""
    p = params or TransferLineParams()
    c = np.asarray(code_mag)
    top = 2 ** len(p.units) - 1
    if c.size and (not np.issubdtype(c.dtype, np.integer) or c.min() < 0 or c.max() > top):
        raise ValueError(f"code_mag must be integers in 0..{top}; got {c.dtype} values "
                         f"{c.min()}..{c.max()}")
    return p.compliance_ua(p.v_range[0] + c * p.dv_unit_v)


def code_units(code_mag, units=(4, 2, 1)) -> np.ndarray:
    """Which MSB FeCAP units hold '1' for ``code_mag``: ``(..., sum(units))`` bool, MSB1 first."""
    c = np.asarray(code_mag, dtype=np.int64)
    k = len(units)
    out = []
    for j, u in enumerate(units):
        bit = (c >> (k - 1 - j)) & 1
        out += [bit.astype(bool)] * int(u)
    return np.stack(out, axis=-1)


def params_dict(p) -> dict:
    """A parameter dataclass as a plain dict (for reports)."""
    return {f.name: getattr(p, f.name) for f in fields(p)}
