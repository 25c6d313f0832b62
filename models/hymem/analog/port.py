"""The macro port's protocol (docs/macro_port.md): its timing limits, its error, the
pin-level checker and the legal waveforms.

:class:`PortTiming` holds the minimum times the rules use; :class:`MacroProtocolError` is what
every check raises (naming the operation, the row or slot, the time and the rule).

:class:`MacroPort` is the hybrid array (:class:`hymem.analog.array.HybridArray`) seen through
the port's signals: it takes signal changes with their time (from the cocotb adapter
:mod:`hymem.sim.macro_port`, or from a test directly), checks the rules between operations
(overlaps, word-line setup and hold, stability of addresses and masks, sense and ADC strobes
only inside their pulses) and drives the array's pulse edges, which check the rules a single
operation can see. :func:`waveform` gives the legal signal sequence of each operation, which
testbenches play as a fake controller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import devices as dv

if TYPE_CHECKING:
    from .array import HybridArray

#: tolerance of the protocol checks' minimum times: simulation times are float ns, and a width
#: taken between two times near 2**26 ns loses about 1e-8 ns (a 1,000 ns pulse measured 999.99999)
T_EPS_NS = 1e-6


def fmt_ns(t: float) -> str:
    """A time in ns for messages: integer ns, or up to ps resolution."""
    return f"{t:.3f}".rstrip("0").rstrip(".")


class MacroProtocolError(RuntimeError):
    """A violation of the macro port protocol (docs/macro_port.md).

    Attributes: ``op`` (operation), ``where`` (row / slot), ``t_ns``, ``what``, ``rule``
    (``fe.1``..``fe.6``, ``mr.1``..``mr.5`` as numbered in docs/macro_port.md, or
    ``addr`` / ``data`` for addresses and values out of range).
    """

    def __init__(self, op: str, where: str, t_ns: float, what: str, rule: str) -> None:
        self.op, self.where, self.t_ns, self.what, self.rule = op, where, t_ns, what, rule
        loc = f" {where}" if where else ""
        super().__init__(f"{op}{loc} at t = {fmt_ns(t_ns)} ns: {what} [rule {rule}]")


@dataclass(frozen=True)
class PortTiming:
    """Timing limits of the macro port (docs/macro_port.md), in ns.

    Not published: the paper gives the nominal pulses (FeCAP 2 us, transfer 10 us, forming
    300 us); the minimums are what we assume the drivers and sense amplifiers need.
    """

    t_setup_ns: float = 20.0     # word line on -> FeCAP pulse start
    t_hold_ns: float = 20.0      # FeCAP pulse end -> word line off
    t_sense_ns: float = 500.0    # FeCAP read pulse start -> sense-amplifier enable
    fe_min_ns: float = 100.0     # FeCAP pulse width
    mr_min_ns: float = 100.0     # RESET, code SET
    xfer_min_ns: float = 1000.0  # transfer pulse
    pre_min_ns: float = 50.0     # transfer-line precharge
    read_min_ns: float = 100.0   # memristor read pulse
    form_min_ns: float = 1000.0  # forming pulse
    adc_after_ns: float = 50.0   # memristor read start -> ADC strobe

    def __post_init__(self) -> None:
        for k, v in self.__dict__.items():
            dv._check(k, v, 0, 1e9)


#: names of the pulses in messages, by the array's pulse kinds
FE_PULSE_NAMES = {"sl": "FeCAP source-line pulse", "bl": "FeCAP bit-line pulse"}
MR_PULSE_NAMES = {"reset": "RESET", "set": "code SET", "form": "forming", "read": "memristor read",
             "pre": "precharge", "xfer": "transfer"}


CONTROLS = ("fe_wl", "fe_sl", "fe_bl", "fe_sae", "mr_reset", "mr_set", "mr_form", "mr_read",
            "mr_adc", "tl_pre", "xfer")
VECTORS = ("fe_row", "fe_mask", "mr_slot", "mr_pol", "mr_mask", "mr_code")
_MR_PULSE = {"mr_reset": "reset", "mr_set": "set", "mr_form": "form", "mr_read": "read",
             "tl_pre": "pre", "xfer": "xfer"}
_FE_PULSE = {"fe_sl": "sl", "fe_bl": "bl"}
_FALL_ORDER = CONTROLS[1:] + CONTROLS[:1]


class MacroPort:
    """The array seen through the macro port's signals (docs/macro_port.md).

    Call :meth:`apply` with the signals that changed at a time (names without the ``_o``
    suffix: ``fe_wl``, ``fe_row``, ``mr_mask``...; 1-bit controls as 0/1, ``fe_row`` and
    ``mr_slot`` as ints, masks and polarities as (L,) bools, ``mr_code`` as (L,) ints).
    Changes at one time are taken together: pulse ends first, then address and mask changes,
    then pulse starts and strobes. Returns the outputs to drive (``fe_rdata`` (L,) bools,
    ``mr_rdata`` (L,) codes) and the protocol errors found; an operation with an error is
    dropped (it has no effect) and the port carries on.
    """

    def __init__(self, array: HybridArray, timing: PortTiming | None = None) -> None:
        self.array = array
        self.timing = timing or array.timing
        L = array.L
        self.sig = {k: 0 for k in CONTROLS}
        self.vec = {"fe_row": 0, "fe_mask": np.zeros(L, dtype=bool), "mr_slot": 0,
                    "mr_pol": np.zeros(L, dtype=bool), "mr_mask": np.zeros(L, dtype=bool),
                    "mr_code": np.zeros(L, dtype=np.int64)}
        self.t_wl_rise = -math.inf
        self.t_fe_end = -math.inf
        self.fe_in_wl = False          # a FeCAP pulse happened in this word-line window
        self.dropped: set[str] = set()  # pulses whose start was an error: ignore their end
        self.events = 0
        self._conv: dict = {}
        self._all_lines = (1 << L) - 1

    def _fe_on(self) -> str | None:
        return "fe_sl" if self.sig["fe_sl"] else ("fe_bl" if self.sig["fe_bl"] else None)

    def _mr_on(self) -> str | None:
        for k in _MR_PULSE:
            if self.sig[k]:
                return k
        return None

    def _bits(self, k: str) -> np.ndarray:
        """Vector ``k`` as an array ((L,) bools, or (L,) codes for ``mr_code``); the port keeps
        what it was given (an int from the adapter, bit l = line l) and converts on use."""
        v = self.vec[k]
        if isinstance(v, np.ndarray):
            return v
        hit = self._conv.get((k, v))
        if hit is None:
            L = self.array.L
            if k == "mr_code":
                cb = self.array.geom.code_bits
                b = np.unpackbits(np.frombuffer(v.to_bytes((cb * L + 7) // 8, "little"),
                                                dtype=np.uint8), bitorder="little")[: cb * L]
                hit = b.reshape(L, cb).astype(np.int64) @ (1 << np.arange(cb))
            else:
                b = np.frombuffer(v.to_bytes((L + 7) // 8, "little"), dtype=np.uint8)
                hit = np.unpackbits(b, bitorder="little")[:L].view(bool)
            if len(self._conv) > 64:
                self._conv.clear()
            self._conv[(k, v)] = hit
        return hit

    def apply(self, t_ns: float, changes: dict, *, changed: bool = False
              ) -> tuple[dict, list[MacroProtocolError]]:
        """Take the signal changes at ``t_ns`` together. ``changed=True``: the caller passes
        only values that differ from the previous ones (the cocotb adapter), which skips the
        comparisons. Masks may be (L,) bools or ints (bit l = line l), ``mr_code`` (L,) ints
        or an int (line l at bits [3l+2:3l])."""
        self.events += 1
        a = self.array
        t = t_ns if type(t_ns) is float else float(t_ns)
        out: dict = {}
        errs: list[MacroProtocolError] = []
        sig = self.sig
        vec = self.vec
        rising, falling, vch = [], [], []
        for k, v in changes.items():
            s = sig.get(k)
            if s is not None:
                v = 1 if v else 0
                if v != s:
                    (rising if v else falling).append(k)
            elif k in vec:
                vch.append(k)
            else:
                raise ValueError(f"unknown port signal {k!r}")
        if not falling and not vch and not rising:
            return out, errs
        # 1. ends (pulses before the word line, so a word line falling with its pulse is
        # judged on the hold time, not as "pulse still on")
        if len(falling) > 1:
            falling.sort(key=_FALL_ORDER.index)
        for k in falling:
            sig[k] = 0
            try:
                if k in _FE_PULSE:
                    self.t_fe_end = t
                    if k in self.dropped:
                        self.dropped.discard(k)
                    else:
                        a.fe_end(t)
                elif k in _MR_PULSE:
                    if k in self.dropped:
                        self.dropped.discard(k)
                    else:
                        a.mr_end(t)
                elif k == "fe_wl":
                    on = self._fe_on()
                    if on:
                        raise MacroProtocolError("word line off", f"row {vec['fe_row']}", t,
                                                 f"{on}_o is still on", "fe.2")
                    if self.fe_in_wl and t - self.t_fe_end < self.timing.t_hold_ns - T_EPS_NS:
                        raise MacroProtocolError(
                            "word line off", f"row {vec['fe_row']}", t,
                            f"{fmt_ns(t - self.t_fe_end)} ns after the FeCAP pulse ended; at "
                            f"least {fmt_ns(self.timing.t_hold_ns)} ns hold needed", "fe.2")
            except MacroProtocolError as e:
                errs.append(e)
        # 2. addresses, masks, data
        for k in vch:
            v = changes[k]
            old = vec[k]
            if not changed:
                if isinstance(old, np.ndarray) or isinstance(v, np.ndarray):
                    if isinstance(v, np.ndarray) and isinstance(old, np.ndarray) and \
                            np.array_equal(old, v):
                        continue
                elif old == v:
                    continue
            vec[k] = v
            if k == "fe_row":
                if sig["fe_wl"]:
                    errs.append(MacroProtocolError("FeCAP row address", f"row {old} -> {v}", t,
                                                   "fe_row_o changed while fe_wl_o is on", "fe.1"))
                    continue
            if k in ("fe_row", "fe_mask"):
                on = self._fe_on()
                if on:
                    errs.append(MacroProtocolError(f"FeCAP {k[3:]}", f"row {vec['fe_row']}", t,
                                                   f"{k}_o changed while {on}_o is on", "fe.1"))
            else:
                on = self._mr_on()
                if on:
                    errs.append(MacroProtocolError(f"memristor {k[3:]}", f"slot {vec['mr_slot']}",
                                                   t, f"{k}_o changed while {on}_o is on", "mr.2"))
        # 3. starts and strobes
        if len(rising) > 1:
            rising.sort(key=CONTROLS.index)
        for k in rising:
            sig[k] = 1
            try:
                if k == "fe_wl":
                    self.t_wl_rise = t
                    self.fe_in_wl = False
                    on = self._mr_on()
                    if on:
                        raise MacroProtocolError("word line on", f"row {vec['fe_row']}", t,
                                                 f"{on}_o is on", "mr.1")
                elif k in _FE_PULSE:
                    self._fe_start(k, t)
                elif k in _MR_PULSE:
                    self._mr_start(k, t)
                elif k == "fe_sae":
                    if not (sig["fe_sl"] and "fe_sl" in self.dropped):
                        out["fe_rdata"] = a.fe_sense(t)
                elif k == "mr_adc":
                    if not (sig["mr_read"] and "mr_read" in self.dropped):
                        out["mr_rdata"] = a.mr_adc(t)
            except MacroProtocolError as e:
                errs.append(e)
                if k in _FE_PULSE or k in _MR_PULSE:
                    self.dropped.add(k)
        return out, errs

    def _fe_start(self, k: str, t: float) -> None:
        a = self.array
        row = self.vec["fe_row"]
        name = FE_PULSE_NAMES[_FE_PULSE[k]]
        where = f"row {row}"
        other = "fe_bl" if k == "fe_sl" else "fe_sl"
        if self.sig[other]:
            raise MacroProtocolError(name, where, t, f"{other}_o is on too", "fe.3")
        on = self._mr_on()
        if on:
            raise MacroProtocolError(name, where, t, f"{on}_o (memristor port) is on", "fe.3")
        if not self.sig["fe_wl"]:
            raise MacroProtocolError(name, where, t, "fe_wl_o is off", "fe.2")
        if t - self.t_wl_rise < self.timing.t_setup_ns - T_EPS_NS:
            raise MacroProtocolError(name, where, t, f"started {fmt_ns(t - self.t_wl_rise)} ns after "
                                     f"fe_wl_o rose; at least {fmt_ns(self.timing.t_setup_ns)} ns setup "
                                     "needed", "fe.2")
        self.fe_in_wl = True
        m = self.vec["fe_mask"]
        # every line (an int mask of all ones): the same as no mask, without the conversion
        full = type(m) is int and m == self._all_lines
        a.fe_begin(_FE_PULSE[k], row, None if full else self._bits("fe_mask"), t)

    def _mr_start(self, k: str, t: float) -> None:
        kind = _MR_PULSE[k]
        name = MR_PULSE_NAMES[kind]
        where = f"slot {self.vec['mr_slot']}"
        for o in _MR_PULSE:
            if o != k and self.sig[o]:
                raise MacroProtocolError(name, where, t, f"{o}_o is on too", "mr.1")
        fe = self._fe_on()
        if fe or self.sig["fe_wl"]:
            raise MacroProtocolError(name, where, t, f"{fe or 'fe_wl'}_o (FeCAP port) is on",
                                     "mr.1")
        self.array.mr_begin(kind, self.vec["mr_slot"], self._bits("mr_pol"), self._bits("mr_mask"),
                            self._bits("mr_code") if kind == "set" else None, t)


# ------------------------------------------------------------- reference waveforms


def waveform(op: str, *, L: int = 128, row: int = 0, slot: int = 0, pol=None, mask=None,
             bits=None, code=None, width_ns: float | None = None, t_ns: float = 0.0,
             timing: PortTiming | None = None, gap_ns: float = 40.0) -> list[tuple[float, dict]]:
    """The legal signal sequence of one operation (docs/macro_port.md) as a list of
    ``(time_ns, {signal: value})``, starting at ``t_ns`` and ending with every signal idle.

    ``op``: 'fe_read', 'fe_write' (``bits``: (L,) bools; a source-line pulse for the zeros
    and a bit-line pulse for the ones), 'fe_writeback' (bit-line pulse only, right after a
    read), 'mr_reset', 'mr_set' (``code``), 'mr_read', 'mr_form', 'tl_pre', 'xfer'.
    Signals are named as in :class:`MacroPort`. A fake controller plays it on the pins.
    """
    tm = timing or PortTiming()
    ones = np.ones(L, dtype=bool)
    mask = ones if mask is None else np.asarray(mask, dtype=bool)
    pol = np.zeros(L, dtype=bool) if pol is None else np.asarray(pol, dtype=bool)
    ev: list[tuple[float, dict]] = []
    t = t_ns
    if op in ("fe_read", "fe_write", "fe_writeback"):
        w = 2000.0 if width_ns is None else width_ns
        ev.append((t, {"fe_row": row, "fe_wl": 1}))
        t += tm.t_setup_ns
        if op == "fe_read":
            ev.append((t, {"fe_mask": mask, "fe_sl": 1}))
            ev.append((t + max(tm.t_sense_ns, w / 2), {"fe_sae": 1}))
            ev.append((t + w, {"fe_sl": 0, "fe_sae": 0}))
            ev.sort(key=lambda e: e[0])
            t += w
        else:
            b = np.zeros(L, dtype=bool) if bits is None else np.asarray(bits, dtype=bool)
            if op == "fe_write":
                ev.append((t, {"fe_mask": mask & ~b, "fe_sl": 1}))
                ev.append((t + w, {"fe_sl": 0}))
                t += w + gap_ns
            ev.append((t, {"fe_mask": mask & b, "fe_bl": 1}))
            ev.append((t + w, {"fe_bl": 0}))
            t += w
        ev.append((t + tm.t_hold_ns, {"fe_wl": 0}))
        return ev
    kinds = {"mr_reset": ("mr_reset", 1000.0), "mr_set": ("mr_set", 1000.0),
             "mr_read": ("mr_read", 200.0), "mr_form": ("mr_form", 300_000.0),
             "tl_pre": ("tl_pre", 100.0), "xfer": ("xfer", 10_000.0)}
    if op not in kinds:
        raise ValueError(f"op must be one of fe_read, fe_write, fe_writeback, {', '.join(kinds)}; "
                         f"got {op!r}")
    name, w0 = kinds[op]
    w = w0 if width_ns is None else width_ns
    setup = {"mr_slot": slot, "mr_pol": pol, "mr_mask": mask}
    if op == "mr_set":
        setup["mr_code"] = np.zeros(L, dtype=np.int64) if code is None else np.asarray(code)
    ev.append((t, setup))
    t += gap_ns
    ev.append((t, {name: 1}))
    if op == "mr_read":
        ev.append((t + max(tm.adc_after_ns, w / 2), {"mr_adc": 1}))
        ev.append((t + w, {"mr_read": 0, "mr_adc": 0}))
    else:
        ev.append((t + w, {name: 0}))
    ev.sort(key=lambda e: e[0])
    return ev
