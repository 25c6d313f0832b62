"""Scoreboard pieces that compare the RTL's memristor operations with hymem.digital.engine.

A transfer's digital decisions (which synapses, in what order, with which polarity
and code, what is retried, what failed) are bit-exact between the RTL and
:meth:`hymem.digital.engine.EngineState.transfer`; what a pulse does to a device is
analogue. So a testbench logs every memristor operation the macro model executes
(:class:`OpLog`) and then runs the reference transfer with a
:class:`ReplayProgrammer`, which asserts that each operation the reference would
issue is exactly the next logged one and answers verify reads from the logged ADC
codes with the documented window rule (docs/controller.md, step 5).
"""

from __future__ import annotations

import numpy as np

from ..digital.engine import verify_pass
from ..analog.adc import default_verify_windows
from ..analog.array import HybridArray, msb_rows


class OpLog:
    """Every memristor operation ``array`` executes, in order (wraps its pulse entry points).

    Each entry: ``kind`` ('reset', 'set', 'form', 'read', 'pre', 'xfer'), ``slot``, per-line
    ``pol`` and ``mask`` (bool arrays), ``code`` (code SET levels or None), ``adc`` (the
    codes an ADC strobe returned during a read, else None) and ``units`` (for 'xfer': what
    the slot's MSB FeCAP units hold as the pulse starts, (U, L) bools, the code the
    controller wrote for it; else None).
    """

    def __init__(self, array: HybridArray):
        self.ops: list[dict] = []
        begin, adc = array.mr_begin, array.mr_adc
        L = array.L
        msb = msb_rows(array.geom, array.transfer.total_units)            # (S, U)

        def mr_begin(kind, slot=0, pol=None, mask=None, code=None, t_ns=None, v=None):
            self.ops.append(dict(
                kind=kind, slot=int(slot),
                pol=np.zeros(L, bool) if pol is None else np.asarray(pol, bool).copy(),
                mask=np.ones(L, bool) if mask is None else np.asarray(mask, bool).copy(),
                code=None if code is None else np.asarray(code).copy(), adc=None,
                units=array.fe.bits[msb[int(slot)]].copy() if kind == "xfer" else None))
            return begin(kind, slot, pol, mask, code, t_ns, v)

        def mr_adc(t_ns=None):
            out = adc(t_ns)
            self.ops[-1]["adc"] = np.asarray(out).copy()
            return out

        array.mr_begin, array.mr_adc = mr_begin, mr_adc

    def take(self) -> list[dict]:
        """The operations logged so far; the log starts afresh."""
        ops, self.ops = self.ops, []
        return ops


class ReplayProgrammer:
    """:class:`hymem.digital.engine.Programmer` for one array that checks the reference's operations
    against a log of the RTL's (see the module doc). ``windows``: the verify windows
    (lo, hi) the controller was configured with (default: nearest-level windows)."""

    def __init__(self, ops: list[dict], slots: int, lines: int, windows=None):
        self.ops = list(ops)
        self.i = 0
        self.lo, self.hi = default_verify_windows() if windows is None else windows
        self.passed = np.zeros((slots, lines), bool)   # synapses that passed a verify

    def _next(self, kind: str, slot: int | None, mask, what: str) -> dict:
        """The next logged operation, which must be `kind` on `slot` (None: any slot, as
        for the precharge, which has none) with exactly the synapses in `mask` (None: any)."""
        if self.i >= len(self.ops):
            raise AssertionError(f"reference {what} on slot {slot}: the RTL did no more operations")
        op = self.ops[self.i]
        self.i += 1
        if op["kind"] != kind or (slot is not None and op["slot"] != slot):
            raise AssertionError(f"operation {self.i}: reference {what} ({kind}) on slot {slot}, "
                                 f"RTL did {op['kind']} on slot {op['slot']}")
        if mask is not None:
            m = np.asarray(mask, bool)[0]
            if not (op["mask"] == m).all():
                raise AssertionError(f"operation {self.i} ({what}, slot {slot}): synapses differ at "
                                     f"lines {np.nonzero(op['mask'] != m)[0][:8].tolist()}")
        return op

    @staticmethod
    def _pol(op, pol, mask, what):
        p, m = np.asarray(pol, bool)[0], np.asarray(mask, bool)[0]
        if not (op["pol"][m] == p[m]).all():
            raise AssertionError(f"{what}: polarity differs at lines "
                                 f"{np.nonzero((op['pol'] != p) & m)[0][:8].tolist()}")

    def reset(self, slot, pol, mask):
        self._pol(self._next("reset", slot, mask, "RESET"), pol, mask, "RESET")

    def transfer_set(self, slot, pol, mask, code_mag):
        self._next("pre", None, None, "transfer-line precharge")
        self._pol(self._next("xfer", slot, mask, "DAC-free transfer"), pol, mask, "transfer")

    def code_set(self, slot, pol, mask, code_mag):
        op = self._next("set", slot, mask, "code SET")
        self._pol(op, pol, mask, "code SET")
        m = np.asarray(mask, bool)[0]
        if not (op["code"][m] == np.asarray(code_mag)[0][m]).all():
            raise AssertionError(f"code SET on slot {slot}: levels differ")

    def verify(self, slot, mask, pol, code_mag):
        m = np.asarray(mask, bool)[0]
        plus = self._next("read", slot, mask, "verify read of G+")
        minus = self._next("read", slot, mask, "verify read of G-")
        if plus["pol"][m].any() or not minus["pol"][m].all():
            raise AssertionError(f"verify of slot {slot}: expected a G+ read, then a G- read")
        cs, cm = np.asarray(pol, bool)[0], np.asarray(code_mag)[0]
        ok = verify_pass(plus["adc"], minus["adc"], cs, cm, self.lo, self.hi) & m
        self.passed[slot] |= ok
        return ok[None]

    def done(self) -> None:
        """Every logged operation was matched."""
        if self.i != len(self.ops):
            raise AssertionError(f"the RTL did {len(self.ops) - self.i} operations more than the "
                                 f"reference; next: {self.ops[self.i]['kind']} on slot "
                                 f"{self.ops[self.i]['slot']}")


class ReplayFormer:
    """:class:`hymem.digital.engine.Former` for one array that checks the reference's forming
    operations against a log of the RTL's (:class:`OpLog` entries, or any dicts with
    ``kind``, ``slot``, ``pol``, ``mask`` and, for reads, ``adc``): each read or forming
    pulse the reference would issue must be the next logged one, on the same row and
    exactly the same lines; reads answer with the logged ADC codes."""

    def __init__(self, ops: list[dict]):
        self.ops = list(ops)
        self.i = 0

    def _next(self, kind: str, slot: int, pol: int, mask, what: str) -> dict:
        m = np.asarray(mask, bool)
        if self.i >= len(self.ops):
            raise AssertionError(f"forming slot {slot} pol {pol}: the RTL did no {what}")
        op = self.ops[self.i]
        self.i += 1
        if (op["kind"] != kind or op["slot"] != slot or not (op["mask"] == m).all()
                or not (np.asarray(op["pol"], bool)[m] == bool(pol)).all()):
            raise AssertionError(
                f"operation {self.i}: reference {what} on slot {slot} pol {pol} lines "
                f"{np.nonzero(m)[0][:8].tolist()}, RTL did {op['kind']} on slot {op['slot']} "
                f"lines {np.nonzero(op['mask'])[0][:8].tolist()}")
        return op

    def read(self, slot, pol, mask):
        return np.asarray(self._next("read", slot, pol, mask, "forming read")["adc"])

    def form(self, slot, pol, mask):
        self._next("form", slot, pol, mask, "forming pulse")

    def done(self) -> None:
        """Every logged operation was matched."""
        if self.i != len(self.ops):
            raise AssertionError(f"the RTL did {len(self.ops) - self.i} forming operations more "
                                 f"than the reference; next: {self.ops[self.i]['kind']}")


class LayerReplayProgrammer:
    """:class:`hymem.digital.engine.Programmer` for ``n`` arrays: each array's operations are checked
    against its own RTL log (:class:`ReplayProgrammer`), and every call is also passed on to
    ``inner`` (e.g. the reference's device-physics programmer) so that the reference's
    memristors follow the same operations. Verify outcomes come from the RTL's logged ADC
    codes, so the reference's digital decisions follow the RTL's analogue results; the verify
    is still passed on to ``inner``, whose devices take the same reads (keyed devices count
    their reads, docs/models.md).

    The engine calls with one row per array; arrays whose row is empty did nothing in the RTL
    (a slot without candidates, no SET) and consume no logged operation.
    """

    def __init__(self, logs: list[list[dict]], slots: int, lines: int, inner=None, windows=None):
        self.arrays = [ReplayProgrammer(ops, slots, lines, windows) for ops in logs]
        self.inner = inner

    def _each(self, method, slot, pol, mask, *extra):
        mask = np.asarray(mask, bool)
        pol = np.asarray(pol, bool)
        for k, rp in enumerate(self.arrays):
            if mask[k].any():
                args = [slot, pol[k][None], mask[k][None]] + [np.asarray(x)[k][None] for x in extra]
                getattr(rp, method)(*args)

    def reset(self, slot, pol, mask):
        self._each("reset", slot, pol, mask)
        if self.inner is not None:
            self.inner.reset(slot, pol, mask)

    def transfer_set(self, slot, pol, mask, code_mag):
        self._each("transfer_set", slot, pol, mask, code_mag)
        if self.inner is not None:
            self.inner.transfer_set(slot, pol, mask, code_mag)

    def code_set(self, slot, pol, mask, code_mag):
        self._each("code_set", slot, pol, mask, code_mag)
        if self.inner is not None:
            self.inner.code_set(slot, pol, mask, code_mag)

    def verify(self, slot, mask, pol, code_mag):
        mask = np.asarray(mask, bool)
        out = np.zeros_like(mask)
        for k, rp in enumerate(self.arrays):
            if mask[k].any():
                out[k] = rp.verify(slot, mask[k][None], np.asarray(pol)[k][None],
                                   np.asarray(code_mag)[k][None])[0]
        if self.inner is not None and mask.any():
            self.inner.verify(slot, mask, pol, code_mag)      # the same reads (result unused)
        return out

    def done(self) -> None:
        for k, rp in enumerate(self.arrays):
            try:
                rp.done()
            except AssertionError as e:
                raise AssertionError(f"array {k}: {e}") from None



def last_read_codes(ops: list[dict], slots: int, lines: int) -> np.ndarray:
    """The ADC code of each device's last logged read, (S, 2, L) (-1: never read)."""
    last = np.full((slots, 2, lines), -1, dtype=np.int64)
    for op in ops:
        if op["kind"] == "read" and op["adc"] is not None:
            ln = np.nonzero(op["mask"])[0]
            last[op["slot"], op["pol"][ln].astype(np.int64), ln] = np.asarray(op["adc"])[ln]
    return last


def forming_failures(ops: list[dict], g_us: np.ndarray, target_code: int, lsb_us: float) -> np.ndarray:
    """The devices (S, 2, L) a forming run must report as failures: those whose last logged
    read was below ``target_code``, the controller's own criterion.

    A device formed just above the target can read below it on every later check (read
    noise), so counting from the backdoor conductance ``g_us`` would be wrong now and then;
    the backdoor only bounds the result: every device below the target is a failure, and no
    failure is more than 10 % above it.
    """
    S, _, L = g_us.shape
    failed = last_read_codes(ops, S, L) < target_code
    target_us = target_code * lsb_us
    assert failed[g_us < target_us].all(), f"a device below {target_us:g} uS is not among the failures"
    assert (g_us[failed & (g_us >= target_us)] < 1.1 * target_us).all(), (
        f"a device well above {target_us:g} uS is among the failures")
    return failed


def check_reset(g_us, params, what: str, median_n: int = 30) -> None:
    """Conductances ``g_us`` of devices that must be RESET: each one below the RESET state's
    6-sigma quantile (:meth:`MemristorParams.reset_quantile_us`, about 54 uS: a false
    failure is about 1e-9 per device), and, over at least ``median_n`` devices, their median
    below 3 uS (a RESET median is 1.15 uS; a formed device is at 20 uS or more, a SET level 1
    at 11.9 uS on average)."""
    g = np.asarray(g_us, dtype=float).ravel()
    bound = params.reset_quantile_us()
    bad = np.flatnonzero(g >= bound)
    assert bad.size == 0, (f"{what}: {bad.size} device(s) at {g[bad][:8].round(1).tolist()} uS, "
                           f"above the RESET state's 6-sigma bound {bound:.1f} uS")
    if g.size >= median_n:
        med = float(np.median(g))
        assert med < 3.0, f"{what}: median {med:.1f} uS over {g.size} devices, not a RESET median"


def read_noise_z(read_us, g_us, params, lsb_us: float) -> np.ndarray:
    """How far each read-out (ADC code x LSB, uS) is from the conductance it read, less half
    an ADC step, in units of the read noise's sigma at that conductance
    (:meth:`MemristorParams.read_noise_sigma_us`). The read is g + noise, rounded to the LSB
    (|rounding| <= LSB / 2) and clamped to the ADC's range (which only brings it closer), so
    z <= |noise| / sigma, a half-normal |N(0, 1)|."""
    g = np.asarray(g_us, float)
    return (np.maximum(np.abs(np.asarray(read_us, float) - g) - lsb_us / 2, 0.0)
            / params.read_noise_sigma_us(g))
