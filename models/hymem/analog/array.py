"""The hybrid array: one macro's FeCAPs and memristors and the physical operations on them.

:class:`HybridArray` holds one array's FeCAPs and memristors (:mod:`hymem.analog.devices`) and
offers the row-wide physical operations the controller drives: FeCAP row read (destructive)
and write, memristor RESET, DAC-free transfer SET, digital-code SET, read through the ADC,
forming. It enforces the protocol of ``docs/macro_port.md`` that a single operation can see
(addresses, pulse widths, sense and ADC timing, reads never written back, precharge before a
transfer, unformed devices) and raises :class:`hymem.analog.port.MacroProtocolError` naming
the operation, the row or slot, the time and the rule. The rules between operations (signal
level) are :class:`hymem.analog.port.MacroPort`'s.

Backdoor access (peek/poke of hidden weights, flags, conductances) is
``HybridArray.backdoor`` (:class:`hymem.analog.backdoor.Backdoor`), separate from the
physical operations; it counts nothing.
"""

from __future__ import annotations

import numpy as np

from . import devices as dv
from ..digital.engine import DEFAULT_GEOMETRY, Geometry
from .adc import AdcParams
from .backdoor import Backdoor
from .port import FE_PULSE_NAMES, MR_PULSE_NAMES, T_EPS_NS, MacroProtocolError, PortTiming, fmt_ns

#: Row-level operations counted by HybridArray (``counts``, ``energy_j``).
OPS = ("fe_read", "fe_write0", "fe_write1", "mr_reset", "mr_set", "mr_transfer", "mr_read",
       "mr_form", "tl_precharge")


class _Pulse:
    __slots__ = ("port", "kind", "t0", "row", "slot", "lines", "sel", "full", "t_sw", "sensed",
                 "pol", "code", "v", "mask", "e0")


def msb_rows(geom: Geometry, units: int) -> np.ndarray:
    """FeCAP rows of each slot's MSB units, (S, U): rows b+1 .. b+U of the slot (b = its sign
    row), the copies the DAC-free transfer pulses."""
    geom.need_layout("the DAC-free transfer's MSB rows")
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
    devices in a :class:`hymem.analog.programmer.PhysicalProgrammer` given the same key,
    whatever the operation order.
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
      ``mr_end``) used by :class:`hymem.analog.port.MacroPort`.

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
        # (S, U); none without the synapse layout (bare FeCAP rows: a transfer is refused)
        self._msb_rows = msb_rows(geom, self.transfer.total_units) if geom.layout else None
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
            name = FE_PULSE_NAMES[a.kind] if a.port == "fe" else MR_PULSE_NAMES[a.kind]
            rule = "fe.3" if op in FE_PULSE_NAMES.values() else "mr.1"
            raise self._err(op, where, t, f"overlaps the {name} that started at t = {fmt_ns(a.t0)} ns",
                            rule)

    # ------------------------------------------------------------- FeCAP port

    def fe_begin(self, kind: str, row: int, mask=None, t_ns=None, v: float | None = None) -> None:
        """Start a FeCAP pulse: ``kind`` 'sl' (towards '0': read or write '0') or 'bl' (write
        '1') on ``row``, lines in ``mask`` ((L,) bools; None: all)."""
        t = self.now_ns if t_ns is None else self._time(t_ns)
        if kind not in FE_PULSE_NAMES:
            raise ValueError(f"kind must be 'sl' or 'bl'; got {kind!r}")
        if not isinstance(row, (int, np.integer)) or not 0 <= row < self.geom.fecap_rows:
            raise self._err(FE_PULSE_NAMES[kind], f"row {row}", t,
                            f"row address out of range 0..{self.geom.fecap_rows - 1}", "addr")
        if self.active is not None:
            self._busy(FE_PULSE_NAMES[kind], f"row {row}", t)
        lmask = None
        if mask is not None:
            m = mask if isinstance(mask, np.ndarray) else np.asarray(mask)
            if m.shape != (self.L,) or m.dtype != bool:
                raise self._err(FE_PULSE_NAMES[kind], f"row {row}", t, f"line mask must be {self.L} "
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
                    f"the pulse on is a {FE_PULSE_NAMES[a.kind] if a.port == 'fe' else MR_PULSE_NAMES[a.kind]}")
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
            op = "FeCAP read" if a.sensed else FE_PULSE_NAMES[a.kind]
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
        if kind not in MR_PULSE_NAMES:
            raise ValueError(f"kind must be one of {', '.join(MR_PULSE_NAMES)}; got {kind!r}")
        op = MR_PULSE_NAMES[kind]
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
            if self._msb_rows is None:
                raise self._err(op, where, t, f"no MSB rows to transfer: the array has "
                                f"{self.geom.fecap_rows} bare FeCAP rows (Geometry layout=False)",
                                "addr")
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
        op = MR_PULSE_NAMES[kind]
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
        if not n:
            return np.zeros((0, self.L), dtype=bool), 0
        if self.fe._faults or self.active is not None:
            raise ValueError("fe_batch needs nominal pulses: no fault injected, no pulse on")
        fe = self.fe
        pend = np.zeros(self.geom.fecap_rows, dtype=bool)
        if self.pending:
            pend[list(self.pending)] = True
        res = fe.ops_compiled(row, kind, mask, pend)
        if res is not None:
            # compiled, pulse after pulse (the same as the rounds below)
            done, data, last, cnt, nl = res
            if not done:
                return data, 0
            rows = np.flatnonzero(last >= 0)
            li = last[rows]
            rd = kind[li] == self.FE_READ
            for r in rows[~rd].tolist():
                self.pending.pop(r, None)
            self.pending.update(zip(rows[rd].tolist(),
                                    np.asarray(t_sense, dtype=float)[li[rd]].tolist()))
            self._fe_count(cnt.tolist(), nl.tolist())
            t = float(t_end[:done].max())
            if t > self.now_ns:
                self._advance(t)
            return (data if done == n else data[:done]), done
        data = np.zeros((n, self.L), dtype=bool)
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
        on = [kind == kd for kd in (self.FE_READ, self.FE_WRITE0, self.FE_WRITE1)]
        self._fe_count([int(o.sum()) for o in on], [int(lines[o].sum()) for o in on])
        t = float(t_end.max())
        if t > self.now_ns:
            self._advance(t)
        return data, done

    def _fe_count(self, pulses, lines) -> None:
        """Counters and energy of :meth:`fe_batch`'s pulses: ``pulses`` and ``lines`` pulsed
        per kind (read, write '0', write '1')."""
        fe = self.fe
        for c, nl, key, fop in zip(pulses, lines, ("fe_read", "fe_write0", "fe_write1"),
                                   ("read", "write0", "write1")):
            if c:
                e = nl * self._fe_e
                self.counts[key] += c
                self.energy_j[key] += e
                fe.ops[fop] += nl
                fe.energy_j[fop] += e

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
            name = FE_PULSE_NAMES.get(a.kind) if a.port == "fe" else MR_PULSE_NAMES[a.kind]
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
