"""Backdoor access to a hybrid array's state: peek and poke hidden weights, flags, FeCAP rows
and conductances without physical operations (``HybridArray.backdoor``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..digital.engine import decode_slot, encode_slot

if TYPE_CHECKING:
    from .array import HybridArray


class Backdoor:
    """Peek and poke the array's state without physical operations (no counters, no
    energy, no protocol). For testbenches only."""

    def __init__(self, array: HybridArray) -> None:
        self._a = array
        #: ``f(event)`` for a model that applies the port's operations late (the
        #: transaction-level model): ``"sync"`` before every peek and poke (apply what is
        #: pending), ``"poked"`` after every poke (drop predictions of the array's reads)
        self.listeners: list = []

    def _sync(self) -> None:
        for f in self.listeners:
            f("sync")

    def _poked(self) -> None:
        for f in self.listeners:
            f("poked")

    def _data_rows(self) -> np.ndarray:
        g = self._a.geom
        g.need_layout("the backdoor's hidden weights")
        return self._a.fe.bits[: g.slots * g.rows_per_synapse].reshape(
            g.slots, g.rows_per_synapse, g.lines)

    def hidden_weights(self) -> np.ndarray:
        """Signed hidden weights (S, L), decoded from the FeCAP data rows like the controller
        decodes them (majority of copies, ties to 1)."""
        self._sync()
        sign, mag = decode_slot(self._data_rows(), self._a.geom)
        return np.where(sign.astype(bool), -mag, mag)

    def poke_hidden(self, h) -> None:
        """Write signed hidden weights (S, L) into every copy of the data rows."""
        self._sync()
        g = self._a.geom
        h = np.asarray(h)
        top = 2 ** g.mag_width - 1
        if h.shape != (g.slots, g.lines) or not np.issubdtype(h.dtype, np.integer):
            raise ValueError(f"hidden weights must be integers of shape {(g.slots, g.lines)}; "
                             f"got shape {h.shape} dtype {h.dtype}")
        if h.size and np.abs(h).max() > top:
            raise ValueError(f"hidden weights must be in -{top}..{top}; got {h.min()}..{h.max()}")
        rows = encode_slot((h < 0).astype(np.int64), np.abs(h), g)
        self._a.fe.bits[: g.slots * g.rows_per_synapse] = rows.reshape(-1, g.lines)
        self._poked()

    def flags(self) -> np.ndarray:
        self._sync()
        g = self._a.geom
        return self._a.fe.bits[g.flag_row(0): g.flag_row(0) + g.slots].copy()

    def poke_flags(self, f) -> None:
        self._sync()
        g = self._a.geom
        f = np.asarray(f, dtype=bool)
        if f.shape != (g.slots, g.lines):
            raise ValueError(f"flags must have shape {(g.slots, g.lines)}; got {f.shape}")
        self._a.fe.bits[g.flag_row(0): g.flag_row(0) + g.slots] = f
        self._poked()

    def fecap_bits(self) -> np.ndarray:
        self._sync()
        return self._a.fe.bits.copy()

    def poke_fecap_row(self, row: int, bits) -> None:
        self._sync()
        self._a.fe.bits[int(row)] = np.asarray(bits, dtype=bool)
        self._poked()

    def conductances(self) -> np.ndarray:
        """Noise-free conductances (S, 2, L) uS: [:, 0] G+, [:, 1] G-."""
        self._sync()
        g = self._a.geom
        return self._a.mr.conductance_us().reshape(g.slots, 2, g.lines)

    def poke_conductance(self, g_us) -> None:
        """Set conductances (S, 2, L) uS; the devices become formed."""
        self._sync()
        geo = self._a.geom
        g = np.asarray(g_us, dtype=float)
        if g.shape != (geo.slots, 2, geo.lines):
            raise ValueError(f"conductances must have shape {(geo.slots, 2, geo.lines)}; got {g.shape}")
        if g.min() < 0:
            raise ValueError(f"conductances must be >= 0 uS; got min {g.min()}")
        self._a.mr.g_us[...] = g.reshape(-1, geo.lines)
        self._a.mr.formed[...] = True
        self._a.mr.t_prog_s[...] = self._a.mr.now_s
        self._poked()

    def codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Canonical transfer codes (code_sign, code_mag) of the stored hidden weights
        (truncation), each (S, L)."""
        self._sync()
        h = self.hidden_weights()
        cm = np.abs(h) >> (self._a.geom.mag_width - self._a.geom.code_bits)
        return ((h < 0) & (cm != 0)).astype(np.int64), cm

    def pending_rows(self) -> list[int]:
        self._sync()
        return sorted(self._a.pending)

    def clear_pending(self) -> None:
        """Forget pending write-backs (after a test provoked an error on purpose)."""
        self._sync()
        self._a.pending.clear()
        self._a.active = None
