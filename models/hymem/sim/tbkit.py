"""Small helpers shared by the cocotb testbenches in ``tb/``.

Imported only inside simulations (it needs a running cocotb).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

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


class LockstepMonitor:
    """Runs a cycle-level reference in lock step with the DUT and compares every output in
    every cycle. At each falling edge (after ReadOnly) every output ``ref.expected()`` names
    is compared with the value it gives; then ``ref.edge(inputs, cycle)`` steps the reference
    with ``inputs`` (name -> value of each port in ``inputs``), what the next rising edge
    samples. Checking starts at the first edge with ``rst_ni`` low (outputs are X before
    it). A mismatch raises AssertionError naming the cycle, the output, both values and
    ``ref.op`` / ``ref.phase`` (the operation and phase the reference is in). ``checked``
    counts the cycles compared."""

    def __init__(self, dut, ref, inputs, clk=None) -> None:
        self.dut, self.ref = dut, ref
        self.clk = dut.clk_i if clk is None else clk
        self.cycle = self.checked = 0
        self.synced = False
        self._in = {n: fast_reader(getattr(dut, n)) for n in inputs}
        if "rst_ni" not in self._in:
            raise ValueError("LockstepMonitor: inputs must include rst_ni (checking starts at reset)")
        self._out = {n: fast_reader(getattr(dut, n)) for n in ref.expected()}
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        while True:
            await FallingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            if self.synced:
                for name, want in self.ref.expected().items():
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
            self.ref.edge({n: r() for n, r in self._in.items()}, self.cycle)
