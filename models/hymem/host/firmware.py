"""Firmware-level driver of one hymem controller over its APB bus.

The programming guide (docs/programming.md) in code: every register access a host
makes to configure the controller, apply a training sample, run a transfer and read
the memristors back. Register and field names come from the register map
(:mod:`hymem.host.regmap`), never from literals.

The bus is anything with two coroutines::

    async def read(addr: int) -> int
    async def write(addr: int, data: int, strb: int = 0xF) -> None

that raise on PSLVERR (an illegal access is a firmware bug), and optionally a third that
runs a list of accesses at once (``hymem.host.apb.ApbBurstMaster``: a testbench HDL master, one
Python wake-up per list)::

    async def transact(ops) -> list[int]    # ("w", addr, data), ("r", addr), ("irq",)

The operations that make many accesses (vectors, a sample, read-outs, counters) go through
``transact`` when the bus has it, else one access at a time. :class:`ApbBus` adapts a
``cocotbext.apb.ApbHost``.

Arguments are checked before the first bus write (:class:`ArgumentError`, naming the argument
and its legal range): integers only (``operator.index``: 3.9, "3" and True are refused where
a number is wanted), the legal values the register map states for each field (the RDL's
legality properties through the register model, :class:`hymem.host.regmodel.RegRules`: the
same rules the hardware applies, build limits from the HWCFG registers), vectors exactly as
long as the layer tile, known register, field and timing names, no writes to read-only registers or bits. A call that fails a check
writes nothing (it may have read: HWCFG once, and current values a cross-register rule or a
field write needs).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from . import regmap as _regmap
from .apb import transact_serially
from .regmodel import RegRules, static_range

#: Timing registers (clock cycles) of the fast co-simulation set: 4 MHz clock (250 ns),
#: so the nominal pulse widths take few cycles (every set: docs/timing.md, generated).
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


class ArgumentError(ValueError, TypeError):
    """A firmware call got an argument the hardware would refuse, or one of the wrong type
    (raised before any bus write)."""


def as_int(name: str, value) -> int:
    """``value`` as an integer (``operator.index``: no floats, strings or bools)."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name} must be an integer; got the boolean {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ArgumentError(f"{name} must be an integer; got {value!r} "
                            f"({type(value).__name__})") from None


def as_flag(name: str, value) -> int:
    """A mode bit: a bool, or the integer 0 or 1."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    v = as_int(name, value)
    if v not in (0, 1):
        raise ArgumentError(f"{name} must be a bool (or 0 / 1); got {value!r}")
    return v


def in_range(name: str, value, lo: int, hi: int, why: str = "") -> int:
    v = as_int(name, value)
    if not lo <= v <= hi:
        raise ArgumentError(f"{name} must be in {lo}..{hi}{why}; got {v}")
    return v


#: Every field of the timing registers (a complete timing set names each once).
def timing_fields(rm: _regmap.RegMap) -> dict[str, tuple[str, ...]]:
    return {r.name: tuple(f.name for f in r.fields) for r in rm.registers if r.name.startswith("T_")}


def check_timing_set(timing: Mapping, rm: _regmap.RegMap, build: Mapping[str, int], *,
                     complete: bool = False, current=None, what: str = "timing") -> dict:
    """A timing set ``{register: {field: cycles}}`` checked against the register map: known
    registers and fields, integers in each field's legal range, and the cross-register rules
    (a strobe below its pulse) on the values the registers will hold (``current(reg, field)``
    for those the set leaves alone; without ``current`` a rule is checked only when the set
    gives both sides). ``complete``: every timing field must be given. Returns the set as
    plain ints."""
    if not isinstance(timing, Mapping):
        raise ArgumentError(f"{what} must be a dict {{register: {{field: cycles}}}}; got "
                            f"{type(timing).__name__}")
    known = timing_fields(rm)
    out: dict[str, dict[str, int]] = {}
    for reg, fields in timing.items():
        if reg not in known:
            raise ArgumentError(f"{what}: unknown timing register {reg!r}; known: {', '.join(known)}")
        if not isinstance(fields, Mapping):
            raise ArgumentError(f"{what}: {reg} must map field names to cycles; got {fields!r}")
        out[reg] = {}
        for fn, v in fields.items():
            if fn not in known[reg]:
                raise ArgumentError(f"{what}: {reg} has no field {fn!r}; fields: {', '.join(known[reg])}")
            lo, hi = rm.legal_range(reg, fn, build) if build else static_range(rm, reg, fn)
            out[reg][fn] = in_range(f"{what}: {reg}.{fn}", v, lo, hi)
    if complete:
        missing = [f"{r}.{f}" for r, fs in known.items() for f in fs if f not in out.get(r, {})]
        if missing:
            raise ArgumentError(f"{what}: missing {', '.join(missing)}")

    def final(reg, fn):
        return out[reg][fn] if fn in out.get(reg, {}) else current(reg, fn)

    for (sr, sf), (pr, pf) in rm.below_pairs():
        given = (sf in out.get(sr, {}), pf in out.get(pr, {}))
        if not any(given) or (current is None and not all(given)):
            continue
        if not final(sr, sf) < final(pr, pf):
            raise ArgumentError(f"{what}: {sr}.{sf} must be below {pr}.{pf}; the registers would "
                                f"hold {final(sr, sf)} and {final(pr, pf)}")
    return out


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

    def build(self) -> dict[str, int]:
        """Build values by HWCFG field name (the names of the register map's rules)."""
        return {k: getattr(self, k.lower()) for k in _regmap.BUILD_PARAMS}


class Hymem:
    """One controller behind ``bus``. Methods are the firmware's operations."""

    def __init__(self, bus, rm: _regmap.RegMap | None = None, name: str = "hymem",
                 hw: HwConfig | None = None):
        self.bus = bus
        self.rm = rm or _regmap.load()
        self.name = name
        self.hw: HwConfig | None = hw
        self.bus_ops = 0
        self._layer: tuple[int, int] | None = None   # (N_IN, N_OUT) as last written or read
        self._rules: RegRules | None = None

    def forget(self) -> None:
        """Forget what the driver remembers of the controller's registers (LAYER): call it
        after a reset or another master's writes."""
        self._layer = None

    # ------------------------------------------------------------ registers

    def _reg(self, reg: str) -> _regmap.Register:
        try:
            return self.rm[reg]
        except KeyError:
            raise ArgumentError(f"unknown register {reg!r}; registers: "
                                f"{', '.join(r.name for r in self.rm.registers)}") from None

    def _field(self, r: _regmap.Register, name: str) -> _regmap.Field:
        try:
            return r.field(name)
        except KeyError as e:
            raise ArgumentError(e.args[0]) from None

    async def read(self, reg: str, field: str | None = None) -> int:
        r = self._reg(reg)
        f = self._field(r, field) if field is not None else None
        if not r.sw_readable:
            raise ArgumentError(f"{reg} is write-only")
        self.bus_ops += 1
        v = await self.bus.read(r.addr)
        if reg == "LAYER":
            self._remember_layer(v)
        if f is None:
            return v
        return (v >> f.lsb) & ((1 << f.width) - 1)

    def _remember_layer(self, value: int) -> None:
        x = self.rm["LAYER"].unpack(value)
        self._layer = (x["N_IN"], x["N_OUT"])

    async def build(self) -> dict[str, int]:
        """Build values (HWCFG), read once."""
        return (self.hw or await self.identify()).build()

    async def rules(self) -> RegRules:
        """The register model's access rules in this controller's build (HWCFG read once)."""
        build = await self.build()
        if self._rules is None or self._rules.bv != build:
            self._rules = RegRules(self.rm, build)
        return self._rules

    def _static_fields(self, r: _regmap.Register, fields: Mapping) -> dict[str, int]:
        """Field values checked without the bus: names, writability, integers, widths."""
        out = {}
        for name, v in fields.items():
            f = self._field(r, name)
            if not f.sw_write:
                raise ArgumentError(f"{r.name}.{name} is read-only")
            out[name] = in_range(f"{r.name}.{name}", v, 0, (1 << f.width) - 1)
        return out

    async def _check_value(self, r: _regmap.Register, value: int) -> None:
        """The hardware's legality rules for a checked register (reads HWCFG once, and the
        current value of another register a cross-register rule compares with)."""
        if not (r.checked and r.constrained):
            return
        rules = await self.rules()
        need = {b for (a, b) in self.rm.below_pairs() if a[0] == r.name}
        need |= {a for (a, b) in self.rm.below_pairs() if b[0] == r.name}
        cur = {}
        for rn, fn in need:
            cur[(rn, fn)] = await self.read(rn, fn)
        bad = rules.violation(r.name, value, cur)
        if bad is not None:
            raise ArgumentError(f"{self.name}: {bad}")

    async def write(self, reg: str, value: int | None = None, **fields) -> None:
        """Write ``value``, or the named fields over the register's current value
        (not for W1C registers: use :meth:`clear_irq`). Checked first (see the module doc):
        a read-only register, an unknown or read-only field, a value wider than 32 bits or
        with bits outside the writable fields, or one the hardware would refuse as illegal
        raises ArgumentError and writes nothing."""
        r = self._reg(reg)
        if not r.sw_writable:
            raise ArgumentError(f"{reg} is read-only")
        if value is not None and fields:
            raise ArgumentError("give either a value or fields, not both")
        if value is None and any(f.woclr for f in r.fields):
            raise ArgumentError(f"{reg} is write-1-to-clear: a field write would clear every set "
                                "bit; use clear_irq() or write an explicit value")
        if value is None:
            if not fields:
                raise ArgumentError(f"write({reg!r}): give a value or fields")
            new = self._static_fields(r, fields)
            if r.checked and r.constrained:         # field ranges before any bus access
                rules = await self.rules()
                for name, v in new.items():
                    lo, hi = rules.legal_range(reg, name)
                    if not lo <= v <= hi:
                        raise ArgumentError(f"{self.name}: {reg}.{name} must be in {lo}..{hi}; got {v}")
            value = 0 if not r.sw_readable else await self.read(reg)
            for name, v in new.items():
                f = r.field(name)
                value = (value & ~f.mask) | (v << f.lsb)
        else:
            value = in_range(f"{reg} value", value, 0, 0xFFFF_FFFF)
            stray = value & ~r.write_mask
            if stray:
                raise ArgumentError(f"{reg} value {value:#010x} sets bits {stray:#010x} outside its "
                                    f"writable fields (mask {r.write_mask:#010x})")
        await self._check_value(r, value)
        self.bus_ops += 1
        await self.bus.write(r.addr, value)
        if reg == "LAYER":
            self._remember_layer(value)

    async def command(self, *names: str) -> None:
        if not names:
            raise ArgumentError("command() needs at least one CMD field name")
        await self.write("CMD", **{n: 1 for n in names})

    # --------------------------------------------------------- access lists

    def op_write(self, reg: str, value: int | None = None, **fields) -> tuple:
        """One write for :meth:`run`: ``value``, or the named fields over 0 (no read-modify-
        write: the fields not named are written 0). Checked like :meth:`write` as far as no
        bus access is needed (names, writability, integers, the ranges that do not depend on
        the build); the controller refuses the rest with PSLVERR, which :meth:`run` raises."""
        r = self._reg(reg)
        if not r.sw_writable:
            raise ArgumentError(f"{reg} is read-only")
        if value is not None and fields:
            raise ArgumentError("give either a value or fields, not both")
        if value is None:
            value = 0
            for name, v in self._static_fields(r, fields).items():
                lo, hi = static_range(self.rm, reg, name)
                in_range(f"{reg}.{name}", v, lo, hi)
                value |= v << r.field(name).lsb
        else:
            value = in_range(f"{reg} value", value, 0, 0xFFFF_FFFF)
        if reg == "LAYER":
            self._remember_layer(value)
        return ("w", r.addr, value)

    def op_read(self, reg: str) -> tuple:
        r = self._reg(reg)
        if not r.sw_readable:
            raise ArgumentError(f"{reg} is write-only")
        return ("r", r.addr)

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
        """The writes that put int8 ``values`` into the XBUF or EBUF window, four per word,
        checked as :meth:`write_vector` checks them (the layer tile must be known: after
        :meth:`configure`, a LAYER write or :meth:`layer`)."""
        if mem not in self._VEC_LEN:
            raise ArgumentError(f"write_vector: mem must be one of {', '.join(self._VEC_LEN)}; "
                                f"got {mem!r}")
        if self._layer is None:
            raise ArgumentError(f"{mem}: the layer tile (LAYER) is not known yet: configure() "
                                "or await layer() first")
        m = self.rm.mem(mem)
        v = np.asarray(values)
        if v.dtype.kind == "O":
            v = np.asarray([as_int(f"{mem} entry", x) for x in v.ravel()], dtype=np.int64)
        if v.ndim != 1:
            raise ArgumentError(f"{mem} values must be a 1-D vector; got shape {v.shape}")
        if v.dtype.kind not in "iu":
            flat = v.ravel().tolist()
            example = next((x for x in flat if type(x) is not int), flat[0] if flat else None)
            raise ArgumentError(f"{mem} values must be integers (int8); got dtype {v.dtype} "
                                f"(e.g. {example!r})")
        v = v.astype(np.int64)
        if v.size and (v.min() < -128 or v.max() > 127):
            raise ArgumentError(f"{mem} values must be int8 (-128..127); got {v.min()}..{v.max()}")
        if v.size > 4 * m.words:
            raise ArgumentError(f"{mem} holds {4 * m.words} entries; got {v.size}")
        n_in, n_out = self._layer
        want = n_in if mem == "XBUF" else n_out
        if v.size != want:
            raise ArgumentError(f"{mem} needs exactly {self._VEC_LEN[mem]} = {want} values (LAYER); "
                                f"got {v.size}")
        words = (v.size + 3) // 4
        b = np.zeros(4 * words, dtype=np.uint8)
        b[: v.size] = v & 0xFF
        w = b.view("<u4")
        return [("w", m.addr + 4 * i, int(w[i])) for i in range(words)]

    async def clear_irq(self, *names: str) -> None:
        """Clear interrupt-status bits (write 1 to clear only those: a read-modify-write of
        a W1C register would clear every pending bit)."""
        r = self.rm["IRQ_STATUS"]
        mask = sum(self._field(r, n).mask for n in names)
        self.bus_ops += 1
        await self.bus.write(r.addr, mask)

    # ------------------------------------------------------------ discovery

    async def identify(self) -> HwConfig:
        magic = await self.read("ID")
        if magic != self.rm["ID"].reset:
            raise FirmwareError(f"{self.name}: ID reads 0x{magic:08X}, expected "
                                f"0x{self.rm['ID'].reset:08X} (is this a hymem controller?)")
        v = {}
        for reg in ("HWCFG0", "HWCFG1", "HWCFG2"):
            v.update({k.lower(): x for k, x in self.rm[reg].unpack(await self.read(reg)).items()})
        self.hw = HwConfig(**v)
        return self.hw

    # ---------------------------------------------------------- configuration

    # (pulse register, pulse field, strobe register, strobe field): the strobe must stay
    # inside the pulse, and each write is checked against the other register's current value
    _STROBE_PAIRS = (("T_FE0", "PULSE", "T_FE1", "SENSE"), ("T_MR1", "READ", "T_MR2", "ADC"))

    async def set_timing(self, timing: dict = FAST_TIMING) -> None:
        """Write the timing registers (``{register: {field: cycles}}``, fields left out keep
        their value) in an order every intermediate state of which is legal: of a pulse and
        its strobe, the strobe first when it moves inside the current pulse (shortening),
        the pulse first otherwise (lengthening). The whole set is checked first: unknown
        registers or fields, non-integers, values out of range, a strobe not below its pulse
        in the final state."""
        build = await self.build()
        timing = check_timing_set(timing, self.rm, build, what="set_timing")
        cur: dict = {}

        async def current(reg, fn):
            if (reg, fn) not in cur:
                cur[(reg, fn)] = await self.read(reg, fn)
            return cur[(reg, fn)]

        for (sr, sf), (pr, pf) in self.rm.below_pairs():      # values the set leaves alone
            for reg, fn in ((sr, sf), (pr, pf)):
                if fn not in timing.get(reg, {}):
                    await current(reg, fn)
        check_timing_set(timing, self.rm, build, current=lambda r, f: cur[(r, f)],
                         what="set_timing")
        order = []
        for preg, pf, sreg, sf in self._STROBE_PAIRS:
            new_strobe = timing.get(sreg, {}).get(sf)
            cur_pulse = await current(preg, pf)
            first, second = (sreg, preg) if new_strobe is not None and new_strobe < cur_pulse \
                else (preg, sreg)
            order += [first, second]
        for reg in order + ["T_FE2", "T_MR0", "T_MR3"]:
            if reg in timing:
                await self.write(reg, **timing[reg])

    @staticmethod
    def p16_of(p) -> int:
        """Mask probability ``p`` (0..1) as MASK_P.P16 (p * 65536, rounded); a p that is not
        0 but below one LSB (1/65536) is an error (it would switch learning off)."""
        if isinstance(p, (bool, np.bool_, str, bytes)) or not isinstance(p, (int, float, np.number)):
            raise ArgumentError(f"p must be a number in 0..1; got {p!r}")
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(f"p must be in 0..1; got {p!r}")
        if 0.0 < p < 1.0 / 65536:
            raise ArgumentError(f"p = {p!r} is below one LSB of MASK_P.P16 (1/65536 = "
                                f"{1 / 65536:.3g}): the mask would never pass; use 0 to switch "
                                "learning off")
        return int(round(p * 65536))

    async def configure(self, *, n_in: int, n_out: int, lr_mult: int = 128, lr_shift: int = 8,
                        p16: int | None = None, p: float | None = None, stoch_round: bool = True,
                        code_round: bool = False, skip_zero: bool = True,
                        change_aware: bool = False, verify_max: int = 0, k: int = 100,
                        seed: int | None = None, timing: dict | None = FAST_TIMING,
                        form_max: int | None = None) -> None:
        """Layer tile, learning rate, mask probability (``p16``, or ``p`` in 0..1; default
        p16 = 13107, p = 0.2), modes, transfer period, PRNG seed, timing. Every argument is
        checked before the first write (see the module doc), so a refused call changes no
        register."""
        rm = self.rm
        if p16 is not None and p is not None:
            raise ArgumentError("give p16 or p, not both")
        if p is not None:
            p16 = self.p16_of(p)
        elif p16 is None:
            p16 = rm.reset_fields("MASK_P")["P16"]
        writes = [
            ("LAYER", dict(N_IN=as_int("n_in", n_in), N_OUT=as_int("n_out", n_out))),
            ("LR", dict(MULT=as_int("lr_mult", lr_mult), SHIFT=as_int("lr_shift", lr_shift))),
            ("MASK_P", dict(P16=as_int("p16", p16))),
            ("MODE", dict(STOCH_ROUND=as_flag("stoch_round", stoch_round),
                          CODE_ROUND=as_flag("code_round", code_round),
                          SKIP_ZERO=as_flag("skip_zero", skip_zero),
                          CHANGE_AWARE=as_flag("change_aware", change_aware),
                          VERIFY_MAX=as_int("verify_max", verify_max))),
            ("XFER_K", dict(K=as_int("k", k))),
        ]
        if form_max is not None:
            writes.append(("FORM", dict(MAX=as_int("form_max", form_max))))
        if seed is not None:
            writes.append(("SEED", dict(SEED=as_int("seed", seed))))
        names = dict(N_IN="n_in", N_OUT="n_out", MULT="lr_mult", SHIFT="lr_shift", P16="p16",
                     VERIFY_MAX="verify_max", K="k", MAX="form_max", SEED="seed")
        # first what needs no bus (ranges that do not depend on the build, the timing set's
        # names, types and ranges), then what needs the build (HWCFG, read once)
        for reg, fields in writes:
            for fn, v in fields.items():
                lo, hi = static_range(rm, reg, fn)
                in_range(f"{names.get(fn, fn.lower())} ({reg}.{fn})", v, lo, hi)
        if timing is not None:
            check_timing_set(timing, rm, {}, what="configure(timing=...)")
        rules = await self.rules()
        for reg, fields in writes:
            for fn, v in fields.items():
                lo, hi = rules.legal_range(reg, fn)
                mx = rm[reg].field(fn).legal_max
                in_range(f"{names.get(fn, fn.lower())} ({reg}.{fn})", v, lo, hi,
                         f" in this build ({mx} = {hi})" if mx is not None and mx.names else "")
            if rm[reg].rule is not None:
                bad = rules.violation(reg, rm[reg].pack(**fields))
                if bad is not None:
                    raise ArgumentError(f"{self.name}: configure: {bad}")
        if timing is not None:
            await self.set_timing(timing)
        for reg, fields in writes:
            await self.write(reg, **fields)
        if seed is not None:
            await self.command("SEED_LOAD")

    async def set_lr(self, lr_mult: int, lr_shift: int) -> None:
        await self.write("LR", MULT=as_int("lr_mult", lr_mult), SHIFT=as_int("lr_shift", lr_shift))

    # ---------------------------------------------------------------- vectors

    #: vector window -> the LAYER field its length must equal
    _VEC_LEN = {"XBUF": "N_IN", "EBUF": "N_OUT"}

    async def layer(self) -> tuple[int, int]:
        """(N_IN, N_OUT) as the driver last wrote or read them (LAYER is read if unknown)."""
        if self._layer is None:
            await self.read("LAYER")
        return self._layer

    async def write_vector(self, mem: str, values) -> None:
        """int8 values into the XBUF or EBUF window, four per word. The vector must hold
        integers in -128..127 and be exactly N_IN (XBUF) or N_OUT (EBUF) long: a shorter
        one would leave the previous sample's entries for the next sample to use
        (:meth:`vector_ops`)."""
        await self.layer()
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

    async def wake(self, cycles: int | None = None) -> None:
        """FeCAP wake-up (docs/programming.md, "Wake-up"): ``cycles`` write-1 / write-0
        cycles of every used FeCAP row (WAKE.CYCLES; None: leave it, its reset value is the
        published 1,000), then wait until it has completed. It erases the hidden weights and
        change flags of the slots LAYER uses, so configure the layer first and run it before
        training. Raises if STATUS.WOKEN is not set afterwards (the wake-up was aborted)."""
        if cycles is not None:
            await self.write("WAKE", CYCLES=as_int("cycles", cycles))
        await self.command("WAKE")
        await self.wait_idle()
        if not await self.read("STATUS", "WOKEN"):
            raise FirmwareError(f"{self.name}: the wake-up did not complete (STATUS.WOKEN = 0)")

    async def declare_woken(self) -> None:
        """CMD.WOKEN: the FeCAPs are known to be woken already (an earlier wake-up before a
        power-on reset of the controller alone, or at test): SAMPLE and TRANSFER are
        accepted without a wake-up."""
        await self.command("WOKEN")

    async def start(self, *, cycles: int | None = None, woken: bool = False) -> bool:
        """The start of a session, after :meth:`configure`: nothing if STATUS.WOKEN is set;
        else :meth:`declare_woken` when ``woken`` (the caller knows the array is woken), or
        :meth:`wake` with ``cycles``. Returns whether a wake-up ran."""
        woken = as_flag("woken", woken)
        if cycles is not None:
            in_range("cycles (WAKE.CYCLES)", as_int("cycles", cycles),
                     *static_range(self.rm, "WAKE", "CYCLES"))
        if await self.read("STATUS", "WOKEN"):
            return False
        if woken:
            await self.declare_woken()
            return False
        await self.wake(cycles)
        return True

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
            raise FirmwareError(f"{self.name}: ERR {code} ({self.rm.error_codes.get(code, '?')}) "
                                f"at 0x{addr:03X}")
        if await self.read("STATUS", "SEQ_ERR"):
            raise FirmwareError(f"{self.name}: a sequencer guard fired (STATUS.SEQ_ERR)")
