"""Sequences of the hymem_top environment.

Every access is an :class:`ApbItem` through the APB sequencer, so the monitor and the
scoreboard see all of them. Functional sequences program the controller with the
project's firmware driver (``hymem.host.firmware.Hymem``) over :class:`SeqBus`; register tests
are generated from ``hymem.host.regmap`` (the RDL): nothing here lists a register by hand
except the rules of hymem_cfg_check (the header's legality table) used to build illegal
values. Directed sequences also assert their own intent (the code they set out to
provoke), independently of the scoreboard, which predicts every access anyway.

Waiting is by edges, never by polling the bus or the clock: an operation's end is the
falling edge of the controller's ``busy`` net (the source of STATUS.BUSY), the firmware
flow of InterruptSeq waits for the rising edge of ``irq_o``, and a sequence that must act
in the middle of an operation (AbortSeq) waits for value changes of the net it watches;
STATUS is then read over the bus, which is how the scoreboard learns the operation ended.
"""

from __future__ import annotations

import os
from collections import Counter

import cocotb
import numpy as np
from cocotb.triggers import (FallingEdge, RisingEdge, SimTimeoutError, Timer, ValueChange,
                             with_timeout)
from pyuvm import ConfigDB, uvm_sequence

from hymem.host import firmware
from hymem.host.firmware import FAST_TIMING_CLK_NS
from hymem.sim.scoreboard import read_noise_z

from top_apb import ApbItem
from top_env import OPERATIONS, ctx
from top_model import M32, top_ports

#: hymem_top's outputs (none may be X or Z after a reset)
OUTPUTS = [name for name, d in top_ports() if d == "output"]


#: Longest wait for an edge (simulated time): a controller that never finishes fails the
#: test instead of hanging the regression. Forming the small build's pristine array, the
#: longest operation here, takes about 8 ms.
EDGE_TIMEOUT_MS = 50


class SeqError(AssertionError):
    """A directed sequence did not get what it set out to provoke."""


async def edge(trigger, what: str):
    """Await ``trigger`` (an edge), at most EDGE_TIMEOUT_MS of simulated time."""
    try:
        return await with_timeout(trigger, EDGE_TIMEOUT_MS, "ms")
    except SimTimeoutError:
        raise SeqError(f"no {what} within {EDGE_TIMEOUT_MS} ms") from None


class SeqBus:
    """firmware.Hymem's bus over a sequence: PSLVERR raises, as the firmware expects."""

    def __init__(self, seq: "HymemSeq"):
        self.seq = seq

    async def read(self, addr: int) -> int:
        it = await self.seq.access(False, addr)
        if it.slverr:
            raise firmware.FirmwareError(f"read {addr:#05x}: PSLVERR")
        return it.rdata

    async def write(self, addr: int, data: int, strb: int = 0xF) -> None:
        it = await self.seq.access(True, addr, data, strb)
        if it.slverr:
            raise firmware.FirmwareError(f"write {addr:#05x} = {data:#010x}: PSLVERR")


class HymemSeq(uvm_sequence):
    """Base: accesses, register helpers, the firmware driver, waiting for edges."""

    def __init__(self, name: str | None = None):
        super().__init__(name or type(self).__name__)
        self.c = ctx()
        self.rm, self.b, self.rng = self.c.rm, self.c.build, self.c.rng

    @property
    def model(self):
        return self.c.model

    @property
    def fw(self) -> firmware.Hymem:
        if not hasattr(self, "_fw"):
            self._fw = firmware.Hymem(SeqBus(self), self.rm)
        return self._fw

    async def run(self, seq: "HymemSeq") -> None:
        await seq.start(self.sequencer)

    # -- accesses

    async def access(self, write: bool, addr: int, data: int = 0, strb: int = 0xF) -> ApbItem:
        item = ApbItem("apb", write, addr, int(data) & M32, strb if write else 0,
                       int(self.rng.integers(8)))        # PPROT: accepted and ignored
        await self.start_item(item)
        await self.finish_item(item)
        return item

    async def read(self, reg: str, field: str | None = None) -> int:
        return await self.fw.read(reg, field)

    async def expect_error(self, write: bool, addr: int, code: int, data: int = 0,
                           strb: int = 0xF) -> None:
        """An access that must be rejected with ``code``: PSLVERR, then ERR holds code and address."""
        it = await self.access(write, addr, data, strb)
        if not it.slverr:
            raise SeqError(f"{it}: accepted, expected ERR {code} ({self.rm.error_codes[code]})")
        err = await self.read("ERR")
        got = (self.model.r.field("ERR", "CODE", err), self.model.r.field("ERR", "ADDR", err))
        if got != (code, addr):
            raise SeqError(f"{it}: ERR holds code {got[0]} address {got[1]:#05x}, expected {code} {addr:#05x}")

    async def expect_ok(self, write: bool, addr: int, data: int = 0, strb: int = 0xF) -> ApbItem:
        it = await self.access(write, addr, data, strb)
        if it.slverr:
            raise SeqError(f"{it}: rejected (PSLVERR), expected it to be accepted")
        return it

    async def cmd(self, *names: str, code: int = 0) -> None:
        v = self.model.r.pack("CMD", **{n: 1 for n in names})
        if code:
            await self.expect_error(True, self.rm["CMD"].addr, code, v)
        else:
            await self.expect_ok(True, self.rm["CMD"].addr, v)

    async def wait_idle(self) -> None:
        """Until nothing runs or is queued: STATUS, then (if BUSY) the falling edge of the
        controller's busy net, then STATUS again (the scoreboard completes the operations)."""
        if not await self.read("STATUS", "BUSY"):
            return
        busy = cocotb.top.busy
        while busy.value == 1:
            await edge(FallingEdge(busy), "end of the operation (falling edge of busy)")
            # a zero-time glitch is not the end: Icarus showed busy low for a time step when
            # a queued wake-up started (run_q and q_wake_q change at the same edge)
            await Timer(1, unit="ns")
        if await self.read("STATUS", "BUSY"):
            raise SeqError("STATUS.BUSY reads 1 after the controller's busy net fell")

    async def expect_status(self, field: str, value: int = 1) -> int:
        """STATUS now: `field` must read `value` (e.g. UPD_BUSY right after CMD.SAMPLE)."""
        s = await self.read("STATUS")
        if self.model.r.field("STATUS", field, s) != value:
            raise SeqError(f"STATUS = {s:#010x}: {field} is not {value}")
        return s

    async def wait_net(self, net: str, value: int) -> None:
        """Until the controller's internal net `net` (a dotted path below the top) holds
        `value`, woken by its value changes only."""
        sig = cocotb.top
        for part in net.split("."):
            sig = getattr(sig, part)
        while sig.value != value:
            await edge(ValueChange(sig), f"change of {net} (waiting for {value})")

    # -- configuration

    async def write_config(self, values: dict[str, int]) -> None:
        """Write registers (name -> value) in an order every intermediate state of which is
        legal for the strobe < pulse rules: strobes to 1, then the rest, then the strobes."""
        r = self.model.r
        strobe_regs = {sr: sf for (sr, sf), _ in self.rm.below_pairs()}
        first = {n: r.pack(n, **{**r.fields(n, values.get(n, r.value(n))), sf: 1})
                 for n, sf in strobe_regs.items() if n in values}
        for n, v in first.items():
            await self.fw.write(n, v)
        for n, v in values.items():
            if n not in strobe_regs:
                await self.fw.write(n, v)
        for n in first:
            await self.fw.write(n, values[n])

    async def set_timing(self, timing: dict = firmware.FAST_TIMING) -> None:
        await self.fw.set_timing(timing)

    async def configure(self, **kw) -> None:
        """firmware.Hymem.configure, with the fast co-simulation timing."""
        await self.fw.configure(timing=firmware.FAST_TIMING, **kw)

    async def vectors(self, n_in: int, n_out: int, extremes: bool = True):
        """Random int8 x and e (with the extremes now and then), written to the buffers."""
        x = self.rng.integers(-128, 128, n_in)
        e = self.rng.integers(-128, 128, n_out)
        if extremes:
            for v in (x, e):
                pick = self.rng.random(len(v)) < 0.05
                v[pick] = self.rng.choice([-128, 127, 0], int(pick.sum()))
        await self.fw.write_vector("XBUF", x)
        await self.fw.write_vector("EBUF", e)
        return x, e

    def small_layer(self, slots: float = 1.5) -> tuple[int, int]:
        """A tile that fills about `slots` slots (transfers visit only used slots)."""
        b = self.b
        n_in = min(b.xdepth, max(1, b.lines // 4))
        n_out = max(1, min(b.edepth, int(slots * b.lines) // n_in, b.lines * b.slots // n_in))
        return n_in, n_out

    def full_layer(self) -> tuple[int, int]:
        n_in = min(self.b.xdepth, self.b.lines)
        return n_in, min(self.b.edepth, self.b.lines * self.b.slots // n_in)


# ---------------------------------------------------------------- small building blocks


class CheckStateSeq(HymemSeq):
    """Read everything the controller reports about its work (counters, samples since the
    last transfer, failure log, STATUS, IRQ_STATUS, ERR): the scoreboard predicts each."""

    async def body(self):
        for r in self.rm.registers:
            if r.name.startswith(("CNT_", "FAIL_")) or r.name in ("SAMPLES_SINCE", "STATUS",
                                                                   "IRQ_STATUS", "ERR"):
                await self.read(r.name)


class DeclareWokenSeq(HymemSeq):
    """CMD.WOKEN: the macro model is built woken (top_env.MacroSide), so the controller is
    told so at power-up; WakeTest runs the wake-up instead."""

    async def body(self):
        await self.cmd("WOKEN")
        # read back: also lets the command's pulse reach the WOKEN flop before any reset
        # (a rst_ni in the cycle after a CMD write drops its pulse; the model does not time it)
        await self.expect_status("WOKEN", 1)


class WakeSeq(HymemSeq):
    """FeCAP wake-up from power-on (STATUS.WOKEN = 0): SAMPLE and TRANSFER refused (ERR 10)
    while not woken, FORM and READOUT accepted; CMD.WAKE with a short WAKE.CYCLES on a tile
    of about 1.5 slots, whose hidden weights and flags were poked non-zero: the used slots'
    rows erased, the others kept (the scoreboard compares with hymem.digital.engine.EngineState.wake
    at idle), WAKE_BUSY while it runs, CNT_WAKE_CYCLES, WOKEN = 1 at the end and kept across
    rst_ni; a wake-up queued behind a sample; then a sample is accepted."""

    async def body(self):
        E, b, rng = self.model.r.Err, self.b, self.rng
        await self.expect_status("WOKEN", 0)
        await self.set_timing()
        n_in, n_out = self.small_layer()
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=2, p16=65536, k=0)
        x, e = await self.vectors(n_in, n_out)
        await self.cmd("SAMPLE", code=E.NOT_WOKEN)
        await self.cmd("TRANSFER", code=E.NOT_WOKEN)
        await self.cmd("SAMPLE", "WOKEN", code=E.NOT_WOKEN)   # refused as a whole
        await self.expect_status("WOKEN", 0)
        await self.cmd("READOUT")                    # memristor-only operations are not refused
        await self.wait_idle()
        await self.run(CheckStateSeq())
        arr = self.c.macro.array
        top = 2 ** b.mag_width
        arr.backdoor.poke_hidden(rng.integers(-top + 1, top, (b.slots, b.lines)))
        arr.backdoor.poke_flags(rng.random((b.slots, b.lines)) < 0.5)
        self.model.sync_from_backdoor()
        cycles = int(rng.integers(1, 4))
        await self.fw.write("WAKE", CYCLES=cycles)
        await self.cmd("WAKE")
        await self.cmd("WAKE")                       # queued behind the running one
        await self.cmd("WAKE", code=E.QUEUED)
        await self.expect_status("WAKE_BUSY")
        await self.wait_idle()
        await self.expect_status("WOKEN", 1)
        if await self.read("CNT_WAKE_CYCLES") != 2 * cycles:
            raise SeqError(f"CNT_WAKE_CYCLES is not 2 x {cycles}")
        await self.run(CheckStateSeq())
        await self.c.clkrst.reset()                  # rst_ni does not un-wake the array
        await self.expect_status("WOKEN", 1)
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=2, p16=65536, k=0)
        await self.fw.write("WAKE", CYCLES=1)
        x, e = await self.vectors(n_in, n_out)
        await self.cmd("SAMPLE")
        await self.cmd("WAKE")                       # queued: erases what the sample wrote
        await self.wait_idle()
        await self.cmd("SAMPLE")
        await self.cmd("WOKEN")                      # no effect on a woken array
        await self.wait_idle()
        await self.run(CheckStateSeq())


# ----------------------------------------------------------------- register tests


class IdentitySeq(HymemSeq):
    """ID is 'HYM1' and HWCFG0..2 equal the build parameters (the firmware's identify())."""

    async def body(self):
        hw = await self.fw.identify()
        b = self.b
        want = dict(lines=b.lines, slots=b.slots, mag_width=b.mag_width, code_bits=b.code_bits,
                    xdepth=b.xdepth, edepth=b.edepth, verify_limit=b.verify_limit, adc_bits=b.adc_bits)
        got = {k: getattr(hw, k) for k in want}
        if got != want:
            raise SeqError(f"HWCFG reads {got}, the build is {want}")


class ResetValuesSeq(HymemSeq):
    """Every readable register and every READOUT word, read (reset values predicted)."""

    async def body(self):
        for r in self.rm.registers:
            if r.sw_readable:
                await self.read(r.name)
        m = self.rm.mem("READOUT")
        for w in range(m.words):
            await self.expect_ok(False, m.addr + 4 * w)


def random_field(rng, width: int) -> int:
    """Random field value, log-uniform in magnitude (small values as likely as large)."""
    bits = int(rng.integers(0, width + 1))
    return int(rng.integers(0, 1 << bits)) if bits else 0


class RwMasksSeq(HymemSeq):
    """Every register with rw fields (from the RDL), through the whole top: all ones and all
    zeros (the stored bits read back are the field masks, as the RDL declares them), then a
    random legal value under a random strobe, each read back. Illegal values are rejected
    (the scoreboard predicts which). Ends with every register at its reset value.
    (Every strobe pattern of every field is tb/hymem_regs' job, on the register block.)"""

    async def body(self):
        r = self.model.r
        for reg in (x for x in self.rm.registers if any(f.kind == "rw" for f in x.fields)):
            for v in (M32, 0):
                await self.access(True, reg.addr, v)
                await self.read(reg.name)
            # a random strobe, or the whole word when the stored bytes leave no legal value
            # (LAYER's product rule with the other field's stored byte)
            for strb in [int(self.rng.integers(1, 16))] * 100 + [0xF] * 400:
                v = sum(random_field(self.rng, f.width) << f.lsb for f in reg.fields)
                if not reg.checked or not r.check_code(reg.name, r.merged(reg, v, strb)):
                    break
            else:
                raise SeqError(f"no legal random value of {reg.name} found")
            await self.access(True, reg.addr, v, strb)
            await self.read(reg.name)
        # back to this build's reset values (legal in every build: LAYER's is derived from it)
        bv = self.b.values()
        await self.write_config({reg.name: self.rm.reset_value(reg.name, bv)
                                 for reg in self.rm.registers
                                 if any(f.kind == "rw" for f in reg.fields)})


class AccessErrorsSeq(HymemSeq):
    """Generated from the RDL, through the whole top: writes to every read-only register and
    window -> 2, reads of every write-only one -> 3; misaligned accesses (every window, some
    registers) -> 4; unmapped addresses (every gap next to a mapped word, random others) -> 1;
    vector-window words beyond the built depth -> 9; each followed by an ERR read (code and
    address). Then CMD.ERR_CLEAR and IRQ_STATUS.ERROR write-1-to-clear (kept by a 0 and by
    a write whose strobes miss its byte)."""

    async def body(self):
        rm, E, b = self.rm, self.model.r.Err, self.b
        for reg in rm.registers:
            if not reg.sw_writable:
                await self.expect_error(True, reg.addr, E.READ_ONLY, int(self.rng.integers(2**32)))
            if not reg.sw_readable:
                await self.expect_error(False, reg.addr, E.WRITE_ONLY)
        for m in rm.memories:
            for w in (0, m.words - 1, int(self.rng.integers(m.words))):
                if not m.sw_write:
                    await self.expect_error(True, m.addr + 4 * w, E.READ_ONLY, 0x5A5A5A5A)
                if not m.sw_read:
                    await self.expect_error(False, m.addr + 4 * w, E.WRITE_ONLY)
            depth = {"XBUF": b.xdepth, "EBUF": b.edepth}.get(m.name)
            if m.sw_write and depth is not None and depth // 4 < m.words:
                for w in (depth // 4, m.words - 1):          # beyond this build's buffer
                    await self.expect_error(True, m.addr + 4 * w, E.BUILD, 0x01020304)
        regs = [x.addr for x in rm.registers]
        starts = ([regs[int(i)] for i in self.rng.choice(len(regs), 6, replace=False)]
                  + [m.addr for m in rm.memories] + [m.end - 4 for m in rm.memories])
        for a in starts:
            off = int(self.rng.integers(1, 4))
            await self.expect_error(False, a + off, E.MISALIGNED)
            await self.expect_error(True, a + off, E.MISALIGNED, int(self.rng.integers(2**32)),
                                    int(self.rng.integers(16)))
        mapped = {x.addr for x in rm.registers} | {a for m in rm.memories for a in range(m.addr, m.end, 4)}
        unmapped = sorted(set(range(0, 1 << rm.addr_bits, 4)) - mapped)
        near = [a for a in unmapped if a - 4 in mapped or a + 4 in mapped]
        far = [a for a in unmapped if a not in near]
        pick = near + [int(x) for x in self.rng.choice(far, 4, replace=False)] + [unmapped[-1]]
        for n, a in enumerate(pick):
            if n % 2:
                await self.expect_error(False, a, E.UNMAPPED)
            else:
                await self.expect_error(True, a, E.UNMAPPED, int(self.rng.integers(2**32)))
        await self.cmd("ERR_CLEAR")
        if await self.read("ERR"):
            raise SeqError("CMD.ERR_CLEAR did not clear ERR")
        f = rm["IRQ_STATUS"].field("ERROR")
        st = rm["IRQ_STATUS"].addr
        if not (await self.read("IRQ_STATUS")) & f.mask:
            raise SeqError("IRQ_STATUS.ERROR not set by rejections")
        await self.expect_ok(True, st, 0)
        await self.expect_ok(True, st, M32, 0xF & ~(1 << (f.lsb // 8)))
        if not (await self.read("IRQ_STATUS")) & f.mask:
            raise SeqError("IRQ_STATUS.ERROR cleared by a 0 or by a write without its byte")
        await self.expect_ok(True, st, f.mask)
        if (await self.read("IRQ_STATUS")) & f.mask:
            raise SeqError("IRQ_STATUS.ERROR not cleared by writing 1")


class HardResetSeq(HymemSeq):
    """Scramble every writable register, reset (rst_ni), read every reset value again."""

    async def body(self):
        for reg in self.rm.registers:
            if any(f.kind == "rw" for f in reg.fields):
                await self.access(True, reg.addr, int(self.rng.integers(2**32)))
        await self.c.clkrst.reset()
        await self.run(ResetValuesSeq())


# ------------------------------------------------------------- illegal configurations


class IllegalConfigSeq(HymemSeq):
    """Each rule of hymem_cfg_check's header, violated and at its legal boundary: a violation
    is rejected with PSLVERR and its code (5, or 9 for a mode this build lacks), the register
    keeps its value, and nothing else changed (every configuration register is read back and
    predicted). Violations also through partial strobes (the merged value is checked)."""

    def cases(self) -> list[tuple[str, dict, int]]:
        b, r, E = self.b, self.model.r, self.model.r.Err
        syn = b.lines * b.slots
        n_big = -(-(syn + 1) // b.xdepth)               # with N_IN = XDepth: product > Lines*Slots
        c = [("LAYER", dict(N_IN=0, N_OUT=1), E.ILLEGAL),
             ("LAYER", dict(N_IN=1, N_OUT=0), E.ILLEGAL),
             ("LAYER", dict(N_IN=b.xdepth + 1, N_OUT=1), E.ILLEGAL),
             ("LAYER", dict(N_IN=1, N_OUT=b.edepth + 1), E.ILLEGAL),
             # the largest N_IN with the largest N_OUT it allows (N_IN = XDepth unless the
             # array is smaller than the buffer)
             ("LAYER", dict(N_IN=min(b.xdepth, syn), N_OUT=min(b.edepth, syn // min(b.xdepth, syn))), 0),
             ("LR", dict(MULT=255, SHIFT=24), E.ILLEGAL),
             ("LR", dict(MULT=1, SHIFT=31), E.ILLEGAL),
             ("LR", dict(MULT=128, SHIFT=23), 0),
             ("MASK_P", dict(P16=65537), E.ILLEGAL),
             ("MASK_P", dict(P16=(1 << 17) - 1), E.ILLEGAL),
             ("MASK_P", dict(P16=65536), 0),
             # one above the build's limit, when the field can hold it
             *([("MODE", dict(VERIFY_MAX=b.verify_limit + 1), E.BUILD)]
               if b.verify_limit < (1 << self.rm["MODE"].field("VERIFY_MAX").width) - 1 else []),
             ("MODE", dict(VERIFY_MAX=255), E.BUILD if b.verify_limit < 255 else 0),
             ("MODE", dict(VERIFY_MAX=b.verify_limit, STOCH_ROUND=1), 0)]
        if n_big <= b.edepth:
            c.append(("LAYER", dict(N_IN=b.xdepth, N_OUT=n_big), E.ILLEGAL))
        if b.slots < 1 << self.rm["READOUT_SEL"].field("SLOT").width:
            c += [("READOUT_SEL", dict(SLOT=b.slots), E.ILLEGAL),
                  ("READOUT_SEL", dict(SLOT=b.slots - 1, POL=1), 0)]
        for reg in (x for x in self.rm.registers if x.name.startswith("T_")):
            for f in reg.fields:                         # every width >= 1
                c.append((reg.name, {f.name: 0}, E.ILLEGAL))
        for (sr, sf), (pr, pf) in self.rm.below_pairs():   # strobe < pulse, either side written
            pulse, strobe = r.field(pr, pf), r.field(sr, sf)
            c += [(sr, {sf: pulse}, E.ILLEGAL), (sr, {sf: pulse + 7}, E.ILLEGAL),
                  (pr, {pf: strobe}, E.ILLEGAL), (pr, {pf: max(strobe - 1, 1)}, E.ILLEGAL),
                  (sr, {sf: pulse - 1}, 0), (sr, {sf: strobe}, 0), (pr, {pf: strobe + 1}, 0),
                  (pr, {pf: pulse}, 0)]
        return c

    async def body(self):
        await self.set_timing()
        r = self.model.r
        config = [x for x in self.rm.registers if x.checked and x.sw_readable]
        for n, (reg, fields, code) in enumerate(self.cases()):
            R = self.rm[reg]
            before = await self.read(reg)
            new = r.pack(reg, **{**r.fields(reg, before), **fields})
            if code:
                # the whole word, or only the bytes that carry the offending fields
                strb = 0xF
                if n % 2:
                    strb = 0
                    for name in fields:
                        f = R.field(name)
                        for bit in range(f.lsb, f.lsb + f.width):
                            strb |= 1 << (bit // 8)
                await self.expect_error(True, R.addr, code, new, strb)
                if await self.read(reg) != before:
                    raise SeqError(f"{reg} changed by a rejected write")
                if n % 3 == 0:
                    for x in config:                     # nothing else changed (predicted)
                        await self.read(x.name)
            else:
                await self.expect_ok(True, R.addr, new)
                if await self.read(reg) != new:
                    raise SeqError(f"{reg} does not read back the legal value {new:#010x}")
        await self.set_timing()


# ------------------------------------------------------------------ busy rules


class BusySeq(HymemSeq):
    """While a sample runs: every configuration register (generated: the checked ones) and
    both vector windows -> 6, SEED_LOAD -> 6; commands queue (one of each kind, a second
    SAMPLE right behind the first included: a third one -> 7); IRQ_ENABLE and IRQ_STATUS
    still writable. The queued commands then run transfers first. While a transfer runs with
    no sample queued the vector windows are writable. A READOUT read right after CMD.READOUT
    waits for the read-out (wait states), also when the read-out is queued behind a sample."""

    async def body(self):
        E = self.model.r.Err
        n_in, n_out = self.full_layer()
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=2, p16=65536,
                             skip_zero=False, k=0)           # a long sample: every slot read and written
        await self.fw.write("FORM", TARGET=0)        # the queued forming: one read per row, no pulse
        await self.vectors(n_in, n_out, extremes=False)
        await self.cmd("SAMPLE")
        await self.cmd("SAMPLE")                     # queued behind the running one
        await self.cmd("SAMPLE", code=E.QUEUED)
        await self.expect_status("UPD_BUSY")
        for reg in self.rm.registers:
            if reg.checked and reg.sw_readable:
                await self.expect_error(True, reg.addr, E.BUSY, self.model.r.value(reg.name))
        for m in self.rm.memories:
            if m.sw_write:
                await self.expect_error(True, m.addr, E.BUSY, 0x01020304)
        await self.cmd("SEED_LOAD", code=E.BUSY)
        for kind in ("TRANSFER", "FORM", "READOUT"):
            await self.cmd(kind)
            await self.cmd(kind, code=E.QUEUED)
        await self.expect_ok(True, self.rm["IRQ_ENABLE"].addr, 0)
        await self.expect_ok(True, self.rm["IRQ_STATUS"].addr, M32)
        await self.wait_idle()                       # transfer, form, sample, read-out, in that order
        await self.run(CheckStateSeq())
        # vector writes while only a transfer runs: accepted; once a sample is queued: 6
        await self.cmd("TRANSFER")
        await self.expect_status("XFER_BUSY")
        x, e = await self.vectors(n_in, n_out)
        await self.cmd("SAMPLE")
        await self.expect_error(True, self.rm.mem("XBUF").addr, E.BUSY, 0)
        await self.wait_idle()
        await self.run(CheckStateSeq())
        # the READOUT window waits while a read-out runs, and while it is queued behind a
        # sample (a short one: every slot skipped)
        await self.fw.write("READOUT_SEL", SLOT=self.b.slots - 1, POL=1)
        await self.cmd("READOUT")
        await self.expect_ok(False, self.rm.mem("READOUT").addr)
        await self.wait_idle()
        await self.fw.write("MASK_P", P16=0)
        await self.fw.write("MODE", SKIP_ZERO=1)
        await self.cmd("SAMPLE")
        await self.cmd("READOUT")
        await self.expect_ok(False, self.rm.mem("READOUT").addr + 4)
        await self.wait_idle()


class QueueCrossSeq(HymemSeq):
    """Every command queued behind every running operation (coverage bins
    ``queue.<queued>.behind_<running>``): an operation is started, then one write to CMD asks
    for all four (they queue, each kind in its own slot, and run transfer first), then the
    controller runs them all. The queued ones are kept short: a sample with every slot
    skipped (mask probability 0, SKIP_ZERO), a change-aware transfer, forming with TARGET 0
    (one read per row, no pulse) and a one-row read-out. Behind a sample: BusySeq. READOUT
    behind a running READOUT is not made (its slot is taken until the read starts:
    docs/coverage_waivers.md)."""

    async def body(self):
        n_in, n_out = self.full_layer()
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=2, p16=0,
                             skip_zero=True, k=0)
        await self.fw.write("MODE", CHANGE_AWARE=1)
        await self.fw.write("FORM", TARGET=0)
        await self.fw.write("READOUT_SEL", SLOT=0, POL=0)
        await self.vectors(n_in, n_out, extremes=False)
        for running in ("transfer", "form", "readout"):
            await self.cmd(running.upper())
            # a read-out keeps its queue slot until the memristor port takes the read
            # (rtl/hymem_core.sv R_READ): READOUT right behind READOUT is ERR 7, waived
            await self.cmd(*(k.upper() for k in OPERATIONS if (k, running) != ("readout", "readout")))
            await self.wait_idle()
            await self.run(CheckStateSeq())


# ------------------------------------------------------------- training samples


class RandomSamplesSeq(HymemSeq):
    """Training samples with random configurations and random x and e, each scoreboarded
    against hymem.digital.engine (weights, flags, counters). Constrained so that any 8 consecutive
    samples cover the sample coverage bins: every (stochastic rounding, code rounding,
    skip-zero) combination once, mask probability 0, 1 and in between, learning-rate shift
    0 and above 16, the full array, a single-input tile, a partial tile; the rest (tile,
    multiplier, seed reloads, change-aware and verify bits that samples must ignore) is
    random."""

    def __init__(self, name=None, n: int = 8):
        super().__init__(name)
        self.n = n

    async def body(self):
        b, rng = self.b, self.rng
        await self.set_timing()
        modes = rng.permutation(8)
        p16s = rng.permutation([0, 65536] + [-1] * 6)
        special = rng.permutation(["shift0", "shift_big", "full", "n_in1", "partial"] + [""] * 3)
        for i in range(self.n):
            mode, p16, sp = int(modes[i % 8]), int(p16s[i % 8]), special[i % 8]
            if p16 < 0:
                p16 = int(rng.integers(1, 65536))
            if sp == "full":
                n_in, n_out = self.full_layer()
            elif sp == "n_in1":
                n_in, n_out = 1, int(rng.integers(1, min(b.edepth, b.lines * b.slots) + 1))
            elif sp == "partial":                       # fewer synapses than the array's
                n_in, n_out = 1, int(rng.integers(1, min(b.edepth, b.lines * b.slots - 1) + 1))
            elif rng.random() < 0.5:
                n_in = int(rng.integers(1, min(b.xdepth, b.lines * b.slots) + 1))
                n_out = int(rng.integers(1, min(b.edepth, b.lines * b.slots // n_in) + 1))
            else:                                       # about one or two slots
                n_in, n_out = self.small_layer(float(rng.uniform(0.3, 2.0)))
            shift = (0 if sp == "shift0" else int(rng.integers(17, 24)) if sp == "shift_big"
                     else int(rng.integers(1, 10)))
            await self.fw.configure(
                n_in=n_in, n_out=n_out, lr_mult=int(rng.integers(0, 256)), lr_shift=shift,
                p16=p16, stoch_round=bool(mode & 1), code_round=bool(mode & 2),
                skip_zero=bool(mode & 4), change_aware=bool(rng.integers(2)),
                verify_max=int(rng.integers(0, min(b.verify_limit, 3) + 1)), k=0,
                seed=int(rng.integers(2**32)) if i == 0 or rng.random() < 0.4 else None,
                timing=None)
            await self.vectors(n_in, n_out)
            await self.cmd("SAMPLE")
            await self.wait_idle()
            await self.run(CheckStateSeq())


class KTransferSeq(HymemSeq):
    """K = 1 (a transfer after every sample), K = 3 (after the third), and a TRANSFER
    command queued during a sample whose completion triggers the K transfer too."""

    async def body(self):
        n_in, n_out = self.small_layer(1.0)
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=1, p16=40000, k=1,
                             change_aware=True)
        for _ in range(2):
            await self.vectors(n_in, n_out)
            await self.cmd("SAMPLE")
            await self.wait_idle()
        await self.fw.write("XFER_K", K=3)
        await self.cmd("CNT_CLEAR")
        for _ in range(3):
            await self.vectors(n_in, n_out)
            await self.cmd("SAMPLE")
            await self.wait_idle()
            await self.run(CheckStateSeq())
        await self.vectors(n_in, n_out)
        await self.cmd("SAMPLE")
        await self.cmd("TRANSFER")                     # queued; then K=3 is not reached
        await self.wait_idle()
        await self.run(CheckStateSeq())


class SmokeSeq(HymemSeq):
    """The firmware's basic flow on the build's whole array: one sample on the full tile
    (every synapse updated), a change-aware transfer, a read-out of the first slot's G+
    row and the last slot's G- row, the counters. (The published geometry runs only this
    and IdentityTest: Icarus simulates it about 8x slower than the small build.)"""

    async def body(self):
        n_in, n_out = self.full_layer()
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=3, p16=65536,
                             change_aware=True, k=0)
        await self.vectors(n_in, n_out)
        await self.cmd("SAMPLE")
        await self.wait_idle()
        await self.cmd("TRANSFER")
        await self.wait_idle()
        for slot, pol in ((0, 0), (self.b.slots - 1, 1)):
            await self.fw.readout(slot, pol)
        await self.wait_idle()
        await self.run(CheckStateSeq())


# ----------------------------------------------------------------------- transfers


class TransferModesSeq(HymemSeq):
    """A sample with large increments, then CMD.TRANSFER, in every mode combination the
    build has (change-aware x round-to-nearest x verify); then a verify that must fail (the
    windows of levels 1..7 emptied, one used synapse given a nonzero code): retries,
    failures, failure log, FAIL interrupt."""

    async def body(self):
        b = self.b
        # about 1.5 slots; one at a corner build's short length (HYMEM_TOP_SHORT, set by
        # test_hymem_top for the largest build: transfers cost per slot visited)
        n_in, n_out = self.small_layer(1.0 if os.environ.get("HYMEM_TOP_SHORT") == "1" else 1.5)
        verify = (0, min(b.verify_limit, 3)) if b.verify_limit else (0,)
        await self.set_timing()
        for ca in (0, 1):
            for cr in (0, 1):
                for v in verify:
                    await self.fw.configure(n_in=n_in, n_out=n_out, lr_mult=255,
                                            lr_shift=int(self.rng.integers(0, 3)), p16=50000,
                                            code_round=bool(cr), change_aware=bool(ca),
                                            verify_max=v, k=0, timing=None)
                    await self.vectors(n_in, n_out)
                    await self.cmd("SAMPLE")
                    await self.cmd("TRANSFER")
                    await self.wait_idle()
                    await self.run(CheckStateSeq())
        if b.verify_limit:
            r = self.model.r
            empty = {}
            for reg in (x for x in self.rm.registers if x.name.startswith("VFY_")):
                lo = reg.name.startswith("VFY_LO")
                empty[reg.name] = r.pack(reg.name, **{f.name: (255 if lo else 0) if f.name != "L0"
                                                       else r.field(reg.name, "L0") for f in reg.fields})
            saved = {n: r.value(n) for n in empty}
            # One used synapse gets a nonzero code (backdoor; the rest keep what the random
            # samples left): a code magnitude >= 1 has an empty window, so its every verify
            # read fails, and VERIFY_MAX = 1 makes that a retry and then a failure whatever
            # the seed. (The random samples alone leave every code 0 with a probability a
            # Monte Carlo puts between ~1e-12 and ~1e-8: not certain.)
            macro = self.c.macro
            h = macro.array.backdoor.hidden_weights()
            used = np.argwhere(self.model.ref.used[0])
            s, line = used[int(self.rng.integers(len(used)))]
            mag = int(self.rng.integers(1 << (b.mag_width - b.code_bits), 1 << b.mag_width))
            h[s, line] = mag if self.rng.integers(2) else -mag
            macro.array.backdoor.poke_hidden(h)
            self.model.sync_from_backdoor()
            await self.write_config(empty)
            await self.fw.write("MODE", CHANGE_AWARE=0, VERIFY_MAX=1)
            await self.cmd("TRANSFER")
            await self.wait_idle()
            await self.run(CheckStateSeq())
            await self.write_config(saved)


# ------------------------------------------------------------------------- abort


class AbortSeq(HymemSeq):
    """ABORT of a sample in mid-array (issued when the update engine reaches a random slot;
    the slot where it took effect is read from STATUS and given to the reference), of a
    transfer in mid-array with a sample queued behind it (dropped), with nothing running (no
    effect), and in one write with SAMPLE while idle (the sample is dropped); the next
    command clears STATUS.ABORTED."""

    async def body(self):
        b = self.b
        n_in, n_out = self.full_layer()
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=200, lr_shift=3, p16=65536,
                             skip_zero=False, change_aware=True, k=0)
        await self.vectors(n_in, n_out)
        await self.cmd("SAMPLE")
        # a middle slot: an abort that comes too late for the last slot has no effect (with
        # fewer than 3 slots, at once: in time for slot 0's CHECK)
        if b.slots > 2:
            await self.wait_net("upd_slot", int(self.rng.integers(1, b.slots - 1)))
        await self.cmd("ABORT")
        await self.wait_idle()
        await self.run(CheckStateSeq())
        await self.cmd("SAMPLE")                      # same x, e; clears ABORTED
        await self.wait_idle()
        await self.run(CheckStateSeq())
        # a transfer of every synapse (all flags set), a sample queued behind it, ABORT
        macro = self.c.macro
        macro.array.backdoor.poke_hidden(self.rng.integers(-(2**b.mag_width) + 1, 2**b.mag_width,
                                                           (b.slots, b.lines)))
        macro.array.backdoor.poke_flags(np.ones((b.slots, b.lines), bool))
        self.model.sync_from_backdoor()
        await self.cmd("TRANSFER")
        # a middle slot (with fewer than 3, slot 0; the transfer engine takes an abort at a
        # slot's start from slot 1 on: with one slot the transfer completes, only the queued
        # sample is dropped)
        await self.wait_net("u_core.u_xfer.slot_q",
                            int(self.rng.integers(1, b.slots - 1)) if b.slots > 2 else 0)
        await self.cmd("SAMPLE")
        await self.cmd("ABORT")
        await self.wait_idle()
        await self.run(CheckStateSeq())
        await self.cmd("ABORT")                        # nothing runs: no effect
        await self.cmd("SAMPLE", "ABORT")              # idle: the sample is dropped at once
        await self.run(CheckStateSeq())
        await self.cmd("TRANSFER")                     # clears ABORTED, finishes the job
        await self.wait_idle()
        await self.run(CheckStateSeq())


# -------------------------------------------------------------------- read-out, forming


class ReadoutSeq(HymemSeq):
    """Random conductances (backdoor), then every memristor row read out with the firmware's
    readout(): the window returns the ADC codes the macro model gave (scoreboard), close to
    the conductances (0.5 uS per code, read noise: :func:`read_noise_z`)."""

    async def body(self):
        b = self.b
        await self.set_timing()
        await self.fw.identify()
        g = self.rng.uniform(0.0, 120.0, (b.slots, 2, b.lines))
        arr = self.c.macro.array
        arr.backdoor.poke_conductance(g)
        for s in range(b.slots):
            for pol in (0, 1):
                codes = await self.fw.readout(s, pol)
                z = read_noise_z(codes * arr.adc.lsb_us, g[s, pol], arr.mr.params, arr.adc.lsb_us)
                # z <= |N(0, 1)| per device, independent: one beyond 8 has probability 1.2e-15
                # (2,048 devices of the default build: 2.5e-12 per run); a row's mean beyond
                # 2.5 is below 1.1e-17 for 16 lines or more (Chernoff). A wrong row or slot
                # read gives z of tens. (The fixed 8 uS / 1.5 uS mean bounds before failed
                # 1.9e-9 of the default build's runs and 3.5e-8 of the small build's.)
                if not (z.max() < 8.0 and z.mean() < 2.5):
                    raise SeqError(f"read-out slot {s} pol {pol}: codes far from the conductances "
                                   f"(in read-noise sigmas: mean {z.mean():.2f}, max {z.max():.2f})")
        await self.run(CheckStateSeq())


class FormSeq(HymemSeq):
    """CMD.FORM: on a pristine array (ConfigDB PRISTINE) with FORM.MAX pulses per device
    (replayed and counted); then FORM.TARGET above every device with FORM.MAX = 0: every
    device fails, failure log and FAIL interrupt, CMD.FAIL_CLEAR clears the log."""

    def __init__(self, name=None, pristine: bool = False, max_pulses: int = 4):
        super().__init__(name)
        self.pristine, self.max_pulses = pristine, max_pulses

    async def body(self):
        await self.set_timing()
        if self.pristine:
            await self.fw.write("FORM", MAX=self.max_pulses)
            await self.cmd("FORM")
            await self.wait_idle()
            await self.run(CheckStateSeq())
        await self.fw.write("FORM", TARGET=255, MAX=0)
        await self.cmd("FORM")
        await self.wait_idle()
        await self.run(CheckStateSeq())
        await self.cmd("FAIL_CLEAR")
        await self.run(CheckStateSeq())


class InterruptSeq(HymemSeq):
    """IRQ_ENABLE x IRQ_STATUS -> irq_o (the scoreboard checks irq_o in every transfer).
    Each source alone, the firmware's way: enabled, cleared (W1C), caused, and for DONE
    and FAIL the rising edge of irq_o awaited; then seen in IRQ_STATUS and cleared by W1C.
    Then all sources set under every enable pattern, and cleared one by one."""

    async def body(self):
        r, rm = self.model.r, self.rm
        await self.set_timing()
        st, en = rm["IRQ_STATUS"], rm["IRQ_ENABLE"]
        sources = list(st.fields)
        irq = cocotb.top.irq_o

        async def cause(name, wait_irq: bool):
            if name == "ERROR":
                await self.expect_error(False, rm["CMD"].addr, r.Err.WRITE_ONLY)
                return
            if name == "DONE":
                await self.cmd("READOUT")
            elif name == "FAIL":
                await self.fw.write("FORM", TARGET=255, MAX=0)
                await self.cmd("FORM")
            else:
                raise SeqError(f"no way to raise IRQ source {name}")
            if wait_irq:
                if irq.value != 1:
                    await edge(RisingEdge(irq), f"rising edge of irq_o ({name})")
            await self.wait_idle()

        await self.expect_ok(True, st.addr, M32)
        for f in sources:
            await self.expect_ok(True, en.addr, en.field(f.name).mask)
            await self.expect_ok(True, st.addr, f.mask)
            await cause(f.name, wait_irq=True)
            if not (await self.read("IRQ_STATUS")) & f.mask:
                raise SeqError(f"IRQ_STATUS.{f.name} not set")
            await self.expect_ok(True, st.addr, M32)       # W1C everything
            await self.read("IRQ_STATUS")
        await self.expect_ok(True, en.addr, 0)
        for f in sources:
            await cause(f.name, wait_irq=False)
        for pattern in range(1 << len(sources)):
            await self.expect_ok(True, en.addr, sum(en.field(f.name).mask for k, f in enumerate(sources)
                                                    if (pattern >> k) & 1))
            await self.read("IRQ_STATUS")
        await self.expect_ok(True, en.addr, sum(f.mask for f in en.fields))
        for f in sources:
            await self.expect_ok(True, st.addr, f.mask)
            await self.read("IRQ_STATUS")
        await self.run(CheckStateSeq())


# ------------------------------------------------------------------- ERR, two rejections


class TwoRejectionsSeq(HymemSeq):
    """Two rejected accesses in a row, ERR not read between them: ERR holds the second
    (code and address), as docs/registers.md says (every rejection overwrites ERR); also
    with an accepted access between them, and with the same address twice."""

    async def body(self):
        E, rm = self.model.r.Err, self.rm
        unmapped = next(a for a in range(0, 1 << rm.addr_bits, 4) if rm.decode(a) is None)
        await self.cmd("ERR_CLEAR")
        pairs = [((False, unmapped), (True, rm["STATUS"].addr, E.READ_ONLY)),
                 ((True, rm["ID"].addr), (False, rm["CMD"].addr, E.WRITE_ONLY)),
                 ((False, rm["CMD"].addr), (False, unmapped + 1, E.MISALIGNED)),
                 ((True, rm["ID"].addr), (True, rm["ID"].addr, E.READ_ONLY))]
        for n, ((w1, a1), (w2, a2, code2)) in enumerate(pairs):
            first = await self.access(w1, a1, 0x1234)
            if not first.slverr:
                raise SeqError(f"{first}: accepted, expected a rejection")
            if n == 1:                                 # an accepted access in between
                await self.expect_ok(False, rm["STATUS"].addr)
            await self.expect_error(w2, a2, code2, 0x5678)     # reads ERR: the second one


# ------------------------------------------------------------------- APB protocol faults


class ApbFaultSeq(HymemSeq):
    """A master that breaks the APB protocol (top_apb.FAULTS), against the behaviour
    docs/registers.md defines (an access takes effect in its completing cycle, with the
    address and data of that cycle): a SETUP phase without ACCESS changes nothing and
    records no error; PSEL dropped during READOUT wait states abandons the read (nothing
    happens, the read-out carries on and a later read gets its codes); PADDR changed during
    wait states completes as an access to the new address; address and data changed
    between SETUP and ACCESS write the new data to the new address; ACCESS without SETUP
    is an access. The protocol checker must catch every fault (its rule id), and the
    scoreboard predicts every access that completed."""

    async def fault(self, rule: str, **kw) -> ApbItem:
        checker = ConfigDB().get(None, "", "APB_CHECKER")
        n = len(checker.faults)
        checker.tolerate_requester = True
        try:
            item = ApbItem("apb_fault", prot=int(self.rng.integers(8)), **kw)
            await self.start_item(item)
            await self.finish_item(item)
            for _ in range(2):                  # the monitor samples the end of the transfer
                await FallingEdge(self.c.clk)
            await RisingEdge(self.c.clk)
        finally:
            checker.tolerate_requester = False
        caught = [e.rule for e in checker.faults[n:]]
        if rule not in caught:
            raise SeqError(f"fault {kw.get('fault')}: the APB checker did not report {rule} "
                           f"(reported {caught})")
        return item

    async def body(self):
        rm, r, E = self.rm, self.model.r, self.model.r.Err
        en, st = rm["IRQ_ENABLE"], rm["IRQ_STATUS"]
        unmapped = next(a for a in range(0, 1 << rm.addr_bits, 4) if rm.decode(a) is None)
        await self.set_timing()
        await self.cmd("ERR_CLEAR")
        await self.expect_ok(True, en.addr, 0)
        await self.expect_ok(True, st.addr, M32)
        # a SETUP phase without ACCESS: nothing written, no error recorded
        await self.fault("apb.2", fault="setup_only", write=True, addr=en.addr, data=0x7)
        await self.fault("apb.2", fault="setup_only", write=True, addr=unmapped, data=0x7)
        if await self.read("IRQ_ENABLE") != 0 or await self.read("ERR") != 0 \
                or (await self.read("IRQ_STATUS")) & st.field("ERROR").mask:
            raise SeqError("an abandoned SETUP phase changed IRQ_ENABLE or recorded an error")
        # ACCESS without SETUP: an access like any other
        await self.fault("apb.2", fault="no_setup", write=True, addr=en.addr,
                         data=en.field("DONE").mask)
        if await self.read("IRQ_ENABLE") != en.field("DONE").mask:
            raise SeqError("a write without SETUP phase did not take effect")
        # address and data changed between SETUP and ACCESS: the ACCESS cycle's write
        k, seed = rm["XFER_K"], rm["SEED"]
        old_k = await self.read("XFER_K")
        it = await self.fault("apb.4", fault="change_data", write=True, addr=k.addr, data=5,
                              addr2=seed.addr, data2=0x1234_5678)
        if it.slverr or await self.read("SEED") != 0x1234_5678 or await self.read("XFER_K") != old_k:
            raise SeqError("a write whose address and data changed before ACCESS did not write "
                           "the ACCESS cycle's data to the ACCESS cycle's address")
        # wait states: a read-out queued behind a sample (every slot read and written)
        n_in, n_out = self.full_layer()
        await self.configure(n_in=n_in, n_out=n_out, lr_mult=255, lr_shift=2, p16=65536,
                             skip_zero=False, k=0)
        ro = rm.mem("READOUT")
        for fault, rule in (("drop_psel", "apb.3"), ("change_addr", "apb.4")):
            await self.vectors(n_in, n_out)
            await self.cmd("SAMPLE")
            await self.cmd("READOUT")
            it = await self.fault(rule, fault=fault, write=False, addr=ro.addr + 4,
                                  addr2=rm["STATUS"].addr, after=int(self.rng.integers(1, 6)))
            if fault == "drop_psel":
                if not it.abandoned or it.waits < 1:
                    raise SeqError(f"{it}: expected to be abandoned in wait states")
                await self.expect_ok(False, ro.addr + 4)      # waits for the read-out, then its codes
            else:
                if it.abandoned or it.slverr or not r.field("STATUS", "BUSY", it.rdata):
                    raise SeqError(f"{it}: a READOUT read changed to a STATUS read should "
                                   "complete at once as a STATUS read (BUSY)")
            await self.wait_idle()
        if await self.read("ERR") != 0:
            raise SeqError("a protocol fault recorded an error in ERR")
        await self.run(CheckStateSeq())


# ------------------------------------------------------------------------ reset storm


class ResetStormSeq(HymemSeq):
    """Constrained-random resets (rst_ni) inside every operation type.

    Each iteration starts from the reset state: the timing registers that operation needs
    (FAST_TIMING's, forming pulses of 1 us), a random configuration (sample: tile, learning
    rate, mask probability, modes, vectors; transfer: hidden weights and flags poked at
    random, modes with verify; forming: target and pulse limit; read-out: row), the command;
    then rst_ni asserted at a random cycle of the operation (uniform over its length, from
    the longest seen so far; one that already ended is a reset while idle, which does not
    count towards ``n``), for 1 to 3 cycles, at a falling edge. ``n`` resets inside an
    operation are made. Macro protocol errors the cut causes (a pulse ended with its
    word line, a transfer pulse shorter than 1 us) are tolerated inside the reset window
    only. After each reset: no output of the top is X or Z (Icarus; Verilator is 2-state),
    STATUS says idle and ID answers (predicted by the scoreboard), LOST is read and measured
    against the model (Controller.check_cut: every FeCAP row outside the reported ones holds
    its value before or after the operation; every row the macro still has pending is
    reported), then the abandoned rows are forgotten by the macro model and LOST is cleared
    (or not: MULTI). Ends with a sample run to completion and every counter checked."""

    KINDS = OPERATIONS + ("wake",)
    CMD = {"sample": "SAMPLE", "transfer": "TRANSFER", "form": "FORM", "readout": "READOUT",
           "wake": "WAKE"}
    #: timing registers each operation needs (the rest keep their nominal reset values)
    TIMING = {"sample": ("T_FE1", "T_FE0"), "transfer": ("T_FE1", "T_FE0", "T_MR0", "T_MR3"),
              "form": ("T_MR1",), "readout": (), "wake": ("T_FE1", "T_FE0")}
    #: 1 us forming pulses (the macro model's minimum width): forming loops stay short
    FORM_CYCLES = 4

    def __init__(self, name=None, n: int = 250):
        super().__init__(name)
        self.n = n

    def timing_value(self, reg: str) -> int:
        t = dict(firmware.FAST_TIMING[reg])
        if reg == "T_MR1":
            t["FORM"] = self.FORM_CYCLES
            t["READ"] = self.rm.reset_fields("T_MR1")["READ"]      # the nominal ADC strobe fits it
        return self.model.r.pack(reg, **t)

    async def write(self, reg: str, **fields) -> None:
        r = self.model.r
        await self.expect_ok(True, self.rm[reg].addr, r.pack(reg, **{**r.fields(reg, r.value(reg)), **fields}))

    async def setup(self, kind: str) -> None:
        b, rng, r, rm = self.b, self.rng, self.model.r, self.rm
        for reg in self.TIMING[kind]:
            await self.expect_ok(True, rm[reg].addr, self.timing_value(reg))
        if kind in ("sample", "transfer", "wake"):
            n_in = min(int(rng.choice([4, 8, 16])), b.lines * b.slots)
            n_out = int(rng.integers(1, b.lines * b.slots // n_in + 1))
            await self.write("LAYER", N_IN=n_in, N_OUT=n_out)
        if kind == "sample":
            await self.write("LR", MULT=int(rng.integers(1, 256)), SHIFT=int(rng.integers(0, 8)))
            await self.write("MASK_P", P16=int(rng.choice([65536, int(rng.integers(1, 65536))])))
            await self.write("MODE", STOCH_ROUND=int(rng.integers(2)), CODE_ROUND=int(rng.integers(2)),
                             SKIP_ZERO=int(rng.integers(2)))
            for mem, n in (("XBUF", n_in), ("EBUF", n_out)):
                m = rm.mem(mem)
                v = rng.integers(-128, 128, 4 * ((n + 3) // 4))
                for w in range(len(v) // 4):
                    word = sum((int(x) & 0xFF) << (8 * i) for i, x in enumerate(v[4 * w: 4 * w + 4]))
                    await self.expect_ok(True, m.addr + 4 * w, word)
        elif kind == "transfer":
            arr = self.c.macro.array
            top = 2 ** b.mag_width
            arr.backdoor.poke_hidden(rng.integers(-top + 1, top, (b.slots, b.lines)))
            arr.backdoor.poke_flags(rng.random((b.slots, b.lines)) < 0.7)
            self.model.sync_from_backdoor()
            await self.write("MODE", CODE_ROUND=int(rng.integers(2)), CHANGE_AWARE=int(rng.integers(2)),
                             VERIFY_MAX=int(rng.integers(0, min(b.verify_limit, 2) + 1)))
        elif kind == "form":
            await self.write("FORM", TARGET=int(rng.integers(150, 256)), MAX=int(rng.integers(1, 4)))
        elif kind == "wake":
            await self.write("WAKE", CYCLES=int(rng.integers(1, 3)))
        else:
            await self.write("READOUT_SEL", SLOT=int(rng.integers(b.slots)), POL=int(rng.integers(2)))

    def x_outputs(self) -> list[str]:
        """Outputs of the top that hold X or Z bits (after a reset none may)."""
        top = cocotb.top
        bad = []
        for name in OUTPUTS:
            v = getattr(top, name)._handle.get_signal_val_binstr()
            if any(ch not in "01" for ch in v):
                bad.append(f"{name}={v}")
        return bad

    async def body(self):
        b, rng, c = self.b, self.rng, self.c
        dut, clk = cocotb.top, c.clk
        run_q = dut.u_core.run_q
        stats = Counter()
        proto = Counter()
        longest = {}
        await c.clkrst.reset()                     # start from the reset state
        await self.cmd("LOST_CLEAR")
        order = []
        i = inside_total = 0
        while inside_total < self.n:
            i += 1
            if i > 3 * self.n + 10:
                raise SeqError(f"reset storm: only {inside_total} of {self.n} resets landed inside "
                               f"an operation in {i} tries")
            if not order:
                order = list(rng.permutation(self.KINDS))
            kind = str(order.pop())
            await self.setup(kind)
            t0 = cocotb.simtime.get_sim_time("ns")
            await self.cmd(self.CMD[kind])
            if kind not in longest:                # the first of each kind runs to the end
                await self.wait_idle()
                longest[kind] = int((cocotb.simtime.get_sim_time("ns") - t0) / FAST_TIMING_CLK_NS)
                stats["completed"] += 1
                continue
            # one timer, not ClockCycles (cocotb wakes Python at every one of its edges)
            await Timer(int(rng.integers(1, longest[kind] + 1)) * FAST_TIMING_CLK_NS, unit="ns")
            await FallingEdge(clk)
            inside = int(run_q.value) != 0
            if not inside:                          # it ended: the model learns it, then reset idle
                longest[kind] = max(longest[kind], int((cocotb.simtime.get_sim_time("ns") - t0)
                                                       / FAST_TIMING_CLK_NS))
                await self.wait_idle()
                await FallingEdge(clk)
            with c.macro.tolerate() as seen:
                await c.clkrst.reset(cycles=int(rng.integers(1, 4)))
                await RisingEdge(clk)
            for e in seen:
                proto[e.rule] += 1
            bad = self.x_outputs()
            if bad:
                raise SeqError(f"reset {i} during a {kind}: outputs X/Z after the reset: {bad}")
            lost = await self.read("LOST")
            if inside:
                inside_total += 1
                got = self.model.check_cut(lost)
                stats[f"reset.{kind}"] += 1
                stats["rows_reported"] += got["rows_reported"]
                stats["rows_changed"] += got["rows_changed"]
                stats["cells_lost"] += got["lost_cells"]
                stats["weights_lost"] += got["weights"]
                stats["with_loss"] += int(got["rows_reported"] > 0)
            else:
                stats["reset.idle"] += 1
            c.macro.array.backdoor.clear_pending()        # the rows the reset abandoned
            await self.expect_status("BUSY", 0)
            if await self.read("ID") != self.rm["ID"].reset:
                raise SeqError(f"reset {i}: ID does not answer")
            if rng.random() < 0.5:
                await self.cmd("LOST_CLEAR")
            if i % 50 == 49:
                await self.run(CheckStateSeq())
        # the controller still works: a sample to the end, every counter
        await self.setup("sample")
        await self.cmd("SAMPLE")
        await self.wait_idle()
        await self.run(CheckStateSeq())
        resets = sum(v for k, v in stats.items() if k.startswith("reset."))
        inside = resets - stats["reset.idle"]
        cocotb.log.info(
            f"reset storm: {resets} resets survived ({inside} inside an operation: "
            + ", ".join(f"{k} {stats['reset.' + k]}" for k in self.KINDS)
            + f"; {stats['reset.idle']} while idle); {stats['with_loss']} reported lost rows "
            f"({stats['rows_reported']} rows; {stats['rows_changed']} rows changed in all), FeCAP "
            f"cells lost in reported rows {stats['cells_lost']}, hidden weights affected "
            f"{stats['weights_lost']}, changes outside reported rows 0; macro protocol errors "
            f"from cut pulses {dict(sorted(proto.items()))}")
        ctx().storm = dict(stats)
