"""Cycle model of rtl/hymem_vecbuf.sv (the x and e int8 vector buffers): tb/hymem_vecbuf compares
it with the RTL at every clock edge."""

from __future__ import annotations


class VecbufRef:
    """The buffer's state and what rdata_o must hold after each clock edge (:meth:`edge` with
    the inputs sampled there): bytes written with their strobes (None: never written), a
    registered window read of Ports entries (the banked read of the RTL's header: a port reads
    its entry when it lies in [a_0, a_0 + Ports) or below Ports, else 0; beyond the depth 0)."""

    def __init__(self, depth: int, ports: int) -> None:
        self.depth = depth
        self.mem: list[int | None] = [None] * depth   # None: never written
        self.rdata: list[int | None] = [None] * ports  # what each port of rdata_o must hold now

    def edge(self, we: int, waddr: int, wdata: int, wstrb: int, re: int, raddr: list[int]) -> None:
        if re:
            a0, n = raddr[0], len(raddr)
            self.rdata = [(self.mem[a] if a < self.depth else 0)
                          if 0 <= a - a0 < n or a < n else 0 for a in raddr]
        if we:
            for b in range(4):
                if (wstrb >> b) & 1:
                    self.mem[4 * waddr + b] = (wdata >> (8 * b)) & 0xFF
