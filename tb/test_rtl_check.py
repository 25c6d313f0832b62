"""scripts/rtl_check.py's reading of Yosys output (pure Python, no synthesis)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "rtl_check", Path(__file__).resolve().parents[1] / "scripts" / "rtl_check.py")
rtl_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rtl_check)


def test_module_name_every_yosys_form():
    # a module as written, a copy named by its parameters' hash, a copy named by its parameters
    # (Yosys's form for short parameter lists: the form engine's single Slots)
    assert rtl_check._module_name("\\hymem_top") == "hymem_top"
    assert rtl_check._module_name("$paramod$3488f8f691c238ee\\hymem_verify_scan") == "hymem_verify_scan"
    assert rtl_check._module_name(
        "$paramod\\hymem_form_engine\\Slots=s32'00000000000000000000000000001000") == "hymem_form_engine"
    assert rtl_check._module_name("$paramod\\hymem_prng\\Width=32\\Lanes=128") == "hymem_prng"
