"""hymem_regs: the generated APB4 register block, with tests generated from hymem.host.regmap.

Nothing here lists a register: every test iterates over the register model that
hymem.host.regmap reads from rtl/hymem_regs.rdl (registers, fields and their kinds rw / ro /
const / pulse / w1c / hw_we, reset values, checked registers, memory windows, ERR codes),
and the block's port names follow from it the way scripts/regmap.py names them.

* Bus master: cocotbext-apb's ApbHost (a pinned dependency) on the block's APB4 pins.
* Reference (:class:`RegRef`): the package's register model (``hymem.host.regmodel``) stepped
  cycle by cycle with the block's ports: stored fields, what a read returns, the error code
  of every access (1 unmapped, 2 write to read-only, 3 read of write-only, 4 misaligned,
  else the window's or the checker's code), PREADY of windows, and the side effects of each
  clock edge (committed writes, write-one-to-clear with hardware set winning, one-cycle
  command pulses, hw_we loads).
* :class:`Monitor`: every cycle, APB4 protocol checks on the bus (setup then access phase,
  address/control/data stable through wait states, no PSTRB on reads; PREADY and PSLVERR
  are looked at only in the access phase), and every output of the block against the
  reference: field outputs and command pulses in every cycle; PRDATA, PSLVERR and the
  acc_err_* report when a transfer completes; chk_* and the windows' request ports
  whenever they are active.
* Stimulus drives the hardware inputs (ro fields, hwset, hw_we), the checker's answer
  (chk_ok_i / chk_code_i) and the windows' responses (wait states, errors, read data).
* Fields marked hymem_por (LOST) are reset by por_ni only: they keep their value through
  rst_ni and load while rst_ni is low (the top captures what a reset cost then).
"""

from __future__ import annotations

from dataclasses import dataclass

import cocotb
import pytest
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotbext.apb import ApbBus, ApbHost

from hymem.host import regmap, regmodel
from hymem.sim import simrun, tbkit

TOPLEVEL = "hymem_regs"
RM = regmap.load()
RULES = regmodel.RegRules(RM)
E_UNMAPPED, E_READ_ONLY = RM.err("UNMAPPED"), RM.err("READ_ONLY")
E_WRITE_ONLY, E_MISALIGNED = RM.err("WRITE_ONLY"), RM.err("MISALIGNED")
ADDR_SPACE = 1 << RM.addr_bits

APB_SIGNALS = {"psel": "psel_i", "pwrite": "pwrite_i", "paddr": "paddr_i", "pwdata": "pwdata_i",
               "pready": "pready_o", "prdata": "prdata_o"}
APB_OPTIONAL = {"penable": "penable_i", "pstrb": "pstrb_i", "pprot": "pprot_i",
                "pslverr": "pslverr_o"}


# --------------------------------------------------------------- the block's port names


def pname(reg: regmap.Register, f: regmap.Field) -> str:
    return f"{reg.name.lower()}_{f.name.lower()}"


def fields_of(kind: str):
    return [(r, f) for r in RM.registers for f in r.fields if f.kind == kind]


mask, bmask = regmodel.fmask, regmodel.bmask


HW_INPUTS = ([pname(r, f) + "_i" for r, f in fields_of("ro")]
             + [pname(r, f) + "_set_i" for r, f in fields_of("w1c")]
             + [pname(r, f) + s for r, f in fields_of("hw_we") for s in ("_i", "_we_i")])
FIELD_OUTPUTS = [(r, f, pname(r, f) + "_o") for k in ("rw", "w1c", "pulse") for r, f in fields_of(k)]
W1C_FIELDS, HW_WE_FIELDS = fields_of("w1c"), fields_of("hw_we")
POR_FIELDS = [(r, f) for r in RM.registers for f in r.fields if f.por]


def mem_ports(m: regmap.Memory) -> tuple[list[str], list[str]]:
    n = m.name.lower()
    outs = [f"{n}_req_o", f"{n}_addr_o"] + ([f"{n}_wdata_o", f"{n}_wstrb_o"] if m.sw_write else [])
    ins = ([f"{n}_rdata_i"] if m.sw_read else []) + [f"{n}_ready_i", f"{n}_err_i", f"{n}_err_code_i"]
    return ins, outs


MEM_INPUTS = [p for m in RM.memories for p in mem_ports(m)[0]]
HAS_POR = any(f.por for r in RM.registers for f in r.fields)
IN_PORTS = ["rst_ni"] + (["por_ni"] if HAS_POR else []) + ["psel_i", "penable_i", "pwrite_i", "paddr_i", "pwdata_i", "pstrb_i", "pprot_i",
            "chk_ok_i", "chk_code_i"] + HW_INPUTS + MEM_INPUTS


def static_code(addr: int, write: bool) -> int:
    """The error an access gets from its address and direction alone (0: none)."""
    return RULES.address_code(addr, write)


# ----------------------------------------------------------------------- reference


@dataclass
class Txn:
    cycle: int
    write: bool
    addr: int
    wdata: int
    strb: int
    code: int
    rdata: int | None      # expected PRDATA of an error-free read
    waits: int


class RegRef:
    """Cycle-level reference of the block: the package's register model
    (``hymem.host.regmodel.RegModel``: stored fields, reset values, what a read returns, the
    merged value a checked write asks about, the effect of an accepted write, the address
    rules) stepped with the block's ports: the checker's and the windows' answers, APB
    timing, command pulses that last one cycle, hardware sets and write enables."""

    def __init__(self) -> None:
        self.m = regmodel.RegModel(RM)
        self.pulse = {(r.name, f.name): 0 for r, f in fields_of("pulse")}

    def reset(self, por: bool = True) -> None:
        """rst_ni (``por=False``: fields that survive it keep their value) or power-on."""
        self.m.reset(por=por)
        self.pulse = dict.fromkeys(self.pulse, 0)

    def read_value(self, reg: regmap.Register, i) -> int:
        return self.m.read(reg, lambda rn, fn: i[f"{rn.lower()}_{fn.lower()}_i"])[0]

    def access(self, i) -> dict:
        """The combinational answer to the bus in this cycle."""
        addr, write = i["paddr_i"], bool(i["pwrite_i"])
        code = static_code(addr, write)
        target = self.m.target(addr)
        a = dict(active=bool(i["psel_i"] and i["penable_i"]), addr=addr, write=write, target=target,
                 static=code, ready=1, mem=None)
        if code == 0 and isinstance(target, regmap.Memory):
            n = target.name.lower()
            a["mem"] = target
            a["ready"] = i[f"{n}_ready_i"]
            if i[f"{n}_err_i"]:
                code = i[f"{n}_err_code_i"]
        elif code == 0 and write and target.checked and not i["chk_ok_i"]:
            code = i["chk_code_i"]
        a["code"] = code
        a["done"] = a["active"] and bool(a["ready"])
        a["commit"] = a["done"] and write and code == 0
        return a

    def expected(self, i, a) -> dict:
        """Outputs that must have a given value in this cycle (others: don't care)."""
        e = {}
        q = self.m.q
        for r, f, port in FIELD_OUTPUTS:
            e[port] = self.pulse[(r.name, f.name)] if f.kind == "pulse" else q[(r.name, f.name)]
        err = a["done"] and a["code"] != 0
        e["acc_err_o"] = int(err)
        if a["active"]:
            e["pready_o"] = a["ready"]
            if a["ready"]:
                e["pslverr_o"] = int(err)
        if err:
            e["acc_err_code_o"] = a["code"]
            e["acc_err_addr_o"] = a["addr"]
        if a["done"] and not a["write"] and a["code"] == 0:
            t = a["target"]
            e["prdata_o"] = (self.read_value(t, i) if isinstance(t, regmap.Register)
                             else i[f"{t.name.lower()}_rdata_i"])
        chk = (a["active"] and a["write"] and a["static"] == 0
               and isinstance(a["target"], regmap.Register) and a["target"].checked)
        e["chk_valid_o"] = int(chk)
        if chk:
            e["chk_addr_o"] = a["addr"]
            e["chk_wdata_o"] = self.m.merged(a["target"], i["pwdata_i"], i["pstrb_i"])
        for m in RM.memories:
            n = m.name.lower()
            req = a["active"] and a["mem"] is m
            e[f"{n}_req_o"] = int(req)
            if req:
                e[f"{n}_addr_o"] = (a["addr"] - m.addr) >> 2
                if m.sw_write:
                    e[f"{n}_wdata_o"] = i["pwdata_i"]
                    e[f"{n}_wstrb_o"] = i["pstrb_i"]
        return e

    def edge(self, i, a) -> None:
        """The state after the next rising edge."""
        m = self.m
        if HAS_POR:                    # fields on por_ni: load whenever we, reset by por_ni
            for r, f in POR_FIELDS:
                if not i["por_ni"]:
                    m.set(r.name, f.name, f.reset)
                elif i[pname(r, f) + "_we_i"]:
                    m.set(r.name, f.name, i[pname(r, f) + "_i"])
        if not i["rst_ni"]:
            self.reset(por=False)
            return
        self.pulse = dict.fromkeys(self.pulse, 0)
        t = a["target"] if a["commit"] else None
        if isinstance(t, regmap.Register):   # the write: rw bytes, w1c clears, command pulses
            for name, bits in m.write(t, i["pwdata_i"], i["pstrb_i"]).items():
                self.pulse[(t.name, name)] = bits
        for r, f in W1C_FIELDS:        # a hardware set wins over a clear at the same edge
            if i[pname(r, f) + "_set_i"]:
                m.set(r.name, f.name, m.q[(r.name, f.name)] | i[pname(r, f) + "_set_i"])
        for r, f in HW_WE_FIELDS:
            if not f.por and i[pname(r, f) + "_we_i"]:
                m.set(r.name, f.name, i[pname(r, f) + "_i"])


# ------------------------------------------------------------------------- monitor


class Sample(dict):
    """The inputs of one cycle, read on first use (all within one ReadOnly phase)."""

    def __init__(self, readers) -> None:
        super().__init__()
        self._r = readers

    def __missing__(self, k):
        v = self[k] = self._r[k]()
        return v


class Monitor:
    def __init__(self, dut, ref: RegRef) -> None:
        self.dut, self.ref = dut, ref
        self.cycle = self.checked = 0
        self.txns: list[Txn] = []
        self.synced = False
        self._in = {n: tbkit.fast_reader(getattr(dut, n)) for n in IN_PORTS}
        names = [p for _, _, p in FIELD_OUTPUTS] + ["pready_o", "pslverr_o", "prdata_o", "acc_err_o",
                                                     "acc_err_code_o", "acc_err_addr_o", "chk_valid_o",
                                                     "chk_addr_o", "chk_wdata_o"]
        names += [p for m in RM.memories for p in mem_ports(m)[1]]
        self._out = {n: tbkit.fast_reader(getattr(dut, n)) for n in names}
        self._prev = None           # the bus in the previous cycle
        self._waits = 0
        self.task = cocotb.start_soon(self._run())

    def _protocol(self, i, a) -> None:
        """APB4: IDLE -> SETUP (PSEL, no PENABLE) -> ACCESS (PENABLE) until PREADY; the
        transfer's address, control and data do not change between SETUP and its end."""
        sel, en = i["psel_i"], i["penable_i"]
        bus = (i["paddr_i"], i["pwrite_i"], i["pwdata_i"], i["pstrb_i"], i["pprot_i"])
        prev = self._prev
        where = f"cycle {self.cycle}"
        assert sel or not en, f"{where}: PENABLE without PSEL"
        in_transfer = prev is not None and prev[0] in ("setup", "wait")
        if sel and not en:
            assert not in_transfer, f"{where}: a new SETUP phase while a transfer is in progress ({prev[0]})"
            phase = "setup"
        elif sel and en:
            assert in_transfer, f"{where}: ACCESS phase without a SETUP phase before it"
            assert bus == prev[1], f"{where}: address/control/data changed during the transfer: {prev[1]} -> {bus}"
            phase = "access" if a["ready"] else "wait"
        else:
            assert not in_transfer, f"{where}: PSEL dropped before the transfer completed ({prev[0]})"
            phase = "idle"
        if sel and not i["pwrite_i"]:
            assert i["pstrb_i"] == 0, f"{where}: PSTRB must be 0 in a read transfer"
        self._prev = (phase, bus)

    async def _run(self) -> None:
        while True:
            await FallingEdge(self.dut.clk_i)
            await ReadOnly()
            self.cycle += 1
            i = Sample(self._in)
            if not self.synced:
                if i["rst_ni"] != 0:
                    continue            # before the first reset edge: outputs are X
                self.synced = True
                self.ref.edge(i, None)
                continue
            if not i["rst_ni"]:
                self.ref.edge(i, None)
                self._prev = None
                continue
            a = self.ref.access(i)
            for name, want in self.ref.expected(i, a).items():
                got = self._out[name]()
                if got != want:
                    raise AssertionError(
                        f"cycle {self.cycle}: {name} = {got if isinstance(got, str) else hex(got)}, "
                        f"reference {want:#x}; bus: psel={i['psel_i']} penable={i['penable_i']} "
                        f"pwrite={i['pwrite_i']} paddr={i['paddr_i']:#05x} pwdata={i['pwdata_i']:#010x} "
                        f"pstrb={i['pstrb_i']:04b}")
            self._protocol(i, a)
            if a["active"] and not a["done"]:
                self._waits += 1
            if a["done"]:
                rd = None
                if not a["write"] and a["code"] == 0:
                    t = a["target"]
                    rd = (self.ref.read_value(t, i) if isinstance(t, regmap.Register)
                          else i[f"{t.name.lower()}_rdata_i"])
                self.txns.append(Txn(self.cycle, a["write"], a["addr"], i["pwdata_i"], i["pstrb_i"],
                                     a["code"], rd, self._waits))
                self._waits = 0
            self.checked += 1
            self.ref.edge(i, a)


# ---------------------------------------------------------------------- environment


class Env:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.rng = tbkit.rng()
        self.ref = RegRef()
        self.mon = None
        self.host = None
        self.chk = (1, 0)
        self.plan = {m.name: dict(waits=0, err=0, code=0, rdata=0) for m in RM.memories}

    async def start(self) -> None:
        d = self.dut
        for n in IN_PORTS:
            if n not in ("psel_i", "penable_i", "pwrite_i", "paddr_i", "pwdata_i", "pstrb_i", "pprot_i"):
                getattr(d, n).value = 0
        d.chk_ok_i.value = 1
        for m in RM.memories:
            getattr(d, f"{m.name.lower()}_ready_i").value = 1
        bus = ApbBus(d, None, signals=APB_SIGNALS, optional_signals=APB_OPTIONAL)
        self.host = ApbHost(bus, d.clk_i, seednum=int(self.rng.integers(2**24)))
        self.host.return_int = True
        self.host.log.setLevel("WARNING")
        self.mon = Monitor(d, self.ref)
        cocotb.start_soon(self._window_responder())
        await tbkit.start_clock(d.clk_i)
        await tbkit.reset(d.clk_i, d.rst_ni)       # por_ni is low with it (power-up)
        if HAS_POR:
            d.por_ni.value = 1

    # --- what the block's neighbours answer

    def set_chk(self, ok: int, code: int = 0) -> None:
        self.chk = (ok, code)
        self.dut.chk_ok_i.value = ok
        self.dut.chk_code_i.value = code

    def plan_window(self, mem: regmap.Memory, waits: int = 0, err: int = 0, code: int = 0,
                    rdata: int = 0) -> None:
        """The response of a window to its next access: `waits` cycles with ready low, then
        ready with err / code / rdata."""
        n = mem.name.lower()
        self.plan[mem.name] = dict(waits=waits, err=err, code=code, rdata=rdata)
        d = self.dut
        getattr(d, f"{n}_ready_i").value = int(waits == 0)
        getattr(d, f"{n}_err_i").value = err
        getattr(d, f"{n}_err_code_i").value = code
        if mem.sw_read:
            getattr(d, f"{n}_rdata_i").value = rdata

    async def _window_responder(self) -> None:
        """Counts the access cycles of a window request (at the falling edge, where the bus is
        settled) and raises ready at the next rising edge once the planned waits are over.
        It never lowers ready: plan_window sets the level for the next access."""
        d = self.dut
        count = {m.name: 0 for m in RM.memories}
        while True:
            await FallingEdge(d.clk_i)
            await ReadOnly()
            raise_ready = []
            for m in RM.memories:
                n = m.name.lower()
                if tbkit.u(getattr(d, f"{n}_req_o")):
                    count[m.name] += 1
                    if (not tbkit.u(getattr(d, f"{n}_ready_i"))
                            and count[m.name] >= self.plan[m.name]["waits"]):
                        raise_ready.append(n)
                else:
                    count[m.name] = 0
            await RisingEdge(d.clk_i)
            for n in raise_ready:
                getattr(d, f"{n}_ready_i").value = 1

    def expect_code(self, addr: int, write: bool) -> int:
        code = static_code(addr, write)
        if code:
            return code
        t = RM.decode(addr)
        if isinstance(t, regmap.Memory):
            p = self.plan[t.name]
            return p["code"] if p["err"] else 0
        if write and t.checked and not self.chk[0]:
            return self.chk[1]
        return 0

    # --- bus accesses

    async def write(self, addr: int, data: int, strb: int = 0xF, prot: int = 2) -> Txn:
        n = len(self.mon.txns)
        await self.host.write(addr, data, strb=strb, prot=prot,
                              error_expected=self.expect_code(addr, True) != 0)
        await RisingEdge(self.dut.clk_i)          # the edge that completes the transfer
        assert len(self.mon.txns) == n + 1
        t = self.mon.txns[-1]
        assert t.write and t.addr == addr
        return t

    async def read(self, addr: int, prot: int = 2) -> tuple[int, Txn]:
        n = len(self.mon.txns)
        v = await self.host.read(addr, prot=prot, error_expected=self.expect_code(addr, False) != 0)
        await RisingEdge(self.dut.clk_i)
        assert len(self.mon.txns) == n + 1
        t = self.mon.txns[-1]
        assert not t.write and t.addr == addr
        if t.code == 0:
            assert v == t.rdata, f"read {addr:#05x}: host got {v:#010x}, reference {t.rdata:#010x}"
        return v, t

    async def value(self, reg: regmap.Register) -> int:
        """The register's value through a read (registers readable by software only)."""
        v, t = await self.read(reg.addr)
        assert t.code == 0
        return v

    def drive(self, port: str, value: int) -> None:
        getattr(self.dut, port).value = value

    async def settle(self) -> None:
        await FallingEdge(self.dut.clk_i)

    def rand(self, bits: int = 32) -> int:
        return int(self.rng.integers(1 << bits))


async def _env(dut) -> Env:
    env = Env(dut)
    await env.start()
    return env


def _rw_registers():
    return [r for r in RM.registers if any(f.kind == "rw" for f in r.fields)]


# ---------------------------------------------------------------------------- tests


@cocotb.test()
async def reset_values(dut):
    """Every readable register reads its reset value after reset (ro fields: their inputs,
    0 here); after random writes to every writable register and a new reset, again."""
    env = await _env(dut)
    readable = [r for r in RM.registers if r.sw_readable]
    for r in readable:
        assert await env.value(r) == r.reset, f"{r.name} after reset"
    for r in _rw_registers():
        await env.write(r.addr, env.rand())
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 2)
    dut.rst_ni.value = 1
    for r in readable:
        assert await env.value(r) == r.reset, f"{r.name} after the second reset"
    assert env.mon.checked > 0


@cocotb.test()
async def rw_fields_and_strobes(dut):
    """Every register with rw fields: all-ones and all-zeros writes read back as the field
    mask and 0; random data under each single-byte PSTRB, no PSTRB and a random pattern
    merges byte-wise; two registers (random) get all 16 PSTRB patterns."""
    env = await _env(dut)
    regs = _rw_registers()
    full = {int(x) for x in env.rng.choice(len(regs), 2, replace=False)}
    for k, r in enumerate(regs):
        rw = sum(f.mask for f in r.fields if f.kind == "rw")
        await env.write(r.addr, 0xFFFF_FFFF)
        assert (await env.value(r)) & rw == rw, r.name
        await env.write(r.addr, 0)
        assert (await env.value(r)) & rw == 0, r.name
        strobes = range(16) if k in full else [1, 2, 4, 8, 0, int(env.rng.integers(3, 16))]
        old = 0
        for strb in strobes:
            data = env.rand()
            await env.write(r.addr, data, strb)
            bm = bmask(strb) & rw
            new = await env.value(r)
            assert new & rw == ((old & ~bm) | (data & bm)) & rw, f"{r.name} strobe {strb:04b}"
            old = new


@cocotb.test()
async def read_only(dut):
    """A write to a register or window software cannot write: PSLVERR with code 2 (checked
    on acc_err_code_o by the monitor), nothing changes, no window request."""
    env = await _env(dut)
    for r in RM.registers:
        if r.sw_writable:
            continue
        for f in r.fields:                               # fixed inputs: the value is stable
            if f.kind == "ro":
                env.drive(pname(r, f) + "_i", env.rand(f.width))
        await env.settle()
        before = await env.value(r)
        t = await env.write(r.addr, ~before & 0xFFFF_FFFF)
        assert t.code == E_READ_ONLY, r.name
        assert await env.value(r) == before, f"{r.name} changed by a rejected write"
    for m in RM.memories:
        if not m.sw_write:
            for w in (0, m.words - 1):
                assert (await env.write(m.addr + 4 * w, env.rand())).code == E_READ_ONLY


@cocotb.test()
async def write_only(dut):
    """A read of a register or window software cannot read: PSLVERR with code 3."""
    env = await _env(dut)
    targets = [r.addr for r in RM.registers if not r.sw_readable]
    targets += [m.addr + 4 * w for m in RM.memories if not m.sw_read for w in (0, m.words - 1)]
    assert targets
    for a in targets:
        assert (await env.read(a))[1].code == E_WRITE_ONLY, hex(a)


@cocotb.test()
async def misaligned_and_unmapped(dut):
    """PADDR[1:0] != 0: code 4, for reads and writes of every register and window; every
    aligned address next to a mapped one that is itself unmapped, and random others: code 1.
    Nothing changes (the monitor checks every field output)."""
    env = await _env(dut)
    starts = [r.addr for r in RM.registers] + [m.addr for m in RM.memories] + [m.end - 4 for m in RM.memories]
    for a in starts:
        off = int(env.rng.integers(1, 4))
        assert (await env.read(a + off))[1].code == E_MISALIGNED
        assert (await env.write(a + off, env.rand(), int(env.rng.integers(16)))).code == E_MISALIGNED
    mapped = {r.addr for r in RM.registers}
    for m in RM.memories:
        mapped |= set(range(m.addr, m.end, 4))
    unmapped = sorted(set(range(0, ADDR_SPACE, 4)) - mapped)
    near = [a for a in unmapped if a - 4 in mapped or a + 4 in mapped]
    others = [int(x) for x in env.rng.choice([a for a in unmapped if a not in near], 24, replace=False)]
    for a in near + others + [unmapped[0], unmapped[-1]]:
        assert (await env.read(a))[1].code == E_UNMAPPED, hex(a)
        assert (await env.write(a, env.rand())).code == E_UNMAPPED, hex(a)
    dut._log.info("%d unmapped addresses tried (%d next to mapped ones)", len(near) + len(others) + 2, len(near))


@cocotb.test()
async def w1c_fields(dut):
    """Write-1-to-clear fields: set by *_set_i, kept by a 0 write or a write whose strobe
    misses the field, cleared by a 1 write; a hardware set in the very cycle a clear is
    written wins."""
    env = await _env(dut)
    for r, f in fields_of("w1c"):
        port = pname(r, f) + "_set_i"
        bit = f.mask
        byte_strb = 1 << (f.lsb // 8)
        await env.settle()
        env.drive(port, 1)
        await env.settle()
        env.drive(port, 0)
        assert await env.value(r) & bit, f"{r.name}.{f.name} not set by {port}"
        await env.write(r.addr, 0)
        assert await env.value(r) & bit, "a 0 write cleared it"
        await env.write(r.addr, 0xFFFF_FFFF, strb=0xF & ~byte_strb)
        assert await env.value(r) & bit, "a write without the field's strobe cleared it"
        await env.write(r.addr, bit)
        assert not await env.value(r) & bit, "a 1 write did not clear it"
        # set and clear at the same edge: the host's access phase is the cycle after setup
        await env.settle()
        env.drive(port, 1)
        await env.settle()
        env.drive(port, 0)
        clr = cocotb.start_soon(env.write(r.addr, bit))
        await _during_access(env, r.addr, lambda: env.drive(port, 1))
        env.drive(port, 0)
        await clr
        assert await env.value(r) & bit, "a hardware set at the edge of a clear must win"
        await env.write(r.addr, bit)
        assert not await env.value(r) & bit


async def _during_access(env: Env, addr: int, action) -> None:
    """Call `action` at the falling edge inside the access phase of the transfer to `addr`
    (so its effect is sampled by the edge that completes it); return one cycle later."""
    d = env.dut
    while True:
        await FallingEdge(d.clk_i)
        if tbkit.u(d.psel_i) and tbkit.u(d.penable_i) and tbkit.u(d.paddr_i) == addr:
            action()
            await FallingEdge(d.clk_i)
            return


@cocotb.test()
async def pulse_fields(dut):
    """Command fields: a committed write of 1 gives a one-cycle pulse on the field's output
    (the monitor checks every cycle), 0 or a strobe that misses the byte gives none; the
    command register itself is not readable (code 3, PRDATA 0)."""
    env = await _env(dut)
    d = dut
    regs = {r for r, _ in fields_of("pulse")}
    for r in regs:
        for f in (f for f in r.fields if f.kind == "pulse"):
            port = getattr(d, pname(r, f) + "_o")
            strb = 1 << (f.lsb // 8)
            seen = []

            async def watch():
                for _ in range(8):
                    await FallingEdge(d.clk_i)
                    seen.append(tbkit.u(port))
            w = cocotb.start_soon(watch())
            await env.write(r.addr, f.mask, strb=strb)
            await w
            assert seen.count(1) == 1 and seen.count(0) == 7, f"{f.name}: {seen}"
            await env.write(r.addr, f.mask, strb=0xF & ~strb)
            await env.write(r.addr, 0)
        await env.write(r.addr, sum(f.mask for f in r.fields))   # all at once
        if not r.sw_readable:
            v, t = await env.read(r.addr)
            assert t.code == E_WRITE_ONLY and v == 0
        else:
            v = await env.value(r)
            assert v & sum(f.mask for f in r.fields if f.kind == "pulse") == 0, "pulse fields read 0"


@cocotb.test()
async def hw_we_and_ro_fields(dut):
    """hw_we fields load *_i only while *_we_i is high; ro fields read their *_i inputs."""
    env = await _env(dut)
    for r, f in fields_of("hw_we"):
        n = pname(r, f)
        for _ in range(4):
            old = await env.value(r)
            new = env.rand(f.width)
            await env.settle()
            env.drive(n + "_i", new)
            assert (await env.value(r) >> f.lsb) & mask(f) == (old >> f.lsb) & mask(f), "loaded without we"
            await env.settle()
            env.drive(n + "_we_i", 1)
            await env.settle()
            env.drive(n + "_we_i", 0)
            env.drive(n + "_i", env.rand(f.width))
            assert (await env.value(r) >> f.lsb) & mask(f) == new
    ro_regs = sorted({r.name for r, _ in fields_of("ro")})
    for _ in range(3):
        for name in ro_regs:
            r = RM[name]
            want = 0
            await env.settle()
            for f in r.fields:
                if f.kind == "ro":
                    x = env.rand(f.width)
                    env.drive(pname(r, f) + "_i", x)
                    want |= x << f.lsb
                elif f.kind == "const":
                    want |= f.reset << f.lsb
            assert await env.value(r) == want, name


@cocotb.test()
async def por_fields_survive_rst(dut):
    """Fields on the power-on reset (hymem_por): loaded while rst_ni is low (the first reset
    edge, as the top captures what a reset cost), they survive further rst_ni cycles and
    read back afterwards; por_ni clears them; rst_ni still resets every other field."""
    env = await _env(dut)
    por = [(r, f) for r in RM.registers for f in r.fields if f.por]
    if not por:
        return
    regs = sorted({r.name for r, _ in por})
    for _ in range(3):
        vals = {(r.name, f.name): env.rand(f.width) for r, f in por}
        await env.settle()
        dut.rst_ni.value = 0
        for r, f in por:
            env.drive(pname(r, f) + "_i", vals[(r.name, f.name)])
            env.drive(pname(r, f) + "_we_i", 1)
        await RisingEdge(dut.clk_i)                 # the first reset edge loads them
        await env.settle()
        for r, f in por:
            env.drive(pname(r, f) + "_we_i", 0)
            env.drive(pname(r, f) + "_i", env.rand(f.width))
        await ClockCycles(dut.clk_i, 3)             # more reset cycles: kept
        dut.rst_ni.value = 1
        await RisingEdge(dut.clk_i)
        for name in regs:
            want = sum(vals[(name, f.name)] << f.lsb for f in RM[name].fields if f.por)
            assert await env.value(RM[name]) == want, f"{name} lost its value over rst_ni"
    await env.settle()
    dut.por_ni.value = 0
    await RisingEdge(dut.clk_i)
    dut.por_ni.value = 1
    for name in regs:
        assert await env.value(RM[name]) == RM[name].reset, f"{name} not cleared by por_ni"


@cocotb.test()
async def checked_writes(dut):
    """Writes to checked registers go through chk_valid_o / chk_addr_o / chk_wdata_o (the
    merged value, checked by the monitor); rejected (chk_ok_i low) they return chk_code_i on
    PSLVERR / acc_err_code_o and change nothing (no command pulse); accepted they update."""
    env = await _env(dut)
    codes = sorted(set(RM.error_codes) - {0}) + [0x80, 0xFF]
    for r in (r for r in RM.registers if r.checked):
        for k in range(2):
            before = await env.value(r) if r.sw_readable else None
            code = codes[int(env.rng.integers(len(codes)))]
            env.set_chk(0, code)
            data = env.rand()
            strb = 0xF if k == 0 else int(env.rng.integers(1, 16))
            t = await env.write(r.addr, data, strb)
            assert t.code == code
            if r.sw_readable:
                assert await env.value(r) == before, f"{r.name} changed by a rejected write"
            env.set_chk(1)
            t = await env.write(r.addr, data, strb)
            assert t.code == 0
            if r.sw_readable:
                rw = sum(f.mask for f in r.fields if f.kind == "rw") & bmask(strb)
                assert (await env.value(r)) & rw == data & rw


@cocotb.test()
async def memory_windows(dut):
    """Window accesses: request, word address, data and strobes forwarded; wait states while
    *_ready_i is low; *_err_i with its code gives PSLVERR with that code; read data from
    *_rdata_i; first and last word and random ones."""
    env = await _env(dut)
    for m in RM.memories:
        words = [0, m.words - 1] + [int(x) for x in env.rng.integers(m.words, size=6)]
        for k, w in enumerate(words):
            waits = [0, 1, 3, 7][k % 4]
            err = int(k % 3 == 2)
            code = int(env.rng.integers(1, 256)) if err else 0
            env.plan_window(m, waits, err, code, env.rand())
            a = m.addr + 4 * w
            if m.sw_write:
                t = await env.write(a, env.rand(), int(env.rng.integers(16)))
            else:
                t = (await env.read(a))[1]
            assert t.waits == waits, f"{m.name}: {t.waits} wait states, planned {waits}"
            assert t.code == code
        env.plan_window(m)


@cocotb.test()
async def random_traffic(dut):
    """Random accesses anywhere in the address space (mostly mapped), random data, strobes
    and PPROT, random checker answers and window responses, and random hardware inputs in
    every cycle; the monitor checks every cycle against the reference."""
    env = await _env(dut)
    d, r = dut, env.rng
    noise = cocotb.start_soon(_hw_noise(env))
    addrs = [x.addr for x in RM.registers] + [m.addr for m in RM.memories]
    # One directed access per address error code (and one without error) among the random
    # ones, at random places: random accesses alone miss a read of a write-only register
    # (p = 3.1 % per access) in 1.8e-3 of the runs. Each must get its code (PSLVERR and
    # acc_err_code_o checked by the monitor), and the coverage assert at the end can no
    # longer fail by chance.
    directed = _one_access_per_code(env)
    n_rand = 200
    at = dict(zip((int(k) for k in r.choice(n_rand + len(directed), len(directed), replace=False)),
                  directed))
    for k in range(n_rand + len(directed)):
        u = r.random()
        if u < 0.7:
            a = addrs[int(r.integers(len(addrs)))]
            t = RM.decode(a)
            if isinstance(t, regmap.Memory):
                a += 4 * int(r.integers(t.words))
        elif u < 0.85:
            a = int(r.integers(ADDR_SPACE)) & ~3
        else:
            a = int(r.integers(ADDR_SPACE))
        ok = int(r.random() < 0.8)
        env.set_chk(ok, 0 if ok else int(r.integers(1, 256)))
        for m in RM.memories:
            err = int(r.random() < 0.2)
            env.plan_window(m, int(r.integers(0, 4)), err, int(r.integers(1, 256)) if err else 0, env.rand())
        if k in at:
            write, a, code = at[k]
            if write:
                t = await env.write(a, env.rand(), int(r.integers(16)), prot=int(r.integers(8)))
            else:
                t = (await env.read(a, prot=int(r.integers(8))))[1]
            assert t.code == code, f"{'write' if write else 'read'} {a:#05x}: code {t.code}, want {code}"
        elif r.random() < 0.5:
            await env.write(a, env.rand(), int(r.integers(16)), prot=int(r.integers(8)))
        else:
            await env.read(a, prot=int(r.integers(8)))
    noise.cancel()
    await ClockCycles(d.clk_i, 2)
    codes = {t.code for t in env.mon.txns}
    assert {0, E_UNMAPPED, E_READ_ONLY, E_WRITE_ONLY, E_MISALIGNED} <= codes, codes
    dut._log.info("%d transfers, %d cycles checked, codes %s", len(env.mon.txns), env.mon.checked,
                  sorted(codes))


def _one_access_per_code(env: Env) -> list[tuple[bool, int, int]]:
    """(write, address, code): a random access of the register model for each address error
    code (unmapped, write to read-only, read of write-only, misaligned) and a read of a
    readable register (code 0 whatever the checker and the windows answer)."""
    r = env.rng

    def pick(xs):
        return xs[int(r.integers(len(xs)))]

    mapped = {x.addr for x in RM.registers} | {a for m in RM.memories for a in range(m.addr, m.end, 4)}
    unmapped = sorted(set(range(0, ADDR_SPACE, 4)) - mapped)
    read_only = ([x.addr for x in RM.registers if not x.sw_writable]
                 + [m.addr + 4 * w for m in RM.memories if not m.sw_write for w in (0, m.words - 1)])
    write_only = ([x.addr for x in RM.registers if not x.sw_readable]
                  + [m.addr + 4 * w for m in RM.memories if not m.sw_read for w in (0, m.words - 1)])
    readable = [x.addr for x in RM.registers if x.sw_readable]
    out = [(bool(r.random() < 0.5), pick(unmapped), E_UNMAPPED),
           (True, pick(read_only), E_READ_ONLY),
           (False, pick(write_only), E_WRITE_ONLY),
           (bool(r.random() < 0.5), pick(sorted(mapped)) + int(r.integers(1, 4)), E_MISALIGNED),
           (False, pick(readable), 0)]
    for write, a, code in out:
        assert static_code(a, write) == code, (write, hex(a), code)
    return out


async def _hw_noise(env: Env) -> None:
    """Every cycle: each hwset / write-enable input high with probability 0.1, and three
    random data inputs of ro / hw_we fields to new random values."""
    d, r = env.dut, env.rng
    strobes = [getattr(d, n) for n in HW_INPUTS if n.endswith("_set_i") or n.endswith("_we_i")]
    data = [(getattr(d, n), len(getattr(d, n))) for n in HW_INPUTS
            if not (n.endswith("_set_i") or n.endswith("_we_i"))]
    while True:
        await RisingEdge(d.clk_i)
        for h, v in zip(strobes, (r.random(len(strobes)) < 0.1).tolist()):
            h.value = int(v)
        for k in r.integers(len(data), size=3).tolist():
            h, w = data[k]
            h.value = int(r.integers(1 << w))


# ------------------------------------------------------------ pytest: the RTL


@pytest.mark.sim
def test_hymem_regs(sim, seed):
    simrun.run(TOPLEVEL, "test_hymem_regs", sim, seed=seed)


def test_model_covers_every_kind():
    """The register model has every field kind the tests are generated for."""
    kinds = {f.kind for r in RM.registers for f in r.fields}
    assert {"rw", "ro", "const", "pulse", "w1c", "hw_we"} <= kinds, kinds
    assert any(r.checked for r in RM.registers)
    assert any(m.sw_write for m in RM.memories) and any(m.sw_read for m in RM.memories)
