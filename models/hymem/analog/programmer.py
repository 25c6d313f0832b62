"""The programmers: the analogue side of a transfer for ``n`` arrays at once.

Both implement the :class:`hymem.digital.engine.Programmer` protocol (RESET, DAC-free SET,
digital-code SET, verify) and add what the learning reference needs from the macro
(:class:`ReadoutProgrammer`): an ADC read-out of every device (``read_adc``) and per-device write
counts for the endurance margin (``device_writes``). The reference takes them through a factory
``factory(n_arrays, geom, rng, keys)`` (``keys``: the arrays' identities,
:func:`hymem.learn.reference.layer_keys`, for programmers with keyed devices):

- :class:`StatisticalProgrammer` (:func:`statistical_factory`): fast, not device physics; draws
  each programmed conductance from the published level statistics (model below);
- :class:`PhysicalProgrammer` (:func:`physical_factory`): the device physics of
  :mod:`hymem.analog.devices` (compliance-current SET, DAC-free transfer through the MSB
  FeCAPs' charge, log-normal levels, read noise); with keyed devices it is identical to the
  co-simulation's macro models (:class:`hymem.analog.array.HybridArray`).

Statistical model (per device, conductances in uS):

- every device has a fixed device-to-device offset ``z_d2d ~ N(0, 1)``, drawn once;
- a SET of level ``c`` (1..7, the code magnitude; DAC-free and digital-code SETs alike) gives
  ``G = mean[c] + sigma * (sqrt(f) * z_d2d + sqrt(1 - f) * z_c2c)``, ``z_c2c ~ N(0, 1)`` drawn
  per operation, ``mean`` = MEMRISTOR_LEVEL_MEAN_US, ``sigma`` = MEMRISTOR_LEVEL_SIGMA_US and
  ``f`` = ``d2d_fraction`` (the share of the variance that is device-to-device);
- a RESET gives level 0 the same way with ``reset_sigma_us`` instead of ``sigma``;
- conductances are clipped at 0; without variability every operation gives exactly ``mean[c]``;
- a read returns the macro's ADC code of ``G + read noise`` (:class:`hymem.analog.adc.AdcParams`:
  8 bits, 0.5 uS per code, round half up); read noise ``N(0, read_noise_us)`` per read, 0 by
  default;
- verify passes a line when its target device reads inside the ADC window of its level and the
  other device inside the window of level 0 (:func:`hymem.analog.adc.default_verify_windows`
  for the statistics' level means: split half-way between adjacent means).

Unpublished choices (ours): ``d2d_fraction = 0.5``, ``reset_sigma_us = 1.0``, ``read_noise_us
= 0``. Devices start formed and RESET.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from .. import published
from . import devices as dv
from . import normals
from ..digital.engine import DEFAULT_GEOMETRY, Geometry, Programmer, program_by_protocol, verify_pass
from ..jit import njit
from .adc import AdcParams, default_verify_windows
from .array import array_device_keys, msb_rows

#: the macro's ADC (docs/macro_port.md), which the statistical programmer reads through
_ADC = AdcParams()
ADC_LSB_US = _ADC.lsb_us
_ADC_MAX = float(_ADC.max_code)


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
        self.vfy_lo, self.vfy_hi = default_verify_windows(level_mean_us=stats.level_mean_us)
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
        return _ADC.convert(g)

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
    """``_ADC.convert(g)`` transposed from ``(2S, n, L)`` to ``(n, 2S, L)``."""
    R, n, L = g.shape
    for r in range(R):
        for k in range(n):
            for l in range(L):
                out[k, r, l] = np.uint8(dv.adc_code(np.float64(g[r, k, l]), ADC_LSB_US, _ADC_MAX))


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
    """The device-physics programmer: :class:`hymem.digital.engine.Programmer` for ``n`` arrays
    with the reference's read-out interface (:class:`ReadoutProgrammer`). The co-simulation
    uses it so that the fast reference and the RTL's macro model share one analogue model.

    Holds the memristors of ``n`` arrays (``mr``: a MemristorBank of shape (n, 2S, L), formed
    and RESET) and the MSB FeCAP units of every slot (``msb``: a FecapBank of shape
    (n, S, U, L), U = 7), whose windows and switching set the transfer line's voltage. The
    digital state (hidden weights, codes) stays with the caller (:class:`hymem.digital.engine.EngineState`).

    * ``transfer_set``: the MSB units hold the code's bits (as the FeCAP rows do during the
      pulse), the 3.5 V / 10 us pulse switches those holding '1', their charge gives V_TL and
      the compliance current of the selected memristor, then the units are rewritten;
    * ``code_set``: compliance from the gate driver's code;
    * ``verify``: ADC reads of both devices against ``verify_windows`` (default
      :func:`default_verify_windows`, the same numbers the controller's registers should hold).

    Masks, polarities and codes are (n, L).

    ``keys``: optional identities of the ``n`` arrays (as
    :class:`hymem.analog.array.HybridArray`'s ``key``):
    the memristors and the MSB units are then keyed devices, identical to the same devices of
    a keyed :class:`hymem.analog.array.HybridArray` (the MSB unit u of slot s is its FeCAP row
    ``s * R + 1 + u``); only then is :attr:`program_transfer` offered.
    """

    def __init__(self, n: int, geom: Geometry = DEFAULT_GEOMETRY, rng=None, *,
                 memristor: dv.MemristorParams | None = None, fecap: dv.FecapParams | None = None,
                 transfer: dv.TransferLineParams | None = None, adc: AdcParams | None = None,
                 verify_windows=None, keys=None) -> None:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1; got {n!r}")
        if rng is None:
            raise ValueError("rng must be a numpy.random.Generator or an integer seed; got None")
        rng = dv._check_rng(rng)
        self.n, self.geom = int(n), geom
        self.transfer = transfer or dv.TransferLineParams()
        self.adc = adc or AdcParams()
        U = self.transfer.total_units
        mr_keys = msb_keys = None
        if keys is not None:
            keys = np.asarray(keys)
            if keys.shape != (self.n,) or keys.dtype.kind not in "iu":
                raise ValueError(f"keys must be {self.n} integers (one per array); got "
                                 f"{keys.dtype} {keys.shape}")
            fe, mr = zip(*(array_device_keys(int(k), geom) for k in keys))
            mr_keys = np.stack(mr)
            msb_keys = np.stack(fe)[:, msb_rows(geom, U), :]             # (n, S, U, L)
        self.keys = keys
        self.mr = dv.MemristorBank((self.n, geom.memristor_rows, geom.lines), memristor, rng,
                                   formed=True, keys=mr_keys)
        self.msb = dv.FecapBank((self.n, geom.slots, U, geom.lines), fecap, rng, keys=msb_keys)
        lo, hi = verify_windows if verify_windows is not None else \
            default_verify_windows(self.mr.params, self.adc)
        self.vfy_lo, self.vfy_hi = np.asarray(lo), np.asarray(hi)
        top = 2 ** geom.code_bits
        if self.vfy_lo.shape != (top,) or self.vfy_hi.shape != (top,):
            raise ValueError(f"verify_windows must be two arrays of {top} ADC codes")
        self.counts = {"reset": 0, "transfer_set": 0, "code_set": 0, "verify_read": 0}
        self._units = dv.code_units(np.arange(top), self.transfer.units)   # code -> (U,) bits
        #: RESET + SET pulses each memristor has received, (n, 2S, L) (the endurance figure)
        self.writes = np.zeros((self.n, geom.memristor_rows, geom.lines), dtype=np.int64)

    def _sel(self, slot: int, pol, mask, name: str = "mask"):
        S, L = self.geom.slots, self.geom.lines
        if not isinstance(slot, (int, np.integer)) or not 0 <= slot < S:
            raise ValueError(f"slot must be in 0..{S - 1}; got {slot!r}")
        mask = np.asarray(mask, dtype=bool)
        pol = np.asarray(pol, dtype=bool)
        if mask.shape != (self.n, L) or pol.shape != (self.n, L):
            raise ValueError(f"{name} and pol must have shape {(self.n, L)}; got {mask.shape} "
                             f"and {pol.shape}")
        k, l = np.nonzero(mask)
        return (k, 2 * slot + pol[k, l].astype(np.int64), l), k, l

    def reset(self, slot, pol, mask) -> None:
        sel, k, _ = self._sel(slot, pol, mask)
        if len(k):
            self.mr.reset(sel)
        self.writes[sel] += 1
        self.counts["reset"] += len(k)

    def transfer_set(self, slot, pol, mask, code_mag) -> None:
        sel, k, l = self._sel(slot, pol, mask)
        i_cc = self._transfer_pulse(np.array([int(slot)]), np.asarray(code_mag)[:, None, :])
        if len(k):
            self.mr.set_compliance(sel, i_cc[k, 0, l])
        self.writes[sel] += 1
        self.counts["transfer_set"] += len(k)

    def _transfer_pulse(self, slots: np.ndarray, code_mag: np.ndarray) -> np.ndarray:
        """The transfer pulse on the MSB units of ``slots`` of every array: the units hold the
        codes' bits (``code_mag``: ``(n, len(slots), L)``, every line), the 3.5 V / 10 us pulse
        switches those holding '1', their charge sets V_TL and so the compliance current,
        returned ``(n, len(slots), L)`` uA; then the units are rewritten. ``slots`` increasing;
        the switching times are drawn slot by slot."""
        msb = self.msb
        contiguous = slots[-1] - slots[0] == len(slots) - 1
        sel = (slice(None), slice(slots[0], slots[-1] + 1) if contiguous else slots)   # (n, s, U, L)
        units = np.moveaxis(self._units[code_mag], -1, -2)     # the codes' bits, (n, s, U, L)
        msb.bits[sel] = units
        # the switching times of one slot's pulse after the other
        draws = msb.rng.standard_exponential((len(slots), self.n) + units.shape[2:]).swapaxes(0, 1)
        i_cc, sw = dv.transfer_pulse(msb, sel, self.transfer, draws=draws)
        msb.bits[sel] = units                       # rewritten by the controller:
        msb.cycles[sel] += 0.5 * sw                 # the switched units switch back
        return i_cc

    @property
    def program_transfer(self):
        """A whole transfer in one call (:meth:`_program_transfer`), offered only with keyed
        devices: only then is it identical to the slot-by-slot calls
        (:func:`hymem.digital.fastengine.transfer` uses it when it is not None)."""
        return None if self.keys is None else self._program_transfer

    def _program_transfer(self, cand, sign, mag) -> None:
        """A whole transfer without verify, every slot at once (each ``(n, S, L)``: the
        synapses to program, every synapse's transfer code; :func:`hymem.digital.fastengine.transfer`):
        the RESETs of both devices of every candidate, the transfer pulse of every slot with a
        SET, then the SETs. With keyed devices this gives exactly what the slot-by-slot calls
        give (:func:`hymem.digital.engine.program_by_protocol`): every device gets the same operations
        in the same order, and the switching times are drawn slot by slot; without keys the
        values differ (one generator, another order of draws) but not their statistics."""
        n, S, L = cand.shape
        reset = np.repeat(cand, 2, axis=1)                 # (n, 2S, L): G+ and G- of each
        nreset = int(np.count_nonzero(reset))
        if not nreset:
            return
        self.mr.reset(reset)
        self.writes += reset
        self.counts["reset"] += nreset
        setm = cand & (mag != 0)
        slots = np.flatnonzero(setm.any(axis=(0, 2)))
        if not len(slots):
            return
        i_cc = np.zeros((n, S, L))
        i_cc[:, slots] = self._transfer_pulse(slots, mag[:, slots])
        target = np.stack((setm & ~sign, setm & sign), axis=2).reshape(n, 2 * S, L)
        self.mr.set_compliance(target, np.repeat(i_cc, 2, axis=1)[target])
        self.writes += target
        self.counts["transfer_set"] += int(np.count_nonzero(target))

    def code_set(self, slot, pol, mask, code_mag) -> None:
        sel, k, l = self._sel(slot, pol, mask)
        if len(k):
            cm = np.asarray(code_mag)[k, l]
            self.mr.set_compliance(sel, dv.code_set_compliance_ua(cm, self.transfer))
        self.writes[sel] += 1
        self.counts["code_set"] += len(k)

    def read_codes(self, slot, mask) -> tuple[np.ndarray, np.ndarray]:
        """ADC codes (n, L) of G+ and G- of ``slot`` on the lines in ``mask`` (0 elsewhere)."""
        mask = np.asarray(mask, dtype=bool)
        k, l = np.nonzero(mask)
        out = []
        for p in (0, 1):
            c = np.zeros(mask.shape, dtype=np.int64)
            if len(k):
                g = self.mr.read_us((k, np.full(len(k), 2 * slot + p), l))
                c[k, l] = self.adc.convert(g)
            out.append(c)
        self.counts["verify_read"] += 2 * len(k)
        return out[0], out[1]

    def verify(self, slot, mask, pol, code_mag) -> np.ndarray:
        self._sel(slot, pol, mask)
        mask = np.asarray(mask, dtype=bool)
        gp, gm = self.read_codes(slot, mask)
        pol = np.asarray(pol, dtype=bool)
        return verify_pass(gp, gm, pol, code_mag, self.vfy_lo, self.vfy_hi) & mask

    def conductances_us(self) -> np.ndarray:
        """Noise-free conductances ``(n, 2 * slots, lines)`` uS (row ``2s`` = G+, ``2s+1`` = G-)."""
        return self.mr.conductance_us()

    def device_writes(self) -> np.ndarray:
        """RESET + SET pulses each device has received, ``(n, 2 * slots, lines)``."""
        return self.writes

    def read_adc(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """ADC codes of every memristor as the host reads them (read noise + ADC), (n, 2S, L)."""
        return self.adc.convert(self.mr.read_us(None, rng=rng))

    def read_conductances_us(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Conductances as the host reads them: read noise + ADC, (n, S, 2, L) uS."""
        g = self.geom
        return (self.read_adc(rng) * self.adc.lsb_us).reshape(self.n, g.slots, 2, g.lines)


def physical_factory(*, keyed: bool = False, **kw):
    """Programmer factory for :class:`hymem.learn.reference.Network` using the device physics.

    ``keyed``: the devices are keyed by the arrays' ``keys`` (the network passes each layer's
    array seeds, :class:`PhysicalProgrammer`): order-independent device noise,
    identical to the co-simulation's macro models (``hymem cosim``); otherwise every draw
    comes from ``rng``."""
    def make(n, geom, rng, keys=None):
        return PhysicalProgrammer(n, geom, rng, keys=keys if keyed else None, **kw)
    return make
