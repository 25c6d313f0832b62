"""A fast statistical memristor programmer: the analogue side of a transfer, from published statistics.

This is not device physics. It implements the :class:`hymem.digital.engine.Programmer` protocol (RESET,
DAC-free SET, digital-code SET, verify) for ``n`` arrays at once by drawing each programmed
conductance from the published level statistics, and adds what the learning reference needs
from the macro: an ADC read-out of every device (:meth:`StatisticalProgrammer.read_adc`) and
per-device write counts for the endurance margin. A physical macro model can replace it: the
reference only needs an object with the methods of :class:`ReadoutProgrammer`, built by a
factory ``factory(n_arrays, geom, rng, keys)`` (``keys``: the arrays' identities,
:func:`hymem.learn.reference.layer_keys`, for programmers with keyed devices).

Model (per device, conductances in uS):

- every device has a fixed device-to-device offset ``z_d2d ~ N(0, 1)``, drawn once;
- a SET of level ``c`` (1..7, the code magnitude; DAC-free and digital-code SETs alike) gives
  ``G = mean[c] + sigma * (sqrt(f) * z_d2d + sqrt(1 - f) * z_c2c)``, ``z_c2c ~ N(0, 1)`` drawn
  per operation, ``mean`` = MEMRISTOR_LEVEL_MEAN_US, ``sigma`` = MEMRISTOR_LEVEL_SIGMA_US and
  ``f`` = ``d2d_fraction`` (the share of the variance that is device-to-device);
- a RESET gives level 0 the same way with ``reset_sigma_us`` instead of ``sigma``;
- conductances are clipped at 0; without variability every operation gives exactly ``mean[c]``;
- a read returns ``clamp(round((G + read noise) / 0.5 uS), 0, 255)`` (the macro's 8-bit ADC,
  docs/macro_port.md); read noise ``N(0, read_noise_us)`` per read, 0 by default;
- verify passes a line when its target device reads inside the ADC window of its level and the
  other device inside the window of level 0 (windows: the ADC codes nearest to each level mean,
  i.e. split half-way between adjacent means; see :func:`verify_windows`).

Unpublished choices (ours): ``d2d_fraction = 0.5``, ``reset_sigma_us = 1.0``, ``read_noise_us
= 0``. Devices start formed and RESET.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from .. import published
from . import normals
from .devices import adc_code
from ..digital.engine import Geometry, Programmer, program_by_protocol
from ..jit import njit
from .macro import AdcParams, default_verify_windows

#: ADC of the macro (docs/macro_port.md): 8 bits, 0.5 uS per code.
_ADC = AdcParams()
ADC_LSB_US = _ADC.lsb_us
ADC_BITS = _ADC.bits


@dataclass(frozen=True)
class LevelStats:
    """Statistics of programmed conductances; published values as defaults (see module doc)."""

    level_mean_us: tuple = published.MEMRISTOR_LEVEL_MEAN_US   # Martemucci 2025, Fig. 4
    sigma_us: float = published.MEMRISTOR_LEVEL_SIGMA_US       # ibid., average level spread
    d2d_fraction: float = 0.5       # ours: share of the variance fixed per device
    reset_sigma_us: float = 1.0     # ours: spread of the RESET (level 0) conductance
    read_noise_us: float = 0.0      # ours: no published read noise
    variability: bool = True
    endurance_cycles: float = published.MEMRISTOR_ENDURANCE_CYCLES

    def __post_init__(self) -> None:
        if len(self.level_mean_us) < 2:
            raise ValueError(f"level_mean_us needs at least 2 levels; got {len(self.level_mean_us)}")
        if list(self.level_mean_us) != sorted(self.level_mean_us):
            raise ValueError("level_mean_us must be increasing")
        for name in ("sigma_us", "reset_sigma_us", "read_noise_us"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= v < 1e3):
                raise ValueError(f"{name} must be in 0..1000 uS; got {v!r}")
        if not 0.0 <= self.d2d_fraction <= 1.0:
            raise ValueError(f"d2d_fraction must be in 0..1; got {self.d2d_fraction!r}")


def adc(g_us: np.ndarray) -> np.ndarray:
    """Conductances (uS) -> ADC codes (uint8): the macro's ADC (:class:`hymem.analog.macro.AdcParams`,
    round half up, clamped to 0..255)."""
    return _ADC.convert(g_us)


def verify_windows(level_mean_us=published.MEMRISTOR_LEVEL_MEAN_US) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive ADC-code windows ``(lo, hi)`` per level, the values for the controller's
    ``vfy_lo`` / ``vfy_hi`` registers: :func:`hymem.analog.macro.default_verify_windows` for these
    level means."""
    return default_verify_windows(level_mean_us=level_mean_us)


class ReadoutProgrammer(Programmer, Protocol):
    """What the learning reference needs from the analogue side: a programmer that can be read."""

    def read_adc(self) -> np.ndarray:
        """ADC codes of every device, ``(n, 2 * slots, lines)`` uint8 (row ``2s`` = G+, ``2s+1`` = G-)."""
        ...

    def device_writes(self) -> np.ndarray:
        """RESET + SET pulses each device has received, ``(n, 2 * slots, lines)``."""
        ...


#: ``factory(n_arrays, geom, rng, keys)`` -> a programmer for ``n_arrays`` arrays.
ProgrammerFactory = Callable[[int, Geometry, np.random.Generator, np.ndarray], ReadoutProgrammer]


class StatisticalProgrammer:
    """Vectorized statistical programmer of ``n`` arrays (see the module doc)."""

    def __init__(self, n: int, geom: Geometry, rng: np.random.Generator,
                 stats: LevelStats = LevelStats()):
        self.n, self.geom, self.rng, self.stats = int(n), geom, rng, stats
        levels = 2 ** geom.code_bits
        if len(stats.level_mean_us) != levels:
            raise ValueError(f"level_mean_us must have {levels} levels (2**code_bits); "
                             f"got {len(stats.level_mean_us)}")
        # internal layout (row, array, line): one row of every array is a contiguous slab
        shape = (geom.memristor_rows, self.n, geom.lines)
        self.mean = np.asarray(stats.level_mean_us, dtype=np.float64)
        self.sigma = np.full(levels, stats.sigma_us)
        self.sigma[0] = stats.reset_sigma_us
        self.z_d2d = (rng.standard_normal(shape, dtype=np.float32) if stats.variability
                      else np.zeros(shape, dtype=np.float32))
        self.writes = np.zeros(shape, dtype=np.int32)    # pulses per device (int32: 2e9 > any run)
        self.vfy_lo, self.vfy_hi = verify_windows(stats.level_mean_us)
        # Conductances are drawn lazily: an operation records the level it programs and marks
        # the device; the draw happens at the next read of that device. Only the last
        # operation before a read is visible, and each operation's cycle-to-cycle draw is
        # independent, so this gives the same statistics as drawing at every operation.
        self.level = np.zeros(shape, dtype=np.int8)
        self.pending = np.ones(shape, dtype=bool)    # every device starts formed and RESET
        self._g = np.zeros(shape, dtype=np.float32)
        self._mean32 = self.mean.astype(np.float32)
        self._sigma32 = self.sigma.astype(np.float32)

    # -- the engine.Programmer protocol

    def reset(self, slot, pol, mask):
        self._program(slot, pol, mask, None)

    def transfer_set(self, slot, pol, mask, code_mag):
        self._program(slot, pol, mask, code_mag)

    def code_set(self, slot, pol, mask, code_mag):
        self.transfer_set(slot, pol, mask, code_mag)

    def verify(self, slot, mask, pol, code_mag):
        pol = np.asarray(pol, dtype=np.int64)
        k, l = np.nonzero(mask)
        ok = np.zeros(mask.shape, dtype=bool)
        if k.size == 0:
            return ok
        rt = 2 * slot + pol[k, l]
        ro = 2 * slot + 1 - pol[k, l]
        c = np.asarray(code_mag)[k, l]
        g = self.g_us
        vt = self._read(g[rt, k, l])
        vo = self._read(g[ro, k, l])
        ok[k, l] = ((vt >= self.vfy_lo[c]) & (vt <= self.vfy_hi[c])
                    & (vo >= self.vfy_lo[0]) & (vo <= self.vfy_hi[0]))
        return ok

    # -- read-out and wear

    def program_transfer(self, cand, sign, mag):
        """The analogue side of a whole transfer without verify, every slot at once (each
        ``(n, slots, lines)``: the synapses to program, every synapse's transfer code): the
        same as the slot-by-slot calls (:func:`hymem.digital.engine.program_by_protocol`), which only
        record levels, so their order does not matter (:func:`hymem.digital.fastengine.transfer`)."""
        if _program_jit is None:
            program_by_protocol(self, cand, sign, mag)
            return
        _program_jit(np.asarray(cand, dtype=bool).view(np.uint8), np.asarray(sign, dtype=bool).view(np.uint8),
                     np.asarray(mag, dtype=np.int8), self.level, self.pending.view(np.uint8), self.writes)

    def read_adc(self) -> np.ndarray:
        g = self.g_us
        if _adc_jit is not None and self.stats.read_noise_us == 0:
            out = np.empty((self.n, self.geom.memristor_rows, self.geom.lines), dtype=np.uint8)
            _adc_jit(g, out)
            return out
        return np.ascontiguousarray(self._read(g).transpose(1, 0, 2))

    def conductances_us(self) -> np.ndarray:
        """Programmed conductances ``(n, 2 * slots, lines)`` in uS (no read noise, no ADC)."""
        return np.ascontiguousarray(self.g_us.transpose(1, 0, 2))

    def device_writes(self) -> np.ndarray:
        return np.ascontiguousarray(self.writes.transpose(1, 0, 2))

    # -- internals

    def _read(self, g):
        if self.stats.read_noise_us > 0:
            g = g + self.rng.normal(0.0, self.stats.read_noise_us, size=np.shape(g))
        return adc(g)

    @property
    def g_us(self) -> np.ndarray:
        """Conductances in uS, internal layout ``(2 * slots, n, lines)``.

        Draws the devices programmed since the last read. With more than a quarter of the
        devices pending (a published transfer) one normal per device of the whole array is
        drawn and used by position; otherwise one per pending device, in C order.
        """
        npend = int(np.count_nonzero(self.pending))
        if npend == 0:
            return self._g
        dense = npend > self.pending.size // 4
        if self.stats.variability:   # rng.standard_normal(..., dtype=np.float32), compiled
            z = normals.fill(self.rng, self.pending.size if dense else npend)
        else:
            z = np.zeros(0, dtype=np.float32)
        f = self.stats.d2d_fraction
        a, b = np.float32(np.sqrt(f)), np.float32(np.sqrt(1.0 - f))
        if _materialize_jit is not None:
            _materialize_jit(self.level, self.pending, self.z_d2d, z, dense, bool(self.stats.variability),
                             self._mean32, self._sigma32, a, b, self._g)
            return self._g
        if dense:
            idx = self.pending
            zz = z.reshape(self.pending.shape)[idx] if z.size else None
        else:
            idx = np.nonzero(self.pending)
            zz = z if z.size else None
        c = self.level[idx]
        if zz is None:
            self._g[idx] = self._mean32[c]
        else:
            zz = zz * b
            zz += a * self.z_d2d[idx]
            zz *= self._sigma32[c]
            zz += self._mean32[c]
            self._g[idx] = np.maximum(zz, np.float32(0.0))
        self.pending[:] = False
        return self._g

    def _program(self, slot, pol, mask, level):
        """Program the selected device (G+ for ``pol`` 0, G- for 1) of the lines in ``mask`` of
        slot ``slot`` to ``level`` (``None``: RESET, level 0)."""
        mask = np.asarray(mask, dtype=bool)
        pol = np.asarray(pol, dtype=bool)
        for r, sel in ((0, mask & ~pol), (1, mask & pol)):
            row = 2 * slot + r
            if level is None:
                self.level[row][sel] = 0
            else:
                np.copyto(self.level[row], np.asarray(level), where=sel, casting="unsafe")
            self.pending[row] |= sel
            self.writes[row] += sel


# ------------------------------------------------------------- compiled helpers (optional)


def _program_kernel(cand, sign, mag, level, pending, writes):
    """:meth:`StatisticalProgrammer.program_transfer`: per candidate, RESET of both devices
    (level 0), then the SET of its code's device (none for code 0). ``cand``, ``sign`` and
    ``pending`` as uint8 0/1: written without branches, so that the compiler runs each row on
    vectors of lines (3x faster than one branch per candidate)."""
    n, S, L = cand.shape
    for s in range(S):                        # the devices' layout is (2S, n, L)
        for k in range(n):
            cs, sg, cm = cand[k, s], sign[k, s], mag[k, s]
            lp, lm = level[2 * s, k], level[2 * s + 1, k]
            pp, pm = pending[2 * s, k], pending[2 * s + 1, k]
            wp, wm = writes[2 * s, k], writes[2 * s + 1, k]
            for l in range(L):
                c = cs[l]
                set_p = c & (1 - sg[l])           # the SET goes to G+ (sign 0) or G- (sign 1)
                set_m = c & sg[l]
                m = cm[l]
                keep = np.int8(c - 1)             # all ones for a line not programmed, else 0
                lp[l] = (lp[l] & keep) | (m * np.int8(set_p))
                lm[l] = (lm[l] & keep) | (m * np.int8(set_m))
                pp[l] |= c
                pm[l] |= c
                nz = np.int32(m != 0)
                wp[l] += np.int32(c) + np.int32(set_p) * nz
                wm[l] += np.int32(c) + np.int32(set_m) * nz


def _materialize_kernel(level, pending, z_d2d, z, dense, variability, mean, sigma, a, b, g):
    """The NumPy branch of ``g_us`` in one pass: same float32 operations, same order."""
    R, n, L = level.shape
    q = 0
    zero = np.float32(0.0)
    for r in range(R):
        for k in range(n):
            for l in range(L):
                if pending[r, k, l]:
                    c = level[r, k, l]
                    if variability:
                        zi = z[(r * n + k) * L + l] if dense else z[q]
                        q += 1
                        v = zi * b
                        v = v + a * z_d2d[r, k, l]
                        v = v * sigma[c]
                        v = v + mean[c]
                        g[r, k, l] = v if v > zero else zero
                    else:
                        g[r, k, l] = mean[c]
                    pending[r, k, l] = False


def _adc_kernel(g, out):
    """``adc(g)`` transposed from ``(2S, n, L)`` to ``(n, 2S, L)``."""
    R, n, L = g.shape
    for r in range(R):
        for k in range(n):
            for l in range(L):
                out[k, r, l] = np.uint8(adc_code(np.float64(g[r, k, l]), ADC_LSB_US, 255.0))


_program_jit = njit(_program_kernel)
_materialize_jit = njit(_materialize_kernel)
_adc_jit = njit(_adc_kernel)


def statistical_factory(stats: LevelStats = LevelStats()) -> ProgrammerFactory:
    """A factory for :class:`StatisticalProgrammer` with the given statistics (its draws come
    from ``rng``; the arrays' ``keys`` are not used)."""

    def make(n: int, geom: Geometry, rng: np.random.Generator, keys=None) -> StatisticalProgrammer:
        return StatisticalProgrammer(n, geom, rng, stats)

    return make


# --------------------------------------------------------------- device physics


class PhysicalProgrammer:
    """The device-physics programmer (:class:`hymem.analog.macro.ArrayProgrammer`: compliance-current
    SET, DAC-free transfer through the MSB FeCAPs' charge, log-normal levels, read noise) with
    the reference's read-out interface (:class:`ReadoutProgrammer`). The co-simulation uses it
    so that the fast reference and the RTL's macro model share one analogue model."""

    def __init__(self, n: int, geom: Geometry, rng: np.random.Generator, **kw):
        from .macro import ArrayProgrammer

        self._p = ArrayProgrammer(n, geom, rng=rng, **kw)
        self.n, self.geom = n, geom

    @property
    def model(self):
        """The :class:`hymem.analog.macro.ArrayProgrammer` underneath (its device banks)."""
        return self._p

    def reset(self, slot, pol, mask):
        self._p.reset(slot, pol, mask)

    def transfer_set(self, slot, pol, mask, code_mag):
        self._p.transfer_set(slot, pol, mask, code_mag)

    def code_set(self, slot, pol, mask, code_mag):
        self._p.code_set(slot, pol, mask, code_mag)

    def verify(self, slot, mask, pol, code_mag):
        return self._p.verify(slot, mask, pol, code_mag)

    @property
    def program_transfer(self):
        """A whole transfer in one call (:meth:`hymem.analog.macro.ArrayProgrammer.program_transfer`),
        offered only with keyed devices: only then is it identical to the slot-by-slot calls
        (:func:`hymem.digital.fastengine.transfer` uses it when it is not None)."""
        return None if self._p.keys is None else self._p.program_transfer

    def read_adc(self) -> np.ndarray:
        """ADC codes ``(n, 2 * slots, lines)`` of every device, read with noise."""
        return self._p.read_adc().astype(np.uint8, copy=False)

    def conductances_us(self) -> np.ndarray:
        return self._p.conductances().reshape(self.n, self.geom.memristor_rows, self.geom.lines)

    def device_writes(self) -> np.ndarray:
        return self._p.writes


def physical_factory(*, keyed: bool = False, **kw):
    """Programmer factory for :class:`hymem.learn.reference.Network` using the device physics.

    ``keyed``: the devices are keyed by the arrays' ``keys`` (the network passes each layer's
    array seeds, :class:`hymem.analog.macro.ArrayProgrammer`): order-independent device noise,
    identical to the co-simulation's macro models (``hymem cosim``); otherwise every draw
    comes from ``rng``."""
    def make(n, geom, rng, keys=None):
        return PhysicalProgrammer(n, geom, rng, keys=keys if keyed else None, **kw)
    return make
