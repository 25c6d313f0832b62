"""The register model: the answer the controller gives to every register access, and the
state of its register block, in one build.

Built on the register map (:mod:`hymem.host.regmap`, read from ``rtl/hymem_regs.rdl``), it
is the one place that states the access rules; the register block's testbench
(tb/hymem_regs, cycle by cycle), the write checker's testbench (tb/hymem_cfg_check), the
top level's reference model (tb/hymem_top/top_model.py) and the firmware's argument checks
(:mod:`hymem.host.firmware`) all use it.

:class:`RegRules` (no state): the ERR code of an access

* from its address and direction alone (:meth:`RegRules.address_code`): 4 misaligned,
  1 unmapped, 2 write to a read-only register or window, 3 read of a write-only one;
* of a write to a checked register (:meth:`RegRules.check_code`, what ``hymem_cfg_check``
  answers): for CMD, 7 when a command's queue slot is taken (:data:`QUEUED_CMDS`), 6 for
  SEED_LOAD while busy (:data:`BUSY_CMDS`), 10 for SAMPLE or TRANSFER before the array is
  woken (:data:`WOKEN_CMDS`); for every other checked register 6 while busy, else the
  value's legality from the RDL's rules (``RegMap.check``: 5 illegal, 9 not in this build);
* of a write to a vector window (:meth:`RegRules.window_code`): 6 while a sample runs or
  is queued, 9 beyond the build's depth (:data:`WINDOW_DEPTH`).

:class:`RegModel` adds the block's stored fields (rw, write-1-to-clear, hardware-written),
their reset values in this build (``rst_ni``; fields marked ``hymem_por`` only at power-on),
what a read returns (with a mask of the bits the model knows, for a caller that cannot
know everything, such as a model without time), the value a write would leave
(:meth:`RegModel.merged`, byte strobes applied: what the checker is asked about) and the
effect of an accepted write (:meth:`RegModel.write`).
"""

from __future__ import annotations

from typing import Callable, Mapping

from . import regmap as _regmap

M32 = 0xFFFF_FFFF

#: CMD fields that queue, one of each behind the running operation: a write setting one
#: whose slot is taken is refused with QUEUED (rtl/hymem_cfg_check.sv's header)
QUEUED_CMDS = ("SAMPLE", "TRANSFER", "FORM", "READOUT", "WAKE")
#: CMD fields refused with BUSY while an operation runs or is queued
BUSY_CMDS = ("SEED_LOAD",)
#: CMD fields refused with NOT_WOKEN while STATUS.WOKEN is 0
WOKEN_CMDS = ("SAMPLE", "TRANSFER")
#: vector window -> the build value (HWCFG name) of its depth in entries (4 per word): a
#: write to a word at or beyond it is refused with BUILD
WINDOW_DEPTH = {"XBUF": "XDEPTH", "EBUF": "EDEPTH"}
#: field kinds the register block stores (the rest: driven by the controller, constant, or
#: command pulses)
STORED = ("rw", "w1c", "hw_we")


def bmask(strb: int) -> int:
    """Byte strobes (PSTRB) -> bit mask."""
    return sum(0xFF << (8 * b) for b in range(4) if (strb >> b) & 1)


def fmask(f: _regmap.Field) -> int:
    """A field's values mask (unshifted)."""
    return (1 << f.width) - 1


def static_range(rm: _regmap.RegMap, reg: str, fld: str) -> tuple[int, int]:
    """The part of a field's legal range that holds in every build (hymem_min, a constant
    hymem_max, the field's width)."""
    f = rm[reg].field(fld)
    hi = fmask(f)
    if f.legal_max is not None and not f.legal_max.names:
        hi = min(hi, f.legal_max.eval({}))
    return (f.legal_min or 0), hi


class RegRules:
    """The access rules of the register block and its write checker in one build.

    ``build``: build values by HWCFG name (:func:`hymem.host.regmap.build_values`); None:
    hymem_top's default build."""

    def __init__(self, rm: _regmap.RegMap | None = None, build: Mapping[str, int] | None = None):
        self.rm = rm or _regmap.load()
        self.bv = _regmap.build_values() if build is None else {k: int(v) for k, v in build.items()}
        missing = set(_regmap.BUILD_PARAMS) - set(self.bv)
        if missing:
            raise ValueError(f"build: missing build values {sorted(missing)} (HWCFG names; "
                             "hymem.host.regmap.build_values() gives them all)")
        self.Err = self.rm.Err
        cmd = self.rm["CMD"]
        for n in QUEUED_CMDS + BUSY_CMDS + WOKEN_CMDS:
            cmd.field(n)                                  # KeyError if the RDL lost one
        for m, b in WINDOW_DEPTH.items():
            self.rm.mem(m)
            assert b in self.bv, b

    # ------------------------------------------------------------------ addresses

    def target(self, addr: int):
        """The register or memory window an aligned ``addr`` selects (None: misaligned or
        unmapped)."""
        return None if addr & 3 else self.rm.decode(addr)

    def address_code(self, addr: int, write: bool) -> int:
        """The ERR code an access gets from its address and direction alone (0: none)."""
        if addr & 3:
            return int(self.Err.MISALIGNED)
        t = self.rm.decode(addr)
        if t is None:
            return int(self.Err.UNMAPPED)
        mem = isinstance(t, _regmap.Memory)
        writable = t.sw_write if mem else t.sw_writable
        readable = t.sw_read if mem else t.sw_readable
        if write and not writable:
            return int(self.Err.READ_ONLY)
        if not write and not readable:
            return int(self.Err.WRITE_ONLY)
        return 0

    # ------------------------------------------------------------------ values

    def legal_range(self, reg: str, fld: str) -> tuple[int, int]:
        """(lowest, highest) legal value of a field on its own in this build."""
        return self.rm.legal_range(reg, fld, self.bv)

    def violation(self, reg: str, value: int, current: Callable[[str, str], int] | Mapping | None = None):
        """Why ``value`` is illegal for checked register ``reg`` when idle
        (:class:`hymem.host.regmap.Violation`), or None; ``current(reg, field)`` (or a mapping
        keyed by (reg, field)) gives the other side of a cross-register rule."""
        return self.rm.check(reg, value, self.bv, current)

    def check_code(self, reg: str, value: int, *, busy: bool = False, queued=(), woken: bool = True,
                   current: Callable[[str, str], int] | Mapping | None = None) -> int:
        """The ERR code ``hymem_cfg_check`` answers for a write of ``value`` (the value the
        register would hold; for CMD the bits written) to checked register ``reg`` (0:
        accepted). ``busy``: an operation runs or is queued; ``queued``: the CMD field names
        of the commands queued; ``woken``: STATUS.WOKEN; ``current``: see :meth:`violation`."""
        r = self.rm[reg]
        if not r.checked:
            raise ValueError(f"{reg} is not a checked register; checked: "
                             f"{', '.join(x.name for x in self.rm.registers if x.checked)}")
        if reg == "CMD":
            bits = r.unpack(value)
            if any(bits[n] and n in queued for n in QUEUED_CMDS):
                return int(self.Err.QUEUED)
            if busy and any(bits[n] for n in BUSY_CMDS):
                return int(self.Err.BUSY)
            if not woken and any(bits[n] for n in WOKEN_CMDS):
                return int(self.Err.NOT_WOKEN)
            return 0
        if busy:
            return int(self.Err.BUSY)
        bad = self.violation(reg, value, current)
        return 0 if bad is None else bad.code

    def window_code(self, mem: str, addr: int, *, sample_pending: bool = False) -> int:
        """The ERR code of a write to word ``addr`` of vector window ``mem`` (0: accepted):
        BUSY while a sample runs or is queued (it reads the buffers), BUILD for a word beyond
        the build's depth."""
        if mem not in WINDOW_DEPTH:
            raise ValueError(f"window_code: mem must be one of {', '.join(WINDOW_DEPTH)}; got {mem!r}")
        word = (addr - self.rm.mem(mem).addr) >> 2
        if sample_pending:
            return int(self.Err.BUSY)
        return int(self.Err.BUILD) if word >= self.bv[WINDOW_DEPTH[mem]] // 4 else 0


class RegModel(RegRules):
    """The register block's stored fields in one build, with :class:`RegRules`' answers.

    State: :attr:`q` and :attr:`known`, keyed by (register, field), for every stored field
    (kinds rw, w1c, hw_we). Its rules check a cross-register rule against the stored value
    of the other register. A caller that cannot know a value (a model without time: an
    interrupt bit an operation may or may not have set yet) marks it unknown with
    :meth:`set` ``known=False``; :meth:`read` then leaves its bits out of the mask."""

    def __init__(self, rm: _regmap.RegMap | None = None, build: Mapping[str, int] | None = None):
        super().__init__(rm, build)
        self._stored = [(r, f) for r in self.rm.registers for f in r.fields if f.kind in STORED]
        self.q: dict[tuple[str, str], int] = {}
        self.known: dict[tuple[str, str], bool] = {}
        self.power_on()

    # ------------------------------------------------------------------ state

    def power_on(self) -> None:
        """por_ni (with rst_ni): every stored field to its reset value in this build."""
        self.reset(por=True)

    def reset(self, por: bool = False) -> None:
        """rst_ni: every stored field to its reset value in this build, but those marked
        hymem_por (they keep their value; ``por=True``: them too)."""
        resets = {r.name: self.rm.reset_fields(r.name, self.bv) for r in self.rm.registers}
        for r, f in self._stored:
            if por or not f.por:
                self.q[(r.name, f.name)] = resets[r.name][f.name]
                self.known[(r.name, f.name)] = True

    def set(self, reg: str, name: str, value: int, known: bool = True) -> None:
        """Store a field's value (the controller wrote it: hwset, a write enable)."""
        if (reg, name) not in self.q:
            raise KeyError(f"{reg}.{name} is not a stored field")
        self.q[(reg, name)] = int(value) & fmask(self.rm[reg].field(name))
        self.known[(reg, name)] = bool(known)

    def load(self, reg: str, value: int, known: bool = True) -> None:
        """Store every stored field of ``reg`` from a register value."""
        for f in self.rm[reg].fields:
            if f.kind in STORED:
                self.set(reg, f.name, (int(value) >> f.lsb) & fmask(f), known)

    def field(self, reg: str, name: str, value: int | None = None) -> int:
        """Field ``name`` of the stored register ``reg`` (or of ``value``)."""
        f = self.rm[reg].field(name)
        if value is None:
            return self.q[(reg, name)]
        return (int(value) >> f.lsb) & fmask(f)

    def fields(self, reg: str, value: int | None = None) -> dict[str, int]:
        """Every field of ``value`` (None: of the stored register; stored fields only)."""
        if value is None:
            return {f.name: self.q[(reg, f.name)] for f in self.rm[reg].fields if f.kind in STORED}
        return self.rm[reg].unpack(value)

    def pack(self, reg: str, **fields: int) -> int:
        return self.rm[reg].pack(**fields)

    def violation(self, reg: str, value: int, current: Callable[[str, str], int] | Mapping | None = None):
        """:meth:`RegRules.violation`; the other side of a cross-register rule is the stored
        value unless ``current`` gives it."""
        return super().violation(reg, value, self.field if current is None else current)

    def value(self, reg: str) -> int:
        """The stored fields of ``reg`` as a register value (0 elsewhere)."""
        v = 0
        for f in self.rm[reg].fields:
            if f.kind in STORED:
                v |= (self.q[(reg, f.name)] & fmask(f)) << f.lsb
        return v

    # ------------------------------------------------------------------ accesses

    def read(self, reg: _regmap.Register | str, hw: Callable[[str, str], int | None] | None = None
             ) -> tuple[int, int]:
        """(value, mask of the bits the model knows) a read of ``reg`` returns: stored
        fields, constants, 0 for command pulses and bits outside every field; the fields
        the controller drives from ``hw(reg, field)`` (None: not known)."""
        r = self.rm[reg] if isinstance(reg, str) else reg
        value, mask = 0, M32
        for f in r.fields:
            if not f.sw_read:
                continue
            k = f.kind
            if k in STORED:
                x, known = self.q[(r.name, f.name)], self.known[(r.name, f.name)]
            elif k == "const":
                x, known = f.reset, True
            elif k == "pulse":
                x, known = 0, True
            else:
                if hw is None:
                    raise ValueError(f"reading {r.name} needs the value of {r.name}.{f.name} (hw)")
                x = hw(r.name, f.name)
                x, known = (0, False) if x is None else (x, True)
            if known:
                value |= (int(x) & fmask(f)) << f.lsb
            else:
                mask &= ~f.mask
        return value, mask

    def merged(self, reg: _regmap.Register | str, wdata: int, strb: int = 0xF) -> int:
        """The value ``reg`` would hold after a write of ``wdata`` under byte strobes
        ``strb`` (for a register of command pulses only: the bits written), limited to its
        fields: what the write checker is asked about."""
        r = self.rm[reg] if isinstance(reg, str) else reg
        bm = bmask(strb)
        fm = sum(f.mask for f in r.fields)
        new = wdata & bm
        if any(f.kind != "pulse" for f in r.fields):
            old, _ = self.read(r, lambda rn, fn: 0)
            new |= old & ~bm
        return new & fm

    def write(self, reg: _regmap.Register | str, wdata: int, strb: int = 0xF) -> dict[str, int]:
        """An accepted write: rw fields take their strobed bytes, write-1-to-clear fields
        clear the bits written 1. Returns the command pulses (field -> bits written)."""
        r = self.rm[reg] if isinstance(reg, str) else reg
        bm = bmask(strb)
        wd = wdata & bm
        pulses = {}
        for f in r.fields:
            key = (r.name, f.name)
            if f.kind == "pulse":
                pulses[f.name] = (wd >> f.lsb) & fmask(f)
            elif f.kind == "rw":
                fb = (bm >> f.lsb) & fmask(f)
                self.q[key] = (self.q[key] & ~fb) | ((wd >> f.lsb) & fb)
            elif f.kind == "w1c":
                self.q[key] &= ~((wd >> f.lsb) & fmask(f))
        return pulses
