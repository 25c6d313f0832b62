"""hymem_vecbuf: the int8 vector buffer, against a Python model of its datasheet.

Model (:class:`VecbufRef`): Depth bytes; a write of word w with strobes stores byte b of
the data in entry 4w + b for every strobed b; in a cycle with re_i = 1 each of the Ports read
ports presents its address a_p and its byte of rdata_o holds, from the next clock edge on,
entry a_p if a_p is in the window [a_0, a_0 + Ports) or below Ports, else 0 (a synchronous
RAM; a read and a write of the same entry at one edge return the old byte, as a registered
read of the RAM does); with re_i = 0 rdata_o keeps its value; entries at or beyond Depth read
0. The buffer has no reset: an entry never written has no defined value and is not compared.
:class:`Monitor` checks every port of rdata_o in every cycle of every test.

Parameter sets: the core's x buffer (Depth 256 read with the engine's 11-bit index) and a
buffer whose read address is exactly as wide as it needs (Depth 16, AddrBits 4), each with
one read port and with several (the update engine's SynPerCycle: 8 ports, and 16 ports on
16 entries, so every port reads every entry and ports often read the same one).
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer

from hymem.sim import simrun, tbkit
from hymem.digital.vecbuf import VecbufRef

TOPLEVEL = "hymem_vecbuf"

PARAM_SETS = {
    "d256_a11": dict(Depth=256, AddrBits=11, Ports=1),
    "d16_a4": dict(Depth=16, AddrBits=4, Ports=1),
    "d256_a11_p8": dict(Depth=256, AddrBits=11, Ports=8),
    "d16_a4_p16": dict(Depth=16, AddrBits=4, Ports=16),
}


def _byte(dut, port: int) -> int:
    """Port ``port``'s byte of rdata_o (the other ports may hold X: unwritten entries)."""
    bits = str(dut.rdata_o.value)
    return int(bits[len(bits) - 8 * (port + 1): len(bits) - 8 * port], 2)


class Monitor:
    def __init__(self, dut, ref: VecbufRef, abits: int) -> None:
        self.dut, self.ref, self.abits = dut, ref, abits
        self.checked = 0
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        d = self.dut
        ports = len(self.ref.rdata)
        while True:
            await FallingEdge(d.clk_i)
            await ReadOnly()
            bits = str(d.rdata_o.value)     # MSB first; a port that read an unwritten entry is X
            for p, want in enumerate(self.ref.rdata):
                if want is not None:
                    b = bits[len(bits) - 8 * (p + 1): len(bits) - 8 * p]
                    assert b == f"{want:08b}", f"rdata_o port {p} = {b}, model {want:08b}"
                    self.checked += 1
            ra = tbkit.u(d.raddr_i)
            amask = (1 << self.abits) - 1
            self.ref.edge(tbkit.u(d.we_i), tbkit.u(d.waddr_i), tbkit.u(d.wdata_i),
                          tbkit.u(d.wstrb_i), tbkit.u(d.re_i),
                          [(ra >> (self.abits * p)) & amask for p in range(ports)])


class Env:
    def __init__(self, dut) -> None:
        self.dut = dut
        p = tbkit.params()
        self.depth, self.abits, self.ports = p["Depth"], p["AddrBits"], p["Ports"]
        self.words = self.depth // 4
        self.rng = tbkit.rng()
        self.ref = VecbufRef(self.depth, self.ports)
        self.mon = None

    async def start(self) -> None:
        d = self.dut
        d.we_i.value = 0
        d.waddr_i.value = 0
        d.wdata_i.value = 0
        d.wstrb_i.value = 0
        d.re_i.value = 0
        d.raddr_i.value = 0
        await tbkit.start_clock(d.clk_i)
        self.mon = Monitor(d, self.ref, self.abits)

    def pack(self, addrs: list[int]) -> int:
        return sum(a << (self.abits * p) for p, a in enumerate(addrs))

    async def cycle(self, we=0, waddr=0, wdata=0, wstrb=0, raddr=(0,), re=1) -> None:
        """Drive one cycle's inputs at a falling edge (sampled by the next rising edge);
        ``raddr``: one address per port (fewer: the rest random)."""
        d = self.dut
        addrs = list(raddr) + [int(a) for a in self.rng.integers(2**self.abits,
                                                                 size=self.ports - len(raddr))]
        await FallingEdge(d.clk_i)
        d.we_i.value, d.waddr_i.value, d.wdata_i.value = we, waddr, wdata
        d.wstrb_i.value, d.re_i.value, d.raddr_i.value = wstrb, re, self.pack(addrs)

    async def write(self, waddr: int, wdata: int, wstrb: int = 0xF) -> None:
        await self.cycle(1, waddr, wdata, wstrb, (), re=int(self.rng.integers(2)))

    async def read(self, raddr: int, port: int | None = None) -> int:
        """The byte rdata_o holds after raddr was presented for one edge with re_i = 1, on
        port ``port`` (default: a random one) where the window allows it: the ports read
        the window a_0 + k around it."""
        port = int(self.rng.integers(self.ports)) if port is None else port
        a0 = min(max(0, raddr - port), 2**self.abits - self.ports)
        await self.cycle(0, int(self.rng.integers(self.words)), int(self.rng.integers(2**32)),
                         int(self.rng.integers(16)), [a0 + k for k in range(self.ports)])
        await FallingEdge(self.dut.clk_i)
        return _byte(self.dut, raddr - a0)

    def engine_addresses(self) -> list[int]:
        """One cycle's addresses as the update engine presents them: the x indices (j) or
        the e indices (i) of Ports consecutive synapses of an n-input tile."""
        r, n = self.rng, int(self.rng.integers(1, self.depth + 1))
        a = int(r.integers(0, n * (self.depth + self.ports)))     # first synapse of the group
        syn = range(a, a + self.ports)
        return [s % n for s in syn] if r.random() < 0.5 else [min(s // n, 2**self.abits - 1) for s in syn]

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
    await env.cycle(0, w, 0xA5A5A5A5, 0xF, (4 * w,))         # we_i low: nothing written
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
    port = env.ports - 1

    def byte() -> int:
        return _byte(d, port)

    await env.cycle(raddr=[a] * env.ports)
    await RisingEdge(d.clk_i)
    await Timer(1, unit="ns")
    assert byte() == vals[a]
    d.raddr_i.value = env.pack([b] * env.ports)      # mid-cycle: no combinational path
    await Timer(2, unit="ns")
    assert byte() == vals[a], "rdata_o followed raddr_i without a clock edge"
    await RisingEdge(d.clk_i)
    await FallingEdge(d.clk_i)
    assert byte() == vals[b]
    # re_i = 0: rdata_o holds, whatever the addresses
    await env.cycle(raddr=[a] * env.ports, re=0)
    await env.cycle(raddr=[a] * env.ports, re=0)
    await FallingEdge(d.clk_i)
    assert byte() == vals[b], "rdata_o changed with re_i = 0"
    # a read and a write of the same entry at one edge return the old byte
    e = int(env.rng.integers(env.depth))
    await env.cycle(1, e // 4, 0, 0xF, [e] * env.ports)
    await FallingEdge(d.clk_i)
    assert byte() == vals[e]
    assert await env.read(e, port) == 0


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
async def window_rule(dut):
    """Ports: an address in the window [a_0, a_0 + Ports) or below Ports reads its entry,
    any other reads 0; the window at the top of the buffer and beyond Depth; the update
    engine's x pattern with a wrap to 0 (several wraps for n < Ports)."""
    env = Env(dut)
    await env.start()
    vals = await env.fill()
    P, D = env.ports, env.depth
    mon0 = env.mon.checked
    cases = [[a0 + k for k in range(P)] for a0 in (0, 1, D - P, D - 1, D - P // 2, D)]
    cases += [[(a0 + k) % n for k in range(P)] for a0, n in ((D - 2, D), (1, 3), (0, 1), (2, 5))
              if a0 < n]
    if P > 1:
        cases.append([P] + [P + 2 * P] * (P - 1))      # outside the window, not below P: 0
        cases.append([D - 1] + list(range(P - 1)))     # below P: the first entries
    for addrs in cases:
        addrs = [a for a in addrs if a < 2**env.abits][:P]
        addrs += [0] * (P - len(addrs))
        await env.cycle(raddr=addrs)
        await FallingEdge(dut.clk_i)
        for p, a in enumerate(addrs):
            inside = 0 <= a - addrs[0] < P or a < P
            want = vals[a] if inside and a < D else 0
            assert _byte(dut, p) == want, f"addresses {addrs}: port {p} read {_byte(dut, p)}, want {want}"
    assert env.mon.checked > mon0


@cocotb.test()
async def random_traffic(dut):
    """Random writes (any strobes) and reads (in and beyond range) in every cycle."""
    env = Env(dut)
    await env.start()
    r = env.rng
    top = 2**env.abits
    for _ in range(1500):
        kind = r.random()
        if kind < 0.5:                                # the update engine's pattern
            raddr = env.engine_addresses()
        else:                                         # anything: outside the window reads 0
            raddr = [int(r.integers(env.depth)) if r.random() < 0.85 else int(r.integers(top))
                     for _ in range(env.ports)]
            if env.ports > 1 and kind < 0.6:          # several ports on one entry
                raddr = [raddr[0]] * env.ports
        await env.cycle(int(r.random() < 0.5), int(r.integers(env.words)), int(r.integers(2**32)),
                        int(r.integers(16)), raddr, re=int(r.random() < 0.8))
    await ClockCycles(dut.clk_i, 2)
    dut._log.info("%d reads compared", env.mon.checked)
    assert env.mon.checked > 1000 * env.ports


#: parameter corners (docs/coverage.md, "Parameter corners"), on Verilator only (`heavy`):
#: the smallest legal buffer (Depth 8, AddrBits 3: the x and e buffers of hymem_top's
#: smallest build), every test (short at Depth 8)
CORNER_SETS = {
    "min_d8_a3": dict(Depth=8, AddrBits=3, Ports=1),
}


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    *(pytest.param(p, id=k) for k, p in PARAM_SETS.items()),
    *(pytest.param(p, id=k, marks=pytest.mark.heavy) for k, p in CORNER_SETS.items())])
def test_hymem_vecbuf(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_vecbuf", sim, parameters=params, seed=seed)
