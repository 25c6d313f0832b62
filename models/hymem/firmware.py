"""Firmware-level driver of one hymem controller over its APB bus.

The programming guide (docs/programming.md) in code: every register access a host
makes to configure the controller, apply a training sample, run a transfer and read
the memristors back. Register and field names come from the register map
(:mod:`hymem.regmap`), never from literals.

The bus is anything with two coroutines::

    async def read(addr: int) -> int
    async def write(addr: int, data: int, strb: int = 0xF) -> None

that raise on PSLVERR (an illegal access is a firmware bug), and optionally a third that
runs a list of accesses at once (``hymem.apb.ApbBurstMaster``: a testbench HDL master, one
Python wake-up per list)::

    async def transact(ops) -> list[int]    # ("w", addr, data), ("r", addr), ("irq",)

The operations that make many accesses (vectors, a sample, read-outs, counters) go through
``transact`` when the bus has it, else one access at a time. :class:`ApbBus` adapts a
``cocotbext.apb.ApbHost``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import regmap as _regmap
from .apb import transact_serially

#: Timing registers (clock cycles) of the fast co-simulation set: 4 MHz clock (250 ns),
#: so the nominal pulse widths of docs/macro_port.md take few cycles.
FAST_TIMING_CLK_NS = 250
FAST_TIMING = {
    "T_FE0": dict(SETUP=1, PULSE=8),      # 2 us FeCAP pulse
    "T_FE1": dict(SENSE=6, HOLD=1),       # sense 1.5 us into it
    "T_FE2": dict(GAP=1),
    "T_MR0": dict(RESET=4, SET=4),        # 1 us
    "T_MR1": dict(FORM=1200, READ=2),     # 300 us forming, 500 ns read
    "T_MR2": dict(ADC=1, PRE=1),
    "T_MR3": dict(XFER=40, GAP=1),        # 10 us DAC-free transfer (published)
}

# The end-to-end co-simulation's timing set: the same physics (2 us FeCAP pulses, 10 us
# transfer, 300 us forming) at a 1 MHz clock, so each FeCAP row operation takes 5 to 9 cycles
# instead of 11 to 21 (simulation time is per cycle; the macro model checks pulse widths in
# ns, so pulses stay physical).
COSIM_TIMING_CLK_NS = 1000
COSIM_TIMING = {
    "T_FE0": dict(SETUP=1, PULSE=2),      # 2 us FeCAP pulse
    "T_FE1": dict(SENSE=1, HOLD=1),       # sense 1 us into it (>= 500 ns)
    "T_FE2": dict(GAP=1),
    "T_MR0": dict(RESET=1, SET=1),        # 1 us
    "T_MR1": dict(FORM=300, READ=2),      # 300 us forming, 2 us read
    "T_MR2": dict(ADC=1, PRE=1),
    "T_MR3": dict(XFER=10, GAP=1),        # 10 us DAC-free transfer (published)
}


class FirmwareError(RuntimeError):
    """The controller reported something the firmware did not expect."""


class ApbBus:
    """``read``/``write`` over a cocotbext-apb ``ApbHost`` (PSLVERR raises)."""

    def __init__(self, host):
        self.host = host
        host.return_int = True

    async def read(self, addr: int) -> int:
        return int(await self.host.read(addr))

    async def write(self, addr: int, data: int, strb: int = 0xF) -> None:
        await self.host.write(addr, int(data) & 0xFFFF_FFFF, strb=strb)


@dataclass
class HwConfig:
    lines: int
    slots: int
    mag_width: int
    code_bits: int
    xdepth: int
    edepth: int
    verify_limit: int
    adc_bits: int


class Hymem:
    """One controller behind ``bus``. Methods are the firmware's operations."""

    def __init__(self, bus, rm: _regmap.RegMap | None = None, name: str = "hymem"):
        self.bus = bus
        self.rm = rm or _regmap.load()
        self.name = name
        self.hw: HwConfig | None = None
        self.bus_ops = 0

    # ------------------------------------------------------------ registers

    async def read(self, reg: str, field: str | None = None) -> int:
        r = self.rm[reg]
        self.bus_ops += 1
        v = await self.bus.read(r.addr)
        if field is None:
            return v
        f = r.field(field)
        return (v >> f.lsb) & ((1 << f.width) - 1)

    async def write(self, reg: str, value: int | None = None, **fields) -> None:
        """Write ``value``, or the named fields over the register's current value
        (not for W1C registers: use :meth:`clear_irq`)."""
        r = self.rm[reg]
        if value is None and any(f.woclr for f in r.fields):
            raise ValueError(f"{reg} is write-1-to-clear: a field write would clear every set "
                             "bit; use clear_irq() or write an explicit value")
        if value is None:
            value = 0 if not r.sw_readable else await self.read(reg)
            for name, v in fields.items():
                f = r.field(name)
                if not 0 <= int(v) < (1 << f.width):
                    raise ValueError(f"{reg}.{name} must be in 0..{(1 << f.width) - 1}; got {v!r}")
                value = (value & ~f.mask) | (int(v) << f.lsb)
        elif fields:
            raise ValueError("give either a value or fields, not both")
        self.bus_ops += 1
        await self.bus.write(r.addr, value)

    async def command(self, *names: str) -> None:
        await self.write("CMD", **{n: 1 for n in names})

    # --------------------------------------------------------- access lists

    def op_write(self, reg: str, value: int | None = None, **fields) -> tuple:
        """One write for :meth:`run`: ``value``, or the named fields over 0 (no read-modify-
        write: the fields not named are written 0)."""
        r = self.rm[reg]
        if value is None:
            value = 0
            for name, v in fields.items():
                f = r.field(name)
                if not 0 <= int(v) < (1 << f.width):
                    raise ValueError(f"{reg}.{name} must be in 0..{(1 << f.width) - 1}; got {v!r}")
                value |= int(v) << f.lsb
        elif fields:
            raise ValueError("give either a value or fields, not both")
        return ("w", r.addr, int(value) & 0xFFFF_FFFF)

    def op_read(self, reg: str) -> tuple:
        return ("r", self.rm[reg].addr)

    def op_field(self, reg: str, field: str, word: int) -> int:
        """Field ``field`` of a value of ``reg`` read by :meth:`run`."""
        f = self.rm[reg].field(field)
        return (word >> f.lsb) & ((1 << f.width) - 1)

    async def run(self, ops) -> list[int]:
        """Run a list of accesses (``op_write``, ``op_read``, ``("irq",)``) on the bus, in one
        go if the bus can (``transact``). Returns one value per op."""
        ops = list(ops)
        self.bus_ops += sum(1 for op in ops if op[0] != "irq")
        tr = getattr(self.bus, "transact", None)
        return await (tr(ops) if tr is not None else transact_serially(self.bus, ops))

    def vector_ops(self, mem: str, values) -> list[tuple]:
        """The writes that put int8 ``values`` into the XBUF or EBUF window, four per word."""
        m = self.rm.mem(mem)
        v = np.asarray(values, dtype=np.int64)
        if v.size and (v.min() < -128 or v.max() > 127):
            raise ValueError(f"{mem} values must be int8 (-128..127); got {v.min()}..{v.max()}")
        words = (v.size + 3) // 4
        if words > m.words:
            raise ValueError(f"{mem} holds {4 * m.words} entries; got {v.size}")
        b = np.zeros(4 * words, dtype=np.uint8)
        b[: v.size] = v & 0xFF
        w = b.view("<u4")
        return [("w", m.addr + 4 * i, int(w[i])) for i in range(words)]

    async def clear_irq(self, *names: str) -> None:
        """Clear interrupt-status bits (write 1 to clear only those: a read-modify-write of
        a W1C register would clear every pending bit)."""
        r = self.rm["IRQ_STATUS"]
        self.bus_ops += 1
        await self.bus.write(r.addr, sum(r.field(n).mask for n in names))

    # ------------------------------------------------------------ discovery

    async def identify(self) -> HwConfig:
        magic = await self.read("ID")
        if magic != self.rm["ID"].reset:
            raise FirmwareError(f"{self.name}: ID reads 0x{magic:08X}, expected "
                                f"0x{self.rm['ID'].reset:08X} (is this a hymem controller?)")
        h0, h1, h2 = await self.read("HWCFG0"), await self.read("HWCFG1"), await self.read("HWCFG2")
        self.hw = HwConfig(lines=h0 & 0xFFFF, slots=(h0 >> 16) & 0xFF, mag_width=(h0 >> 24) & 0xF,
                           code_bits=(h0 >> 28) & 0xF, xdepth=h1 & 0xFFFF, edepth=h1 >> 16,
                           verify_limit=h2 & 0xFF, adc_bits=(h2 >> 8) & 0xFF)
        return self.hw

    # ---------------------------------------------------------- configuration

    # (pulse register, pulse field, strobe register, strobe field): the strobe must stay
    # inside the pulse, and each write is checked against the other register's current value
    _STROBE_PAIRS = (("T_FE0", "PULSE", "T_FE1", "SENSE"), ("T_MR1", "READ", "T_MR2", "ADC"))

    async def set_timing(self, timing: dict = FAST_TIMING) -> None:
        """Write the timing registers in an order every intermediate state of which is legal:
        of a pulse and its strobe, the strobe first when it moves inside the current pulse
        (shortening), the pulse first otherwise (lengthening)."""
        order = []
        for preg, pf, sreg, sf in self._STROBE_PAIRS:
            new_strobe = timing.get(sreg, {}).get(sf)
            cur_pulse = await self.read(preg, pf)
            first, second = (sreg, preg) if new_strobe is not None and new_strobe < cur_pulse \
                else (preg, sreg)
            order += [first, second]
        for reg in order + ["T_FE2", "T_MR0", "T_MR3"]:
            if reg in timing:
                await self.write(reg, **timing[reg])

    async def configure(self, *, n_in: int, n_out: int, lr_mult: int = 128, lr_shift: int = 8,
                        p16: int = 13107, stoch_round: bool = True, code_round: bool = False,
                        skip_zero: bool = True, change_aware: bool = False, verify_max: int = 0,
                        k: int = 100, seed: int | None = None, timing: dict | None = FAST_TIMING,
                        form_max: int | None = None) -> None:
        """Layer tile, learning rate, mask probability, modes, transfer period, PRNG seed."""
        if timing is not None:
            await self.set_timing(timing)
        await self.write("LAYER", N_IN=n_in, N_OUT=n_out)
        await self.write("LR", MULT=lr_mult, SHIFT=lr_shift)
        await self.write("MASK_P", P16=p16)
        await self.write("MODE", STOCH_ROUND=int(stoch_round), CODE_ROUND=int(code_round),
                         SKIP_ZERO=int(skip_zero), CHANGE_AWARE=int(change_aware),
                         VERIFY_MAX=verify_max)
        await self.write("XFER_K", K=k)
        if form_max is not None:
            await self.write("FORM", MAX=form_max)
        if seed is not None:
            await self.write("SEED", SEED=seed)
            await self.command("SEED_LOAD")

    async def set_lr(self, lr_mult: int, lr_shift: int) -> None:
        await self.write("LR", MULT=lr_mult, SHIFT=lr_shift)

    # ---------------------------------------------------------------- vectors

    async def write_vector(self, mem: str, values) -> None:
        """int8 values into the XBUF or EBUF window, four per word."""
        await self.run(self.vector_ops(mem, values))

    # ------------------------------------------------------------ operations

    async def wait_idle(self, max_polls: int = 1_000_000) -> int:
        """Poll STATUS until nothing runs or is queued; returns the number of polls."""
        for n in range(1, max_polls + 1):
            if not await self.read("STATUS", "BUSY"):
                return n
        raise FirmwareError(f"{self.name}: still busy after {max_polls} polls")

    async def start_sample(self, x, e) -> None:
        await self.write_vector("XBUF", x)
        await self.write_vector("EBUF", e)
        await self.command("SAMPLE")

    async def sample(self, x, e) -> None:
        """Apply one training sample (and the transfer it triggers every K samples)."""
        await self.start_sample(x, e)
        await self.wait_idle()

    async def transfer(self) -> None:
        await self.command("TRANSFER")
        await self.wait_idle()

    async def form(self) -> None:
        await self.command("FORM")
        await self.wait_idle()

    async def readout(self, slot: int, pol: int) -> np.ndarray:
        """ADC codes of memristor row (slot, pol) on every line."""
        await self.write("READOUT_SEL", SLOT=slot, POL=pol)
        await self.command("READOUT")
        m = self.rm.mem("READOUT")
        lines = self.hw.lines if self.hw else 4 * m.words
        out = np.zeros(4 * m.words, dtype=np.int64)
        for w in range((lines + 3) // 4):   # a read while the read-out runs waits for it
            self.bus_ops += 1
            word = await self.bus.read(m.addr + 4 * w)
            out[4 * w: 4 * w + 4] = [(word >> (8 * b)) & 0xFF for b in range(4)]
        return out[:lines]

    async def read_conductance_codes(self) -> np.ndarray:
        """ADC codes of every memristor: (slots, 2, lines), [:, 0] G+, [:, 1] G-: for each
        row, READOUT_SEL, CMD.READOUT and the READOUT window (a read while the read-out runs
        waits for it), all in one access list."""
        hw = self.hw or await self.identify()
        m = self.rm.mem("READOUT")
        words = (hw.lines + 3) // 4
        ops = []
        for s in range(hw.slots):
            for p in (0, 1):
                ops += [self.op_write("READOUT_SEL", SLOT=s, POL=p),
                        self.op_write("CMD", READOUT=1)]
                ops += [("r", m.addr + 4 * w) for w in range(words)]
        vals = np.asarray(await self.run(ops), dtype=np.uint32).reshape(hw.slots, 2, words + 2)
        b = vals[:, :, 2:].astype("<u4").view(np.uint8)
        return b.reshape(hw.slots, 2, 4 * words)[:, :, :hw.lines].astype(np.int64)

    async def counters(self) -> dict[str, int]:
        regs = [r.name for r in self.rm.registers if r.name.startswith("CNT_")]
        vals = await self.run([self.op_read(r) for r in regs])
        return {r[4:].lower(): v for r, v in zip(regs, vals)}

    async def check_errors(self) -> None:
        """Raise if the controller logged an error or a failure the firmware must know of."""
        code = await self.read("ERR", "CODE")
        if code:
            addr = await self.read("ERR", "ADDR")
            raise FirmwareError(f"{self.name}: ERR {code} ({_regmap.ERROR_CODES.get(code, '?')}) "
                                f"at 0x{addr:03X}")
        if await self.read("STATUS", "SEQ_ERR"):
            raise FirmwareError(f"{self.name}: a sequencer guard fired (STATUS.SEQ_ERR)")
