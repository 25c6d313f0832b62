"""Transaction-level macro model: the array model behind the HDL monitor ``hymem_macro_tlm``.

The pin-level model (:class:`hymem.sim.macro_port.MacroPortModel`) wakes Python at every edge of
the port (about 4.5 times per FeCAP row operation): in the end-to-end co-simulation that
was most of the time. Here a testbench HDL monitor (``tb/hdl/hymem_macro_tlm.sv``) samples
a synchronous controller's port at every falling clock edge and logs each FeCAP word-line
window and each memristor-port pulse as a record with the times of its edges; it answers
FeCAP reads from a read cache this model fills with each row's predicted next read, and
asks Python (one value-change callback) only when a read has no valid prediction, at every
ADC strobe, when a log is about to fill, and at a protocol error. This model then applies
the records in port order to the same :class:`hymem.analog.array.HybridArray`:

* FeCAP records with nominal, legal pulses (the common case) in one vectorized batch
  (:meth:`hymem.analog.array.HybridArray.fe_batch`: the same as pulse-by-pulse);
* every other record (an error, a pulse shorter than nominal, a fault injected, a read or
  an ADC strobe served while its operation was open) pulse by pulse through
  ``fe_begin`` / ``fe_sense`` / ``fe_end`` and ``mr_begin`` / ``mr_adc`` / ``mr_end``,
  exactly as the pin-level model does.

The timing rules (word-line setup and hold, pulse widths, sense and ADC delays) are checked
here on the records' times; the rules between edges (stability, overlaps, strobes outside
their pulse, X/Z) by the monitor, which reports an error code (:data:`TLM_ERRORS`). An
operation with an error is dropped. Reads of a keyed array are predicted exactly (the
sense noise is keyed by each device's read count: docs/models.md), so a read served from
the cache is the read the model computes when it applies the record; the record carries
the data served, and the model checks it (:class:`TlmError` on a difference).

The record layouts (:data:`FE_FIELDS`, :data:`MR_FIELDS`) and the error codes are defined
here; ``tb/hdl/hymem_macro_tlm_layout.svh`` is generated from them (:func:`layout_svh`,
checked by tb/test_macro_tlm.py).

Usage (a harness with the monitor instantiated as ``u_tlm`` next to the controller)::

    array = HybridArray(rng=seed, key=seed, woken=True)
    model = MacroTlmModel(dut, array).start()
    ...
    model.sync()                 # apply everything so far (before reading the backdoor)
    model.check_quiescent()      # whenever the controller reports idle
"""

from __future__ import annotations

import os
import time

import cocotb
import cocotb.handle
import numpy as np
from cocotb import simulator
from cocotb.simtime import get_sim_time

from ..analog.array import HybridArray
from ..jit import compiled, njit
from ..analog.port import T_EPS_NS, MacroProtocolError, PortTiming, fmt_ns
from . import vpi_vec
from .macro_port import PortModelBase, codes_to_int

# ------------------------------------------------------------------ record layouts

#: FeCAP record: one word-line window (at most two pulses). (name, width); "L" is the
#: number of lines. Times in ps; t* fields are offsets from ``twl``. Fields of 8 bits or more
#: start on a byte (decoding reads them as bytes), so the narrow ones fill whole bytes.
FE_FIELDS = (
    ("seq", 32),      # sequence number, shared with the MR log: port order
    ("err", 8),       # error code (TLM_ERRORS), 0: none
    ("terr", 32),     # when the error was seen
    ("row", 8),
    ("np", 2),        # pulses in the window
    ("bl0", 1), ("sns0", 1), ("srv0", 1),     # pulse 0: bit line?, sensed?, served from cache?
    ("bl1", 1), ("sns1", 1), ("srv1", 1),
    ("twl", 64),      # word line rise (absolute)
    ("ts0", 32), ("ta0", 32), ("te0", 32),    # pulse 0 start, sense strobe, end
    ("ts1", 32), ("ta1", 32), ("te1", 32),
    ("tfall", 32),    # word line fall
    ("mask0", "L"), ("mask1", "L"),
    ("rdata", "L"),   # the data the read returned (served from the cache)
)
#: MR record: one memristor-port pulse.
MR_FIELDS = (
    ("seq", 32), ("err", 8), ("terr", 32),
    ("kind", 3),      # MR_KINDS[kind]
    ("adc", 1),       # the ADC strobed during the pulse
    ("pad", 4),
    ("slot", 8),
    ("ts", 64),       # pulse start (absolute)
    ("ta", 32), ("te", 32),                   # ADC strobe, pulse end (offsets)
    ("pol", "L"), ("mask", "L"), ("code", "LC"),   # LC: lines x code bits
)
#: MR record ``kind`` -> :meth:`hymem.analog.array.HybridArray.mr_begin` kind.
MR_KINDS = {1: "reset", 2: "set", 3: "form", 4: "read", 5: "pre", 6: "xfer"}

#: Error codes of the monitor (code = position + 1): (name, rule, what).
TLM_ERRORS = (
    ("FE1_ROW", "fe.1", "fe_row_o changed while fe_wl_o is on"),
    ("FE1_VEC", "fe.1", "fe_row_o or fe_mask_o changed while a FeCAP pulse is on"),
    ("FE2_NOWL", "fe.2", "a FeCAP pulse started while fe_wl_o is off"),
    ("FE2_WLOFF", "fe.2", "fe_wl_o fell while a FeCAP pulse is on"),
    ("FE3_BOTH", "fe.3", "fe_sl_o and fe_bl_o are on together"),
    ("FE3_MR", "fe.3", "a FeCAP pulse started while a memristor-port pulse is on"),
    ("FE4_SAE", "fe.4", "sense-amplifier enable outside a source-line pulse"),
    ("FE4_TWICE", "fe.4", "second sense-amplifier enable in one pulse"),
    ("MANY", "tlm", "more than two FeCAP pulses in one word-line window (not supported by "
                    "the transaction-level monitor: use the pin-level model)"),
    ("MR1_TWO", "mr.1", "two memristor-port pulses are on together"),
    ("MR1_FE", "mr.1", "a memristor-port pulse started while the FeCAP port is on"),
    ("MR1_WL", "mr.1", "fe_wl_o rose while a memristor-port pulse is on"),
    ("MR2_VEC", "mr.2", "mr_slot_o, mr_pol_o, mr_mask_o or mr_code_o changed while a "
                        "memristor-port pulse is on"),
    ("MR4_ADC", "mr.4", "mr_adc_o rose outside a memristor read pulse"),
    ("XZ", "data", "a port pin went X/Z after being driven"),
)


class TlmError(RuntimeError):
    """The transaction-level model disagrees with itself (a read served from the cache is
    not what the array gives, a log overflowed): a bug of the model or the monitor, not of
    the controller."""


def _offsets(fields, lines: int, code_bits: int) -> tuple[dict, int]:
    off, o = {}, 0
    for name, w in fields:
        w = lines if w == "L" else lines * code_bits if w == "LC" else w
        off[name] = (o, w)
        o += w
    return off, o


def layout_svh() -> str:
    """The SystemVerilog include with the record layouts and error codes (generated)."""
    out = ["// Generated by hymem.sim.macro_tlm.layout_svh() from FE_FIELDS, MR_FIELDS and "
           "TLM_ERRORS: do not edit.",
           "// Regenerate: python -c 'import hymem.sim.macro_tlm as m; print(m.layout_svh(), end=\"\")'"
           " > tb/hdl/hymem_macro_tlm_layout.svh",
           "// (tb/test_macro_tlm.py checks that it is up to date). Needs Lines and CodeBits.", ""]
    for prefix, fields in (("FE", FE_FIELDS), ("MR", MR_FIELDS)):
        prev = None
        for name, w in fields:
            expr = "0" if prev is None else f"{prefix}_{prev[0].upper()} + {prev[1]}"
            out.append(f"localparam int {prefix}_{name.upper()} = {expr};")
            prev = (name, "Lines" if w == "L" else "Lines * CodeBits" if w == "LC" else str(w))
        out.append(f"localparam int {prefix}_W = {prefix}_{prev[0].upper()} + {prev[1]};")
        out.append("")
    for i, (name, rule, what) in enumerate(TLM_ERRORS, 1):
        out.append(f"localparam int ERR_{name} = {i};  // {rule}: {what}")
    return "\n".join(out) + "\n"


def _bits(bits: np.ndarray, n: int, width: int, first: int, count: int) -> np.ndarray:
    """Records ``first .. first+count-1`` (modulo ``n``) of a log vector's (n * width,) bits
    (bit 0 first): (count, width) bools."""
    if first + count <= n:
        return bits[first * width: (first + count) * width].reshape(count, width)
    return bits[: n * width].reshape(n, width)[(first + np.arange(count)) % n]


def _str_bits(text: str) -> np.ndarray:
    """A binary string as the GPI gives it (MSB first; X/Z as 0) -> bools, bit 0 first."""
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)[::-1] == 49      # '1'


_WIDE = ("mask0", "mask1", "rdata", "pol", "mask", "code")

#: decoding layouts by record layout (:func:`_layout`)
_LAYOUTS: dict = {}


def _layout(off: dict):
    """How :func:`_decode` reads a record layout: a NumPy structured dtype over the record's
    packed bytes for the byte-aligned 8/16/32/64-bit fields, (name, byte, shift, mask) for
    the narrow fields inside one byte, (name, bit offset, width) for any other."""
    key = tuple(off.items())
    lay = _LAYOUTS.get(key)
    if lay is None:
        nbytes = (max(o + w for o, w in off.values()) + 7) // 8
        names, formats, offsets, narrow, other = [], [], [], [], []
        for name, (o, w) in off.items():
            if name in _WIDE:
                continue
            if o % 8 == 0 and w in (8, 16, 32, 64):
                names.append(name)
                formats.append(f"<u{w // 8}")
                offsets.append(o // 8)
            elif o // 8 == (o + w - 1) // 8:
                narrow.append((name, o // 8, o % 8, (1 << w) - 1))
            else:
                other.append((name, o, w))
        dt = np.dtype({"names": names, "formats": formats, "offsets": offsets,
                       "itemsize": nbytes})
        lay = _LAYOUTS[key] = (dt, narrow, other, nbytes)
    return lay


def _fields_kernel(bits, offs, widths, out):
    """Field f of record c = the ``widths[f]`` bits of ``bits[c]`` from ``offs[f]``,
    little-endian, into ``out[f, c]`` (int64: a 64-bit field with its top bit set wraps, as
    NumPy's cast from uint64 does)."""
    for f in range(offs.shape[0]):
        o, w = offs[f], widths[f]
        for c in range(bits.shape[0]):
            v = np.int64(0)
            for b in range(w):
                if bits[c, o + b]:
                    v |= np.int64(1) << b
            out[f, c] = v


_fields_compiled = njit(_fields_kernel)

#: the narrow fields of a record layout as arrays for :func:`_fields_kernel`, by layout
_FIELD_TABLES: dict = {}


def _decode(bits: np.ndarray, off: dict) -> dict:
    """(count, width) record bits -> {field: (count,) ints, or (count, w) bools for the
    per-line fields}."""
    if _fields_compiled is not None:
        tab = _FIELD_TABLES.get(id(off))
        if tab is None or tab[0] is not off:          # (keyed by the layout dict itself)
            names = [k for k in off if k not in _WIDE]
            tab = _FIELD_TABLES[id(off)] = (off, names, np.array([off[k][0] for k in names]),
                                            np.array([off[k][1] for k in names]))
        _, names, offs, widths = tab
        vals = np.empty((len(names), bits.shape[0]), dtype=np.int64)
        _fields_compiled(bits, offs, widths, vals)
        out = dict(zip(names, vals))
        for name in _WIDE:
            if name in off:
                o, w = off[name]
                out[name] = bits[:, o:o + w]
        return out
    count = bits.shape[0]
    dt, narrow, other, nbytes = _layout(off)
    byts = np.packbits(bits, axis=1, bitorder="little")
    if byts.shape[1] != nbytes:
        byts = np.pad(byts[:, :nbytes], ((0, 0), (0, nbytes - min(nbytes, byts.shape[1]))))
    rec = np.ascontiguousarray(byts).view(dt).reshape(count)
    out = {name: rec[name].astype(np.int64) for name in dt.names}
    for name, b, sh, m in narrow:
        out[name] = (byts[:, b] >> sh).astype(np.int64) & m
    for name, o, w in other:
        out[name] = (bits[:, o:o + w] * (1 << np.arange(w))).sum(axis=1)
    for name in _WIDE:
        if name in off:
            o, w = off[name]
            out[name] = bits[:, o:o + w]
    return out


_FE_READ, _FE_WRITE0, _FE_WRITE1 = HybridArray.FE_READ, HybridArray.FE_WRITE0, HybridArray.FE_WRITE1


def _fe_plan_kernel(lo, hi, row, npl, err, bl0, sns0, srv0, bl1, sns1, srv1, twl, ts0, ta0,
                    te0, ts1, ta1, te1, tfall, mask0, mask1, nominal, t_setup, t_hold, fe_min,
                    t_sense, ok, first, orow, okind, omask, otsn, oten, osrv, orec, opulse):
    """FeCAP records ``lo .. hi-1`` (decoded fields; times in ps): ``ok[i]`` whether record
    ``lo + i`` is nominal and legal (no error, 1 or 2 pulses, its row in range, setup, hold,
    pulse widths and sense delays at least the port's minimum and the row's nominal time,
    ``nominal`` per row, ns), and its pulses as :meth:`HybridArray.fe_batch` takes them, in
    port order: ops ``first[i] .. first[i+1]-1`` are record ``lo + i``'s, with their row,
    kind, line mask, sense and end times (ns), whether the monitor served the read
    (``osrv``), their record (absolute) and pulse. Returns the number of ops."""
    R = nominal.shape[0]
    m = 0
    for i in range(hi - lo):
        c = lo + i
        first[i] = m
        r = row[c]
        nom = nominal[min(r, R - 1)]
        np_ = npl[c]
        good = err[c] == 0 and np_ >= 1 and r < R
        last_end = te1[c] / 1000.0 if np_ == 2 else te0[c] / 1000.0
        good = good and tfall[c] / 1000.0 - last_end >= t_hold
        tw = twl[c] / 1000.0
        for p in range(2):
            if np_ <= p:
                break
            if p == 0:
                s, a, e, bl, sn, sv = ts0[c] / 1000.0, ta0[c] / 1000.0, te0[c] / 1000.0, \
                    bl0[c] != 0, sns0[c] != 0, srv0[c] != 0
            else:
                s, a, e, bl, sn, sv = ts1[c] / 1000.0, ta1[c] / 1000.0, te1[c] / 1000.0, \
                    bl1[c] != 0, sns1[c] != 0, srv1[c] != 0
            w = e - s
            el = a - s
            good = good and s >= t_setup and w >= fe_min and w >= nom and \
                (not sn or (el >= t_sense and el >= nom))
            orow[m] = r
            okind[m] = _FE_WRITE1 if bl else (_FE_READ if sn else _FE_WRITE0)
            otsn[m] = tw + a
            oten[m] = tw + e
            osrv[m] = sn and sv
            orec[m] = c
            opulse[m] = p
            for ln in range(omask.shape[1]):
                omask[m, ln] = mask0[c, ln] if p == 0 else mask1[c, ln]
            m += 1
        ok[i] = good
    first[hi - lo] = m
    return m


_fe_plan_compiled = compiled(_fe_plan_kernel)


# ------------------------------------------------------------------ the model


class MacroTlmModel(PortModelBase):
    """The array model on a ``hymem_macro_tlm`` monitor (see the module doc).

    ``scope``: the handle holding the monitor instance (``mon``, default ``u_tlm``).
    ``array``: the :class:`~hymem.analog.array.HybridArray` behind the port; a keyed array lets
    the monitor answer nominal reads itself (else every read asks Python).
    ``raise_errors=False`` only records protocol errors (call :meth:`check`).

    Counters: ``wakeups`` (requests handled), ``drains``, ``records``, ``served`` (reads
    the monitor answered), ``misses``, ``py_time_s``.
    """

    def __init__(self, scope, array: HybridArray, *, mon: str = "u_tlm",
                 timing: PortTiming | None = None, raise_errors: bool = True) -> None:
        super().__init__(raise_errors)
        if not isinstance(array, HybridArray):
            raise ValueError(f"array must be a hymem.analog.array.HybridArray; got {type(array).__name__}")
        try:
            self.m = getattr(scope, mon)
        except AttributeError:
            raise ValueError(f"no transaction-level monitor {mon!r} in {scope._path}") from None
        self.array = array
        self.timing = timing or array.timing
        g = array.geom
        self.L, self.R = array.L, g.fecap_rows
        self.fe_off, self.fe_w = _offsets(FE_FIELDS, self.L, g.code_bits)
        self.mr_off, self.mr_w = _offsets(MR_FIELDS, self.L, g.code_bits)
        h = {k: getattr(self.m, k)._handle for k in (
            "fe_wr_q", "mr_wr_q", "fe_rd_ptr", "mr_rd_ptr", "req_q", "req_why_q", "gen_q",
            "cache_v", "cache_gen_v", "cert_v", "enable", "fe_cur_q", "mr_cur_q",
            "fe_rdata_o", "mr_rdata_o", "overflow_q", "mr_log")}
        self._h = h
        self._banks = [self.m.fe_log[b]._handle for b in range(len(self.m.fe_log))]
        # the wide vectors as words through the simulator's VPI where it can (hymem.sim.vpi_vec:
        # the GPI moves them as strings of bits); reads on every simulator, deposits where the
        # GPI's delay mode is known (Verilator's inertial)
        self._vec: dict = {}
        if vpi_vec.available() and not os.environ.get("HYMEM_TLM_GPI_STRINGS"):
            # (for a few hundred bits the strings cost less than the calls around the words)
            self._vec["mr_log"] = vpi_vec.Vector(self.m.mr_log._path)
            for b in range(len(self._banks)):
                self._vec[b] = vpi_vec.Vector(self.m.fe_log._path, b)
            if "verilator" in cocotb.SIM_NAME.lower():
                for k in ("cache_v", "cert_v"):
                    self._vec[k] = vpi_vec.Vector(getattr(self.m, k)._path, inertial=True)
        bank_w = len(self.m.fe_log[0])
        mr_w = len(self.m.mr_log)
        if bank_w % self.fe_w or mr_w % self.mr_w or len(self.m.fe_rdata_o) != self.L:
            raise ValueError(f"monitor {mon} does not match the array ({self.L} lines) or the "
                             f"record layouts (FE {self.fe_w}, MR {self.mr_w} bits): regenerate "
                             "tb/hdl/hymem_macro_tlm_layout.svh and check the harness parameters")
        self.bank_recs = bank_w // self.fe_w
        self.fe_cap = self.bank_recs * len(self._banks)
        self.mr_recs = mr_w // self.mr_w
        self.gen_bits = len(self.m.gen_q) // self.R
        self._deposit = cocotb.handle._GPISetAction.DEPOSIT.value
        self.fe_rd = self.mr_rd = 0
        self._fe_begun = None      # (twl, pulses done, ) of a record begun at a miss
        self._mr_begun = None      # ts of an MR record begun at an ADC strobe
        self._reported = set()     # (port, t) of errors reported from an open record
        self._cache = np.zeros((self.R, self.L), dtype=bool)
        self._cache_gen = np.full(self.R, -1, dtype=np.int64)
        self._cb = None
        self._nominal_ns = array.fe_nominal_ns()
        self.wakeups = self.drains = self.records = self.served = self.misses = 0
        self.py_time_s = 0.0
        array.backdoor.listeners.append(self._on_poke)

    # -------------------------------------------------------------- lifecycle

    def start(self) -> "MacroTlmModel":
        """Fill the read cache, enable the monitor and start listening. Returns self."""
        if self._running:
            raise RuntimeError("MacroTlmModel.start(): already started")
        # (at time 0 the monitor's initial block may not have run: X counts as 0)
        self.fe_rd = _uint(self._h["fe_wr_q"])
        self.mr_rd = _uint(self._h["mr_wr_q"])
        self._put("fe_rd_ptr", self.fe_rd, 32)
        self._put("mr_rd_ptr", self.mr_rd, 32)
        cert = np.ceil(self._nominal_ns * 1000).astype(np.int64)
        self._put_vec("cert_v", cert, 32)
        self._refresh(force=True)
        self._put("enable", 1, 1)
        self._running = True
        self._arm()
        self._start_guard()
        return self

    def _disarm(self) -> None:
        self._running = False
        if self._cb is not None:
            self._cb.deregister()
            self._cb = None

    def _arm(self) -> None:
        self._cb = simulator.register_value_change_callback(self._h["req_q"], self._on_req,
                                                             simulator.VALUE_CHANGE)

    # -------------------------------------------------------------- checking

    def sync(self) -> None:
        """Apply every completed record and refresh the read cache (call before reading the
        array's state, e.g. its backdoor)."""
        t0 = time.perf_counter()
        self._drain()
        self._refresh()
        self.py_time_s += time.perf_counter() - t0

    def check_quiescent(self) -> None:
        """As :meth:`hymem.sim.macro_port.MacroPortModel.check_quiescent`, after a sync."""
        self.sync()
        try:
            self.array.check_quiescent(get_sim_time("ns"))
        except MacroProtocolError as e:
            self._error(e)

    def stats(self) -> dict:
        return {"wakeups": self.wakeups, "drains": self.drains, "records": self.records,
                "served": self.served, "misses": self.misses, "py_time_s": self.py_time_s,
                "us_per_wakeup": 1e6 * self.py_time_s / max(self.wakeups, 1),
                "errors": len(self.errors)}

    # -------------------------------------------------------------- the request

    def _on_req(self) -> None:
        self._cb = None                       # value-change callbacks fire once
        if not self._running or self._test_over():
            return
        self._arm()
        t0 = time.perf_counter()
        self.wakeups += 1
        self._in_callback = True
        try:
            why = int(self._h["req_why_q"].get_signal_val_long())
            self._drain()
            if self._h["overflow_q"].get_signal_val_long():
                raise TlmError("a log of the transaction-level monitor overflowed before "
                               "Python drained it (a request was missed)")
            if why & 1:
                self._serve_fe()
            if why & 2:
                self._serve_adc()
            if why & 8:
                self._open_errors()
        except MacroProtocolError as e:
            self._error(e)
        except Exception as e:               # a bug: fail the test, stop listening
            cocotb.log.exception("macro TLM: model failed")
            self._raise_later(e)
            self._disarm()
        finally:
            self._in_callback = False
        self.py_time_s += time.perf_counter() - t0

    def _open(self, port: str) -> dict:
        bits = self._get_bits("fe_cur_q" if port == "fe" else "mr_cur_q")
        off, w = (self.fe_off, self.fe_w) if port == "fe" else (self.mr_off, self.mr_w)
        return {k: v[0] for k, v in _decode(_bits(bits, 1, w, 0, 1), off).items()}

    def _open_errors(self) -> None:
        """Errors the monitor found in a record still open: report them now (once)."""
        for port, t_key in (("fe", "twl"), ("mr", "ts")):
            r = self._open(port)
            if r["err"]:
                key = (port, int(r[t_key]), int(r["err"]))
                if key not in self._reported:
                    self._reported.add(key)
                    self._report(r["err"], (int(r[t_key]) + int(r["terr"])) / 1000,
                                 f"row {int(r['row'])}" if port == "fe" else f"slot {int(r['slot'])}")

    def _report(self, code: int, t_ns: float, where: str) -> None:
        name, rule, what = TLM_ERRORS[int(code) - 1]
        self._error(MacroProtocolError("macro port (transaction-level monitor)", where, t_ns,
                                       what, rule))

    def _serve_fe(self) -> None:
        """A read without a valid prediction: begin the open record's pulses up to the
        strobe and sense, pulse by pulse, and drive the data."""
        self._refresh()            # e.g. a transfer right after a sample: predict its reads
        r = self._open("fe")
        self.misses += 1
        data = self._fe_exact(r, stop_at_sense=True)
        self._put("fe_rdata_o", 0 if data is None else _bits_int(data), self.L)

    def _serve_adc(self) -> None:
        r = self._open("mr")
        codes = self._mr_exact(r, stop_at_adc=True)
        a = self.array
        self._put("mr_rdata_o", 0 if codes is None else codes_to_int(codes, a.adc.bits),
                  self.L * a.adc.bits)

    # -------------------------------------------------------------- draining

    def _drain(self) -> None:
        fe_wr = int(self._h["fe_wr_q"].get_signal_val_long()) & 0xFFFF_FFFF
        mr_wr = int(self._h["mr_wr_q"].get_signal_val_long()) & 0xFFFF_FFFF
        nfe = (fe_wr - self.fe_rd) & 0xFFFF_FFFF
        nmr = (mr_wr - self.mr_rd) & 0xFFFF_FFFF
        if not nfe and not nmr:
            return
        if nfe > self.fe_cap or nmr > self.mr_recs:
            raise TlmError(f"the monitor's logs overflowed ({nfe} FeCAP, {nmr} MR records "
                           "pending)")
        self.drains += 1
        self.records += nfe + nmr
        fe = self._read_fe(nfe) if nfe else None
        mr = None
        if nmr:
            mr = _decode(_bits(self._get_bits("mr_log"), self.mr_recs,
                               self.mr_w, self.mr_rd % self.mr_recs, nmr), self.mr_off)
        self.fe_rd, self.mr_rd = fe_wr, mr_wr
        self._put("fe_rd_ptr", fe_wr, 32)
        self._put("mr_rd_ptr", mr_wr, 32)
        # port order: runs of FeCAP records between MR records
        fe_seq = fe["seq"] if fe is not None else np.zeros(0, dtype=np.int64)
        mr_seq = mr["seq"] if mr is not None else np.zeros(0, dtype=np.int64)
        i = 0
        for j in range(nmr):
            k = i + int(np.searchsorted(fe_seq[i:], mr_seq[j]))
            if k > i:
                self._fe_run(fe, i, k)
            self._mr_exact({key: v[j] for key, v in mr.items()})
            i = k
        if i < nfe:
            self._fe_run(fe, i, nfe)

    def _read_fe(self, n: int) -> dict:
        """Records fe_rd .. fe_rd+n-1, from the banks that hold them."""
        parts = []
        first = self.fe_rd
        while n:
            b = (first // self.bank_recs) % len(self._banks)
            k = first % self.bank_recs
            c = min(n, self.bank_recs - k)
            parts.append(_bits(self._get_bits(b), self.bank_recs,
                               self.fe_w, k, c))
            first += c
            n -= c
        return _decode(parts[0] if len(parts) == 1 else np.concatenate(parts), self.fe_off)

    def _fe_plan(self, fe: dict, lo: int, hi: int) -> tuple:
        """:func:`_fe_plan_kernel` on records lo..hi-1: (ok, first, row, kind, mask, t_sense,
        t_end, served, record, pulse)."""
        n = hi - lo
        tm = self.timing
        ok = np.empty(n, dtype=bool)
        first = np.empty(n + 1, dtype=np.int64)
        orow, okind, orec, opulse = (np.empty(2 * n, dtype=np.int64) for _ in range(4))
        otsn, oten = np.empty(2 * n), np.empty(2 * n)
        osrv = np.empty(2 * n, dtype=bool)
        omask = np.empty((2 * n, self.L), dtype=bool)
        _fe_plan_compiled(lo, hi, *(fe[k] for k in (
            "row", "np", "err", "bl0", "sns0", "srv0", "bl1", "sns1", "srv1", "twl", "ts0",
            "ta0", "te0", "ts1", "ta1", "te1", "tfall", "mask0", "mask1")), self._nominal_ns,
            float(tm.t_setup_ns), float(tm.t_hold_ns), float(tm.fe_min_ns),
            float(tm.t_sense_ns), ok, first, orow, okind, omask, otsn, oten, osrv, orec, opulse)
        return ok, first, orow, okind, omask, otsn, oten, osrv, orec, opulse

    def _fe_run(self, fe: dict, lo: int, hi: int) -> None:
        """FeCAP records lo..hi-1: nominal legal ones in batches, the others pulse by pulse."""
        a = self.array
        plan = self._fe_plan(fe, lo, hi)
        ok = plan[0]
        if a.fe._faults or a.active is not None:
            ok[:] = False
        if self._fe_begun is not None:
            ok[0] = False                      # its first pulses were applied at the miss
        ok = ok.tolist()
        i = 0
        n = hi - lo
        while i < n:
            if not ok[i]:
                self._fe_exact({k: v[lo + i] for k, v in fe.items()})
                i += 1
                continue
            j = i
            while j < n and ok[j]:
                j += 1
            self._fe_batch(fe, plan, i, j, lo + j)
            i = j

    def _fe_batch(self, fe: dict, plan: tuple, i: int, j: int, hi: int) -> None:
        """Nominal legal records i..j-1 of a plan (:meth:`_fe_plan`; ``hi`` the absolute end)
        in one :meth:`HybridArray.fe_batch`."""
        _, first, orow, okind, omask, otsn, oten, osrv, orec, opulse = plan
        o0, o1 = int(first[i]), int(first[j])
        row = orow[o0:o1]
        data, done = self.array.fe_batch(row, okind[o0:o1], omask[o0:o1], otsn[o0:o1],
                                         oten[o0:o1])
        chk = osrv[o0:o0 + done]
        if chk.any():
            got = data[:done][chk]
            served = fe["rdata"][orec[o0:o0 + done][chk]]
            if not np.array_equal(got, served):
                bad = int(np.flatnonzero((got != served).any(axis=1))[0])
                bad = int(np.flatnonzero(chk)[bad])
                raise TlmError(f"FeCAP read of row {int(row[bad])}: the monitor served "
                               f"{_hex(fe['rdata'][orec[o0 + bad]])} from the read cache, the "
                               f"array gives {_hex(data[bad])}")
            self.served += int(np.count_nonzero(chk))
        if done < o1 - o0:
            # a read of a row pending write-back: from that pulse on, pulse by pulse
            ri, p0 = int(orec[o0 + done]), int(opulse[o0 + done])
            self._fe_exact({k: v[ri] for k, v in fe.items()}, first_pulse=p0)
            if ri + 1 < hi:
                self._fe_run(fe, ri + 1, hi)

    def _fe_exact(self, r: dict, *, stop_at_sense: bool = False, first_pulse: int = 0):
        """One FeCAP record pulse by pulse, as the pin-level model applies it, from pulse
        ``first_pulse`` on. With ``stop_at_sense`` (a record still open, at a read the
        cache could not serve): its pulses up to the sense strobe of the last one, returning
        the sensed data; the record's rest is applied when it is complete."""
        a = self.array
        tm = self.timing
        twl = int(r["twl"])
        t0 = twl / 1000.0
        row = int(r["row"])
        where = f"row {row}"
        resume = None                 # the pulse begun and sensed at a miss
        if not stop_at_sense and self._fe_begun is not None and self._fe_begun[0] == twl:
            resume = self._fe_begun[1]
            self._fe_begun = None
        if r["err"]:
            key = ("fe", twl, int(r["err"]))
            if key not in self._reported:
                self._report(r["err"], t0 + int(r["terr"]) / 1000, where)
            self._reported.discard(key)
            if resume is not None:
                a.active = None
            return None
        npl = int(r["np"])
        data = None
        last_end = None
        for p in range(first_pulse, npl):
            ts = t0 + int(r[f"ts{p}"]) / 1000
            te = t0 + int(r[f"te{p}"]) / 1000
            if resume is not None and p < resume:
                last_end = te                   # applied at the miss
                continue
            try:
                if resume is None or p > resume:
                    bl = bool(r[f"bl{p}"])
                    if ts - t0 < tm.t_setup_ns - T_EPS_NS:
                        raise MacroProtocolError(
                            "FeCAP bit-line pulse" if bl else "FeCAP source-line pulse", where, ts,
                            f"started {fmt_ns(ts - t0)} ns after fe_wl_o rose; at least "
                            f"{fmt_ns(tm.t_setup_ns)} ns setup needed", "fe.2")
                    mask = r[f"mask{p}"]
                    a.fe_begin("bl" if bl else "sl", row, None if mask.all() else mask, ts)
                    if r[f"sns{p}"]:
                        try:
                            data = a.fe_sense(t0 + int(r[f"ta{p}"]) / 1000)
                        except MacroProtocolError as e:
                            self._error(e)
                    if stop_at_sense and p == npl - 1:
                        self._fe_begun = (twl, p)
                        return data
                a.fe_end(te)
                last_end = te
            except MacroProtocolError as e:
                a.active = None
                self._error(e)
        if stop_at_sense:
            return data
        tf = t0 + int(r["tfall"]) / 1000
        if last_end is not None and tf - last_end < tm.t_hold_ns - T_EPS_NS:
            self._error(MacroProtocolError("word line off", where, tf,
                                           f"{fmt_ns(tf - last_end)} ns after the FeCAP pulse "
                                           f"ended; at least {fmt_ns(tm.t_hold_ns)} ns hold "
                                           "needed", "fe.2"))
        return data

    def _mr_exact(self, r: dict, *, stop_at_adc: bool = False):
        """One memristor-port record, as the pin-level model applies it. With
        ``stop_at_adc`` (an open read at its ADC strobe): up to the conversion, returning the
        codes; the end when the record is complete."""
        a = self.array
        ts_ps = int(r["ts"])
        t0 = ts_ps / 1000.0
        kind = MR_KINDS.get(int(r["kind"]))
        if not stop_at_adc and self._mr_begun == ts_ps:
            self._mr_begun = None
            try:
                a.mr_end(t0 + int(r["te"]) / 1000)
            except MacroProtocolError as e:
                a.active = None
                self._error(e)
            return None
        if r["err"]:
            key = ("mr", ts_ps, int(r["err"]))
            if key not in self._reported:
                self._report(r["err"], t0 + int(r["terr"]) / 1000, f"slot {int(r['slot'])}")
            self._reported.discard(key)
            return None
        if kind is None:
            return None
        codes = None
        try:
            a.mr_begin(kind, int(r["slot"]), r["pol"], r["mask"],
                       r["code"].reshape(self.L, -1) @ (1 << np.arange(a.geom.code_bits))
                       if kind == "set" else None, t0)
            if r["adc"]:
                codes = a.mr_adc(t0 + int(r["ta"]) / 1000)
            if stop_at_adc:
                self._mr_begun = ts_ps
                return codes
            a.mr_end(t0 + int(r["te"]) / 1000)
        except MacroProtocolError as e:
            a.active = None
            self._error(e)
        return codes

    # -------------------------------------------------------------- the read cache

    def _on_poke(self, event: str) -> None:
        """The backdoor: before a peek or poke, apply what is pending; after a poke, every
        prediction is stale."""
        if not self._running or self._in_callback:
            return
        if event == "sync":
            self._drain()
        elif event == "poked":
            self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        """Predict the next read of every row changed since its last prediction."""
        raw = self._get_bits("gen_q")
        gens = (raw.reshape(self.R, self.gen_bits) * (1 << np.arange(self.gen_bits))).sum(axis=1)
        dirty = np.ones(self.R, dtype=bool) if force else gens != self._cache_gen
        if not dirty.any():
            return
        rows = np.flatnonzero(dirty)
        pred = self.array.fe.predict_rows(rows)
        if pred is None:
            # no prediction possible (unkeyed array, faults): every read asks Python
            self._cache_gen[:] = -1
            self._put_vec("cache_gen_v", (gens + 1) % (1 << self.gen_bits), self.gen_bits)
            return
        self._cache[rows] = pred
        self._cache_gen[rows] = gens[rows]
        self._put_bits("cache_v", self._cache)
        self._put_vec("cache_gen_v", self._cache_gen, self.gen_bits)

    # -------------------------------------------------------------- writing

    def _get_bits(self, name) -> np.ndarray:
        """A vector of the monitor (a name of ``_h``, or a FeCAP log bank's number) as
        bools, bit 0 first."""
        v = self._vec.get(name)
        if v is not None:
            return v.get_bits()
        h = self._banks[name] if isinstance(name, int) else self._h[name]
        return _str_bits(h.get_signal_val_binstr())

    def _put(self, name: str, value: int, width: int) -> None:
        """A narrow vector (pointers, read data): a GPI string costs less than words here."""
        self._h[name].set_signal_val_binstr(self._deposit, format(int(value), f"0{width}b"))

    def _put_vec(self, name: str, values, width: int) -> None:
        """Values (n,) into a packed vector, element i at [i*width +: width]."""
        v = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
        bits = ((v[:, None] >> np.arange(width)) & 1).astype(bool).reshape(-1)
        self._put_bits(name, bits)

    def _put_bits(self, name: str, bits) -> None:
        v = self._vec.get(name)
        if v is not None:
            v.put_bits(bits)
            return
        b = np.asarray(bits, dtype=bool).reshape(-1)[::-1]
        self._h[name].set_signal_val_binstr(
            self._deposit, (b.view(np.uint8) + 48).tobytes().decode("ascii"))   # '0' / '1'


def _uint(h) -> int:
    """A raw handle's value as an unsigned int, X/Z bits as 0."""
    t = h.get_signal_val_binstr()
    return int(t.translate(_XZ0), 2) if t else 0


_XZ0 = str.maketrans("xXzZuUwW-", "000000000")


def _bits_int(bits) -> int:
    return int.from_bytes(np.packbits(np.asarray(bits, dtype=bool), bitorder="little").tobytes(),
                          "little")


def _hex(bits) -> str:
    return f"0x{_bits_int(bits):0{(len(bits) + 3) // 4}X}"


__all__ = ["MacroTlmModel", "TlmError", "FE_FIELDS", "MR_FIELDS", "TLM_ERRORS", "layout_svh"]
