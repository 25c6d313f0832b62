"""Where the repository's files are: the clone that holds ``rtl/`` (the package is installed
editable from it, or ``HYMEM_ROOT`` names it). The lowest layer: every layer may use it."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository holding ``rtl/`` (the package is installed editable from it)."""
    env = os.environ.get("HYMEM_ROOT")
    if env:
        root = Path(env).resolve()
    else:
        root = Path(__file__).resolve().parents[2]
    if not (root / "rtl").is_dir():
        raise FileNotFoundError(
            f"cannot find the RTL: {root / 'rtl'} does not exist. Install hymem in "
            "editable mode from a clone (`pip install -e .`) or set HYMEM_ROOT to the clone."
        )
    return root


def rtl_dir() -> Path:
    return repo_root() / "rtl"
