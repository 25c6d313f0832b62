"""Small helpers shared by the cocotb testbenches in ``tb/``.

Imported only inside simulations (it needs a running cocotb).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, FallingEdge, First, ReadOnly, RisingEdge

CLK_PERIOD_NS = 10  # 100 MHz, the documented nominal controller clock


def params() -> dict:
    """The RTL parameters of this build (set by :func:`hymem.sim.simrun.run`)."""
    return json.loads(os.environ.get("HYMEM_PARAMS", "{}"))


def sim_name() -> str:
    return os.environ.get("HYMEM_SIM", "unknown")


def cross_check() -> bool:
    """True in a regression's run on the slow simulator (Icarus) when the fast one (Verilator)
    runs the same bench with the full stimulus: long stimulus loops may then be shortened, the
    simulators still compared on every directed case. tb/conftest.py sets ``HYMEM_FULL=1`` with
    ``--full`` (make test FULL=1) or when one simulator only is selected."""
    return sim_name() == "icarus" and os.environ.get("HYMEM_FULL", "1") != "1"


def rng() -> np.random.Generator:
    """A NumPy generator seeded from cocotb's per-test seed (printed in the log)."""
    seed = int(cocotb.RANDOM_SEED) & 0xFFFF_FFFF_FFFF_FFFF
    cocotb.log.info("numpy Generator seeded with %d (COCOTB_RANDOM_SEED-derived)", seed)
    return np.random.default_rng(seed)


async def start_clock(clk, period_ns: int = CLK_PERIOD_NS, impl: str | None = None) -> None:
    """Start a clock on ``clk`` and wait for its first rising edge. ``impl="gpi"``: cocotb's
    C++ clock (no Python per edge; cocotb 2.1's default without COCOTB_TRUST_INERTIAL_WRITES
    is a Python coroutine, two Python wake-ups per cycle)."""
    Clock(clk, period_ns, unit="ns", impl=impl).start(start_high=False)
    await RisingEdge(clk)


async def reset(clk, rst_n, cycles: int = 2) -> None:
    """Synchronous active-low reset for ``cycles`` rising edges."""
    rst_n.value = 0
    await ClockCycles(clk, cycles)
    rst_n.value = 1
    await RisingEdge(clk)


def u(handle) -> int:
    """Unsigned value of a signal of any width (a 1-bit port may be a Logic)."""
    v = handle.value
    return v.to_unsigned() if hasattr(v, "to_unsigned") else int(v)


def to_planes(values, bits: int) -> int:
    """Per-lane values -> a bit-sliced port value: bit ``b`` of lane ``l`` at ``b * lanes + l``
    (the layout of ``hymem_msb_extract`` and ``hymem_slot_decode``; with one lane, the value)."""
    v = np.asarray(values, dtype=np.int64).ravel()
    out = 0
    for b in range(bits):
        plane = ((v >> b) & 1).astype(bool)
        out |= int.from_bytes(np.packbits(plane, bitorder="little").tobytes(), "little") << (b * len(v))
    return out


def from_planes(value: int, lanes: int, bits: int) -> np.ndarray:
    """A bit-sliced port value (see :func:`to_planes`) -> ``(lanes,)`` values."""
    n = lanes * bits
    raw = np.frombuffer(int(value).to_bytes((n + 7) // 8, "little"), dtype=np.uint8)
    b = np.unpackbits(raw, bitorder="little")[:n].reshape(bits, lanes).astype(np.int64)
    return (b << np.arange(bits)[:, None]).sum(axis=0)


def fast_reader(handle):
    """A function returning the unsigned value of ``handle`` through the simulator's binary
    string (faster than ``handle.value``); X or Z comes back as that string, which never
    equals an expected integer."""
    fn = getattr(getattr(handle, "_handle", None), "get_signal_val_binstr", None)
    if fn is None:
        return lambda: u(handle)

    def read():
        s = fn()
        try:
            return int(s, 2)
        except ValueError:
            return s
    return read


def _clock_low(clk) -> bool:
    """The clock is low now (a value change seen at a falling edge's time step)."""
    return str(clk.value) == "0"


class LockstepMonitor:
    """Runs a cycle-level reference in lock step with the DUT and compares every output in
    every cycle. At each falling edge (after ReadOnly) every output ``ref.expected()`` names
    is compared with the value it gives; then ``ref.edge(inputs, cycle)`` steps the reference
    with ``inputs`` (name -> value of each port in ``inputs``), what the next rising edge
    samples. Checking starts at the first edge with ``rst_ni`` low (outputs are X before
    it). A mismatch raises AssertionError naming the cycle, the output, both values and
    ``ref.op`` / ``ref.phase`` (the operation and phase the reference is in). ``checked``
    counts the cycles compared. A reference with outputs that depend on the cycle's inputs
    (combinational) has ``ref.comb(inputs)``, called with them before ``ref.expected()``;
    ``expected()`` may name different outputs from cycle to cycle (an output it cannot
    predict in a cycle is left out).

    ``wake_on`` (signal names, or a function giving them for the reference's state): skip the cycles in which nothing can change. After a step,
    when ``ref.steady(inputs)`` says that another edge with the same inputs would change
    nothing, the monitor sleeps until one of ``wake_on`` changes value (with
    ``watch_outputs``, also one of the outputs compared so far) or the testbench calls
    :meth:`kick` as it drives an input that moves the reference, then checks from that cycle
    on (a change at a falling edge, where the testbench drives, is checked in that cycle: the
    next rising edge samples it). With ``watch_outputs`` every output is still compared
    whenever it changes; without (cheaper: Verilator evaluates every value-change callback
    at every time step), the outputs are compared in every cycle in which the reference
    moves and the one after it, not in the steady cycles between. ``cycle`` then counts the
    cycles checked, not the clock; ``slept``, the sleeps."""

    def __init__(self, dut, ref, inputs, clk=None, wake_on=None,
                 watch_outputs: bool = True) -> None:
        self.dut, self.ref = dut, ref
        self.clk = dut.clk_i if clk is None else clk
        self.cycle = self.checked = 0
        self.synced = False
        self._in = {n: fast_reader(getattr(dut, n)) for n in inputs}
        if "rst_ni" not in self._in:
            raise ValueError("LockstepMonitor: inputs must include rst_ni (checking starts at reset)")
        self._out = {n: fast_reader(getattr(dut, n)) for n in ref.expected()}
        self._comb = getattr(ref, "comb", None)
        self._wake_on = wake_on if wake_on is None or callable(wake_on) else tuple(wake_on)
        self._watch_outputs = watch_outputs
        self._kick = Event()
        self.slept = 0
        self.task = cocotb.start_soon(self._run())

    def kick(self) -> None:
        """The testbench drives an input that moves the reference (call it as it drives)."""
        self._kick.set()

    async def _sleep(self) -> bool:
        """Until a watched signal changes or a kick; True if at a falling edge (clock low)."""
        names = self._wake_on() if callable(self._wake_on) else self._wake_on
        watched = [getattr(self.dut, n) for n in names] + (
            [getattr(self.dut, n) for n in self._out] if self._watch_outputs else [])
        await First(*(h.value_change for h in watched), self._kick.wait())
        self._kick.clear()
        self.slept += 1
        return _clock_low(self.clk)

    async def _run(self) -> None:
        same_step = False
        while True:
            if not same_step:
                await FallingEdge(self.clk)
            await ReadOnly()
            same_step = False
            self.cycle += 1
            inputs = {n: r() for n, r in self._in.items()}
            self._kick.clear()          # what a kick announced is in these inputs
            if self.synced:
                if self._comb is not None:
                    self._comb(inputs)
                for name, want in self.ref.expected().items():
                    if name not in self._out:
                        self._out[name] = fast_reader(getattr(self.dut, name))
                    got = self._out[name]()
                    if got != want:
                        raise AssertionError(
                            f"cycle {self.cycle}: {name} = {got if isinstance(got, str) else hex(got)}, "
                            f"reference {want:#x}; operation: {getattr(self.ref, 'op', None) or 'none (idle)'}, "
                            f"phase {getattr(self.ref, 'phase', '?')}")
                self.checked += 1
            elif self._in["rst_ni"]() != 0:
                continue            # before the first reset edge: outputs are X
            self.synced = True
            self.ref.edge(inputs, self.cycle)
            if self._wake_on is not None and self.ref.steady(inputs):
                same_step = await self._sleep()


def current_test_name() -> str:
    """The name of the cocotb test running now ("?" outside one)."""
    from cocotb import _test_manager          # no public accessor in cocotb 2.1
    t = getattr(_test_manager, "_current_test", None)
    task = getattr(t, "_main_task", None)
    name = task.get_name() if task is not None else "?"
    return name[5:] if name.startswith("Test ") else name


class FuncCov:
    """Functional coverage of a block bench: named bins, their counts and the tests that hit
    them, written (after every :meth:`write`) as the run's report ``funcov.json`` in the
    format of hymem_top's (``bench``, ``params``, ``complete``, ``bins``: count, tests,
    waiver). ``make coverage`` keeps it (hymem.sim.simrun) and scripts/coverage.py merges every
    bench's into build/coverage/functional.md, failing on a bin neither hit nor waived
    (docs/coverage_waivers.md, kind ``bin``). ``complete``: every test of the bench ran (no
    test filter). One object per bench and simulation (:meth:`of`): the bins accumulate over
    the run's tests."""

    _of: dict[str, "FuncCov"] = {}

    def __init__(self, bench: str, bins) -> None:
        self.bench = bench
        self.count = {b: 0 for b in bins}
        self.tests: dict[str, set] = {b: set() for b in bins}

    @classmethod
    def of(cls, bench: str, bins) -> "FuncCov":
        c = cls._of.get(bench)
        if c is None:
            c = cls._of[bench] = cls(bench, bins)
        return c

    def hit(self, name: str, n: int = 1) -> None:
        if name not in self.count:
            raise KeyError(f"{self.bench}: no functional bin {name!r}")
        if n:
            self.count[name] += n
            self.tests[name].add(current_test_name())

    def write(self, path: str | None = None) -> dict:
        from . import covwaivers, simrun
        waivers = covwaivers.bin_waivers(self.bench)

        def reason(b):
            w = covwaivers.waived_bin(self.bench, b, waivers)
            return w.reason if w else None
        report = {"bench": self.bench, "params": params(),
                  "complete": not os.environ.get("COCOTB_TEST_FILTER"),
                  "bins": {b: {"count": c, "tests": sorted(self.tests[b]), "waived": reason(b)}
                           for b, c in self.count.items()}}
        with open(path or simrun.FUNCOV_FILE, "w") as f:
            json.dump(report, f, indent=1)
        return report

    def summary(self) -> str:
        hit = sum(1 for c in self.count.values() if c)
        return f"{self.bench}: {hit}/{len(self.count)} functional bins hit"
