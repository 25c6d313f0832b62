"""The hybrid array (the analogue "macro") and its port protocol.

:class:`HybridArray` holds one array's FeCAPs and memristors (:mod:`hymem.analog.devices`) and
offers the row-wide physical operations the controller drives: FeCAP row read (destructive)
and write, memristor RESET, DAC-free transfer SET, digital-code SET, read through the ADC,
forming. It enforces the protocol of ``docs/macro_port.md`` that a single operation can see
(addresses, pulse widths, sense and ADC timing, reads never written back, precharge before a
transfer, unformed devices) and raises :class:`MacroProtocolError` naming the operation, the
row or slot, the time and the rule.

:class:`MacroPort` is the same array seen through the port's signals: it takes signal
changes with their time (from the cocotb adapter :mod:`hymem.sim.macro_port`, or from a test
directly) and checks the rules between operations (overlaps, word-line setup and hold,
stability of addresses and masks, sense and ADC strobes only inside their pulses).
:func:`waveform` gives the legal signal sequence of each operation, which testbenches play
as a fake controller.

:class:`ArrayProgrammer` implements :class:`hymem.digital.engine.Programmer` for ``n`` arrays at once
on top of the device physics, for the fast learning reference.

Backdoor access (peek/poke of hidden weights, flags, conductances) is
``HybridArray.backdoor``, separate from the physical operations; it counts nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import devices as dv
from ..digital.engine import DEFAULT_GEOMETRY, Geometry, decode_slot, encode_slot, verify_pass

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


#: Row-level operations counted by HybridArray (``counts``, ``energy_j``).
OPS = ("fe_read", "fe_write0", "fe_write1", "mr_reset", "mr_set", "mr_transfer", "mr_read",
       "mr_form", "tl_precharge")

_FE_NAMES = {"sl": "FeCAP source-line pulse", "bl": "FeCAP bit-line pulse"}
_MR_NAMES = {"reset": "RESET", "set": "code SET", "form": "forming", "read": "memristor read",
             "pre": "precharge", "xfer": "transfer"}


class _Pulse:
    __slots__ = ("port", "kind", "t0", "row", "slot", "lines", "sel", "full", "t_sw", "sensed",
                 "pol", "code", "v", "mask", "e0")


def msb_rows(geom: Geometry, units: int) -> np.ndarray:
    """FeCAP rows of each slot's MSB units, (S, U): rows b+1 .. b+U of the slot (b = its sign
    row), the copies the DAC-free transfer pulses."""
    return (np.arange(geom.slots)[:, None] * geom.rows_per_synapse + 1
            + np.arange(units)[None, :])


#: Device kinds in :func:`array_device_keys`.
KEY_FECAP, KEY_MEMRISTOR = 0xFE, 0x3E


def array_device_keys(key, geom: Geometry = DEFAULT_GEOMETRY) -> tuple[np.ndarray, np.ndarray]:
    """Device identities of one array with identity ``key`` (any integer below 2^64; the
    co-simulation and the reference use the array's PRNG seed,
    :func:`hymem.learn.reference.array_seed`): FeCAPs ``(fecap_rows, lines)`` and memristors
    ``(memristor_rows, lines)``, keyed by (key, kind, row, line)."""
    if not isinstance(key, (int, np.integer)) or not 0 <= int(key) < 2 ** 64:
        raise ValueError(f"key must be an integer in [0, 2^64); got {key!r}")
    lines = np.arange(geom.lines)[None, :]
    fe = dv.device_keys(int(key), KEY_FECAP, np.arange(geom.fecap_rows)[:, None], lines)
    mr = dv.device_keys(int(key), KEY_MEMRISTOR, np.arange(geom.memristor_rows)[:, None], lines)
    return fe, mr


class HybridArray:
    """One hybrid FeCAP + memristor array: ``geom.fecap_rows`` x ``geom.lines`` FeCAPs and
    ``2 * geom.slots`` x ``geom.lines`` memristors (default 128 x 128 + 16 x 128).

    ``rng``: a ``numpy.random.Generator`` (or an int seed) for every random draw.
    ``key``: optional 64-bit identity of the array: its devices are then keyed
    (:func:`array_device_keys`), so that they draw the same analogue values as the same
    devices in an :class:`ArrayProgrammer` given the same key, whatever the operation order.
    ``formed``: the memristors start formed and RESET (the array as used after its forming
    step); ``False`` gives pristine devices that must be formed through :meth:`mr_form`.
    ``woken``: the FeCAPs start woken up (as after the controller's wake-up, CMD.WAKE);
    the default, ``False``, gives fresh FeCAPs whose window is below the sense reference
    (a stored '1' reads '0') until every cell has been cycled some hundred times
    (:class:`hymem.analog.devices.FecapParams`, docs/models.md "FeCAP wake-up").

    Physical operations come in two forms:

    * row operations (``fe_read_row``, ``fe_write_row``, ``mr_reset``, ``mr_code_set``,
      ``tl_precharge``, ``mr_transfer``, ``mr_read``, ``mr_form``, ``read_conductances_us``)
      that apply a whole pulse; time advances by the pulse (``now_ns``) unless ``t_ns`` is
      given;
    * pulse edges (``fe_begin`` / ``fe_sense`` / ``fe_end``, ``mr_begin`` / ``mr_adc`` /
      ``mr_end``) used by :class:`MacroPort`.

    ``counts[op]`` counts row operations and ``energy_j[op]`` their energy (devices' energy
    figures, per cell or device pulsed); ``fe`` and ``mr`` are the device banks.
    """

    def __init__(self, geom: Geometry = DEFAULT_GEOMETRY, *, memristor: dv.MemristorParams | None = None,
                 fecap: dv.FecapParams | None = None, transfer: dv.TransferLineParams | None = None,
                 adc: AdcParams | None = None, timing: PortTiming | None = None, rng=None,
                 formed: bool = True, key: int | None = None, woken: bool = False) -> None:
        if not isinstance(geom, Geometry):
            raise ValueError(f"geom must be a hymem.digital.engine.Geometry; got {type(geom).__name__}")
        if rng is None:
            raise ValueError("rng must be a numpy.random.Generator or an integer seed; got None")
        rng = dv._check_rng(rng)
        self.geom = geom
        self.L = geom.lines
        self.transfer = transfer or dv.TransferLineParams()
        if self.transfer.total_units != 2 ** geom.code_bits - 1:
            raise ValueError(f"transfer.units must have {2 ** geom.code_bits - 1} units in all for "
                             f"code_bits={geom.code_bits}; got {self.transfer.units}")
        self.adc = adc or AdcParams()
        self.timing = timing or PortTiming()
        self.rng = rng
        self.key = key
        fe_keys = mr_keys = None
        if key is not None:
            fe_keys, mr_keys = array_device_keys(key, geom)
        self.fe = dv.FecapBank((geom.fecap_rows, self.L), fecap, rng, keys=fe_keys, woken=woken)
        self.mr = dv.MemristorBank((geom.memristor_rows, self.L), memristor, rng, formed=formed,
                                   keys=mr_keys)
        self.now_ns = 0.0
        self.pending: dict[int, float] = {}     # row -> time of its destructive read
        self.precharged = False
        self.active: _Pulse | None = None
        self.counts = {op: 0 for op in OPS}
        self.energy_j = {op: 0.0 for op in OPS}
        self._all = np.arange(self.L)
        self._xfer_fe_e = 0.0
        self.last_transfer_ua = np.zeros(self.L)
        self._full = (slice(None),)
        self.backdoor = Backdoor(self)
        self._msb_rows = msb_rows(geom, self.transfer.total_units)     # (S, U)
        self._fe_pv = self.fe.params.pulse_v
        self._fe_certain = (self.fe.row_certain_s(self._fe_pv) * 1e9).tolist()  # per row, ns
        self._fe_e = self.fe.params.energy_write_j

    # ------------------------------------------------------------------ checks

    def _err(self, op: str, where: str, t: float, what: str, rule: str) -> MacroProtocolError:
        return MacroProtocolError(op, where, t, what, rule)

    def _time(self, t_ns) -> float:
        if t_ns is None:
            return self.now_ns
        t = t_ns if type(t_ns) is float else float(t_ns)
        if not t >= self.now_ns - 1e-9:
            raise ValueError(f"t_ns must not go back in time: now {fmt_ns(self.now_ns)} ns; got {t_ns!r}")
        return t

    def _advance(self, t: float) -> None:
        self.now_ns = t
        self.mr.now_s = t * 1e-9

    def _lines(self, mask, op: str, where: str, t: float):
        """Mask -> (line indices, numpy selection on the line axis, all lines?)."""
        if mask is None:
            return self._all, slice(None), True
        m = np.asarray(mask)
        if m.shape != (self.L,) or m.dtype != bool:
            raise self._err(op, where, t, f"line mask must be {self.L} booleans; got shape "
                            f"{m.shape} dtype {m.dtype}", "data")
        if m.all():
            return self._all, slice(None), True
        idx = np.flatnonzero(m)
        return idx, idx, False

    def _busy(self, op: str, where: str, t: float) -> None:
        a = self.active
        if a is not None:
            name = _FE_NAMES[a.kind] if a.port == "fe" else _MR_NAMES[a.kind]
            rule = "fe.3" if op in _FE_NAMES.values() else "mr.1"
            raise self._err(op, where, t, f"overlaps the {name} that started at t = {fmt_ns(a.t0)} ns",
                            rule)

    # ------------------------------------------------------------- FeCAP port

    def fe_begin(self, kind: str, row: int, mask=None, t_ns=None, v: float | None = None) -> None:
        """Start a FeCAP pulse: ``kind`` 'sl' (towards '0': read or write '0') or 'bl' (write
        '1') on ``row``, lines in ``mask`` ((L,) bools; None: all)."""
        t = self.now_ns if t_ns is None else self._time(t_ns)
        if kind not in _FE_NAMES:
            raise ValueError(f"kind must be 'sl' or 'bl'; got {kind!r}")
        if not isinstance(row, (int, np.integer)) or not 0 <= row < self.geom.fecap_rows:
            raise self._err(_FE_NAMES[kind], f"row {row}", t,
                            f"row address out of range 0..{self.geom.fecap_rows - 1}", "addr")
        if self.active is not None:
            self._busy(_FE_NAMES[kind], f"row {row}", t)
        lmask = None
        if mask is not None:
            m = mask if isinstance(mask, np.ndarray) else np.asarray(mask)
            if m.shape != (self.L,) or m.dtype != bool:
                raise self._err(_FE_NAMES[kind], f"row {row}", t, f"line mask must be {self.L} "
                                f"booleans; got shape {m.shape} dtype {m.dtype}", "data")
            if not m.all():
                lmask = m
        if v is not None:
            v = dv._check("v", v, 0, self.fe.params.v_max, lo_open=True)
        p = _Pulse()
        p.port, p.kind, p.t0, p.row, p.mask, p.sensed = "fe", kind, t, int(row), lmask, False
        p.v = self._fe_pv if v is None else v
        # switching times are drawn only when a pulse may not switch every cell
        p.t_sw = None
        if p.v != self._fe_pv or self.fe._faults:
            p.t_sw = self.fe.switch_times_s((p.row,), p.v)
        self.active = p
        if t > self.now_ns:
            self._advance(t)

    def fe_sense(self, t_ns=None) -> np.ndarray:
        """Sense-amplifier enable during a source-line pulse: latches the row. Returns (L,)
        bools (lines outside the pulse's mask read 0); the row is now pending write-back."""
        t = self.now_ns if t_ns is None else self._time(t_ns)
        a = self.active
        if a is None or a.port != "fe" or a.kind != "sl":
            what = ("no FeCAP pulse is on" if a is None else
                    f"the pulse on is a {_FE_NAMES[a.kind] if a.port == 'fe' else _MR_NAMES[a.kind]}")
            raise self._err("FeCAP sense", "", t, f"sense-amplifier enable outside a source-line "
                            f"pulse ({what})", "fe.4")
        el = t - a.t0
        if el < self.timing.t_sense_ns - T_EPS_NS:
            raise self._err("FeCAP read", f"row {a.row}", t, f"sense-amplifier enable {fmt_ns(el)} ns "
                            f"after the pulse started; at least {fmt_ns(self.timing.t_sense_ns)} ns "
                            "needed", "fe.4")
        if a.row in self.pending:
            raise self._err("FeCAP read", f"row {a.row}", t, f"row {a.row} was read "
                            f"destructively at t = {fmt_ns(self.pending[a.row])} ns and not written back",
                            "fe.6")
        if a.sensed:
            raise self._err("FeCAP read", f"row {a.row}", t, "second sense-amplifier enable in "
                            "one pulse", "fe.4")
        if a.t_sw is None and el < self._fe_certain[a.row]:
            a.t_sw = self.fe.switch_times_s((a.row,), a.v)
        bits = self.fe.row_sense(a.row, a.mask, a.t_sw, el * 1e-9)
        a.sensed = True
        self.pending[a.row] = t
        if t > self.now_ns:
            self._advance(t)
        return bits

    def fe_end(self, t_ns=None) -> None:
        """End of the FeCAP pulse: cells switch, counters and energy."""
        t = self.now_ns if t_ns is None else self._time(t_ns)
        a = self.active
        if a is None or a.port != "fe":
            raise self._err("FeCAP pulse end", "", t, "no FeCAP pulse is on", "fe.3")
        self.active = None
        w = t - a.t0
        if w < self.timing.fe_min_ns - T_EPS_NS:
            op = "FeCAP read" if a.sensed else _FE_NAMES[a.kind]
            raise self._err(op, f"row {a.row}", t, f"pulse {fmt_ns(w)} ns wide; the drivers need at "
                            f"least {fmt_ns(self.timing.fe_min_ns)} ns", "fe.5")
        t_sw = a.t_sw
        if t_sw is None and w < self._fe_certain[a.row]:
            t_sw = self.fe.switch_times_s((a.row,), a.v)
        bl = a.kind == "bl"
        self.fe.row_apply(a.row, a.mask, t_sw, w * 1e-9, bl)
        n = self.L if a.mask is None else int(np.count_nonzero(a.mask))
        key, fop = (("fe_read", "read") if a.sensed else
                    (("fe_write1", "write1") if bl else ("fe_write0", "write0")))
        e = n * self._fe_e
        self.counts[key] += 1
        self.energy_j[key] += e
        fe = self.fe
        fe.ops[fop] += n
        fe.energy_j[fop] += e
        if bl:
            self.pending.pop(a.row, None)
        if t > self.now_ns:
            self._advance(t)

    # ---------------------------------------------------------- memristor port

    def _check_slot(self, op: str, slot, t: float) -> int:
        if not isinstance(slot, (int, np.integer)) or not 0 <= slot < self.geom.slots:
            raise self._err(op, f"slot {slot}", t, f"slot out of range 0..{self.geom.slots - 1}",
                            "addr")
        return int(slot)

    def mr_begin(self, kind: str, slot: int = 0, pol=None, mask=None, code=None, t_ns=None,
                 v: float | None = None) -> None:
        """Start a memristor-port pulse. ``kind``: 'reset', 'set' (digital code), 'form',
        'read', 'pre' (transfer-line precharge) or 'xfer' (DAC-free transfer).

        ``pol`` (L,) bools: G- (True) or G+ (False) per line; ``mask`` (L,) bools: lines
        taking part; ``code`` (L,) ints 0..7: the code SET's level per line."""
        t = self._time(t_ns)
        if kind not in _MR_NAMES:
            raise ValueError(f"kind must be one of {', '.join(_MR_NAMES)}; got {kind!r}")
        op = _MR_NAMES[kind]
        p = _Pulse()
        p.port, p.kind, p.t0, p.sensed, p.v = "mr", kind, t, False, v
        p.e0 = self.mr.total_energy_j
        if kind == "pre":
            self._busy(op, "", t)
            self.active = p
            self._advance(t)
            return
        slot = self._check_slot(op, slot, t)
        where = f"slot {slot}"
        self._busy(op, where, t)
        lines, lsel, full = self._lines(mask, op, where, t)
        if pol is None:
            pol = np.zeros(self.L, dtype=bool)
        pol = np.asarray(pol)
        if pol.shape != (self.L,):
            raise self._err(op, where, t, f"polarity must be {self.L} values; got shape {pol.shape}",
                            "data")
        rows = 2 * slot + pol.astype(np.int64)
        p.slot, p.lines, p.full, p.pol = slot, lines, full, pol
        p.sel = (rows[lines], lines)
        if kind == "set":
            code = np.asarray(code if code is not None else np.zeros(self.L, dtype=np.int64))
            top = 2 ** self.geom.code_bits - 1
            if code.shape != (self.L,) or code.min() < 0 or code.max() > top:
                raise self._err(op, where, t, f"code must be {self.L} values in 0..{top}", "data")
            p.code = code[lines]
        if kind == "xfer":
            if not self.precharged:
                raise self._err(op, where, t, "no transfer-line precharge since the previous "
                                "transfer", "mr.3")
            bad = [int(r) for r in self._msb_rows[slot] if int(r) in self.pending]
            if bad:
                raise self._err(op, where, t, f"MSB rows {bad} of the slot were read and not "
                                "written back", "mr.3")
        if kind in ("reset", "set", "xfer"):
            unformed = ~self.mr.formed[p.sel]
            if unformed.any():
                ln = [int(x) for x in lines[unformed][:8]]
                raise self._err(op, where, t, f"unformed device(s) on line(s) {ln}: form them first",
                                "mr.5")
        self.active = p
        self._advance(t)

    def mr_adc(self, t_ns=None) -> np.ndarray:
        """ADC strobe during a read: converts the selected device of every line in the mask
        (conductance read at 400 mV, with noise). Returns (L,) codes; other lines 0."""
        t = self._time(t_ns)
        a = self.active
        if a is None or a.port != "mr" or a.kind != "read":
            raise self._err("ADC strobe", "", t, "mr_adc_o rose outside a memristor read pulse",
                            "mr.4")
        el = t - a.t0
        if el < self.timing.adc_after_ns - T_EPS_NS:
            raise self._err("memristor read", f"slot {a.slot}", t, f"ADC strobe {fmt_ns(el)} ns after "
                            f"the read started; at least {fmt_ns(self.timing.adc_after_ns)} ns needed",
                            "mr.4")
        g = self.mr.read_us(a.sel, pulse_s=max(el, 1.0) * 1e-9)
        codes = self.adc.convert(g)
        self._advance(t)
        if a.full:
            return codes
        out = np.zeros(self.L, dtype=codes.dtype)
        out[a.lines] = codes
        return out

    def mr_end(self, t_ns=None):
        """End of the memristor-port pulse: RESET / SET / forming / transfer take effect."""
        t = self._time(t_ns)
        a = self.active
        if a is None or a.port != "mr":
            raise self._err("memristor pulse end", "", t, "no memristor-port pulse is on", "mr.1")
        self.active = None
        w = t - a.t0
        tm = self.timing
        kind = a.kind
        op = _MR_NAMES[kind]
        where = "" if kind == "pre" else f"slot {a.slot}"
        wmin = {"reset": tm.mr_min_ns, "set": tm.mr_min_ns, "xfer": tm.xfer_min_ns,
                "pre": tm.pre_min_ns, "read": tm.read_min_ns, "form": tm.form_min_ns}[kind]
        if w < wmin - T_EPS_NS:
            raise self._err(op, where, t, f"pulse {fmt_ns(w)} ns wide; at least {fmt_ns(wmin)} ns needed",
                            "mr.4")
        self._advance(t)
        mr = self.mr
        e0 = a.e0
        if kind == "pre":
            self.precharged = True
            key = "tl_precharge"
        elif kind == "reset":
            mr.reset(a.sel)
            key = "mr_reset"
        elif kind == "set":
            mr.set_compliance(a.sel, dv.code_set_compliance_ua(a.code, self.transfer))
            key = "mr_set"
        elif kind == "form":
            mr.form(a.sel, pulse_s=w * 1e-9, v=a.v)
            key = "mr_form"
        elif kind == "read":
            key = "mr_read"
        else:
            self._transfer(a, w, t)
            key = "mr_transfer"
        self.counts[key] += 1
        self.energy_j[key] += mr.total_energy_j - e0 + (self._xfer_fe_e if kind == "xfer" else 0.0)

    def _transfer(self, a: _Pulse, w_ns: float, t: float) -> None:
        """DAC-free transfer: the slot's MSB rows are pulsed towards '0' on every line; the
        charge of the cells that switch sets V_TL, hence the compliance of the selected
        memristors on the lines in the mask."""
        fe = self.fe
        rows = self._msb_rows[a.slot]                       # (U,)
        i_cc, _ = dv.transfer_pulse(fe, (rows[:, None], self._all[None, :]), self.transfer,
                                    w_ns * 1e-9)            # (L,)
        ncell = rows.size * self.L
        fe.ops["read"] += ncell
        self._xfer_fe_e = ncell * fe.params.energy_write_j
        fe.energy_j["read"] += self._xfer_fe_e
        for r in rows:
            self.pending[int(r)] = t
        self.precharged = False
        if len(a.lines):
            self.mr.set_compliance(a.sel, i_cc[a.lines])
        self.last_transfer_ua = i_cc

    # ---------------------------------------------------- batches of FeCAP pulses

    #: ``kind`` values of :meth:`fe_batch`.
    FE_READ, FE_WRITE0, FE_WRITE1 = 0, 1, 2

    def fe_nominal_ns(self) -> np.ndarray:
        """Per row, the shortest pulse (and sense delay) after which every cell that can
        switch has switched (ns): pulses at least this long are nominal (:meth:`fe_batch`)."""
        return np.asarray(self._fe_certain)

    def fe_batch(self, row, kind, mask, t_sense, t_end) -> tuple[np.ndarray, int]:
        """Apply FeCAP pulses in order, vectorized: the same as :meth:`fe_begin`,
        :meth:`fe_sense` (reads) and :meth:`fe_end` of each pulse, one after the other.

        For pulses the caller has checked against the port rules and found nominal: nominal
        amplitude, every pulse and sense delay at least :meth:`fe_nominal_ns` of its row, no
        fault injected, no pulse on. ``kind`` (n,): ``FE_READ`` (a sensed source-line pulse),
        ``FE_WRITE0`` (an unsensed source-line pulse), ``FE_WRITE1`` (a bit-line pulse);
        ``row`` (n,), ``mask`` (n, L) bools, ``t_sense`` and ``t_end`` (n,) ns.

        Pulses on different rows commute, so the batch is applied in rounds: the k-th pulse
        of every row together. Returns ``(data, done)``: the sensed data (n, L) (zeros for
        writes) and how many pulses were applied: all of them, or the ones before the first
        read of a row that is pending write-back (rule fe.6), which the caller then applies
        with :meth:`fe_begin` / :meth:`fe_sense` / :meth:`fe_end` to get its error.
        """
        row = np.asarray(row, dtype=np.int64)
        kind = np.asarray(kind, dtype=np.int64)
        n = len(row)
        data = np.zeros((n, self.L), dtype=bool)
        if not n:
            return data, 0
        if self.fe._faults or self.active is not None:
            raise ValueError("fe_batch needs nominal pulses: no fault injected, no pulse on")
        # rounds: the k-th pulse of each row in round k (order: by row, then by index)
        order = np.lexsort((np.arange(n), row))
        srow, skind = row[order], kind[order]
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(srow[1:], srow[:-1], out=first[1:])
        gstart = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        # fe.6: a read of a row pending write-back (its last read or bit-line pulse before it
        # was a read, or none and the row was pending already) ends the batch before it
        rel = (skind == self.FE_READ) | (skind == self.FE_WRITE1)
        last_rel = np.maximum.accumulate(np.where(rel, np.arange(n), -1))
        prev_rel = np.empty(n, dtype=np.int64)
        prev_rel[0] = -1
        prev_rel[1:] = last_rel[:-1]
        has_prev = prev_rel >= gstart
        init_pend = np.isin(srow, np.fromiter(self.pending, dtype=np.int64, count=len(self.pending)))
        pend_before = np.where(has_prev, skind[np.maximum(prev_rel, 0)] == self.FE_READ, init_pend)
        bad = order[(skind == self.FE_READ) & pend_before]
        done = int(bad.min()) if len(bad) else n
        if done < n:
            keep = order < done
            order, srow, skind = order[keep], srow[keep], skind[keep]
            first, gstart = first[keep], None
            m = len(order)
            first = np.empty(m, dtype=bool)
            if m:
                first[0] = True
                np.not_equal(srow[1:], srow[:-1], out=first[1:])
            gstart = np.maximum.accumulate(np.where(first, np.arange(m), 0)) if m else first
            row, kind, mask = row[:done], kind[:done], mask[:done]
            t_sense, t_end = t_sense[:done], t_end[:done]
            data = data[:done]
        if not done:
            return np.zeros((n, self.L), dtype=bool), 0
        occ = np.empty(done, dtype=np.int64)
        occ[order] = np.arange(done) - gstart
        fe = self.fe
        for k in range(int(occ.max()) + 1):
            sel = np.flatnonzero(occ == k)
            ks = kind[sel]
            for kd in (self.FE_READ, self.FE_WRITE0, self.FE_WRITE1):
                s = sel[ks == kd]
                if not len(s):
                    continue
                r, m = row[s], mask[s]
                if kd == self.FE_READ:
                    data[s] = fe.sense_rows(r, m)
                fe.apply_rows(r, m, kd == self.FE_WRITE1)
        # pending write-backs: each row's last read or bit-line pulse decides
        last = first.copy()
        last[:-1] = first[1:]
        last[-1] = True
        srel = (skind == self.FE_READ) | (skind == self.FE_WRITE1)
        lr = np.maximum.accumulate(np.where(srel, np.arange(len(order)), -1))
        for i in np.flatnonzero(last).tolist():
            j = int(lr[i])
            if j < gstart[i]:
                continue            # no read or bit-line pulse on this row in the batch
            oi = int(order[j])
            r = int(row[oi])
            if kind[oi] == self.FE_READ:
                self.pending[r] = float(t_sense[oi])
            else:
                self.pending.pop(r, None)
        lines = mask.sum(axis=1)
        for kd, key, fop in ((self.FE_READ, "fe_read", "read"), (self.FE_WRITE0, "fe_write0", "write0"),
                             (self.FE_WRITE1, "fe_write1", "write1")):
            on = kind == kd
            c = int(on.sum())
            if c:
                nl = int(lines[on].sum())
                e = nl * self._fe_e
                self.counts[key] += c
                self.energy_j[key] += e
                fe.ops[fop] += nl
                fe.energy_j[fop] += e
        t = float(t_end.max())
        if t > self.now_ns:
            self._advance(t)
        return data, done

    # ------------------------------------------------------- whole operations

    def _pulse_fe(self, kind, row, mask, width_ns, t, sense_ns=None, v=None):
        self.fe_begin(kind, row, mask, t, v)
        bits = None
        if sense_ns is not None:
            bits = self.fe_sense(t + sense_ns)
        self.fe_end(t + width_ns)
        return bits

    def fe_read_row(self, row: int, mask=None, *, width_ns: float = 2000.0,
                    sense_ns: float = 1000.0, t_ns=None, v: float | None = None) -> np.ndarray:
        """Destructive row read: source-line pulse, sense ``sense_ns`` into it. Returns (L,)
        bools. The row is pending write-back afterwards."""
        t = self._time(t_ns)
        return self._pulse_fe("sl", row, mask, width_ns, t, sense_ns, v)

    def fe_write_row(self, row: int, bits, mask=None, *, width_ns: float = 2000.0,
                     zeros: bool | None = None, t_ns=None, v: float | None = None) -> None:
        """Row write: a source-line pulse on the lines to be '0' (skipped when the row is
        pending, i.e. all '0' after a read, unless ``zeros=True``), then a bit-line pulse on the
        lines to be '1' (always, with an empty mask if none, which completes the write-back)."""
        t = self._time(t_ns)
        b = np.asarray(bits)
        if b.shape != (self.L,) or b.dtype != bool:
            raise ValueError(f"bits must be {self.L} booleans; got shape {b.shape} dtype {b.dtype}")
        if zeros is None:
            zeros = row not in self.pending
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
        if zeros:
            self._pulse_fe("sl", row, ~b if mask is None else mask & ~b, width_ns, t, None, v)
            t += width_ns
        self._pulse_fe("bl", row, b if mask is None else mask & b, width_ns, t, None, v)

    def _mr_op(self, kind, slot, pol, mask, code, width_ns, t_ns, v=None, adc_ns=None):
        t = self._time(t_ns)
        self.mr_begin(kind, slot, pol, mask, code, t, v)
        out = None
        if adc_ns is not None:
            out = self.mr_adc(t + adc_ns)
        self.mr_end(t + width_ns)
        return out

    def mr_reset(self, slot: int, pol=None, mask=None, *, width_ns: float = 1000.0, t_ns=None) -> None:
        """RESET the selected device (G+ or G- per ``pol``) of the lines in ``mask``."""
        self._mr_op("reset", slot, pol, mask, None, width_ns, t_ns)

    def mr_code_set(self, slot: int, pol=None, mask=None, code=None, *, width_ns: float = 1000.0,
                    t_ns=None) -> None:
        """Digital-code SET: gate voltage (compliance) from ``code`` (L,) per line."""
        self._mr_op("set", slot, pol, mask, code, width_ns, t_ns)

    def tl_precharge(self, *, width_ns: float = 100.0, t_ns=None) -> None:
        """Precharge the transfer lines to 0 V (needed before every transfer pulse)."""
        self._mr_op("pre", 0, None, None, None, width_ns, t_ns)

    def mr_transfer(self, slot: int, pol=None, mask=None, *, width_ns: float = 10000.0,
                    t_ns=None) -> None:
        """DAC-free transfer SET of ``slot`` (published pulse: 10 us). Destroys the slot's MSB
        FeCAP rows on every line (they are pending write-back afterwards)."""
        self._mr_op("xfer", slot, pol, mask, None, width_ns, t_ns)

    def mr_read(self, slot: int, pol=None, mask=None, *, width_ns: float = 200.0,
                adc_ns: float = 100.0, t_ns=None) -> np.ndarray:
        """Read the selected devices through the ADC. Returns (L,) codes (0 outside mask)."""
        return self._mr_op("read", slot, pol, mask, None, width_ns, t_ns, adc_ns=adc_ns)

    def mr_form(self, slot: int, pol=None, mask=None, *, width_ns: float = 300_000.0,
                v: float | None = None, t_ns=None) -> None:
        """One forming pulse (published: 6 V, 300 us) on the selected devices."""
        self._mr_op("form", slot, pol, mask, None, width_ns, t_ns, v=v)

    def read_conductances_us(self, *, t_ns=None, width_ns: float = 200.0) -> np.ndarray:
        """What the host reads for a forward/backward pass: every memristor row (G+ and G- of
        every slot) through the ADC, with read noise. Returns (S, 2, L) uS (ADC code x LSB).
        Counts 2 S row reads."""
        t = self._time(t_ns)
        if self.active is not None:
            self._busy("memristor read", "all slots", t)
        M = self.geom.memristor_rows
        e0 = self.mr.total_energy_j
        g = self.mr.read_us(None, pulse_s=width_ns * 1e-9)
        self.counts["mr_read"] += M
        self.energy_j["mr_read"] += self.mr.total_energy_j - e0
        self._advance(t + M * width_ns)
        codes = self.adc.convert(g)
        return (codes * self.adc.lsb_us).reshape(self.geom.slots, 2, self.L)

    def read_weights_us(self, **kw) -> np.ndarray:
        """G+ - G- of every synapse from :meth:`read_conductances_us`: (S, L) uS."""
        g = self.read_conductances_us(**kw)
        return g[:, 0] - g[:, 1]

    def check_quiescent(self, t_ns=None) -> None:
        """Raise MacroProtocolError if a pulse is on or a row read is not written back (call
        it whenever the controller reports idle)."""
        t = self.now_ns if t_ns is None else float(t_ns)
        if self.active is not None:
            a = self.active
            name = _FE_NAMES.get(a.kind) if a.port == "fe" else _MR_NAMES[a.kind]
            raise self._err("quiescence check", "", t, f"a {name} is still on (since t = "
                            f"{fmt_ns(a.t0)} ns)", "fe.3" if a.port == "fe" else "mr.1")
        if self.pending:
            rows = sorted(self.pending)
            raise self._err("quiescence check", f"rows {rows[:16]}{'...' if len(rows) > 16 else ''}",
                            t, f"{len(rows)} row(s) read destructively and never written back "
                            f"(first read at t = {fmt_ns(min(self.pending.values()))} ns)", "fe.6")

    # ----------------------------------------------------------- fault injection

    def inject_stuck_memristor(self, slot: int, pol: int, lines, high: bool) -> None:
        """Memristor ``pol`` (0: G+, 1: G-) of ``slot`` on ``lines`` stuck high or low."""
        self.mr.inject_stuck((2 * int(slot) + int(pol), lines), high)

    def inject_weak_fecap(self, row: int, lines, weak: bool = True) -> None:
        """FeCAPs of ``row`` on ``lines`` become weak (small window, slow switching)."""
        self.fe.inject((int(row), lines), weak=weak)

    def inject_read_flip(self, row: int, lines, flip: bool = True) -> None:
        """FeCAPs of ``row`` on ``lines`` read (and transfer) as the other bit, e.g. a
        wrong-reading MSB FeCAP."""
        self.fe.inject((int(row), lines), read_flip=flip)

    def inject_sense_error(self, lines, *, stuck: int | None = None, flip_p: float = 0.0) -> None:
        """Sense amplifiers of ``lines`` stuck at 0/1 or inverting with probability ``flip_p``."""
        self.fe.inject_sense(lines, stuck=stuck, flip_p=flip_p)

    # --------------------------------------------------------------- summary

    @property
    def total_energy_j(self) -> float:
        return float(sum(self.energy_j.values()))


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


# ======================================================================== the port

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
        name = _FE_NAMES[_FE_PULSE[k]]
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
        name = _MR_NAMES[kind]
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


# ======================================================== programmer for n arrays


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


class ArrayProgrammer:
    """:class:`hymem.digital.engine.Programmer` for ``n`` arrays on top of the device physics.

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

    ``keys``: optional identities of the ``n`` arrays (as :class:`HybridArray`'s ``key``):
    the memristors and the MSB units are then keyed devices, identical to the same devices of
    a keyed :class:`HybridArray` (the MSB unit u of slot s is its FeCAP row ``s * R + 1 + u``).
    """

    def __init__(self, n: int, geom: Geometry = DEFAULT_GEOMETRY, *,
                 memristor: dv.MemristorParams | None = None, fecap: dv.FecapParams | None = None,
                 transfer: dv.TransferLineParams | None = None, adc: AdcParams | None = None,
                 verify_windows=None, rng=None, keys=None) -> None:
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

    def program_transfer(self, cand, sign, mag) -> None:
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

    def conductances(self) -> np.ndarray:
        """Noise-free conductances (n, S, 2, L) uS."""
        g = self.geom
        return self.mr.conductance_us().reshape(self.n, g.slots, 2, g.lines)

    def read_adc(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """ADC codes of every memristor as the host reads them (read noise + ADC), (n, 2S, L)."""
        return self.adc.convert(self.mr.read_us(None, rng=rng))

    def read_conductances_us(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Conductances as the host reads them: read noise + ADC, (n, S, 2, L) uS."""
        g = self.geom
        return (self.read_adc(rng) * self.adc.lsb_us).reshape(self.n, g.slots, 2, g.lines)
