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
  Items with a ``fault`` are driven by hand instead (the host parked): a master that breaks
  the protocol (:data:`FAULTS`), for the tests of the controller's defined behaviour.
* :class:`ApbMonitor` watches the pins only: it runs the :class:`ApbProtocolChecker`'s
  assertions on every transfer of every test and publishes one :class:`ApbTxn` per
  completed transfer on its analysis port, with the number of wait states and the level of
  the interrupt output during the access phase (a sideband the scoreboard checks against
  IRQ_STATUS & IRQ_ENABLE). cocotbext-apb's own ``ApbMonitor`` records neither PSLVERR nor
  wait states, hence this one. A transfer the master abandons publishes nothing (the
  controller does nothing with it); one whose address or data changed publishes what the
  controller saw in its completing cycle, marked ``faulty``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import cocotb
from cocotb.triggers import FallingEdge, First, NextTimeStep, ReadOnly, ReadWrite, RisingEdge
from cocotbext.apb import ApbBus, ApbHost
from pyuvm import (ConfigDB, uvm_active_passive_enum, uvm_agent, uvm_analysis_port, uvm_component,
                   uvm_driver, uvm_sequence_item, uvm_sequencer)

#: APB pins of hymem_top (PSLVERR deliberately absent: see the module doc).
HOST_SIGNALS = {"psel": "psel_i", "pwrite": "pwrite_i", "paddr": "paddr_i", "pwdata": "pwdata_i",
                "pready": "pready_o", "prdata": "prdata_o"}
HOST_OPTIONAL = {"penable": "penable_i", "pstrb": "pstrb_i", "pprot": "pprot_i"}


#: Protocol faults a requester can commit (ApbItem.fault), driven by hand:
#:   setup_only   a SETUP phase, then PSEL low (no ACCESS phase)
#:   drop_psel    PSEL and PENABLE low after ``after`` wait states (before PREADY)
#:   change_addr  PADDR (and the data) changed to ``addr2`` / ``data2`` after ``after``
#:                wait states
#:   change_data  PADDR / PWDATA changed between the SETUP and the ACCESS phase
#:   no_setup     PSEL and PENABLE rise together (an ACCESS phase without SETUP)
FAULTS = ("setup_only", "drop_psel", "change_addr", "change_data", "no_setup")


class ApbItem(uvm_sequence_item):
    """One APB access. Response fields are filled in by the driver."""

    def __init__(self, name: str = "apb", write: bool = False, addr: int = 0, data: int = 0,
                 strb: int = 0xF, prot: int = 0, fault: str | None = None,
                 addr2: int | None = None, data2: int | None = None, after: int = 1):
        super().__init__(name)
        self.write, self.addr, self.data, self.strb, self.prot = bool(write), addr, data, strb, prot
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)}; got {fault!r}")
        self.fault, self.after = fault, after
        self.addr2 = addr if addr2 is None else addr2
        self.data2 = data if data2 is None else data2
        self.rdata: int | None = None
        self.slverr: int | None = None
        self.abandoned = False       # the transfer ended without completing
        self.waits = 0

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
    faulty: bool = False   # the requester changed the transfer on the way (see FAULTS)

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

    async def _take_bus(self) -> None:
        """Park the host (its loop stopped) so that the pins can be driven by hand."""
        if not self.parking and not self.parked:
            self.parking = True
            cocotb.start_soon(self._park())
        for _ in range(8):
            if self.parked:
                return
            await RisingEdge(self.clk)
        raise RuntimeError("APB driver: the host did not become idle")

    def _pins(self, **v) -> None:
        d = self.dut
        for k, x in v.items():
            getattr(d, k).value = x

    def _idle_pins(self) -> None:
        self._pins(psel_i=0, penable_i=0, pwrite_i=0, paddr_i=0, pwdata_i=0, pstrb_i=0, pprot_i=0)

    async def drive_fault(self, item: ApbItem) -> None:
        """One transfer with a protocol fault, by hand (see FAULTS)."""
        await self._take_bus()
        d, clk, f = self.dut, self.clk, item.fault
        await RisingEdge(clk)
        self._pins(psel_i=1, penable_i=int(f == "no_setup"), pwrite_i=int(item.write),
                   paddr_i=item.addr, pwdata_i=item.data if item.write else 0,
                   pstrb_i=item.strb if item.write else 0, pprot_i=item.prot)
        if f == "setup_only":
            await RisingEdge(clk)
            self._idle_pins()
            item.abandoned = True
            return
        if f != "no_setup":
            await RisingEdge(clk)
            d.penable_i.value = 1
            if f == "change_data":
                self._pins(paddr_i=item.addr2, pwdata_i=item.data2 if item.write else 0)
        while True:
            await FallingEdge(clk)
            if _u(d.pready_o):
                break
            item.waits += 1
            if item.waits == item.after and f in ("drop_psel", "change_addr"):
                await RisingEdge(clk)
                if f == "drop_psel":
                    self._idle_pins()
                    item.abandoned = True
                    return
                self._pins(paddr_i=item.addr2, pwdata_i=item.data2 if item.write else 0)
        item.slverr = _u(d.pslverr_o)
        if not item.write:
            item.rdata = _u(d.prdata_o)
        await RisingEdge(clk)                # the completing edge
        self._idle_pins()

    async def drive(self, item: ApbItem) -> None:
        if item.fault is not None:
            await self.drive_fault(item)
            return
        if item.write:
            await self.host.write(item.addr, int(item.data) & 0xFFFF_FFFF, strb=item.strb,
                                  prot=item.prot)
        else:
            item.rdata = await self.host.read(item.addr, prot=item.prot)
        item.slverr = _u(self.dut.pslverr_o)      # still the access phase (see the module doc)


class ApbProtocolError(AssertionError):
    """A broken APB4 rule (``rule``: its id in :data:`ApbProtocolChecker.RULES`)."""

    def __init__(self, rule: str, msg: str):
        super().__init__(f"APB protocol [{rule}] {ApbProtocolChecker.RULES[rule][1]}: {msg}")
        self.rule = rule


class ApbProtocolChecker:
    """The APB4 protocol assertions of every hymem_top test (IHI 0024 rules; the monitor
    samples the pins at each falling edge of a transfer, so every rule is checked in every
    cycle of every transfer, and PSLVERR / PENABLE edges outside transfers wake a watcher).
    Requester rules hold the testbench's master to the protocol: a broken one fails the
    test, unless a test injects faults on purpose (:attr:`tolerate_requester`), in which
    case it is recorded in :attr:`faults`. Completer rules (the controller's) always fail
    the test. :attr:`checks` counts each rule's checks."""

    RULES = {
        "apb.1": ("requester", "PENABLE is high only while PSEL is high"),
        "apb.2": ("requester", "an ACCESS phase follows exactly one SETUP phase"),
        "apb.3": ("requester", "PSEL and PENABLE stay high from the ACCESS phase until PREADY"),
        "apb.4": ("requester", "PADDR, PWRITE, PWDATA, PSTRB, PPROT stay stable from the SETUP "
                               "phase to the end of the transfer"),
        "apb.5": ("requester", "PSTRB is 0 in a read"),
        "apb.6": ("requester", "PSEL, PENABLE, PADDR, PWRITE (and PWDATA, PSTRB in a write) are "
                               "0/1 during a transfer"),
        "apb.7": ("completer", "PREADY and PSLVERR are 0/1 in every ACCESS cycle"),
        "apb.8": ("completer", "PSLVERR is high only in the cycle a transfer completes (PSEL, "
                               "PENABLE and PREADY high)"),
        "apb.9": ("completer", "PRDATA is 0/1 when a read completes"),
        "apb.10": ("completer", "a transfer completes within the wait-state bound"),
    }

    def __init__(self, max_waits: int):
        self.max_waits = max_waits
        self.checks: Counter = Counter()
        self.faults: list[ApbProtocolError] = []
        self.tolerate_requester = False

    def check(self, rule: str, ok, msg: str = "") -> bool:
        self.checks[rule] += 1
        if ok:
            return True
        e = ApbProtocolError(rule, msg)
        if self.RULES[rule][0] == "requester" and self.tolerate_requester:
            self.faults.append(e)
            cocotb.log.info("APB: requester fault (injected): %s", e)
            return False
        raise e


class ApbMonitor(uvm_component):
    """Protocol checks (:class:`ApbProtocolChecker`) and one :class:`ApbTxn` per completed
    transfer (see the module doc)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.count = 0
        self.abandoned = 0
        # a READOUT read waits for the operation a queued read-out is behind (the host's bound)
        self.checker = ApbProtocolChecker(max_waits=200_000)
        ConfigDB().set(None, "*", "APB_CHECKER", self.checker)

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

    def _get(self, name: str) -> int | None:
        """A pin's value, None if it has X or Z bits."""
        try:
            return int(self._bin[name](), 2)
        except ValueError:
            return None

    def _now(self) -> float:
        return cocotb.simtime.get_sim_time("ns")

    def _ctl(self) -> tuple:
        return tuple(self._get(n) for n in ("pwrite", "paddr", "pwdata", "pstrb", "pprot"))

    async def run_phase(self):
        cocotb.start_soon(self._edges())
        c = self.checker
        while True:
            # idle: wake when PSEL rises (no per-cycle work while the bus is quiet)
            await FallingEdge(self.clk)
            await ReadOnly()
            if self._bin["rst_n"]() != "1":
                continue
            sel, en = self._get("psel"), self._get("penable")
            c.check("apb.6", sel is not None and en is not None,
                    f"PSEL {self._bin['psel']()} PENABLE {self._bin['penable']()} at {self._now():.0f} ns")
            if not sel:
                c.check("apb.1", not en, f"at {self._now():.0f} ns")
                await RisingEdge(self.pins["psel"])
                continue
            await self._transfer()

    async def _edges(self) -> None:
        """PSLVERR rising outside a completing cycle, PENABLE rising without PSEL: found at
        the edge, whenever it happens (no per-cycle polling)."""
        c, p = self.checker, self.pins
        while True:
            trig = await First(RisingEdge(p["pslverr"]), RisingEdge(p["penable"]))
            await ReadOnly()
            if self._bin["rst_n"]() != "1":
                continue
            sel, en, rdy = self._get("psel"), self._get("penable"), self._get("pready")
            if self._get("pslverr"):
                c.check("apb.8", sel and en and rdy,
                        f"PSLVERR high with PSEL {sel} PENABLE {en} PREADY {rdy} at {self._now():.0f} ns")
            if en:
                c.check("apb.1", sel, f"PENABLE rose with PSEL {sel} at {self._now():.0f} ns")
            await NextTimeStep()

    async def _transfer(self) -> None:
        """From the first cycle with PSEL (sampled now) to the end of the transfer."""
        c, now = self.checker, self._now
        ctl = self._ctl()
        write = ctl[0]
        c.check("apb.6", None not in (ctl[:2] + (ctl[2:4] if write else ())),
                f"X/Z in PWRITE/PADDR/PWDATA/PSTRB {ctl} at {now():.0f} ns")
        if not write:
            c.check("apb.5", ctl[3] == 0, f"PSTRB = {ctl[3]} in a read at {now():.0f} ns")
        faulty = False
        access_now = bool(self._get("penable"))
        if access_now:                       # PSEL and PENABLE rose together
            c.check("apb.2", False, f"ACCESS phase without a SETUP phase at {now():.0f} ns")
            faulty = True
        waits, first = 0, True
        while True:
            if not access_now:
                await FallingEdge(self.clk)
                await ReadOnly()
            access_now = False
            sel, en = self._get("psel"), self._get("penable")
            if not (sel and en):
                if first and not en:
                    c.check("apb.2", False, f"SETUP phase not followed by an ACCESS phase (PSEL "
                                            f"{sel}) at {now():.0f} ns")
                else:
                    c.check("apb.3", False, f"PSEL {sel} PENABLE {en} before PREADY, after "
                                            f"{waits} wait states, at {now():.0f} ns")
                self.abandoned += 1          # the controller does nothing with it
                return
            c.check("apb.3", True)
            first = False
            again = self._ctl()
            if again != ctl:
                c.check("apb.4", False, f"{ctl} -> {again} at {now():.0f} ns")
                ctl, faulty = again, True
            else:
                c.check("apb.4", True)
            rdy, err = self._get("pready"), self._get("pslverr")
            c.check("apb.7", rdy is not None and err is not None,
                    f"PREADY {self._bin['pready']()} PSLVERR {self._bin['pslverr']()} at {now():.0f} ns")
            if rdy:
                break
            c.check("apb.8", not err, f"PSLVERR high in a wait state at {now():.0f} ns")
            waits += 1
            c.check("apb.10", waits <= c.max_waits, f"{waits} wait states at {now():.0f} ns")
        write, addr, wdata, strb, prot = ctl
        rdata = 0
        if not write:
            rdata = self._get("prdata")
            c.check("apb.9", rdata is not None, f"PRDATA {self._bin['prdata']()} at {now():.0f} ns")
        txn = ApbTxn(bool(write), addr, wdata, strb, prot, rdata, err, waits,
                     self._get("irq") or 0, now(), faulty)
        await RisingEdge(self.clk)       # the completing edge: the DUT has taken the access
        self.count += 1
        self.ap.write(txn)

    def report_phase(self):
        c = self.checker
        self.logger.info("APB protocol checks: " + ", ".join(f"{r} {c.checks[r]}" for r in c.RULES)
                         + f"; transfers {self.count}, abandoned {self.abandoned}, injected "
                           f"requester faults caught {len(c.faults)}")


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
