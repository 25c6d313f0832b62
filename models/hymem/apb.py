"""A lean APB4 master for co-simulation firmware.

The verification environment uses cocotbext-apb's ``ApbHost`` (a VIP with its own queue,
logging and back-pressure). Its transaction loop wakes on every clock edge even when the bus
is idle, which in a co-simulation that runs millions of cycles costs more than everything
else. This master does nothing between transfers: each access is a coroutine that drives
the setup phase, the access phase, waits for PREADY and returns, about three simulator
wake-ups per access. Accesses from concurrent coroutines are serialized by a lock.

Protocol (AMBA APB4): setup phase (PSEL=1, PENABLE=0) for one cycle, then access phase
(PENABLE=1) until PREADY=1. The slave commits the transfer at the rising edge that ends a
cycle in which PREADY is 1, so PREADY, PRDATA and PSLVERR are sampled at the falling edge
inside the access cycle, and PSEL/PENABLE drop right after the committing edge (sampling
after the edge would stretch the access phase by a cycle and commit a write twice).
A PSLVERR raises :class:`ApbError` naming the access.
"""

from __future__ import annotations

from cocotb.triggers import FallingEdge, Lock, RisingEdge


class ApbError(RuntimeError):
    """The slave answered PSLVERR."""

    def __init__(self, write: bool, addr: int, data: int | None):
        self.write, self.addr, self.data = write, addr, data
        what = f"write of 0x{data:08X} to" if write else "read of"
        super().__init__(f"PSLVERR on {what} 0x{addr:03X}")


class Apb4Master:
    """APB4 master on the signals ``<prefix>psel`` ... ``<prefix>pslverr`` of ``scope``.

    Implements the firmware bus protocol of :mod:`hymem.firmware` (``read``/``write``).
    ``timeout_cycles`` bounds the wait for PREADY (a slave that never answers is a bug).
    """

    def __init__(self, scope, clock, prefix: str = "apb_", timeout_cycles: int = 10_000_000):
        def sig(name):
            return getattr(scope, prefix + name)

        self.clk = clock
        self.psel, self.penable, self.pwrite = sig("psel"), sig("penable"), sig("pwrite")
        self.paddr, self.pwdata, self.pstrb = sig("paddr"), sig("pwdata"), sig("pstrb")
        self.pprot, self.prdata = sig("pprot"), sig("prdata")
        self.pready, self.pslverr = sig("pready"), sig("pslverr")
        self.timeout = timeout_cycles
        self.lock = Lock()
        self.accesses = 0
        for s in (self.psel, self.penable, self.pwrite, self.paddr, self.pwdata, self.pstrb,
                  self.pprot):
            s.value = 0

    async def _access(self, write: bool, addr: int, data: int = 0, strb: int = 0xF) -> int:
        async with self.lock:
            self.accesses += 1
            await RisingEdge(self.clk)              # setup phase starts at this edge
            self.psel.value = 1
            self.penable.value = 0
            self.pwrite.value = int(write)
            self.paddr.value = addr
            self.pstrb.value = strb if write else 0
            self.pprot.value = 0
            if write:
                self.pwdata.value = data
            await RisingEdge(self.clk)              # access phase
            self.penable.value = 1
            for _ in range(self.timeout):
                await FallingEdge(self.clk)         # inside the access cycle: outputs settled
                if int(self.pready.value):
                    break
                await RisingEdge(self.clk)          # a wait state
            else:
                raise TimeoutError(f"PREADY stayed low for {self.timeout} cycles at 0x{addr:03X}")
            err = int(self.pslverr.value)
            rdata = int(self.prdata.value) if not write else 0
            await RisingEdge(self.clk)              # the slave commits at this edge
            self.psel.value = 0
            self.penable.value = 0
            if err:
                raise ApbError(write, addr, data if write else None)
            return rdata

    async def read(self, addr: int) -> int:
        return await self._access(False, addr)

    async def write(self, addr: int, data: int, strb: int = 0xF) -> None:
        await self._access(True, addr, int(data) & 0xFFFF_FFFF, strb)
