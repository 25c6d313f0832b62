"""The register map, read from its one source ``rtl/hymem_regs.rdl``.

:func:`load` compiles the SystemRDL description (systemrdl-compiler) into a
plain Python model: registers with their fields, access types and reset
values, and the memory windows. The RTL generator (``scripts/regmap.py``), the
register tests and the testbench's register model all use it, so none of them
restates an address or a reset value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import simrun


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
    error_codes: dict = field(default_factory=dict)

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


#: ERR.CODE values (documented in the RDL's ERR description).
ERROR_CODES = {
    0: "none",
    1: "unmapped address",
    2: "write to a read-only register",
    3: "read of a write-only register",
    4: "misaligned address",
    5: "illegal value",
    6: "busy",
    7: "command queue slot taken",
    9: "not in this build",
}


def rdl_path() -> Path:
    return simrun.rtl_dir() / "hymem_regs.rdl"


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
    regs, mems = [], []
    for node in top.children():
        if isinstance(node, RegNode):
            fields = []
            for f in node.fields():
                reset = f.get_property("reset")
                fields.append(Field(
                    name=f.inst_name, lsb=f.lsb, width=f.width,
                    sw_read=f.is_sw_readable, sw_write=f.is_sw_writable,
                    hw_write=f.is_hw_writable, reset=reset if isinstance(reset, int) else None,
                    singlepulse=bool(f.get_property("singlepulse")),
                    woclr=f.get_property("onwrite") == OnWriteType.woclr,
                    hwset=bool(f.get_property("hwset")), we=bool(f.get_property("we")),
                    desc=f.get_property("desc") or ""))
            regs.append(Register(node.inst_name, node.absolute_address, tuple(fields),
                                 bool(node.get_property("hymem_checked", default=False)),
                                 node.get_property("desc") or ""))
        elif isinstance(node, MemNode):
            mems.append(Memory(node.inst_name, node.absolute_address,
                               node.get_property("mementries"), node.is_sw_readable,
                               node.is_sw_writable, node.get_property("desc") or ""))
    return RegMap(top.inst_name, tuple(regs), tuple(mems), error_codes=dict(ERROR_CODES))
