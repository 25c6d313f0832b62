"""The coverage waivers: every exclusion from the coverage goals, with its reason, in one file.

``docs/coverage_waivers.md`` holds one Markdown table row per waiver::

    | kind | block | what (regex) | reason |

* ``kind`` ``line``, ``branch``, ``toggle`` or ``user``: a Verilator code-coverage point of the
  RTL module ``block`` (``rtl/<block>.sv``). ``what`` is, for a toggle point, a regex the signal
  and bit must match in full (``cnt_q\\[(2[4-9]|3[01])\\]``); for the other kinds a regex searched
  in the source text of the point's line (``default: state_d = FS_IDLE;``). Read by
  ``scripts/coverage.py`` (``make coverage``).
* ``kind`` ``bin``: a functional-coverage bin of the bench ``block`` (``hymem_top`` or a block
  bench's name), ``what`` a regex the bin's name must match in full. Read by the benches'
  closure checks and by ``scripts/coverage.py``.

The reason is required (at least a few words): a waiver says why the point cannot or need not
be reached, not only that it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import simrun

CODE_KINDS = ("line", "branch", "toggle", "user")
KINDS = CODE_KINDS + ("bin",)


def waiver_file() -> Path:
    return simrun.repo_root() / "docs" / "coverage_waivers.md"


@dataclass
class Waiver:
    kind: str
    block: str
    pattern: re.Pattern
    reason: str
    row: int
    matched: int = 0

    def matches_name(self, name: str) -> bool:
        return self.pattern.fullmatch(name) is not None


def load(path: Path | None = None, kinds: tuple[str, ...] = KINDS) -> list[Waiver]:
    """The waivers of ``kinds`` in ``path`` (default :func:`waiver_file`); a malformed row (no
    reason, unknown block, bad regex) raises ``ValueError`` naming the row."""
    path = path or waiver_file()
    out: list[Waiver] = []
    if not path.exists():
        return out
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if cells[0] not in KINDS:
            continue
        if len(cells) != 4:
            raise ValueError(f"{path}:{i}: a waiver row has 4 cells (kind, block, what, reason); "
                             f"got {len(cells)} (a | inside a regex is written \\|)")
        kind, block, what, reason = cells
        block = block.strip("`")
        what = what.strip("`").replace("\\|", "|")
        if len(reason) < 10:
            raise ValueError(f"{path}:{i}: a waiver needs its reason (got {reason!r})")
        if kind in CODE_KINDS and not (simrun.rtl_dir() / f"{block}.sv").exists():
            raise ValueError(f"{path}:{i}: no RTL block {block!r} (rtl/{block}.sv)")
        try:
            pat = re.compile(what)
        except re.error as e:
            raise ValueError(f"{path}:{i}: bad regex {what!r}: {e}") from None
        if kind in kinds:
            out.append(Waiver(kind, block, pat, reason, i))
    return out


def bin_waivers(bench: str) -> list[Waiver]:
    """The functional-coverage waivers of ``bench``."""
    return [w for w in load(kinds=("bin",)) if w.block == bench]


def waived_bin(bench: str, name: str, waivers: list[Waiver] | None = None) -> Waiver | None:
    for w in bin_waivers(bench) if waivers is None else waivers:
        if w.block == bench and w.matches_name(name):
            return w
    return None
