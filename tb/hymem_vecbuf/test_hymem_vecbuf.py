"""hymem_vecbuf: the int8 vector buffer, against a Python model of its datasheet.

Model (:class:`VecbufRef`): Depth bytes; a write of word w with strobes stores byte b of
the data in entry 4w + b for every strobed b; a read presents raddr_i and rdata_o holds that
entry from the next clock edge on (a synchronous RAM; a read and a write of the same entry
at one edge return the old byte, as a registered read of the RAM does); entries at or beyond
Depth read 0. The buffer has no reset: an entry never written has no defined value and is
not compared. :class:`Monitor` checks rdata_o in every cycle of every test.

Parameter sets: the core's x buffer (Depth 256 read with the engine's 11-bit index) and a
buffer whose read address is exactly as wide as it needs (Depth 16, AddrBits 4).
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer

from hymem import simrun, tbkit

TOPLEVEL = "hymem_vecbuf"

PARAM_SETS = {
    "d256_a11": dict(Depth=256, AddrBits=11),
    "d16_a4": dict(Depth=16, AddrBits=4),
}


class VecbufRef:
    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.mem: list[int | None] = [None] * depth   # None: never written
        self.rdata: int | None = None                  # what rdata_o must hold now

    def edge(self, we: int, waddr: int, wdata: int, wstrb: int, raddr: int) -> None:
        self.rdata = self.mem[raddr] if raddr < self.depth else 0
        if we:
            for b in range(4):
                if (wstrb >> b) & 1:
                    self.mem[4 * waddr + b] = (wdata >> (8 * b)) & 0xFF


class Monitor:
    def __init__(self, dut, ref: VecbufRef) -> None:
        self.dut, self.ref = dut, ref
        self.checked = 0
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        d = self.dut
        while True:
            await FallingEdge(d.clk_i)
            await ReadOnly()
            if self.ref.rdata is not None:
                got = tbkit.u(d.rdata_o)
                assert got == self.ref.rdata, f"rdata_o = {got:#04x}, model {self.ref.rdata:#04x}"
                self.checked += 1
            self.ref.edge(tbkit.u(d.we_i), tbkit.u(d.waddr_i), tbkit.u(d.wdata_i),
                          tbkit.u(d.wstrb_i), tbkit.u(d.raddr_i))


class Env:
    def __init__(self, dut) -> None:
        self.dut = dut
        p = tbkit.params()
        self.depth, self.abits = p["Depth"], p["AddrBits"]
        self.words = self.depth // 4
        self.rng = tbkit.rng()
        self.ref = VecbufRef(self.depth)
        self.mon = None

    async def start(self) -> None:
        d = self.dut
        d.we_i.value = 0
        d.waddr_i.value = 0
        d.wdata_i.value = 0
        d.wstrb_i.value = 0
        d.raddr_i.value = 0
        await tbkit.start_clock(d.clk_i)
        self.mon = Monitor(d, self.ref)

    async def cycle(self, we=0, waddr=0, wdata=0, wstrb=0, raddr=0) -> None:
        """Drive one cycle's inputs at a falling edge (sampled by the next rising edge)."""
        d = self.dut
        await FallingEdge(d.clk_i)
        d.we_i.value, d.waddr_i.value, d.wdata_i.value = we, waddr, wdata
        d.wstrb_i.value, d.raddr_i.value = wstrb, raddr

    async def write(self, waddr: int, wdata: int, wstrb: int = 0xF) -> None:
        await self.cycle(1, waddr, wdata, wstrb, int(self.rng.integers(2**self.abits)))

    async def read(self, raddr: int) -> int:
        """The byte rdata_o holds after raddr was presented for one edge."""
        await self.cycle(0, int(self.rng.integers(self.words)), int(self.rng.integers(2**32)),
                         int(self.rng.integers(16)), raddr)
        await FallingEdge(self.dut.clk_i)
        return tbkit.u(self.dut.rdata_o)

    async def fill(self) -> list[int]:
        """Write every word with random non-zero bytes; returns the entries."""
        vals = [int(x) for x in self.rng.integers(1, 256, size=self.depth)]
        for w in range(self.words):
            await self.write(w, sum(vals[4 * w + b] << (8 * b) for b in range(4)))
        return vals


@cocotb.test()
async def packing_and_strobes(dut):
    """Entry 4w+b is byte b of word w; each strobe writes its byte only; no strobe, or
    we_i low, writes nothing."""
    env = Env(dut)
    await env.start()
    vals = await env.fill()
    w = int(env.rng.integers(env.words))
    await env.write(w, 0x44332211)
    assert [await env.read(4 * w + b) for b in range(4)] == [0x11, 0x22, 0x33, 0x44]
    for strb in range(16):
        before = [await env.read(4 * w + b) for b in range(4)]
        data = int(env.rng.integers(2**32))
        await env.write(w, data, strb)
        after = [await env.read(4 * w + b) for b in range(4)]
        want = [(data >> (8 * b)) & 0xFF if (strb >> b) & 1 else before[b] for b in range(4)]
        assert after == want, f"strobe {strb:04b}: entries {after}, want {want}"
    await env.cycle(0, w, 0xA5A5A5A5, 0xF, 4 * w)            # we_i low: nothing written
    assert await env.read(4 * w) == want[0]
    # the neighbours were not touched
    for e in (4 * w - 1, 4 * w + 4):
        if 0 <= e < env.depth:
            assert await env.read(e) == vals[e]
    assert env.mon.checked > 0


@cocotb.test()
async def registered_read(dut):
    """rdata_o changes only at a clock edge, to the entry presented before it."""
    env = Env(dut)
    await env.start()
    d = dut
    vals = await env.fill()
    a = 1
    b = next(i for i in range(env.depth - 1, 0, -1) if vals[i] != vals[a])
    await env.cycle(raddr=a)
    await RisingEdge(d.clk_i)
    await Timer(1, unit="ns")
    assert tbkit.u(d.rdata_o) == vals[a]
    d.raddr_i.value = b                          # mid-cycle: no combinational path
    await Timer(2, unit="ns")
    assert tbkit.u(d.rdata_o) == vals[a], "rdata_o followed raddr_i without a clock edge"
    await RisingEdge(d.clk_i)
    await FallingEdge(d.clk_i)
    assert tbkit.u(d.rdata_o) == vals[b]
    # a read and a write of the same entry at one edge return the old byte
    e = int(env.rng.integers(env.depth))
    await env.cycle(1, e // 4, 0, 0xF, e)
    await FallingEdge(d.clk_i)
    assert tbkit.u(d.rdata_o) == vals[e]
    assert await env.read(e) == 0


@cocotb.test()
async def beyond_depth(dut):
    """Every raddr_i at or beyond Depth reads 0 (a full buffer of non-zero bytes)."""
    env = Env(dut)
    await env.start()
    await env.fill()
    top = 2**env.abits
    if top == env.depth:
        dut._log.info("AddrBits covers exactly Depth entries: no address beyond it")
    addrs = list(range(env.depth, top))
    if len(addrs) > 300:
        addrs = [env.depth, env.depth + 1, top - 1] + [int(x) for x in env.rng.integers(env.depth, top, 200)]
    for a in addrs:
        assert await env.read(a) == 0, f"raddr {a} (beyond Depth {env.depth}) did not read 0"
    # and the last in-range entries still read their data (checked by the monitor)
    for a in range(max(0, env.depth - 4), env.depth):
        await env.read(a)
    assert env.mon.checked >= len(addrs)


@cocotb.test()
async def random_traffic(dut):
    """Random writes (any strobes) and reads (in and beyond range) in every cycle."""
    env = Env(dut)
    await env.start()
    r = env.rng
    top = 2**env.abits
    for _ in range(1500):
        raddr = int(r.integers(env.depth)) if r.random() < 0.85 else int(r.integers(top))
        await env.cycle(int(r.random() < 0.5), int(r.integers(env.words)), int(r.integers(2**32)),
                        int(r.integers(16)), raddr)
    await ClockCycles(dut.clk_i, 2)
    dut._log.info("%d reads compared", env.mon.checked)
    assert env.mon.checked > 1000


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_hymem_vecbuf(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_vecbuf", sim, parameters=params, seed=seed)
