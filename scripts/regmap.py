#!/usr/bin/env python3
"""Generate the register block, C header and register docs from rtl/hymem_regs.rdl.

    python scripts/regmap.py            # (re)generate the three files
    python scripts/regmap.py --check    # fail if any generated file is out of date

Outputs:
    rtl/hymem_regs.sv          APB4 register block (this script's own generator: PeakRDL-regblock
                               output does not run on Icarus); build-dependent reset values
                               (hymem_reset) from its parameters; hymem_por fields on por_ni
    rtl/hymem_regs_legal.sv    the value checks of the checked registers (hymem_min, hymem_max,
                               hymem_below, hymem_err, hymem_rule), used by hymem_cfg_check
    rtl/hymem_regs_defs.svh    address and field macros for hand-written RTL
    sw/include/hymem_regs.h    C header (PeakRDL-cheader)
    docs/registers.md          register map (PeakRDL-markdown) under a generated preamble (bus,
                               error codes, checked registers and their legal values)
    docs/timing.md             every timing set (nominal: the RDL's reset values; the fast
                               co-simulation sets of hymem.host.firmware) in cycles and ns, with the
                               cycles of each sequencer operation
    tb/waves/<enum>.txt        GTKWave translate filters: one per RDL enum (ERR codes, phases)
                               and one per typedef enum of rtl/hymem_defs.svh (op codes, the
                               FSMs' states)
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import tempfile
from pathlib import Path

from hymem.host import regmap

ROOT = Path(__file__).resolve().parents[1]
SV_OUT = ROOT / "rtl" / "hymem_regs.sv"
LEGAL_OUT = ROOT / "rtl" / "hymem_regs_legal.sv"
TIMING_OUT = ROOT / "docs" / "timing.md"
SVH_OUT = ROOT / "rtl" / "hymem_regs_defs.svh"
H_OUT = ROOT / "sw" / "include" / "hymem_regs.h"
MD_OUT = ROOT / "docs" / "registers.md"
AW = 12  # APB address bits

MD_HEAD = """# Register map

Generated from `rtl/hymem_regs.rdl` by `scripts/regmap.py` (`make regs`); do not edit by hand.
The same description produces `rtl/hymem_regs.sv`, `rtl/hymem_regs_legal.sv` and
`sw/include/hymem_regs.h`, and the testbench register model and the firmware's argument checks
(`hymem.host.regmap`) read it at run time.

## Bus

APB4 slave, 32-bit data, 12-bit byte addresses, word accesses (`PADDR[1:0]` must be 0).
`PSTRB` selects the bytes a write changes. `PPROT` is accepted and ignored (no privilege levels).
A register access completes in the access phase without wait states; a read of the `READOUT`
window waits (`PREADY` low) until every requested read-out has completed, so firmware may read it
right after `CMD.READOUT`.

An access takes effect in the cycle where `PSEL`, `PENABLE` and `PREADY` are all high, with the
`PADDR`, `PWRITE`, `PWDATA` and `PSTRB` of that cycle. So a transfer the master abandons (`PSEL`
or `PENABLE` low before `PREADY`) has no effect and records no error, and a master that changes
`PADDR` (or the others) during wait states gets the access it presents when `PREADY` rises
(a READOUT read changed to a STATUS read completes at once, as a STATUS read). The controller
does not check the setup phase: `PSEL` and `PENABLE` rising together is an access.

`PSLVERR` is returned, nothing is changed, `ERR` records the code and the address, and
`IRQ_STATUS.ERROR` is set, for:

"""

MD_CHECKED = """
Registers marked *checked* below are validated by `hymem_cfg_check` before a write is accepted
(the value the register would hold, `PSTRB` applied). A checked configuration register refuses
every write while an operation runs or is queued (6), then its legal values (5, or 9 where
marked). The legal values depend on the build (the `HWCFG` registers report the build values
by the names used here); cross-register rules use the other register's current value, so a
pulse and its strobe are written in an order that keeps every intermediate state legal.

"""



# ------------------------------------------------------------------ SystemVerilog


def _port(f: regmap.Field, reg: regmap.Register) -> list[str]:
    n = f"{reg.name.lower()}_{f.name.lower()}"
    w = f"[{f.width - 1}:0] " if f.width > 1 else ""
    k = f.kind
    if k == "rw" or k == "pulse":
        return [f"output logic {w}{n}_o"]
    if k == "w1c":
        return [f"input  logic {w}{n}_set_i", f"output logic {w}{n}_o"]
    if k == "ro":
        return [f"input  logic {w}{n}_i"]
    if k == "hw_we":
        return [f"input  logic {w}{n}_i", f"input  logic {n}_we_i"]
    return []


def _camel(name: str) -> str:
    return "".join(w.capitalize() for w in name.lower().split("_"))


def _reset_params(m: regmap.RegMap) -> list[str]:
    """hymem_top parameters the build-dependent reset values use (HWCFG names)."""
    names = set()
    for r in m.registers:
        for f in r.fields:
            if f.reset_expr is not None:
                names |= f.reset_expr.names & set(regmap.BUILD_PARAMS)
    return [n for n in regmap.BUILD_PARAMS if n in names]


def _param_decls(names: list[str]) -> list[str]:
    d = regmap.top_defaults()
    ps = [regmap.BUILD_PARAMS[n] for n in names]
    return [f"  parameter int {p} = {d[p]}{',' if i + 1 < len(ps) else ''}" for i, p in enumerate(ps)]


def gen_sv(m: regmap.RegMap) -> str:
    L: list[str] = []
    a = L.append
    rparams = _reset_params(m)
    has_por = any(f.por for r in m.registers for f in r.fields)
    a("// hymem_regs: APB4 register block of the hymem controller.")
    a("//")
    a("// GENERATED by scripts/regmap.py from rtl/hymem_regs.rdl -- do not edit; run `make regs`.")
    a("// The register map is documented in docs/registers.md.")
    a("//")
    a("// Datasheet")
    a("//   APB4 slave: zero-wait-state register accesses in the access phase; memory")
    a("//   windows are forwarded (<mem>_req_o ... <mem>_ready_i) and may insert wait states.")
    a("//   PSLVERR (with acc_err_o, acc_err_code_o, acc_err_addr_o for one cycle):")
    a("//   1 unmapped, 2 write to read-only, 3 read of write-only, 4 misaligned, or the")
    a("//   code from chk_code_i (writes to checked registers, validated outside through")
    a("//   chk_valid_o / chk_wdata_o / chk_ok_i) or <mem>_err_code_i. A rejected access")
    a("//   changes nothing. PPROT is ignored.")
    if rparams:
        a("//   Parameters: the build values some reset values depend on (hymem_reset in the RDL).")
    if has_por:
        a("//   por_ni: power-on reset of the fields that survive rst_ni (hymem_por).")
    a("")
    a('`include "hymem_defs.svh"')
    a('`include "hymem_regs_defs.svh"')
    a("")
    a("`default_nettype none")
    a("")
    if rparams:
        a("module hymem_regs #(")
        L.extend(_param_decls(rparams))
        a(") (")
    else:
        a("module hymem_regs (")
    ports = [
        "input  logic clk_i",
        "input  logic rst_ni",
    ] + (["input  logic por_ni"] if has_por else []) + [
        "// APB4",
        "input  logic psel_i",
        "input  logic penable_i",
        "input  logic pwrite_i",
        f"input  logic [{AW - 1}:0] paddr_i",
        "input  logic [31:0] pwdata_i",
        "input  logic [3:0] pstrb_i",
        "/* verilator lint_off UNUSEDSIGNAL */  // PPROT is ignored: no privilege levels",
        "input  logic [2:0] pprot_i",
        "/* verilator lint_on UNUSEDSIGNAL */",
        "output logic [31:0] prdata_o",
        "output logic pready_o",
        "output logic pslverr_o",
        "// checked writes",
        "output logic chk_valid_o",
        f"output logic [{AW - 1}:0] chk_addr_o",
        "output logic [31:0] chk_wdata_o",
        "input  logic chk_ok_i",
        "input  logic [7:0] chk_code_i",
        "// rejected accesses",
        "output logic acc_err_o",
        "output logic [7:0] acc_err_code_o",
        f"output logic [{AW - 1}:0] acc_err_addr_o",
    ]
    for r in m.registers:
        fp = [p for f in r.fields for p in _port(f, r)]
        if fp:
            ports.append(f"// {r.name}")
            ports += fp
    for mem in m.memories:
        n = mem.name.lower()
        wb = max(1, (mem.words - 1).bit_length())
        ports += [f"// {mem.name} window ({mem.words} words)", f"output logic {n}_req_o",
                  f"output logic [{wb - 1}:0] {n}_addr_o"]
        if mem.sw_write:
            ports += [f"output logic [31:0] {n}_wdata_o", f"output logic [3:0] {n}_wstrb_o"]
        if mem.sw_read:
            ports += [f"input  logic [31:0] {n}_rdata_i"]
        ports += [f"input  logic {n}_ready_i", f"input  logic {n}_err_i",
                  f"input  logic [7:0] {n}_err_code_i"]
    # commas: every real port but the last
    real = [i for i, p in enumerate(ports) if not p.startswith("//") and not p.startswith("/*")]
    for i, p in enumerate(ports):
        if p.startswith("//") or p.startswith("/*"):
            a(f"  {p}")
        else:
            a(f"  {p}{',' if i != real[-1] else ''}")
    a(");")
    a("")
    for r in m.registers:
        a(f"  localparam logic [{AW - 1}:0] ADDR_{r.name} = {AW}'h{r.addr:03X};")
    for mem in m.memories:
        a(f"  localparam logic [{AW - 1}:0] BASE_{mem.name} = {AW}'h{mem.addr:03X};")
    a("")
    for ident in ("UNMAPPED", "READ_ONLY", "WRITE_ONLY", "MISALIGNED"):
        a(f"  localparam logic [7:0] E_{ident} = `HYMEM_ERR_{ident};")
    a("")
    # build-dependent reset values
    rst_name: dict[tuple[str, str], str] = {}
    for r in m.registers:
        for f in r.fields:
            if f.reset_expr is None:
                continue
            n = f"Reset{_camel(r.name)}{_camel(f.name)}"
            own = {g.name: rst_name[(r.name, g.name)] for g in r.fields if (r.name, g.name) in rst_name}
            expr = f.reset_expr.sv(lambda x: f"32'({regmap.BUILD_PARAMS[x]})" if x in regmap.BUILD_PARAMS
                                   else f"32'({own[x]})")
            a(f"  // {r.name}.{f.name} after reset: {f.reset_expr} ({f.reset} in the default build)")
            a(f"  localparam int {n} = {expr};")      # (Yosys 0.23 has no int'() cast)
            rst_name[(r.name, f.name)] = n
    if rst_name:
        a("")
    a("  logic        access, aligned;")
    a("  logic [31:0] bmask;")
    a("  assign access  = psel_i && penable_i;")
    a("  assign aligned = (paddr_i[1:0] == 2'b00);")
    a("  assign bmask   = {{8{pstrb_i[3]}}, {8{pstrb_i[2]}}, {8{pstrb_i[1]}}, {8{pstrb_i[0]}}};")
    a("")
    a("  // ---------------------------------------------------------------- decode")
    for r in m.registers:
        a(f"  logic hit_{r.name.lower()};")
        a(f"  assign hit_{r.name.lower()} = aligned && (paddr_i == ADDR_{r.name});")
    for mem in m.memories:
        n = mem.name.lower()
        a(f"  logic hit_{n};")
        a(f"  assign hit_{n} = aligned && (paddr_i >= BASE_{mem.name}) && "
          f"(paddr_i < BASE_{mem.name} + {AW}'d{4 * mem.words});")
    hits = [f"hit_{r.name.lower()}" for r in m.registers] + [f"hit_{x.name.lower()}" for x in m.memories]
    a("  logic hit_any;")
    a(f"  assign hit_any = {' || '.join(hits)};")
    ro = [f"hit_{r.name.lower()}" for r in m.registers if not r.sw_writable]
    ro += [f"hit_{x.name.lower()}" for x in m.memories if not x.sw_write]
    wo = [f"hit_{r.name.lower()}" for r in m.registers if not r.sw_readable]
    wo += [f"hit_{x.name.lower()}" for x in m.memories if not x.sw_read]
    chk = [f"hit_{r.name.lower()}" for r in m.registers if r.checked]
    a("  logic hit_ro, hit_wo, hit_chk;")
    a(f"  assign hit_ro  = {' || '.join(ro) or '1b0'};")
    a(f"  assign hit_wo  = {' || '.join(wo) or '1b0'};")
    a(f"  assign hit_chk = {' || '.join(chk) or '1b0'};")
    a("")
    a("  // Errors known from the address and direction alone")
    a("  logic [7:0] static_err;")
    a("  always_comb begin")
    a("    if (!aligned)                 static_err = E_MISALIGNED;")
    a("    else if (!hit_any)            static_err = E_UNMAPPED;")
    a("    else if (pwrite_i && hit_ro)  static_err = E_READ_ONLY;")
    a("    else if (!pwrite_i && hit_wo) static_err = E_WRITE_ONLY;")
    a("    else                          static_err = 8'd0;")
    a("  end")
    a("")
    a("  // ---------------------------------------------------------- memory windows")
    for mem in m.memories:
        n = mem.name.lower()
        wb = max(1, (mem.words - 1).bit_length())
        a(f"  assign {n}_req_o  = access && hit_{n} && (static_err == 8'd0);")
        a(f"  assign {n}_addr_o = {wb}'((paddr_i - BASE_{mem.name}) >> 2);")
        if mem.sw_write:
            a(f"  assign {n}_wdata_o = pwdata_i;")
            a(f"  assign {n}_wstrb_o = pstrb_i;")
    a("")
    a("  // ---------------------------------------------------------- ready, errors")
    a("  logic [7:0] err_code;")
    a("  always_comb begin")
    a("    pready_o = 1'b1;")
    a("    err_code = static_err;")
    a("    if (static_err == 8'd0) begin")
    first = True
    for mem in m.memories:
        n = mem.name.lower()
        a(f"      {'if' if first else 'else if'} (hit_{n}) begin")
        a(f"        pready_o = {n}_ready_i;")
        a(f"        if ({n}_err_i) err_code = {n}_err_code_i;")
        a("      end")
        first = False
    a("      else if (pwrite_i && hit_chk && !chk_ok_i) begin")
    a("        err_code = chk_code_i;")
    a("      end")
    a("    end")
    a("  end")
    a("")
    a("  logic wr_commit;")
    a("  assign pslverr_o      = access && pready_o && (err_code != 8'd0);")
    a("  assign wr_commit      = access && pready_o && pwrite_i && (err_code == 8'd0);")
    a("  assign acc_err_o      = pslverr_o;")
    a("  assign acc_err_code_o = err_code;")
    a("  assign acc_err_addr_o = paddr_i;")
    a("")
    a("  // ------------------------------------------------------------- registers")
    # One clocked process for every field, each update guarded by its own condition: Icarus
    # wakes every always_ff on every clock edge, and one process per field cost about 3/4 of
    # the idle simulation time of hymem_top (measured on the co-simulation harness).
    decls, rst_stmts, upd_stmts, assigns = [], [], [], []
    por_rst, por_upd = [], []
    for r in m.registers:
        rn = r.name.lower()
        for f in r.fields:
            n = f"{rn}_{f.name.lower()}"
            w = f"[{f.width - 1}:0] " if f.width > 1 else ""
            sl = f"[{f.lsb + f.width - 1}:{f.lsb}]"
            rst = (f"{f.width}'({rst_name[(r.name, f.name)]})" if (r.name, f.name) in rst_name
                   else f"{f.width}'d{f.reset or 0}")
            k = f.kind
            if k not in ("rw", "pulse", "w1c", "hw_we"):
                continue
            if f.por:
                if k != "hw_we":
                    raise ValueError(f"{r.name}.{f.name}: hymem_por is for hw_we fields only")
                decls.append(f"  logic {w}{n}_q;   // {r.name}.{f.name} ({k}, survives rst_ni) "
                             f"@ 0x{r.addr:03X}")
                por_rst.append(f"      {n}_q <= {rst};")
                por_upd.append(f"      if ({n}_we_i) {n}_q <= {n}_i;")
                continue
            decls.append(f"  logic {w}{n}_q;   // {r.name}.{f.name} ({k}) @ 0x{r.addr:03X}")
            rst_stmts.append(f"      {n}_q <= {rst};")
            hit = f"(wr_commit && hit_{rn})"
            data = f"(pwdata_i{sl} & bmask{sl})"
            if k == "rw":
                upd_stmts.append(f"      if {hit} {n}_q <= ({n}_q & ~bmask{sl}) | {data};")
            elif k == "pulse":
                upd_stmts.append(f"      if {hit} {n}_q <= {data};")
                upd_stmts.append(f"      else if ({n}_q != {rst}) {n}_q <= {rst};")
            elif k == "w1c":
                upd_stmts.append(f"      if ({n}_set_i != {f.width}'d0 || {hit})")
                upd_stmts.append(f"        {n}_q <= {n}_set_i | ({n}_q & ~({hit} ? {data} : {f.width}'d0));")
            elif k == "hw_we":
                upd_stmts.append(f"      if ({n}_we_i) {n}_q <= {n}_i;")
            if k != "hw_we":
                assigns.append(f"  assign {n}_o = {n}_q;")
    L.extend(decls)
    a("  always_ff @(posedge clk_i) begin")
    a("    if (!rst_ni) begin")
    L.extend(rst_stmts)
    a("    end else begin")
    L.extend(upd_stmts)
    a("    end")
    a("  end")
    if por_rst:
        a("  // fields that survive rst_ni: reset by the power-on reset only")
        a("  always_ff @(posedge clk_i) begin")
        a("    if (!por_ni) begin")
        L.extend(por_rst)
        a("    end else begin")
        L.extend(por_upd)
        a("    end")
        a("  end")
    L.extend(assigns)
    a("")
    a("  // ------------------------------------------------ current register values")
    for r in m.registers:
        rn = r.name.lower()
        parts = []
        for f in r.fields:
            n = f"{rn}_{f.name.lower()}"
            k = f.kind
            if k in ("rw", "w1c", "hw_we"):
                src = f"{n}_q"
            elif k == "ro":
                src = f"{n}_i"
            elif k == "const":
                src = f"{f.width}'d{f.reset}"
            else:
                continue  # pulse fields read as 0
            parts.append((f.lsb, f.width, src))
        if not r.sw_readable and not r.checked:
            continue
        if not parts:
            continue  # write-only: nothing to read back or merge
        a(f"  logic [31:0] val_{rn};")
        if all(src[0].isdigit() for _, _, src in parts):
            const = sum(int(src.split("'d")[1]) << lsb for lsb, _, src in parts)
            a(f"  assign val_{rn} = 32'h{const:08X};")
            continue
        # One continuous assignment of the whole word: an always_comb block that assigns
        # the word and then its fields (partial selects) runs forever at time 0 on Icarus 11.
        segs, pos = [], 0
        for lsb, width, src in sorted(parts):
            if lsb > pos:
                segs.append(f"{lsb - pos}'d0")
            segs.append(src)
            pos = lsb + width
        if pos < 32:
            segs.append(f"{32 - pos}'d0")
        a(f"  assign val_{rn} = {{{', '.join(reversed(segs))}}};")
    a("")
    a("  // ------------------------------------------------------------ read data")
    a("  always_comb begin")
    a("    prdata_o = 32'd0;")
    a("    if (access && !pwrite_i && static_err == 8'd0) begin")
    first = True
    for r in m.registers:
        if not r.sw_readable:
            continue
        a(f"      {'if' if first else 'else if'} (hit_{r.name.lower()}) prdata_o = val_{r.name.lower()};")
        first = False
    for mem in m.memories:
        if mem.sw_read:
            a(f"      else if (hit_{mem.name.lower()}) prdata_o = {mem.name.lower()}_rdata_i;")
    a("    end")
    a("  end")
    a("")
    a("  // ------------------------------------------------------- checked writes")
    a("  // chk_wdata_o: the value the register would hold after the write (strobes")
    a("  // applied); for command registers, the bits being written.")
    a("  assign chk_valid_o = access && pwrite_i && hit_chk && (static_err == 8'd0);")
    a("  assign chk_addr_o  = paddr_i;")
    a("  always_comb begin")
    a("    chk_wdata_o = 32'd0;")
    first = True
    for r in m.registers:
        if not r.checked:
            continue
        rn = r.name.lower()
        if all(f.kind == "pulse" for f in r.fields):
            expr = "pwdata_i & bmask"
        else:
            expr = f"(val_{rn} & ~bmask) | (pwdata_i & bmask)"
        wm = r.write_mask
        a(f"    {'if' if first else 'else if'} (hit_{rn}) chk_wdata_o = ({expr}) & 32'h{wm:08X};")
        first = False
    a("  end")
    a("")
    a("endmodule")
    a("")
    a("`default_nettype wire")
    return "\n".join(L) + "\n"


def gen_legal_sv(m: regmap.RegMap) -> str:
    """The value checks of the checked registers, from hymem_min / hymem_max / hymem_below /
    hymem_err / hymem_rule, in the order regmap.RegMap.check applies them."""
    regs = [r for r in m.registers if r.checked and r.constrained]
    used: set[str] = set()
    for r in regs:
        for f in r.fields:
            if f.legal_max is not None:
                used |= f.legal_max.names
        if r.rule is not None:
            used |= r.rule.names & set(regmap.BUILD_PARAMS)
    params = [n for n in regmap.BUILD_PARAMS if n in used]
    pairs = m.below_pairs()
    cur = []
    for (sr, sf), (pr, pf) in pairs:
        for rn, fn in ((sr, sf), (pr, pf)):
            if (rn, fn) not in cur:
                cur.append((rn, fn))

    def cname(rn, fn):
        return f"cur_{rn.lower()}_{fn.lower()}_i"

    L: list[str] = []
    a = L.append
    a("// hymem_regs_legal: is a value legal for a checked register?")
    a("//")
    a("// GENERATED by scripts/regmap.py from rtl/hymem_regs.rdl -- do not edit; run `make regs`.")
    a("//")
    a("// Datasheet")
    a("//   Combinational. For a write of wdata_i (the value the register would hold)")
    a("//   to addr_i, code_o is 0 if every field is inside its legal range and the")
    a("//   register's rule holds, else the ERR code of the first violation (fields in")
    a("//   order: range, then cross-register rule; then the register's rule).")
    a("//   cur_*_i: current values of the fields a cross-register rule compares with.")
    a("//   Registers without legal ranges, and addresses that are no register, get 0.")
    for r in regs:
        a(f"//   {r.name}: {legal_summary(m, r)}")
    a("")
    a('`include "hymem_defs.svh"')
    a('`include "hymem_regs_defs.svh"')
    a("")
    a("`default_nettype none")
    a("")
    a("module hymem_regs_legal #(")
    L.extend(_param_decls(params))
    a(") (")
    a(f"  input  logic [{AW - 1}:0] addr_i,")
    a("  /* verilator lint_off UNUSEDSIGNAL */  // only the checked fields' bits matter")
    a("  input  logic [31:0] wdata_i,")
    a("  /* verilator lint_on UNUSEDSIGNAL */")
    for rn, fn in cur:
        f = m[rn].field(fn)
        a(f"  input  logic [{f.width - 1}:0] {cname(rn, fn)},")
    a("  output logic [7:0] code_o")
    a(");")
    a("")

    def bname(x):
        return f"32'({regmap.BUILD_PARAMS[x]})"

    for r in regs:
        rn = r.name.lower()
        a(f"  // {r.name}")
        rule_names = r.rule.names if r.rule is not None else set()
        for f in r.fields:
            checked = (f.legal_min or f.legal_max is not None or f.below is not None
                       or f.name in rule_names or any(pb == (r.name, f.name) for _, pb in pairs))
            if not f.sw_write or not checked:
                continue
            w = f"[{f.width - 1}:0] " if f.width > 1 else ""
            a(f"  logic {w}{rn}_{f.name.lower()};")
            a(f"  assign {rn}_{f.name.lower()} = `HYMEM_{r.name}_{f.name}(wdata_i);")
        chain = []
        for f in r.fields:
            if not f.sw_write:
                continue
            fv = f"32'({rn}_{f.name.lower()})"
            m.err(f.err or "ILLEGAL")                  # a KeyError names an unknown code
            code = f"`HYMEM_ERR_{f.err or 'ILLEGAL'}"
            conds = []
            if f.legal_min:
                conds.append(f"({fv} < 32'd{f.legal_min})")
            if f.legal_max is not None:
                const = str(f.legal_max).strip().isdigit()
                if not (const and int(str(f.legal_max)) >= (1 << f.width) - 1):
                    conds.append(f"({fv} > {f.legal_max.sv(bname)})")
            if f.below is not None:
                conds.append(f"({fv} >= 32'({cname(*f.below)}))")
            for (sr, sf), (pr, pf) in pairs:
                if (pr, pf) == (r.name, f.name):
                    conds.append(f"(32'({cname(sr, sf)}) >= {fv})")
            for c in conds:
                chain.append((c, code))
        if r.rule is not None:
            expr = r.rule.sv(lambda x: bname(x) if x in regmap.BUILD_PARAMS
                             else f"32'({rn}_{x.lower()})")
            chain.append((f"!{expr}", "`HYMEM_ERR_ILLEGAL"))
        a(f"  logic [7:0] code_{rn};")
        body = " :\n      ".join(f"{c} ? {code}" for c, code in chain)
        a(f"  assign code_{rn} =\n      {body} : 8'd0;")
        a("")
    a("  always_comb begin")
    a("    case (addr_i)")
    for r in regs:
        a(f"      `HYMEM_ADDR_{r.name}: code_o = code_{r.name.lower()};")
    a("      default: code_o = 8'd0;")
    a("    endcase")
    a("  end")
    a("")
    a("endmodule")
    a("")
    a("`default_nettype wire")
    return "\n".join(L) + "\n"


def legal_summary(m: regmap.RegMap, r: regmap.Register) -> str:
    """The legal values of a checked register, in words (docs and the generated RTL's header)."""
    parts = []
    for f in r.fields:
        if not f.sw_write:
            continue
        lo = f.legal_min if f.legal_min is not None else 0
        hi = str(f.legal_max) if f.legal_max is not None else None
        err = f" (else ERR {m.err(f.err)}, {m.error_codes[m.err(f.err)]})" if f.err else ""
        if f.legal_min is not None or hi is not None:
            parts.append(f"{f.name} in {lo}..{hi if hi is not None else (1 << f.width) - 1}{err}")
        if f.below is not None:
            parts.append(f"{f.name} < {f.below[0]}.{f.below[1]}")
        for (sr, sf), (pr, pf) in m.below_pairs():
            if (pr, pf) == (r.name, f.name):
                parts.append(f"{f.name} > {sr}.{sf}")
    if r.rule is not None:
        parts.append(str(r.rule))
    return ", ".join(parts) if parts else "any value"


def gen_svh(m: regmap.RegMap) -> str:
    L = ["// hymem_regs_defs.svh: register addresses and field slices.",
         "// GENERATED by scripts/regmap.py from rtl/hymem_regs.rdl -- do not edit; run `make regs`.",
         "//   `HYMEM_ADDR_<REG>          byte address",
         "//   `HYMEM_<REG>_<FIELD>(v)    the field's bits of a register value v",
         "//   `HYMEM_ERR_<NAME>          an ERR.CODE value (the RDL's enum hymem_err_e)",
         "`ifndef HYMEM_REGS_DEFS_SVH", "`define HYMEM_REGS_DEFS_SVH", ""]
    for e in m.errors:
        L.append(f"`define HYMEM_ERR_{e.ident} 8'd{e.code}  // {e.meaning}")
    L.append("")
    # the other encoded fields (FSM phases) as enum types the RTL's state registers use
    for where, (name, members) in _state_enums(m).items():
        w = next(f.width for r in m.registers for f in r.fields if f"{r.name}.{f.name}" == where)
        L.append(f"// {where}")
        L.append(f"typedef enum logic [{w - 1}:0] {{")
        L += [f"  {enum_prefix(name)}{e.ident} = {w}'d{e.code}{',' if i + 1 < len(members) else ''}"
              f"  // {e.desc}" for i, e in enumerate(members)]
        L.append(f"}} {name};")
        L.append("")
    for r in m.registers:
        L.append(f"`define HYMEM_ADDR_{r.name} {AW}'h{r.addr:03X}")
        for f in r.fields:
            hi = f.lsb + f.width - 1
            sl = f"[{hi}:{f.lsb}]" if f.width > 1 else f"[{f.lsb}]"
            L.append(f"`define HYMEM_{r.name}_{f.name}(v) v{sl}")
    for mem in m.memories:
        L.append(f"`define HYMEM_ADDR_{mem.name} {AW}'h{mem.addr:03X}")
        L.append(f"`define HYMEM_WORDS_{mem.name} {mem.words}")
    L += ["", "`endif  // HYMEM_REGS_DEFS_SVH", ""]
    return "\n".join(L)


# ---------------------------------------------------------------- C and Markdown


def gen_c() -> str:
    from peakrdl_cheader.exporter import CHeaderExporter

    root = regmap.compile_rdl()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hymem_regs.h"
        CHeaderExporter().export(root.top, str(out))
        text = out.read_text()
    head = ("// hymem register map for firmware.\n"
            "// GENERATED by scripts/regmap.py (PeakRDL-cheader) from rtl/hymem_regs.rdl -- do not edit.\n")
    return head + text + gen_c_enums(regmap.load())


def enum_prefix(name: str) -> str:
    """The constants' prefix of an RDL enum: hymem_err_e -> ERR_, hymem_xfer_phase_e -> XFER_."""
    core = name.removeprefix("hymem_").removesuffix("_e").removesuffix("_phase")
    return core.upper() + "_"


def _state_enums(m: regmap.RegMap) -> dict:
    """Encoded fields other than ERR.CODE (which the RTL uses as `HYMEM_ERR_* values)."""
    return {w: v for w, v in m.enums.items() if w != "ERR.CODE"}


def gen_c_enums(m: regmap.RegMap) -> str:
    """The RDL's enums as C enums (PeakRDL-cheader 1.0 writes none)."""
    L = ["", "#ifndef HYMEM_REGS_ENUMS_H", "#define HYMEM_REGS_ENUMS_H"]
    for where, (name, members) in m.enums.items():
        L += ["", f"// {where} (rtl/hymem_regs.rdl, enum {name})", "typedef enum {"]
        L += [f"    HYMEM_{enum_prefix(name)}{e.ident} = {e.code},  // {e.meaning if where == 'ERR.CODE' else e.desc}"
              for e in members]
        L += [f"}} {name};"]
    L += ["", "#endif", ""]
    return "\n".join(L)


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def gen_md(m: regmap.RegMap) -> str:
    from peakrdl_markdown import MarkdownExporter
    from systemrdl.node import RegNode

    root = regmap.compile_rdl()
    # each register's description gains what the legality properties say (one source)
    for node in root.top.children():
        if not isinstance(node, RegNode):
            continue
        r = m[node.inst_name]
        extra = []
        if r.checked and r.name != "CMD":
            extra.append(f"Checked: refused while an operation runs or is queued (ERR "
                         f"{m.err('BUSY')}); legal values: {legal_summary(m, r)} (else ERR "
                         f"{m.err('ILLEGAL')}).")
        elif r.checked:
            extra.append("Checked: the queue and busy rules (ERR 6, 7) in the table under Bus.")
        resets = [f"{f.name} = {f.reset_expr}" for f in r.fields if f.reset_expr is not None]
        if resets:
            extra.append("Reset value in a build: " + "; ".join(resets) + " (the table gives the "
                         "default build's).")
        if any(f.por for f in r.fields):
            extra.append("Survives rst_ni: reset by the power-on reset por_ni only.")
        if extra:
            desc = node.get_property("desc") or ""
            node.inst.properties["desc"] = " ".join([desc] + extra).strip()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "registers.md"
        MarkdownExporter().export(root.top, str(out))
        text = out.read_text()
    errs = _md_table(["code", "meaning", "when"],
                     [[str(e.code), e.meaning, e.desc] for e in m.errors if e.code])
    checked = _md_table(
        ["register", "legal values (ERR 5 otherwise, unless noted)", "reset (build-dependent)"],
        [[f"`{r.name}`", legal_summary(m, r),
          "; ".join(f"{f.name} = {f.reset_expr}" for f in r.fields if f.reset_expr is not None)
          or "fixed"]
         for r in m.registers if r.checked and r.name != "CMD"])
    return MD_HEAD + errs + MD_CHECKED + checked + "\n## Registers\n\n" + text


# ------------------------------------------------------------------------ timing


def gen_timing_md(m: regmap.RegMap) -> str:
    """Every timing set in cycles and ns, and the cycles of each sequencer operation (from
    the sequencers' datasheets, rtl/hymem_fecap_seq.sv and rtl/hymem_mr_seq.sv). The sets:
    nominal (the RDL's reset values, 100 MHz) and hymem.host.firmware's fast co-simulation sets.
    Each is checked against the legality rules here (a set the hardware would refuse fails
    generation)."""
    from hymem.host import firmware

    build = regmap.build_values()
    regs = [r for r in m.registers if r.name.startswith("T_")]
    nominal = {r.name: m.reset_fields(r.name) for r in regs}
    sets = [("nominal (reset values)", 10, nominal),
            ("FAST_TIMING", firmware.FAST_TIMING_CLK_NS, firmware.FAST_TIMING),
            ("COSIM_TIMING", firmware.COSIM_TIMING_CLK_NS, firmware.COSIM_TIMING)]
    for name, _, t in sets:
        firmware.check_timing_set(t, m, build, complete=True, what=f"timing set {name}")
    head = ["register.field", "meaning"] + [f"{n} ({ns} ns clock)" for n, ns, _ in sets]
    rows = []
    for r in regs:
        for f in r.fields:
            cells = [f"`{r.name}.{f.name}`", f.desc]
            for _, ns, t in sets:
                c = t[r.name][f.name]
                cells.append(f"{c} = {_fmt_ns(c * ns)}")
            rows.append(cells)

    def v(t, reg, fld):
        return max(1, t[reg][fld])        # every phase lasts at least one cycle

    ops = [
        ("FeCAP row read (destructive)", "SETUP + PULSE + HOLD + GAP + 2",
         lambda t: v(t, "T_FE0", "SETUP") + v(t, "T_FE0", "PULSE") + v(t, "T_FE1", "HOLD")
         + v(t, "T_FE2", "GAP") + 2),
        ("FeCAP write-back (bit-line pulse)", "SETUP + PULSE + HOLD + GAP + 2",
         lambda t: v(t, "T_FE0", "SETUP") + v(t, "T_FE0", "PULSE") + v(t, "T_FE1", "HOLD")
         + v(t, "T_FE2", "GAP") + 2),
        ("FeCAP full write (SL then BL pulse)", "SETUP + 2 PULSE + 2 HOLD + GAP + 2",
         lambda t: v(t, "T_FE0", "SETUP") + 2 * v(t, "T_FE0", "PULSE") + 2 * v(t, "T_FE1", "HOLD")
         + v(t, "T_FE2", "GAP") + 2),
        ("memristor RESET", "RESET + GAP + 2", lambda t: v(t, "T_MR0", "RESET") + v(t, "T_MR3", "GAP") + 2),
        ("memristor code SET", "SET + GAP + 2", lambda t: v(t, "T_MR0", "SET") + v(t, "T_MR3", "GAP") + 2),
        ("memristor read (ADC)", "READ + GAP + 2", lambda t: v(t, "T_MR1", "READ") + v(t, "T_MR3", "GAP") + 2),
        ("forming pulse", "FORM + GAP + 2", lambda t: v(t, "T_MR1", "FORM") + v(t, "T_MR3", "GAP") + 2),
        ("DAC-free transfer (precharge, gap, pulse)", "PRE + GAP + XFER + GAP + 2",
         lambda t: v(t, "T_MR2", "PRE") + 2 * v(t, "T_MR3", "GAP") + v(t, "T_MR3", "XFER") + 2),
    ]
    orows = []
    for name, formula, fn in ops:
        cells = [name, formula]
        for _, ns, t in sets:
            c = fn(t)
            cells.append(f"{c} = {_fmt_ns(c * ns)}")
        orows.append(cells)
    return (TIMING_HEAD + _md_table(head, rows) + TIMING_OPS
            + _md_table(["operation", "cycles"] + [f"{n}" for n, _, _ in sets], orows))


def _fmt_ns(ns: float) -> str:
    if ns >= 1000:
        us = ns / 1000
        return f"{us:g} us"
    return f"{ns:g} ns"


TIMING_HEAD = """# Timing sets

Generated by `scripts/regmap.py` (`make regs`) from `rtl/hymem_regs.rdl` (the nominal set: the
timing registers' reset values) and `hymem.host.firmware` (`FAST_TIMING`, `COSIM_TIMING`: the fast
co-simulation sets, written by `Hymem.set_timing`); do not edit by hand. Every set passes the
timing registers' legal values (docs/registers.md), checked when this page is generated.

The macro model measures pulses in ns ([macro_port.md](macro_port.md)), so a set with few
cycles per pulse runs a slower clock: the device physics sees the same 2 us FeCAP pulse.
`FAST_TIMING` (4 MHz) is the one the block testbenches use; `COSIM_TIMING` (1 MHz) is
`make sim`'s.

## Registers, in clock cycles

"""

TIMING_OPS = """
## Sequencer operations

Cycles one operation occupies its sequencer, from the cycle it is accepted to the cycle the
sequencer can accept the next (every phase lasts at least one cycle; the 2 are the accept and
done cycles). The engines add their own cycles between operations (docs/controller.md).

"""


def outputs() -> dict[Path, str]:
    m = regmap.load()
    out = {SV_OUT: gen_sv(m), LEGAL_OUT: gen_legal_sv(m), SVH_OUT: gen_svh(m), H_OUT: gen_c(),
           MD_OUT: gen_md(m), TIMING_OUT: gen_timing_md(m)}
    out.update(gen_wave_filters(m))
    return out


WAVES_DIR = ROOT / "tb" / "waves"


def gen_wave_filters(m: regmap.RegMap) -> dict:
    """GTKWave translate filter files (value, name per line: Data Format > Translate Filter
    File), one per RDL enum: state and code names on the FSM and ERR signals in any VCD or
    FST, whichever simulator wrote it."""
    out = {}
    for where, (name, members) in m.enums.items():
        w = next(f.width for r in m.registers for f in r.fields if f"{r.name}.{f.name}" == where)
        digits = (w + 3) // 4
        lines = [f"{e.code:0{digits}X} {enum_prefix(name)}{e.ident}" for e in members]
        out[WAVES_DIR / f"{name}.txt"] = "\n".join(lines) + "\n"
    for name, (width, members) in sv_enums().items():
        digits = (width + 3) // 4
        lines = [f"{code:0{digits}X} {ident}" for ident, code in members]
        out[WAVES_DIR / f"{name}.txt"] = "\n".join(lines) + "\n"
    return out


DEFS_SVH = ROOT / "rtl" / "hymem_defs.svh"


def sv_enums(path: Path = DEFS_SVH) -> dict[str, tuple[int, list[tuple[str, int]]]]:
    """The hand-written typedef enums of rtl/hymem_defs.svh (op codes, FSM states): name ->
    (width, [(member, value)]). Members must have explicit ``N'dV`` values."""
    text = re.sub(r"//[^\n]*", "", path.read_text())
    out = {}
    for m in re.finditer(r"typedef\s+enum\s+logic\s*\[(\d+):0\]\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
        width, body, name = int(m.group(1)) + 1, m.group(2), m.group(3)
        members = []
        for item in (x.strip() for x in body.split(",") if x.strip()):
            mm = re.fullmatch(r"(\w+)\s*=\s*\d+'d(\d+)", item)
            if mm is None:
                raise ValueError(f"{path.name}: enum {name}: member {item!r} needs an explicit N'dV value")
            members.append((mm.group(1), int(mm.group(2))))
        out[name] = (width, members)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = ap.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if args.check:
            old = path.read_text() if path.exists() else ""
            if old != text:
                stale.append(path)
                diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(path), "generated",
                                            lineterm="", n=1)
                print("\n".join(list(diff)[:40]))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date: {', '.join(str(p.relative_to(ROOT)) for p in stale)}; run `make regs`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
