"""APB4 agent of the hymem_top environment: sequence item, driver, monitor, agent.

* :class:`ApbItem` is one access a sequence asks for; the driver fills in the response
  (``rdata``, ``slverr``) on the same object, TinyALU-style.
* :class:`ApbDriver` drives the pins through cocotbext-apb's ``ApbHost`` (the existing APB
  master VIP). Two of its habits shape the driver:
    - ``ApbHost`` raises ``APBSlvErr`` from its own bus task when PSLVERR differs from the
      ``error_expected`` argument, so a driver would have to know the answer before asking.
      The host is therefore built *without* the PSLVERR pin: it only moves the bus, and
      PSLVERR is the monitor's (and the scoreboard's) business;
    - its constructor reseeds Python's global ``random`` (``random.seed(seednum)``), so the
      driver passes a seed drawn from the test's generator.
  The host returns in the access phase (at the falling edge where it saw PREADY); the
  driver samples PSLVERR there and completes the item at once, like the firmware's
  ``ApbBus``: a sequence's next access then follows back to back (its SETUP phase in the
  cycle after the ACCESS phase), as a CPU's would. So when ``finish_item`` returns, the
  access takes effect at the next rising edge.
    - its transaction loop wakes at every rising clock edge while the bus is idle (a
      Python wake-up per cycle, the dominant cost of a long operation on Icarus). The
      driver therefore *parks* the host once the bus is idle (its loop task is cancelled
      after the edge that ends the last transfer) and restarts it, at a rising edge, with
      the next item: nothing in the testbench runs per clock while the controller works.
* :class:`ApbMonitor` watches the pins only: APB4 protocol checks (SETUP then ACCESS,
  address/control/data stable through wait states, no PSTRB in reads, PENABLE only with
  PSEL) and one :class:`ApbTxn` per completed transfer on its analysis port, with the
  number of wait states and the level of the interrupt output during the access phase
  (a sideband the scoreboard checks against IRQ_STATUS & IRQ_ENABLE). cocotbext-apb's own
  ``ApbMonitor`` records neither PSLVERR nor wait states, hence this one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, ReadWrite, RisingEdge
from cocotbext.apb import ApbBus, ApbHost
from pyuvm import (ConfigDB, uvm_active_passive_enum, uvm_agent, uvm_analysis_port, uvm_component,
                   uvm_driver, uvm_sequence_item, uvm_sequencer)

#: APB pins of hymem_top (PSLVERR deliberately absent: see the module doc).
HOST_SIGNALS = {"psel": "psel_i", "pwrite": "pwrite_i", "paddr": "paddr_i", "pwdata": "pwdata_i",
                "pready": "pready_o", "prdata": "prdata_o"}
HOST_OPTIONAL = {"penable": "penable_i", "pstrb": "pstrb_i", "pprot": "pprot_i"}


class ApbItem(uvm_sequence_item):
    """One APB access. Response fields are filled in by the driver."""

    def __init__(self, name: str = "apb", write: bool = False, addr: int = 0, data: int = 0,
                 strb: int = 0xF, prot: int = 0):
        super().__init__(name)
        self.write, self.addr, self.data, self.strb, self.prot = bool(write), addr, data, strb, prot
        self.rdata: int | None = None
        self.slverr: int | None = None

    def __str__(self) -> str:
        if self.write:
            return f"{self.get_name()}: write {self.addr:#05x} = {self.data:#010x} strb {self.strb:04b}"
        rd = "?" if self.rdata is None else f"{self.rdata:#010x}"
        return f"{self.get_name()}: read {self.addr:#05x} -> {rd}"


@dataclass
class ApbTxn:
    """A completed APB transfer as the monitor saw it on the pins."""

    write: bool
    addr: int
    wdata: int
    strb: int
    prot: int
    rdata: int
    slverr: int
    waits: int
    irq: int          # irq_o during the (last cycle of the) access phase
    t_ns: float

    def __str__(self) -> str:
        what = (f"write {self.addr:#05x} = {self.wdata:#010x} strb {self.strb:04b}" if self.write
                else f"read {self.addr:#05x} -> {self.rdata:#010x}")
        return (f"{what}{' PSLVERR' if self.slverr else ''}"
                f"{f' ({self.waits} wait states)' if self.waits else ''} at {self.t_ns:.0f} ns")


def _u(handle) -> int:
    v = handle.value
    return v.to_unsigned() if hasattr(v, "to_unsigned") else int(v)


def _quiet(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


class ApbDriver(uvm_driver):
    def start_of_simulation_phase(self):
        log = logging.getLogger("cocotb.apb_host")     # the host's banner, at every test start
        if _quiet not in log.filters:
            log.addFilter(_quiet)
        dut = cocotb.top
        self.dut = dut
        self.clk = dut.clk_i
        seed = ConfigDB().get(self, "", "APB_SEED")
        bus = ApbBus(dut, None, signals=HOST_SIGNALS, optional_signals=HOST_OPTIONAL)
        # timeout: a READOUT read waits for the operation a queued read-out is behind
        self.host = ApbHost(bus, dut.clk_i, timeout_max=200_000, seednum=seed)
        self.host.return_int = True
        self.host.log.setLevel("WARNING")

    async def run_phase(self):
        self.parked = False
        self.parking = False
        while True:
            item = await self.seq_item_port.get_next_item()
            if self.parked:
                await RisingEdge(self.clk)       # the host's loop starts right after an edge
                self.host._run_coroutine_obj = cocotb.start_soon(self.host._run())
                self.parked = False
            await self.drive(item)
            self.seq_item_port.item_done()
            if not self.parking:
                self.parking = True
                cocotb.start_soon(self._park())

    async def _park(self) -> None:
        """Cancel the host's loop if no transfer follows the one that just completed."""
        await RisingEdge(self.clk)      # the completing edge: the host drops PSEL at it
        await ReadWrite()               # after the host's own reaction to that edge
        self.parking = False
        h = self.host
        if h._idle.is_set() and not h.queue_tx and not self.parked:
            h._run_coroutine_obj.cancel()
            self.parked = True

    async def drive(self, item: ApbItem) -> None:
        if item.write:
            await self.host.write(item.addr, int(item.data) & 0xFFFF_FFFF, strb=item.strb,
                                  prot=item.prot)
        else:
            item.rdata = await self.host.read(item.addr, prot=item.prot)
        item.slverr = _u(self.dut.pslverr_o)      # still the access phase (see the module doc)


class ApbMonitor(uvm_component):
    """APB4 protocol checks and one :class:`ApbTxn` per completed transfer (see the module doc)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.count = 0

    def start_of_simulation_phase(self):
        d = cocotb.top
        self.clk = d.clk_i
        self.pins = {n: getattr(d, p) for n, p in (
            ("psel", "psel_i"), ("penable", "penable_i"), ("pwrite", "pwrite_i"),
            ("paddr", "paddr_i"), ("pwdata", "pwdata_i"), ("pstrb", "pstrb_i"),
            ("pprot", "pprot_i"), ("pready", "pready_o"), ("prdata", "prdata_o"),
            ("pslverr", "pslverr_o"), ("irq", "irq_o"), ("rst_n", "rst_ni"))}
        # the simulator's binary string of each pin: the call handle.value makes, without
        # building a LogicArray (a third of the monitor's time otherwise)
        self._bin = {n: getattr(getattr(h, "_handle", None), "get_signal_val_binstr", None)
                     or (lambda h=h: str(h.value)) for n, h in self.pins.items()}

    def _get(self, name: str) -> int:
        s = self._bin[name]()
        try:
            return int(s, 2)
        except ValueError:
            raise AssertionError(f"APB monitor: {name} is {s} at "
                                 f"{cocotb.simtime.get_sim_time('ns'):.0f} ns") from None

    async def run_phase(self):
        p = self.pins
        while True:
            # idle: wake when PSEL rises (no per-cycle work while the bus is quiet)
            await FallingEdge(self.clk)
            await ReadOnly()
            if self._bin["rst_n"]() != "1":
                continue
            if not self._get("psel"):
                assert not self._get("penable"), "APB: PENABLE without PSEL"
                await RisingEdge(p["psel"])
                continue
            await self._transfer()

    async def _transfer(self) -> None:
        """From the SETUP phase (sampled now) to the end of the transfer."""
        now = lambda: cocotb.simtime.get_sim_time("ns")  # noqa: E731
        assert not self._get("penable"), f"APB: ACCESS phase without a SETUP phase at {now():.0f} ns"
        ctl = tuple(self._get(n) for n in ("pwrite", "paddr", "pwdata", "pstrb", "pprot"))
        if not ctl[0]:
            assert ctl[3] == 0, f"APB: PSTRB = {ctl[3]:04b} in a read transfer at {now():.0f} ns"
        waits = 0
        while True:
            await FallingEdge(self.clk)
            await ReadOnly()
            assert self._get("psel") and self._get("penable"), (
                f"APB: PSEL/PENABLE dropped before the transfer completed at {now():.0f} ns")
            again = tuple(self._get(n) for n in ("pwrite", "paddr", "pwdata", "pstrb", "pprot"))
            assert again == ctl, (f"APB: address/control/data changed during the transfer at "
                                  f"{now():.0f} ns: {ctl} -> {again}")
            if self._get("pready"):
                break
            waits += 1
        write, addr, wdata, strb, prot = ctl
        txn = ApbTxn(bool(write), addr, wdata, strb, prot,
                     0 if write else self._get("prdata"), self._get("pslverr"), waits,
                     self._get("irq"), now())
        await RisingEdge(self.clk)       # the completing edge: the DUT has taken the access
        self.count += 1
        self.ap.write(txn)


class ApbAgent(uvm_agent):
    """Sequencer + driver (active) and monitor; ``ap`` is the monitor's analysis port."""

    def build_phase(self):
        super().build_phase()
        self.monitor = ApbMonitor("monitor", self)
        if self.get_is_active() == uvm_active_passive_enum.UVM_ACTIVE:
            self.seqr = uvm_sequencer("seqr", self)
            self.driver = ApbDriver("driver", self)

    def connect_phase(self):
        self.ap = self.monitor.ap
        if self.get_is_active() == uvm_active_passive_enum.UVM_ACTIVE:
            self.driver.seq_item_port.connect(self.seqr.seq_item_export)
