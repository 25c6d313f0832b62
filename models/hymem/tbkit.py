"""Small helpers shared by the cocotb testbenches in ``tb/``.

Imported only inside simulations (it needs a running cocotb).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

CLK_PERIOD_NS = 10  # 100 MHz, the documented nominal controller clock


def params() -> dict:
    """The RTL parameters of this build (set by :func:`hymem.simrun.run`)."""
    return json.loads(os.environ.get("HYMEM_PARAMS", "{}"))


def sim_name() -> str:
    return os.environ.get("HYMEM_SIM", "unknown")


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
