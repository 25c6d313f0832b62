"""The register map: generated files up to date, the model consistent, the C header usable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hymem import regmap

ROOT = Path(__file__).resolve().parents[1]


def test_generated_files_are_up_to_date():
    r = subprocess.run([sys.executable, "scripts/regmap.py", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_model_is_consistent():
    m = regmap.load()
    addrs = [r.addr for r in m.registers]
    assert len(addrs) == len(set(addrs)), "two registers at one address"
    for r in m.registers:
        assert r.addr % 4 == 0 and r.addr < 0x400
        used = 0
        for f in r.fields:
            assert not used & f.mask, f"{r.name}.{f.name} overlaps another field"
            used |= f.mask
            assert f.lsb + f.width <= 32
    for mem in m.memories:
        for r in m.registers:
            assert not mem.addr <= r.addr < mem.end
    assert m["ID"].reset == 0x48594D31
    assert m.decode(0x030).name == "LAYER" and m.decode(0x404).name == "XBUF"
    assert m.decode(0x02C) is None
    with pytest.raises(KeyError, match="register LR has no field 'RATE'"):
        m["LR"].field("RATE")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_c_header_compiles_and_matches(tmp_path):
    m = regmap.load()
    src = tmp_path / "t.c"
    checks = "\n".join(
        f'_Static_assert(offsetof(hymem_regs_t, {r.name}) == 0x{r.addr:X}, "{r.name}");'
        for r in m.registers)
    src.write_text('#include <stddef.h>\n#include "hymem_regs.h"\n' + checks +
                   "\nint main(void) { return 0; }\n")
    r = subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-I", str(ROOT / "sw" / "include"),
                        "-o", str(tmp_path / "t"), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
