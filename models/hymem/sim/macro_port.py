"""cocotb adapter: the hybrid-array model on the controller's macro port.

:class:`MacroPortModel` sits on the port signals of ``docs/macro_port.md`` (``fe_*_o``,
``mr_*_o``, ``tl_pre_o``, ``xfer_o`` from the controller; ``fe_rdata_i``, ``mr_rdata_i`` to
it) the way cocotb's ``examples/analog_model`` puts a Python model beside the digital design:
coroutines that wake only when a port signal changes (a pulse starts or ends, a strobe, an
address or mask change), never on clock edges. All changes of one simulation time step are
read in its ReadOnly phase and handed together to :class:`hymem.analog.port.MacroPort`, which checks
the protocol and drives the :class:`hymem.analog.array.HybridArray`; sensed data and ADC codes are
driven one time step (1 ps) later, well inside the clock cycle the protocol allows.

Time is simulation time in ns (``cocotb.simtime.get_sim_time``): pulse widths are physics,
so a test with few cycles per pulse uses a slower clock, not shorter pulses.

The watchers are plain simulator callbacks (``cocotb.simulator``: value change, ReadOnly,
timed and ReadWrite callbacks), not cocotb tasks: a port operation wakes the model 4 to 6
times, each time for several pins, and going through cocotb's scheduler for every one of
those wake-ups cost more than the model's own work (docs/bench/cosim.md). The callbacks
are removed when the test ends (they belong to a guard task that cocotb cancels then) or
on :meth:`MacroPortModel.stop`.

What is watched (``watch=``, ``mon=``; see :class:`MacroPortModel`): Verilator evaluates
every registered value-change callback at every time step, whether its signal changed or
not, so on Verilator the model watches the 11 controls (through one control-monitor vector
where the harness provides it) and a port's address and mask vectors only while that port
is in use; unwatched vectors are read when a control of their port changes. Every change
the rules forbid is still seen at its time step. On Icarus (4-state: a vector going
X/Z is an error whenever it happens) every pin is watched.

Errors: every :class:`~hymem.analog.port.MacroProtocolError` is recorded in ``errors`` and, unless
a test expects it (:meth:`MacroPortModel.expect_error`), raised from the model's guard task,
which makes cocotb fail the test (at the next scheduling point of the test, before any of
its code runs again).

Usage in a testbench::

    array = HybridArray(rng=tbkit.rng(), woken=True)
    port = MacroPortModel(dut, array).start()
    ...                                  # drive the controller
    port.check_quiescent()               # whenever the controller reports idle
    with port.expect_error(rule="fe.6"):
        ...                              # provoke a violation on purpose
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from dataclasses import dataclass, field

import cocotb
import cocotb.handle
import numpy as np
from cocotb import simulator
from cocotb.simtime import convert, get_sim_time
from cocotb.triggers import Event

from ..analog.array import HybridArray
from ..analog.port import CONTROLS, VECTORS, MacroPort, MacroProtocolError, PortTiming

#: Port signal -> pin name on the controller (override with ``pins=``).
DEFAULT_PINS = {**{k: f"{k}_o" for k in CONTROLS + VECTORS},
                "fe_rdata": "fe_rdata_i", "mr_rdata": "mr_rdata_i"}

_BITVEC = ("fe_mask", "mr_pol", "mr_mask")

#: Default name of a harness's port monitor: the 11 control pins in ``CONTROLS`` order, then
#: the FeCAP row address and mask, concatenated, first one most significant
#: (``{fe_wl_o, fe_sl_o, ..., xfer_o, fe_row_o, fe_mask_o}``).
MON_SIGNAL = "macro_port_mon"
#: Wake-ups during which the model cross-checks the port monitor against the pins.
MON_CROSSCHECK = 64
#: The controls whose changes bring each group of vectors up to date, and which protect
#: which vector (rules fe.1 and mr.2: a protected vector must not change).
_FE_CTL = ("fe_wl", "fe_sl", "fe_bl")
_MR_CTL = ("mr_reset", "mr_set", "mr_form", "mr_read", "tl_pre", "xfer")
_FE_VEC = ("fe_row", "fe_mask")
_MR_VEC = ("mr_slot", "mr_pol", "mr_mask", "mr_code")


@dataclass
class ExpectedError:
    """What :meth:`MacroPortModel.expect_error` waits for, and what it caught."""

    rule: str | None
    match: str | None
    seen: list = field(default_factory=list)

    def matches(self, e: MacroProtocolError) -> bool:
        return ((self.rule is None or e.rule == self.rule)
                and (self.match is None or re.search(self.match, str(e)) is not None))


def bits_to_int(bits: np.ndarray) -> int:
    """(L,) bools, line 0 first -> an int whose bit l is line l."""
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def int_to_bits(value: int, n: int) -> np.ndarray:
    """An int -> (n,) bools, bit l first."""
    b = np.frombuffer(value.to_bytes((n + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(b, bitorder="little")[:n].astype(bool)


def codes_to_int(codes: np.ndarray, bits: int = 8) -> int:
    """(L,) codes -> an int with line l at bits [bits*l + bits-1 : bits*l]."""
    c = np.asarray(codes)
    if bits == 8:
        return int.from_bytes(c.astype(np.uint8).tobytes(), "little")
    out = 0
    for i, v in enumerate(c.tolist()):
        out |= int(v) << (bits * i)
    return out


def int_to_codes(value: int, n: int, bits: int) -> np.ndarray:
    """An int -> (n,) codes of ``bits`` bits each, line 0 in the low bits."""
    b = int_to_bits(value, n * bits).reshape(n, bits)
    return b @ (1 << np.arange(bits))


class PortModelBase:
    """What the pin-level and the transaction-level macro models share: the protocol errors
    they find (``errors``, ``unexpected``), :meth:`expect_error`, :meth:`check`, and a guard
    task that lives as long as the test, raises the first unexpected error found in a
    simulator callback (cocotb then fails the test) and, when cancelled at the end of the
    test, stops the model's callbacks (:meth:`_disarm`)."""

    def __init__(self, raise_errors: bool = True) -> None:
        self.raise_errors = raise_errors
        self.errors: list[MacroProtocolError] = []       # every error, expected or not
        self.unexpected: list[MacroProtocolError] = []   # those no expect_error caught
        self._expect: list[ExpectedError] = []
        self._running = False
        self._in_callback = False
        self._guard = None
        self._guard_started = False
        self._fail = Event()
        self._fail_exc: BaseException | None = None

    def _disarm(self) -> None:          # the subclass removes its callbacks
        self._running = False

    def _start_guard(self) -> None:
        self._guard_started = False
        self._guard = cocotb.start_soon(self._guard_task())

    def stop(self) -> None:
        """Stop watching the port (also done when the test ends)."""
        self._disarm()
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    async def _guard_task(self) -> None:
        """Lives as long as the test: raises the first unexpected error found in a callback
        (cocotb fails the test); cancelled at the end of the test, it removes the callbacks."""
        self._guard_started = True
        try:
            await self._fail.wait()
            raise self._fail_exc
        finally:
            self._disarm()

    def _test_over(self) -> bool:
        """In a callback: the test ended before the guard task ever ran (a test that starts
        the model and returns at once), so its cleanup never ran: stop here (once it runs,
        its cleanup stops the callbacks before it is done)."""
        if not self._guard_started and self._guard is not None and self._guard.done():
            self._disarm()
            return True
        return False

    @contextlib.contextmanager
    def expect_error(self, rule: str | None = None, match: str | None = None):
        """Within the block, protocol errors with this ``rule`` (e.g. ``"fe.6"``) whose
        message matches the regular expression ``match`` are expected: recorded in the
        yielded :class:`ExpectedError` instead of failing the test. At least one must occur
        before the block ends (let the offending edge happen inside it), else AssertionError.
        """
        exp = ExpectedError(rule, match)
        self._expect.append(exp)
        try:
            yield exp
        finally:
            self._expect.remove(exp)
        if not exp.seen:
            others = "; ".join(str(e) for e in self.errors[-3:]) or "none"
            raise AssertionError(f"expected a macro protocol error (rule {rule}, matching "
                                 f"{match!r}); none occurred (last errors: {others})")

    def check(self) -> None:
        """Raise the first error that no expectation caught (for ``raise_errors=False``)."""
        if self.unexpected:
            raise self.unexpected[0]

    def _error(self, e: MacroProtocolError) -> None:
        self.errors.append(e)
        for exp in reversed(self._expect):
            if exp.matches(e):
                exp.seen.append(e)
                cocotb.log.info("macro port: expected protocol error: %s", e)
                return
        self.unexpected.append(e)
        cocotb.log.error("macro port: %s", e)
        if self.raise_errors:
            if not self._in_callback:
                raise e
            self._raise_later(e)

    def _raise_later(self, e: BaseException) -> None:
        """From a simulator callback (raising there would end the simulation): hand the
        error to the guard task, which raises it when cocotb next schedules."""
        if self._fail_exc is None:
            self._fail_exc = e
            self._fail.set()


class MacroPortModel(PortModelBase):
    """The macro model on the port pins of ``dut`` (see the module doc).

    ``array``: the :class:`~hymem.analog.array.HybridArray` behind the port (its ``backdoor`` gives
    testbenches peek and poke). ``pins``: port signal -> pin name overrides, for controllers
    whose port is named differently or lives in a sub-scope (``scope``: the handle holding
    the pins, default ``dut``). ``raise_errors=False`` only records errors (call
    :meth:`check`).

    What is watched (value-change callbacks), ``watch``:

    * ``"all"``: every pin (the default on Icarus and other 4-state simulators, where a
      vector going X/Z is an error whenever it happens);
    * ``"lazy"`` (the default on Verilator, 2-state: no pin is ever X/Z): the controls
      always; the address and mask vectors of a port (FeCAP: ``fe_row_o``, ``fe_mask_o``;
      memristor: ``mr_slot_o``, ``mr_pol_o``, ``mr_mask_o``, ``mr_code_o``) from the first
      change of one of that port's pulse or word-line controls (``fe_wl_o``, ``fe_sl_o``,
      ``fe_bl_o``; a memristor-port pulse) on, until a control of the other port is on
      while none of them is protected (rules fe.1 / mr.2). While a port's vectors are not
      watched, they are read whenever one of its controls changes and handed to
      :class:`~hymem.analog.port.MacroPort` as changes of that time step: unwatched vectors are
      never protected (a protecting control rising watches them from that time step on),
      and their values matter only at those edges. So the port sees the same values at
      every edge and every forbidden change at its time step, and finds the same errors.
      Why: Verilator evaluates every registered value-change callback at every time step,
      changed or not, and the memristor vectors, say, never change during an update
      (docs/bench/cosim.md).

    ``mon``: name of the harness's port monitor in ``scope`` (default ``MON_SIGNAL``): the
    11 control pins in ``CONTROLS`` order, then ``fe_row_o`` and ``fe_mask_o``, concatenated
    (testbench-only HDL, a continuous assignment). If the scope has it, one value-change
    callback on it replaces the 13 on those pins (it changes in exactly the time steps one
    of them does, and a time step where a word line or pulse starts with its address or
    mask wakes Python once, not twice); the FeCAP vectors are then always watched. Its
    first ``MON_CROSSCHECK`` wake-ups cross-check it against the pins. ``mon=None``, or a
    scope without it: watch the pins.

    Counters: ``wakeups`` (time steps processed), ``py_time_s`` (Python time spent in them).
    """

    def __init__(self, dut, array: HybridArray, *, timing: PortTiming | None = None,
                 pins: dict | None = None, scope=None, raise_errors: bool = True,
                 watch: str | None = None, mon: str | None = MON_SIGNAL) -> None:
        if not isinstance(array, HybridArray):
            raise ValueError(f"array must be a hymem.analog.array.HybridArray; got {type(array).__name__}")
        super().__init__(raise_errors)
        self.dut = dut
        self.array = array
        self.port = MacroPort(array, timing)
        names = dict(DEFAULT_PINS)
        for k, v in (pins or {}).items():
            if k not in names:
                raise ValueError(f"unknown port signal {k!r}; expected one of {', '.join(names)}")
            names[k] = v
        scope = dut if scope is None else scope
        self.h = {}
        missing = []
        for k, v in names.items():
            try:
                self.h[k] = getattr(scope, v)
            except AttributeError:
                missing.append(v)
        if missing:
            raise ValueError(f"macro port pins not found on {scope._path}: {', '.join(missing)}")
        L = array.L
        geom = array.geom
        want = {"fe_row": max(1, math.ceil(math.log2(geom.fecap_rows))), "fe_mask": L,
                "mr_slot": max(1, math.ceil(math.log2(geom.slots))), "mr_pol": L, "mr_mask": L,
                "mr_code": geom.code_bits * L, "fe_rdata": L, "mr_rdata": array.adc.bits * L}
        for k in CONTROLS:
            want[k] = 1
        for k, n in want.items():
            got = len(self.h[k])
            if (got < n) if k in ("fe_row", "mr_slot") else (got != n):
                raise ValueError(f"pin {names[k]} is {got} bits wide; the array ({L} lines, "
                                 f"{geom.fecap_rows} FeCAP rows, {geom.slots} slots) needs {n}")
        self._pin = names
        # fast readers: the simulator's binary string of each pin (the same call cocotb's
        # handle.value makes, without building a LogicArray); falls back to str(value)
        self._get = {}
        for k in CONTROLS + VECTORS:
            raw = getattr(self.h[k], "_handle", None)
            fn = getattr(raw, "get_signal_val_binstr", None)
            self._get[k] = fn if fn is not None else (lambda h=self.h[k]: str(h.value))
        self._ns_per_step = convert(1, "step", to="ns")
        self._cb = geom.code_bits
        self._wcode = 1 << np.arange(geom.code_bits)
        self._dirty: set[str] = set()
        self._defined: set[str] = set()
        self._last: dict = {}
        self._out: dict[str, int] = {}
        self.wakeups = 0
        self.py_time_s = 0.0
        # simulator callbacks: value change per pin, and the pending ReadOnly / timed /
        # ReadWrite ones (None when not registered)
        self._raw = {k: self.h[k]._handle for k in CONTROLS + VECTORS + ("fe_rdata", "mr_rdata")}
        self._width = {k: len(self.h[k]) for k in ("fe_rdata", "mr_rdata")}
        self._cbs: dict = {}
        self._ro = self._drv = self._rw = None
        self._wq: dict[str, int] = {}
        # writes as cocotb makes them: with trusted inertial writes (Verilator) at once,
        # else queued to the ReadWrite phase of the time step
        self._trust = bool(getattr(cocotb.handle, "_trust_inertial", False))
        self._deposit = cocotb.handle._GPISetAction.DEPOSIT.value
        if watch is None:
            watch = "lazy" if "verilator" in (cocotb.SIM_NAME or "").lower() else "all"
        if watch not in ("all", "lazy"):
            raise ValueError(f"watch must be 'all' or 'lazy'; got {watch!r}")
        self.watch = watch
        self._lazy = watch == "lazy"
        self._mon_tr: dict = {}                # (previous, new) monitor value -> changes
        self._armed_vec: set[str] = set()      # vectors with a value-change callback
        self._fe_watched = self._mr_watched = False   # lazy: a port's vectors are watched
        # the port monitor: one callback for the 11 controls, fe_row and fe_mask
        self._mon = None
        self._mon_last = ""
        self._mon_check = 0
        self._mon_idx: dict = {}               # port signal -> its slice of the monitor
        if mon is not None:
            try:
                mh = getattr(scope, mon)
            except AttributeError:
                mh = None
            if mh is not None:
                nc = len(CONTROLS)
                nr, nm = len(self.h["fe_row"]), len(self.h["fe_mask"])
                if len(mh) != nc + nr + nm:
                    raise ValueError(
                        f"port monitor {mon} is {len(mh)} bits wide; it must concatenate "
                        f"{', '.join(names[k] for k in CONTROLS)}, {names['fe_row']} and "
                        f"{names['fe_mask']}: {nc + nr + nm} bits")
                self._mon_idx = {k: (i, i + 1) for i, k in enumerate(CONTROLS)}
                self._mon_idx["fe_row"] = (nc, nc + nr)
                self._mon_idx["fe_mask"] = (nc + nr, nc + nr + nm)
                self._mon_nc = nc
                self._mon = mh._handle
                self._mon_name = mon
                self._mon_check = MON_CROSSCHECK

    # -------------------------------------------------------------- lifecycle

    def start(self) -> "MacroPortModel":
        """Drive the outputs to 0 and start watching the port. Returns self."""
        if self._running:
            raise RuntimeError("MacroPortModel.start(): already started")
        self.h["fe_rdata"].value = 0
        self.h["mr_rdata"].value = 0
        self._dirty = set(CONTROLS + VECTORS)   # the pins' values now (X/Z: idle)
        if self._mon is not None:
            self._mon_last = self._mon.get_signal_val_binstr()
        self._process()
        self._running = True
        if self._mon is not None:
            self._arm_mon()
        else:
            for k in CONTROLS:
                self._arm(k)
        if self._mon is not None:
            self._fe_watched = True            # through the monitor (it holds fe_row, fe_mask), always
        if not self._lazy:
            for k in VECTORS:
                if k not in self._mon_idx:
                    self._arm(k)
                    self._armed_vec.add(k)
        self._start_guard()
        return self

    def _disarm(self) -> None:
        if not self._running:
            return
        self._running = False
        for cb in self._cbs.values():
            cb.deregister()
        self._cbs.clear()
        self._armed_vec.clear()
        self._fe_watched = self._mr_watched = False
        for name in ("_ro", "_drv", "_rw"):
            cb = getattr(self, name)
            if cb is not None:
                cb.deregister()
                setattr(self, name, None)

    # -------------------------------------------------------------- checking

    def check_quiescent(self) -> None:
        """The array has no pulse on and no row pending write-back (call when the controller
        reports idle); a violation is a protocol error like any other."""
        try:
            self.array.check_quiescent(get_sim_time("ns"))
        except MacroProtocolError as e:
            self._error(e)

    # -------------------------------------------------------------- the watchers

    def _arm(self, name: str) -> None:
        self._cbs[name] = simulator.register_value_change_callback(
            self._raw[name], self._on_change, simulator.VALUE_CHANGE, name)

    def _arm_mon(self) -> None:
        self._cbs[MON_SIGNAL] = simulator.register_value_change_callback(
            self._mon, self._on_mon, simulator.VALUE_CHANGE)

    def _fired(self, key: str) -> bool:
        """A value-change callback fired (they fire once: it is gone). False when the model
        no longer watches; else the caller re-arms it."""
        self._cbs.pop(key, None)        # it fired: never deregister it
        if not self._running:
            return False
        return not self._test_over()

    def _schedule(self) -> None:
        """The first change of a time step schedules one processing in its ReadOnly phase."""
        if self._ro is None:
            self._ro = simulator.register_readonly_callback(self._on_readonly)

    def _on_mon(self) -> None:
        """The port monitor changed: as :meth:`_on_change` (the ReadOnly phase finds
        which controls changed)."""
        if self._fired(MON_SIGNAL):
            self._arm_mon()
            self._schedule()

    def _watch_ports(self) -> None:
        """watch="lazy", after a wake-up where a FeCAP or memristor control changed: stop
        watching a port's vectors once a control of the other port is on and none of them
        is protected (rules fe.1, mr.2); start watching them when one of the port's own
        controls changes (then they were just read)."""
        sig = self.port.sig
        fe_on = any(sig[k] for k in _FE_CTL)
        mr_on = any(sig[k] for k in _MR_CTL)
        if self._fe_watched and mr_on and not fe_on and self._mon is None:
            self._unwatch(_FE_VEC)
            self._fe_watched = False
        if self._mr_watched and fe_on and not mr_on:
            self._unwatch(_MR_VEC)
            self._mr_watched = False

    def _watch_now(self, names, t: float, changes: dict) -> None:
        last = self._last
        for k in names:
            v = self._read(k, t)
            if last.get(k) != v:
                changes[k] = last[k] = v
            self._arm(k)
            self._armed_vec.add(k)

    def _unwatch(self, names) -> None:
        for k in names:
            cb = self._cbs.pop(k, None)
            if cb is not None:
                cb.deregister()
            self._armed_vec.discard(k)

    def _mon_crosscheck(self, s: str) -> None:
        self._mon_check -= 1
        bad = [self._pin[k] for k, (a, b) in self._mon_idx.items() if s[a:b] != self._get[k]()]
        if bad:
            raise RuntimeError(f"port monitor {self._mon_name} disagrees with the pins "
                               f"{', '.join(bad)}: the harness must concatenate "
                               f"{', '.join(self._pin[k] for k in self._mon_idx)} in this order")

    def _mon_transition(self, prev: str, s: str, t: float) -> tuple:
        """The controls that differ between two monitor values, read as :meth:`_read` reads
        a pin: ((name, value), ...), and whether a FeCAP / memristor control is among them.
        Kept for reuse when ``s`` has no X/Z (reading it then has no effect but the value)."""
        pairs = []
        for i, k in enumerate(CONTROLS):
            c = s[i]
            if c != prev[i:i + 1]:
                pairs.append((k, self._read(k, t, c)))
        tr = (tuple(pairs), any(k in _FE_CTL for k, _ in pairs),
              any(k in _MR_CTL for k, _ in pairs))
        if not s.strip("01"):
            if len(self._mon_tr) > 512:
                self._mon_tr.clear()
            self._mon_tr[(prev, s)] = tr
        return tr

    def _on_change(self, name: str) -> None:
        """A pin changed (simulator callbacks fire once: re-arm)."""
        if self._fired(name):
            self._arm(name)
            self._dirty.add(name)
            self._schedule()

    def _on_readonly(self) -> None:
        self._ro = None
        if not self._running:
            return
        self._in_callback = True
        try:
            self._process()
        except Exception as e:          # a bug in the model: fail the test, stop watching
            cocotb.log.exception("macro port: model failed")
            self._raise_later(e)
            self._disarm()
            return
        finally:
            self._in_callback = False
        if self._out and self._drv is None:
            self._drv = simulator.register_timed_callback(1, self._on_drive)   # one step later

    def _on_drive(self) -> None:
        self._drv = None
        out, self._out = self._out, {}
        if self._trust:
            self._write(out)
        else:
            self._wq.update(out)
            if self._rw is None:
                self._rw = simulator.register_rwsynch_callback(self._on_rw)

    def _on_rw(self) -> None:
        self._rw = None
        out, self._wq = self._wq, {}
        self._write(out)

    def _write(self, out: dict) -> None:
        try:
            for k, v in out.items():
                self._raw[k].set_signal_val_binstr(self._deposit, format(v, f"0{self._width[k]}b"))
        except Exception as e:          # an exception in a simulator callback ends the simulation
            cocotb.log.exception("macro port: driving the outputs failed")
            self._raise_later(e)
            self._disarm()

    def _read(self, name: str, t: float, s: str | None = None):
        if s is None:
            s = self._get[name]()
        if name in CONTROLS:
            if s == "1" or s == "0":
                self._defined.add(name)
                return 1 if s == "1" else 0
            return self._undefined(name, s, t, 0)
        try:
            v = int(s, 2)     # vectors stay ints (bit l = line l); MacroPort converts on use
        except ValueError:
            return self._undefined(name, s, t, 0)
        self._defined.add(name)
        return v

    def _undefined(self, name: str, s: str, t: float, idle):
        """X or Z: the idle value before the signal was ever driven (power-up, before the
        controller's reset), a protocol error after."""
        if name in self._defined:
            self._error(MacroProtocolError(f"{self._pin[name]}", "", t,
                                           f"went to {s[:16]}{'...' if len(s) > 16 else ''} "
                                           "(X/Z) after being driven", "data"))
        return idle

    def _process(self) -> None:
        t0 = time.perf_counter()
        self.wakeups += 1
        hi, lo = simulator.get_sim_time()
        t = ((hi << 32) | lo) * self._ns_per_step
        changes = {}
        last = self._last
        fe_grp = mr_grp = False        # a control of that port changed
        mon = self._mon
        if mon is not None and self._running:
            s = mon.get_signal_val_binstr()
            if self._mon_check:
                self._mon_crosscheck(s)
            prev = self._mon_last
            if s != prev:
                self._mon_last = s
                nc = self._mon_nc
                c, pc = s[:nc], prev[:nc]
                if c != pc:
                    tr = self._mon_tr.get((pc, c))
                    if tr is None:
                        tr = self._mon_transition(pc, c, t)
                    pairs, fe_grp, mr_grp = tr
                    for k, v in pairs:
                        if last.get(k) != v:
                            changes[k] = last[k] = v
                for k in _FE_VEC:
                    a, b = self._mon_idx[k]
                    if s[a:b] != prev[a:b]:
                        v = self._read(k, t, s[a:b])
                        if last.get(k) != v:
                            changes[k] = last[k] = v
        dirty = self._dirty
        if dirty:
            text = self._mon_last
            idx = self._mon_idx
            for k in dirty:
                ab = idx.get(k)                # (in the monitor: only from start())
                v = self._read(k, t, text[ab[0]:ab[1]] if ab else None)
                if k in _FE_CTL:
                    fe_grp = True
                elif k in _MR_CTL:
                    mr_grp = True
                if last.get(k) != v:
                    changes[k] = last[k] = v
            dirty.clear()
        lazy = self._lazy and self._running and (fe_grp or mr_grp)
        if lazy:
            # a port's unwatched vectors are brought up to date when one of its controls
            # changes (the values a pulse start or a message may use), then watched
            if fe_grp and not self._fe_watched:
                self._watch_now(_FE_VEC, t, changes)
                self._fe_watched = True
            if mr_grp and not self._mr_watched:
                self._watch_now(_MR_VEC, t, changes)
                self._mr_watched = True
        out, errs = self.port.apply(t, changes, changed=True)
        if lazy and (self._mr_watched or (self._fe_watched and self._mon is None)):
            self._watch_ports()
        if out:
            if "fe_rdata" in out:
                self._out["fe_rdata"] = bits_to_int(out["fe_rdata"])
            if "mr_rdata" in out:
                self._out["mr_rdata"] = codes_to_int(out["mr_rdata"], self.array.adc.bits)
        self.py_time_s += time.perf_counter() - t0
        for e in errs:
            self._error(e)

    # -------------------------------------------------------------- statistics

    def stats(self) -> dict:
        """Wake-ups (time steps with port activity) and the Python time they took."""
        n = max(self.wakeups, 1)
        return {"wakeups": self.wakeups, "py_time_s": self.py_time_s,
                "watch": self.watch, "port_monitor": self._mon is not None,
                "monitor_fields": list(self._mon_idx),
                "us_per_wakeup": 1e6 * self.py_time_s / n, "errors": len(self.errors)}
