"""The memristor read-out: the ADC (:class:`AdcParams`, its conversion
:func:`hymem.analog.devices.adc_code`) and the verify windows in its codes
(:func:`default_verify_windows`), the one definition of each for the array model, the
programmers, the scoreboards and the controller's reset values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import devices as dv


@dataclass(frozen=True)
class AdcParams:
    """The memristor read-out ADC. Assumption (not published): 8 bits, 0.5 uS per code, so
    full scale 127.5 uS covers the highest published level (103.9 uS) plus its spread."""

    bits: int = 8
    lsb_us: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= self.bits <= 16:
            raise ValueError(f"bits must be an integer in 1..16; got {self.bits!r}")
        dv._check("lsb_us", self.lsb_us, 0, 1e3, lo_open=True)

    @property
    def max_code(self) -> int:
        return 2 ** self.bits - 1

    @property
    def full_scale_us(self) -> float:
        return self.max_code * self.lsb_us

    def convert(self, g_us) -> np.ndarray:
        """Conductance (uS) -> ADC code: round half up of G / lsb, clamped to 0..max
        (:func:`hymem.analog.devices.adc_code`, the one definition)."""
        dt = np.uint8 if self.bits <= 8 else np.uint16
        return dv.adc_code(np.asarray(g_us, dtype=np.float64), self.lsb_us,
                           float(self.max_code)).astype(dt)


def default_verify_windows(memristor: dv.MemristorParams | None = None,
                           adc: AdcParams | None = None,
                           level_mean_us=None) -> tuple[np.ndarray, np.ndarray]:
    """Verify windows (vfy_lo, vfy_hi) in ADC codes per code magnitude 0..7: the one
    definition (the reference's programmers and the controller's reset values use it).

    Our choice (not published): each level's window runs between the midpoints to its
    neighbouring level means (``level_mean_us``, default the memristor parameters' published
    ones); level 0 starts at code 0, level 7 ends at full scale.
    """
    a = adc or AdcParams()
    if level_mean_us is None:
        level_mean_us = (memristor or dv.MemristorParams()).level_mean_us
    m = np.asarray(level_mean_us, dtype=float)
    mid = (m[1:] + m[:-1]) / 2
    lo = np.concatenate(([0.0], mid)) / a.lsb_us
    hi = np.concatenate((mid, [a.full_scale_us])) / a.lsb_us
    lo = np.ceil(lo).astype(np.int64)
    hi = np.floor(hi).astype(np.int64)
    hi[:-1] = np.minimum(hi[:-1], lo[1:] - 1)
    return lo, hi
