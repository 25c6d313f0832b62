"""The register map, read from its one source ``rtl/hymem_regs.rdl``.

:func:`load` compiles the SystemRDL description (systemrdl-compiler) into a
plain Python model: registers with their fields, access types and reset
values, the memory windows, the ERR codes, and the legality rules of the checked
registers (the RDL's ``hymem_min`` / ``hymem_max`` / ``hymem_below`` /
``hymem_err`` / ``hymem_rule`` properties) with the build-dependent reset values
(``hymem_reset``). The RTL generator (``scripts/regmap.py``, which also turns the
rules into ``rtl/hymem_regs_legal.sv``), the register tests, the testbench's
register model and the firmware's argument checks all use it, so none of them
restates an address, a reset value or a legal range.

Build values (what a rule or a reset value may depend on) are named as the HWCFG
fields that report them (``LINES``, ``SLOTS``, ``XDEPTH``...); :data:`BUILD_PARAMS`
maps them to hymem_top's parameters.
"""

from __future__ import annotations

import ast
import enum
import operator
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

from ..paths import rtl_dir

#: HWCFG field (the build value's name in the RDL's expressions) -> hymem_top parameter.
BUILD_PARAMS = {"LINES": "Lines", "SLOTS": "Slots", "MAG_WIDTH": "MagWidth",
                "CODE_BITS": "CodeBits", "XDEPTH": "XDepth", "EDEPTH": "EDepth",
                "VERIFY_LIMIT": "VerifyLimit", "ADC_BITS": "AdcBits"}


def top_defaults() -> dict[str, int]:
    """hymem_top's parameter defaults, read from rtl/hymem_top.sv."""
    text = (rtl_dir() / "hymem_top.sv").read_text()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"parameter\s+int\s+(\w+)\s*=\s*(\d+)", text)}


def build_values(params: Mapping[str, int] | None = None) -> dict[str, int]:
    """Build values by HWCFG name from hymem_top parameters (defaults for those not given)."""
    p = {**top_defaults(), **(params or {})}
    return {k: int(p[v]) for k, v in BUILD_PARAMS.items()}


# ------------------------------------------------------------------ expressions


class Expr:
    """An RDL expression (hymem_max, hymem_rule, hymem_reset): integer arithmetic in
    Python syntax over names (build values, the register's fields). ``/`` truncates
    (every operand is a non-negative integer). Evaluated by :meth:`eval`, written as
    SystemVerilog by :meth:`sv`."""

    _BIN = {ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub),
            ast.Mult: ("*", operator.mul), ast.Div: ("/", operator.floordiv),
            ast.FloorDiv: ("/", operator.floordiv)}
    _CMP = {ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt),
            ast.GtE: (">=", operator.ge), ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne)}

    def __init__(self, text: str, where: str = ""):
        self.text = text
        try:
            self.tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as e:
            raise ValueError(f"{where}: cannot parse expression {text!r}: {e.msg}") from None
        self.names: set[str] = set()
        self._check(self.tree, where)

    def _check(self, n, where: str) -> None:
        if isinstance(n, ast.Constant) and type(n.value) is int:
            return
        if isinstance(n, ast.Name):
            self.names.add(n.id)
            return
        if isinstance(n, ast.BinOp) and type(n.op) in self._BIN:
            self._check(n.left, where)
            self._check(n.right, where)
            return
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]) in self._CMP:
            self._check(n.left, where)
            self._check(n.comparators[0], where)
            return
        if isinstance(n, ast.BoolOp):
            for v in n.values:
                self._check(v, where)
            return
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("min", "max")
                and n.args and not n.keywords):
            for a in n.args:
                self._check(a, where)
            return
        raise ValueError(f"{where}: expression {self.text!r}: {ast.dump(n)[:60]} is not allowed "
                         "(integers, names, + - * /, one comparison, and/or, min(), max())")

    def eval(self, env: Mapping[str, int]) -> int:
        def ev(n):
            if isinstance(n, ast.Constant):
                return n.value
            if isinstance(n, ast.Name):
                if n.id not in env:
                    raise KeyError(f"expression {self.text!r}: no value for {n.id}")
                return int(env[n.id])
            if isinstance(n, ast.BinOp):
                return self._BIN[type(n.op)][1](ev(n.left), ev(n.right))
            if isinstance(n, ast.Compare):
                return int(self._CMP[type(n.ops[0])][1](ev(n.left), ev(n.comparators[0])))
            if isinstance(n, ast.BoolOp):
                vals = [ev(v) for v in n.values]
                return int(all(vals) if isinstance(n.op, ast.And) else any(vals))
            if isinstance(n, ast.Call):
                return (min if n.func.id == "min" else max)(ev(a) for a in n.args)
            raise AssertionError(n)
        return int(ev(self.tree))

    def sv(self, name: Callable[[str], str]) -> str:
        """SystemVerilog text, 32-bit integer arithmetic; ``name`` maps a name to its SV
        operand (it should be 32 bits wide)."""
        def s(n):
            if isinstance(n, ast.Constant):
                return f"32'd{n.value}"
            if isinstance(n, ast.Name):
                return name(n.id)
            if isinstance(n, ast.BinOp):
                return f"({s(n.left)} {self._BIN[type(n.op)][0]} {s(n.right)})"
            if isinstance(n, ast.Compare):
                return f"({s(n.left)} {self._CMP[type(n.ops[0])][0]} {s(n.comparators[0])})"
            if isinstance(n, ast.BoolOp):
                op = " && " if isinstance(n.op, ast.And) else " || "
                return "(" + op.join(s(v) for v in n.values) + ")"
            if isinstance(n, ast.Call):
                args = [s(a) for a in n.args]
                out = args[0]
                for a in args[1:]:
                    cmp = "<" if n.func.id == "min" else ">"
                    out = f"(({out}) {cmp} ({a}) ? ({out}) : ({a}))"
                return out
            raise AssertionError(n)
        return s(self.tree)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    sw_read: bool
    sw_write: bool
    hw_write: bool       # the controller drives it (status, counters, hwset)
    reset: int | None    # None: no storage (driven by the controller)
    singlepulse: bool    # command bit: a one-cycle pulse when written with 1
    woclr: bool          # write 1 to clear
    hwset: bool          # the controller sets it
    we: bool             # the controller writes it with a write enable
    desc: str = ""
    legal_min: int | None = None     # hymem_min
    legal_max: Expr | None = None    # hymem_max
    below: tuple[str, str] | None = None   # hymem_below: (register, field) it must stay below
    err: str | None = None           # hymem_err: ERR code name of a violation (None: ILLEGAL)
    reset_expr: Expr | None = None   # hymem_reset: build-dependent reset value
    por: bool = False                # hymem_por: reset by por_ni only (survives rst_ni)

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    @property
    def constant(self) -> bool:
        return not self.sw_write and not self.hw_write and self.reset is not None

    @property
    def kind(self) -> str:
        if self.singlepulse:
            return "pulse"
        if self.woclr:
            return "w1c"
        if self.sw_write:
            return "rw"
        if self.constant:
            return "const"
        if self.we:
            return "hw_we"
        return "ro"


@dataclass(frozen=True)
class Register:
    name: str
    addr: int
    fields: tuple[Field, ...]
    checked: bool
    desc: str = ""
    rule: Expr | None = None         # hymem_rule

    @property
    def sw_readable(self) -> bool:
        return any(f.sw_read for f in self.fields)

    @property
    def sw_writable(self) -> bool:
        return any(f.sw_write for f in self.fields)

    @property
    def reset(self) -> int:
        """Value a read returns after reset for the stored and constant fields (0 elsewhere)."""
        v = 0
        for f in self.fields:
            if f.reset is not None and f.sw_read:
                v |= (f.reset << f.lsb) & f.mask
        return v

    @property
    def write_mask(self) -> int:
        m = 0
        for f in self.fields:
            if f.sw_write:
                m |= f.mask
        return m

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"register {self.name} has no field {name!r}; fields: "
                       f"{', '.join(f.name for f in self.fields)}")

    def unpack(self, value: int) -> dict[str, int]:
        return {f.name: (value >> f.lsb) & ((1 << f.width) - 1) for f in self.fields}

    def pack(self, **fields: int) -> int:
        v = 0
        for name, x in fields.items():
            f = self.field(name)
            v |= (int(x) & ((1 << f.width) - 1)) << f.lsb
        return v

    @property
    def constrained(self) -> bool:
        """The register has legal ranges narrower than its fields, or a rule."""
        return self.rule is not None or any(
            f.legal_min is not None or f.legal_max is not None or f.below is not None
            for f in self.fields)


@dataclass(frozen=True)
class Memory:
    name: str
    addr: int
    words: int
    sw_read: bool
    sw_write: bool
    desc: str = ""

    @property
    def end(self) -> int:
        return self.addr + 4 * self.words


@dataclass(frozen=True)
class RegMap:
    name: str
    registers: tuple[Register, ...]
    memories: tuple[Memory, ...]
    addr_bits: int = 12
    error_codes: dict = field(default_factory=dict)    # code -> meaning
    errors: tuple[ErrCode, ...] = ()
    # "REG.FIELD" -> (the RDL enum's name, its members) for every field with `encode`
    enums: dict = field(default_factory=dict)

    @property
    def Err(self) -> type[enum.IntEnum]:                 # noqa: N802 (a class)
        """ERR.CODE as an IntEnum (``m.Err.BUSY == 6``), from the RDL's enum hymem_err_e."""
        return self.enum("ERR.CODE")

    def enum(self, where: str) -> type[enum.IntEnum]:
        """The encoding of field ``where`` ("STATUS.XFER_PHASE") as an IntEnum named after the
        RDL's enum (``hymem_xfer_phase_e``), members by their RDL names."""
        if where not in self.enums:
            raise KeyError(f"{where} has no encoding; encoded fields: {', '.join(self.enums)}")
        name, members = self.enums[where]
        return enum.IntEnum(name, [(e.ident, e.code) for e in members])

    def err(self, ident: str) -> int:
        """ERR code by its RDL name (``"ILLEGAL"``)."""
        for e in self.errors:
            if e.ident == ident:
                return e.code
        raise KeyError(f"no ERR code {ident!r}; codes: {', '.join(e.ident for e in self.errors)}")

    def __getitem__(self, name: str) -> Register:
        for r in self.registers:
            if r.name == name:
                return r
        raise KeyError(f"no register {name!r}")

    def mem(self, name: str) -> Memory:
        for m in self.memories:
            if m.name == name:
                return m
        raise KeyError(f"no memory window {name!r}")

    def decode(self, addr: int):
        """The register or memory window at byte address ``addr`` (None if unmapped)."""
        for r in self.registers:
            if r.addr == addr:
                return r
        for m in self.memories:
            if m.addr <= addr < m.end:
                return m
        return None

    # -------------------------------------------------------------- build-dependent

    def reset_fields(self, reg: str, build: Mapping[str, int] | None = None) -> dict[str, int]:
        """Reset value of each stored field of ``reg`` in a build (build values by HWCFG
        name; None: the default build, where it equals the literal reset)."""
        r = self[reg]
        env = dict(build_values() if build is None else build)
        out = {}
        for f in r.fields:
            if f.reset is None:
                continue
            v = f.reset if f.reset_expr is None or build is None else f.reset_expr.eval(env)
            out[f.name] = v
            env[f.name] = v
        return out

    def reset_value(self, reg: str, build: Mapping[str, int] | None = None) -> int:
        """What a read returns after reset for the stored and constant fields (0 elsewhere)."""
        r = self[reg]
        v = 0
        for name, x in self.reset_fields(reg, build).items():
            f = r.field(name)
            if f.sw_read:
                v |= (x << f.lsb) & f.mask
        return v

    def legal_range(self, reg: str, fld: str, build: Mapping[str, int]) -> tuple[int, int]:
        """(lowest, highest) legal value of a field on its own (hymem_min, hymem_max; the
        field's width where they are absent). Cross-register and register rules aside."""
        f = self[reg].field(fld)
        lo = f.legal_min if f.legal_min is not None else 0
        hi = (1 << f.width) - 1
        if f.legal_max is not None:
            hi = min(hi, f.legal_max.eval(build))
        return lo, hi

    def below_pairs(self) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        """Cross-register rules: ((register, field), (register, field) it must stay below)."""
        return [((r.name, f.name), f.below) for r in self.registers for f in r.fields if f.below]

    def check(self, reg: str, value: int, build: Mapping[str, int],
              current: Callable[[str, str], int] | Mapping | None = None) -> Violation | None:
        """Is ``value`` legal for checked register ``reg`` in this build? None if it is, else
        the first violation, in the order the hardware checks (rtl/hymem_regs_legal.sv is
        generated from the same rules): fields in order (range, then the cross-register
        rule), then the register's rule. ``current(reg, field)`` (or a mapping keyed by
        (reg, field)) gives other registers' current values for the cross-register rules."""
        r = self[reg]
        vals = r.unpack(value)
        env = {**build, **vals}

        def cur(rn: str, fn: str) -> int:
            if current is None:
                raise ValueError(f"checking {reg} needs the current value of {rn}.{fn}")
            return int(current(rn, fn) if callable(current) else current[(rn, fn)])

        for f in r.fields:
            if not f.sw_write:
                continue
            code = self.err(f.err or "ILLEGAL")
            lo, hi = self.legal_range(reg, f.name, build)
            v = vals[f.name]
            if not lo <= v <= hi:
                why = f" ({f.legal_max} = {hi} in this build)" if f.legal_max is not None and \
                    not str(f.legal_max).isdigit() else ""
                return Violation(code, reg, f.name, f"{reg}.{f.name} must be in {lo}..{hi}{why}; "
                                                    f"got {v}")
            if f.below is not None:
                other = cur(*f.below)
                if not v < other:
                    return Violation(code, reg, f.name,
                                     f"{reg}.{f.name} must be below {f.below[0]}.{f.below[1]} "
                                     f"(currently {other}); got {v}")
            for (sr, sf), (pr, pf) in self.below_pairs():
                if (pr, pf) == (reg, f.name):
                    other = cur(sr, sf)
                    if not other < v:
                        return Violation(code, reg, f.name,
                                         f"{reg}.{f.name} must be above {sr}.{sf} (currently "
                                         f"{other}); got {v}")
        if r.rule is not None and not r.rule.eval(env):
            terms = ", ".join(f"{n} = {env[n]}" for n in sorted(r.rule.names))
            return Violation(self.err("ILLEGAL"), reg, None,
                             f"{reg}: {r.rule} must hold; here {terms}")
        return None


@dataclass(frozen=True)
class ErrCode:
    """One ERR.CODE value (the RDL's hymem_err_e)."""
    code: int
    ident: str      # NONE, UNMAPPED, ... (the RDL name)
    meaning: str    # "unmapped address" (the member's name)
    desc: str       # when it is returned


@dataclass(frozen=True)
class Violation:
    """Why a value of a checked register is illegal: the ERR code the controller answers
    and a message naming the field, its legal range and the value."""
    code: int
    reg: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return self.message


def rdl_path() -> Path:
    return rtl_dir() / "hymem_regs.rdl"


def compile_rdl(path: Path | None = None):
    """Elaborated systemrdl root node (for the generators)."""
    from systemrdl import RDLCompiler

    rdlc = RDLCompiler()
    rdlc.compile_file(str(path or rdl_path()))
    return rdlc.elaborate()


@lru_cache(maxsize=4)
def load(path: str | None = None) -> RegMap:
    from systemrdl.node import MemNode, RegNode
    from systemrdl.rdltypes import OnWriteType

    root = compile_rdl(Path(path) if path else None)
    top = root.top
    regs, mems, errors, enums = [], [], [], {}
    for node in top.children():
        if isinstance(node, RegNode):
            fields = []
            for f in node.fields():
                where = f"{node.inst_name}.{f.inst_name}"
                reset = f.get_property("reset")
                enc = f.get_property("encode")
                if enc is not None:
                    members = [ErrCode(int(m.value), m.name, m.rdl_name or m.name.lower(),
                                       m.rdl_desc or "") for m in enc]
                    enums[where] = (enc.type_name, tuple(members))
                    if node.inst_name == "ERR":
                        errors = members
                mx, bl, rx = (f.get_property(p, default=None)
                              for p in ("hymem_max", "hymem_below", "hymem_reset"))
                below = None
                if bl is not None:
                    rn, _, fn = bl.partition(".")
                    below = (rn, fn)
                fields.append(Field(
                    name=f.inst_name, lsb=f.lsb, width=f.width,
                    sw_read=f.is_sw_readable, sw_write=f.is_sw_writable,
                    hw_write=f.is_hw_writable, reset=reset if isinstance(reset, int) else None,
                    singlepulse=bool(f.get_property("singlepulse")),
                    woclr=f.get_property("onwrite") == OnWriteType.woclr,
                    hwset=bool(f.get_property("hwset")), we=bool(f.get_property("we")),
                    desc=f.get_property("desc") or "",
                    legal_min=f.get_property("hymem_min", default=None),
                    legal_max=Expr(mx, where) if mx is not None else None,
                    below=below, err=f.get_property("hymem_err", default=None),
                    reset_expr=Expr(rx, where) if rx is not None else None,
                    por=bool(f.get_property("hymem_por", default=False))))
            rule = node.get_property("hymem_rule", default=None)
            regs.append(Register(node.inst_name, node.absolute_address, tuple(fields),
                                 bool(node.get_property("hymem_checked", default=False)),
                                 node.get_property("desc") or "",
                                 Expr(rule, node.inst_name) if rule is not None else None))
        elif isinstance(node, MemNode):
            mems.append(Memory(node.inst_name, node.absolute_address,
                               node.get_property("mementries"), node.is_sw_readable,
                               node.is_sw_writable, node.get_property("desc") or ""))
    m = RegMap(top.inst_name, tuple(regs), tuple(mems),
               error_codes={e.code: e.meaning for e in errors}, errors=tuple(errors),
               enums=enums)
    _validate(m)
    return m


def _validate(m: RegMap) -> None:
    """The legality properties name things that exist."""
    names = set(BUILD_PARAMS)
    for r in m.registers:
        own = {f.name for f in r.fields}
        for f in r.fields:
            where = f"{r.name}.{f.name}"
            if (f.legal_min is not None or f.legal_max is not None or f.below) and not r.checked:
                raise ValueError(f"{where}: legal range on a register without hymem_checked")
            for e, allowed in ((f.legal_max, names), (f.reset_expr, names | own)):
                if e is not None and not e.names <= allowed:
                    raise ValueError(f"{where}: expression {e} names {sorted(e.names - allowed)}")
            if f.below is not None:
                m[f.below[0]].field(f.below[1])           # KeyError if it does not exist
            if f.err is not None:
                m.err(f.err)
        if r.rule is not None and not r.rule.names <= names | own:
            raise ValueError(f"{r.name}: rule {r.rule} names {sorted(r.rule.names - names - own)}")


def __getattr__(name: str):
    """``ERROR_CODES``: ERR.CODE -> meaning (the RDL's hymem_err_e), compiled on first use."""
    if name == "ERROR_CODES":
        return dict(load().error_codes)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
