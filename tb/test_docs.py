"""Documentation that restates the RTL: docs/top.md names every port and parameter of
hymem_top, with its direction and default (the generated pages, registers.md and timing.md,
are checked by tb/test_regmap.py)."""

from __future__ import annotations

import re
from pathlib import Path

from hymem.host import regmap
from hymem.sim import simrun

ROOT = Path(__file__).resolve().parents[1]


def _rows(md: str, first_col: str) -> dict[str, list[str]]:
    """Rows of the Markdown table whose header starts with ``first_col``: name -> cells."""
    out, on = {}, False
    for line in md.splitlines():
        if line.startswith(f"| {first_col} |"):
            on = True
            continue
        if on and line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0].startswith("---"):
                continue
            out[cells[0].strip("`")] = cells[1:]
        elif on:
            on = False
    return out


def test_top_md_ports_and_parameters():
    rtl = (simrun.rtl_dir() / "hymem_top.sv").read_text()
    start = rtl.index("\nmodule hymem_top")
    body = rtl[start:rtl.index("\n);", start)]
    ports = {m.group(2): m.group(1) for m in
             re.finditer(r"^\s*(input|output)\s+logic\s*(?:\[[^\]]*\])?\s*(\w+)", body, re.M)}
    md = (ROOT / "docs" / "top.md").read_text()
    doc_ports = _rows(md, "port")
    assert set(doc_ports) == set(ports), (set(doc_ports) ^ set(ports))
    for name, d in ports.items():
        assert doc_ports[name][0] == d, f"{name}: docs say {doc_ports[name][0]}, RTL {d}"
    doc_params = _rows(md, "parameter")
    defaults = regmap.top_defaults()
    assert set(doc_params) == set(defaults), set(doc_params) ^ set(defaults)
    for name, v in defaults.items():
        assert doc_params[name][0] == str(v), f"{name}: docs say {doc_params[name][0]}, RTL {v}"
