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

    Implements the firmware bus protocol of :mod:`hymem.host.firmware` (``read``/``write``).
    ``timeout_cycles`` bounds the wait for PREADY (a slave that never answers is a bug).
    """

    def __init__(self, scope, clock, prefix: str = "apb_", timeout_cycles: int = 10_000_000,
                 irq=None):
        def sig(name):
            return getattr(scope, prefix + name)

        self.clk = clock
        self.psel, self.penable, self.pwrite = sig("psel"), sig("penable"), sig("pwrite")
        self.paddr, self.pwdata, self.pstrb = sig("paddr"), sig("pwdata"), sig("pstrb")
        self.pprot, self.prdata = sig("pprot"), sig("prdata")
        self.pready, self.pslverr = sig("pready"), sig("pslverr")
        self.timeout = timeout_cycles
        self.irq = irq
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

    async def transact(self, ops) -> list[int]:
        """The operations of :meth:`ApbBurstMaster.transact`, one access at a time (an
        ``("irq",)`` op waits for the interrupt line given as ``irq``)."""
        return await transact_serially(self, ops)


async def transact_serially(bus, ops, irq=None) -> list[int]:
    """:meth:`ApbBurstMaster.transact` on a bus that only has ``read`` / ``write`` (the
    interrupt line ``irq`` for ``("irq",)`` ops, if any)."""
    out = []
    for op in ops:
        if op[0] == "w":
            await bus.write(op[1], op[2], *op[3:])
            out.append(0)
        elif op[0] == "r":
            out.append(await bus.read(op[1]))
        elif op[0] == "irq":
            irq = irq if irq is not None else getattr(bus, "irq", None)
            if irq is None:
                raise ValueError("an ('irq',) bus operation needs the interrupt line")
            if not int(irq.value):
                await RisingEdge(irq)
            out.append(0)
        else:
            raise ValueError(f"unknown bus operation {op!r}")
    return out


class ApbBurstMaster:
    """The firmware bus protocol over a testbench HDL APB4 master (``tb/hdl/hymem_apb_burst.sv``)
    that runs a whole list of accesses per Python wake-up.

    :meth:`transact` writes the list into the master, starts it and waits for it to finish:
    the accesses run back to back on the APB port (the same protocol as :class:`Apb4Master`,
    in HDL) and Python wakes once, instead of about four times per access. ``("irq",)`` in
    the list waits, in HDL, until the controller's interrupt line is high. A PSLVERR stops
    the list and raises :class:`ApbError` naming the access; a timeout raises TimeoutError.
    Lists from concurrent coroutines are serialized by a lock.
    """

    OP_W = 50

    def __init__(self, master) -> None:
        self.m = master
        self.depth = len(master.ops_v) // self.OP_W
        self.lock = Lock()
        self.accesses = 0
        self.bursts = 0
        from cocotb.handle import _GPISetAction
        self._deposit = _GPISetAction.DEPOSIT.value
        self._ops = master.ops_v._handle
        self._n = master.n_ops._handle
        self._gow = master.go._handle
        # status read as integers from the raw handles (a cocotb value object per read cost
        # more than the rest of a list's Python)
        self._tout = master.tout_q._handle
        self._err = master.err_q._handle
        self._err_idx = master.err_idx_q._handle
        self._rlast = master.rdata_last_q._handle
        self._nb = len(master.n_ops)
        # the master starts a list when go changes: start from 0 (before its reset)
        self._go = 0
        self._gow.set_signal_val_binstr(self._deposit, "0" * 8)
        self._n.set_signal_val_binstr(self._deposit, "0" * self._nb)

    async def transact(self, ops) -> list[int]:
        """Run ``ops``: ``("w", addr, data)`` / ``("w", addr, data, strb)``, ``("r", addr)``,
        ``("irq",)``. Returns one value per op (read data; 0 for writes and waits)."""
        ops = list(ops)
        out: list[int] = []
        for lo in range(0, len(ops), self.depth):
            out += await self._run(ops[lo: lo + self.depth])
        return out

    async def _run(self, ops) -> list[int]:
        words = []
        for op in ops:
            kind = op[0]
            if kind == "w":
                strb = op[3] if len(op) > 3 else 0xF
                words.append(1 | ((op[1] & 0xFFF) << 2) | ((int(op[2]) & 0xFFFF_FFFF) << 14)
                             | ((strb & 0xF) << 46))
            elif kind == "r":
                words.append((op[1] & 0xFFF) << 2)
            elif kind == "irq":
                words.append(2)
            else:
                raise ValueError(f"unknown bus operation {op!r}: expected ('w', addr, data), "
                                 "('r', addr) or ('irq',)")
        v = 0
        for w in reversed(words):
            v = (v << self.OP_W) | w
        async with self.lock:
            self.bursts += 1
            self.accesses += sum(1 for op in ops if op[0] != "irq")
            self._ops.set_signal_val_binstr(self._deposit,
                                            format(v, f"0{self.depth * self.OP_W}b"))
            self._n.set_signal_val_binstr(self._deposit, format(len(ops), f"0{self._nb}b"))
            self._go = (self._go + 1) & 0xFF
            self._gow.set_signal_val_binstr(self._deposit, format(self._go, "08b"))
            await self.m.done_q.value_change
            if self._tout.get_signal_val_long():
                i = self._err_idx.get_signal_val_long()
                raise TimeoutError(f"APB burst: operation {i} ({ops[i]!r}) timed out")
            reads = [i for i, op in enumerate(ops) if op[0] == "r"]
            vals = [0] * len(ops)
            if len(reads) == 1:                 # the last read's register: 32 bits to fetch
                vals[reads[0]] = self._rlast.get_signal_val_long() & 0xFFFF_FFFF
            elif reads:
                text = self.m.rdata_v._handle.get_signal_val_binstr()
                n = len(text) // 32
                for i in reads:
                    vals[i] = int(text[(n - 1 - i) * 32:(n - i) * 32], 2)
            if self._err.get_signal_val_long():
                i = self._err_idx.get_signal_val_long()
                op = ops[i]
                raise ApbError(op[0] == "w", op[1], int(op[2]) if op[0] == "w" else None)
            return vals

    async def read(self, addr: int) -> int:
        return (await self.transact([("r", addr)]))[0]

    async def write(self, addr: int, data: int, strb: int = 0xF) -> None:
        await self.transact([("w", addr, int(data) & 0xFFFF_FFFF, strb)])
