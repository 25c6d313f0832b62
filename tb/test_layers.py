"""The package's layers: a module imports only from its own layer and the ones below it
(models/hymem/__init__.py lists them). Parsed from the source (every import statement,
also the ones inside functions), so a lazy import cannot hide an upward dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hymem

PKG = Path(hymem.__file__).resolve().parent

#: lowest first
ORDER = ("base", "digital", "analog", "learn", "host", "sim", "app")
BASE = {"paths", "jit", "published", "resources"}
APP = {"cli", "bench", "outputs", "sweep", "sweep_spec", "sweep_store", "sweep_report"}
SUBPACKAGES = {"digital", "analog", "learn", "host", "sim"}


def layer_of(module: str) -> str:
    """'hymem.analog.array' -> 'analog'; 'hymem.jit' -> 'base'; 'hymem.cli' -> 'app'."""
    parts = module.split(".")
    assert parts[0] == "hymem", module
    if len(parts) == 1:
        return "base"
    if parts[1] in SUBPACKAGES:
        return parts[1]
    if parts[1] in BASE:
        return "base"
    if parts[1] in APP:
        return "app"
    raise AssertionError(f"{module}: a module of hymem in no layer; add it to one "
                         "(models/hymem/__init__.py and this test)")


def modules() -> list[tuple[str, Path]]:
    out = []
    for f in sorted(PKG.rglob("*.py")):
        rel = f.relative_to(PKG).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.append((".".join(["hymem", *parts]), f))
    return out


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every hymem import in ``path``."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    here = module.split(".") if is_pkg else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "hymem"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "hymem":
                continue
            if node.module is None or target in ("hymem", *(f"hymem.{s}" for s in SUBPACKAGES)):
                # `from . import x`: x is a module (or a subpackage) of target
                for a in node.names:
                    name = f"{target}.{a.name}"
                    found.append((node.lineno, name if _exists(name) else target))
            else:
                found.append((node.lineno, target))
    return found


def _exists(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PKG / rel).with_suffix(".py").exists() or (PKG / rel / "__init__.py").exists()


def test_every_module_has_a_layer():
    assert len(modules()) > 20
    for name, _ in modules():
        layer_of(name)


@pytest.mark.parametrize("name,path", modules(), ids=[m for m, _ in modules()])
def test_imports_point_down(name, path):
    mine = ORDER.index(layer_of(name))
    bad = [f"line {line}: {name} ({layer_of(name)}) imports {target} ({layer_of(target)})"
           for line, target in imports_of(name, path)
           if ORDER.index(layer_of(target)) > mine]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The parser resolves relative imports: an analog module importing the sim layer is
    reported (so the test above can fail)."""
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from ..sim import cosim\n    from ..digital.engine import Geometry\n")
    got = imports_of("hymem.analog.x", f)
    assert got == [(2, "hymem.sim.cosim"), (3, "hymem.digital.engine")]
    assert ORDER.index(layer_of(got[0][1])) > ORDER.index("analog")
