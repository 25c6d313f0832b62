"""Bit-exact model of the controller's digital state: update engine and transfer scheduler.

This is ``docs/controller.md`` in code. It holds, for ``n`` arrays at once (a
layer tiled over several arrays is updated in one vectorized call), what the
controller and the FeCAP array hold digitally: hidden weights, change flags,
PRNG lanes and counters. The RTL testbenches use it as their scoreboard and the
fast learning reference uses it as its digital core, so both follow one
definition.

What a memristor operation *does* (conductances, verify outcomes) is analogue
and not modelled here: :meth:`EngineState.transfer` calls back into a
programmer object for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable, Protocol

import numpy as np

from .. import digital

# ------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Geometry:
    """Array geometry; defaults are the published array (see docs/controller.md)."""

    lines: int = 128        # transfer lines
    slots: int = 8          # synapses per line
    mag_width: int = 9      # hidden-weight magnitude bits
    code_bits: int = 3      # transferred MSBs
    fecap_rows: int = 128   # FeCAP rows per line
    #: the FeCAP rows hold the synapse layout (every slot's data rows, then one flag row per
    #: slot): fecap_rows must fit it. ``False``: bare FeCAP rows, any number from 1, for a
    #: bench of the FeCAP pulse sequencer alone (its smallest build has 2 rows, fewer than one
    #: synapse needs); whatever needs the layout (the DAC-free transfer's MSB rows, the
    #: backdoor's hidden weights and flags, the engine) refuses such a geometry
    layout: bool = True

    def __post_init__(self) -> None:
        for name, lo, hi in (("lines", 1, 4096), ("slots", 1, 64), ("mag_width", 2, 30)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer in {lo}..{hi}; got {v!r}")
        digital.HiddenFormat(self.mag_width, self.code_bits)  # validates code_bits
        if not isinstance(self.layout, bool):
            raise ValueError(f"layout must be True or False; got {self.layout!r}")
        need = self.slots * (self.rows_per_synapse + 1) if self.layout else 1
        if not isinstance(self.fecap_rows, (int, np.integer)) or self.fecap_rows < need:
            raise ValueError(
                f"fecap_rows must be at least "
                f"{'slots * (rows_per_synapse + 1) = ' if self.layout else ''}{need}"
                f"{'' if self.layout else ' (bare rows, layout=False)'}; got {self.fecap_rows!r}")

    def need_layout(self, what: str) -> None:
        """Raise a ValueError naming ``what`` if the FeCAP rows hold no synapse layout."""
        if not self.layout:
            raise ValueError(f"{what}: the FeCAP rows hold no synapse layout (layout=False: "
                             f"{self.fecap_rows} bare rows)")

    @property
    def fmt(self) -> digital.HiddenFormat:
        return digital.HiddenFormat(self.mag_width, self.code_bits)

    @property
    def synapses(self) -> int:
        return self.lines * self.slots

    @property
    def rows_per_synapse(self) -> int:
        return 1 + (2 ** self.code_bits - 1) + (self.mag_width - self.code_bits)

    @property
    def memristor_rows(self) -> int:
        return 2 * self.slots

    def data_row(self, slot: int, k: int) -> int:
        """FeCAP row of bit-row ``k`` (0 = sign, then MSB copies, then LSBs) of ``slot``."""
        self.need_layout("a synapse's data row")
        return slot * self.rows_per_synapse + k

    def flag_row(self, slot: int) -> int:
        self.need_layout("a slot's flag row")
        return self.slots * self.rows_per_synapse + slot

    def row_bits(self) -> list[tuple[str, int]]:
        """What each of a slot's data rows holds: ('sign', 0) or ('mag', bit index)."""
        self.need_layout("the hidden weights' data rows")
        rows: list[tuple[str, int]] = [("sign", 0)]
        for k in range(self.code_bits):
            rows += [("mag", self.mag_width - 1 - k)] * (2 ** (self.code_bits - 1 - k))
        rows += [("mag", b) for b in range(self.mag_width - self.code_bits - 1, -1, -1)]
        return rows


DEFAULT_GEOMETRY = Geometry()


def encode_slot(sign: np.ndarray, mag: np.ndarray, geom: Geometry = DEFAULT_GEOMETRY) -> np.ndarray:
    """Sign-magnitude values of one slot (shape ``(..., L)``) -> its data rows ``(..., R, L)`` (bool)."""
    sign = np.asarray(sign, dtype=np.int64)
    mag = np.asarray(mag, dtype=np.int64)
    rows = []
    for what, bit in geom.row_bits():
        rows.append(sign.astype(bool) if what == "sign" else ((mag >> bit) & 1).astype(bool))
    return np.stack(rows, axis=-2)


def decode_slot(rows: np.ndarray, geom: Geometry = DEFAULT_GEOMETRY) -> tuple[np.ndarray, np.ndarray]:
    """Data rows ``(..., R, L)`` -> (sign, mag), each ``(..., L)``.

    A bit held in ``c`` copies reads 1 when at least ``c/2`` copies read 1.
    """
    rows = np.asarray(rows, dtype=bool)
    order, starts, copies, weights = _decode_plan(geom)
    if rows.shape[-2] != len(order) + 1:
        raise ValueError(f"expected {len(order) + 1} data rows per slot; got {rows.shape[-2]}")
    sign = rows[..., 0, :].astype(np.int64)
    # copies of each magnitude bit counted together (rows ordered by bit), then the majority
    ones = np.add.reduceat(rows[..., order, :], starts, axis=-2, dtype=np.int64)
    mag = ((2 * ones >= copies) * weights).sum(axis=-2)
    return sign, mag


_DECODE_PLANS: dict = {}


def _decode_plan(geom: Geometry):
    """How :func:`decode_slot` reads a geometry's rows: the magnitude rows ordered by bit,
    where each bit's copies start, how many there are (a column) and the bits' weights."""
    plan = _DECODE_PLANS.get(geom)
    if plan is None:
        spec = geom.row_bits()
        by_bit = sorted((b, r) for r, (w, b) in enumerate(spec) if w == "mag")
        order = np.array([r for _, r in by_bit], dtype=np.intp)
        bits = np.array([b for b, _ in by_bit])
        if spec[0] != ("sign", 0) or not np.array_equal(np.unique(bits),
                                                          np.arange(geom.mag_width)):
            raise ValueError(f"unexpected row layout {spec}")
        starts = np.searchsorted(bits, np.arange(geom.mag_width))
        copies = np.bincount(bits, minlength=geom.mag_width)[:, None]
        weights = (np.int64(1) << np.arange(geom.mag_width, dtype=np.int64))[:, None]
        plan = _DECODE_PLANS[geom] = (order, starts, copies, weights)
    return plan


def slot_code(rows: np.ndarray, round_mode=False, geom: Geometry = DEFAULT_GEOMETRY):
    """Data rows ``(..., R, L)`` -> ``(sign, mag, code_sign, code_mag)``, each ``(..., L)``.

    The model of ``rtl/hymem_slot_decode.sv``: :func:`decode_slot` (copies by majority,
    ties to 1), then the canonical transfer code by :func:`hymem.digital.msb_extract`.
    """
    sign, mag = decode_slot(rows, geom)
    code_sign, code_mag = digital.msb_extract(sign, mag, round_mode, geom.fmt)
    return sign, mag, code_sign, code_mag


# --------------------------------------------------------------- configuration


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer in {lo}..{hi}; got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}; got {value}")
    return int(value)


@dataclass(frozen=True)
class UpdateConfig:
    """Per-sample update parameters (the update engine's configuration registers)."""

    lr_mult: int = 128          # uint8 learning-rate mantissa
    lr_shift: int = 8           # 0..23
    p16: int = 13107            # Bernoulli mask probability * 65536 (0.2)
    stoch_round: bool = True
    code_round: bool = False    # flags track round-to-nearest codes (else truncation)
    skip_zero: bool = True

    def __post_init__(self) -> None:
        _check_int("lr_mult", self.lr_mult, 0, 255)
        _check_int("lr_shift", self.lr_shift, 0, 23)
        _check_int("p16", self.p16, 0, 65536)

    @staticmethod
    def p_to_p16(p: float) -> int:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in 0..1; got {p!r}")
        return int(round(p * 65536))


@dataclass(frozen=True)
class TransferConfig:
    """Transfer modes (the scheduler's configuration registers)."""

    change_aware: bool = False
    code_round: bool = False
    verify_max: int = 0         # retries; 0 = no verify (published)

    def __post_init__(self) -> None:
        _check_int("verify_max", self.verify_max, 0, 255)


@dataclass
class Counters:
    """The controller's event counters (docs/controller.md), one value per array."""

    samples: np.ndarray
    fe_reads: np.ndarray
    fe_writes: np.ndarray
    slots_skipped: np.ndarray
    transfers: np.ndarray
    xfer_programmed: np.ndarray
    xfer_skipped: np.ndarray
    mr_resets: np.ndarray
    mr_sets: np.ndarray
    vfy_reads: np.ndarray
    vfy_retries: np.ndarray
    failures: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> "Counters":
        return cls(**{f.name: np.zeros(n, dtype=np.int64) for f in fields(cls)})

    def as_dict(self, array: int | None = None) -> dict[str, int]:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = int(v.sum() if array is None else v[array])
        return out


# ------------------------------------------------------- verify and retries


def verify_pass(adc_plus, adc_minus, code_sign, code_mag, lo, hi) -> np.ndarray:
    """The verify rule (docs/controller.md, transfer step 5), on ADC codes.

    A line passes when its target device (G+ for a positive code, G- for a negative one)
    reads inside ``[lo[code_mag], hi[code_mag]]`` and the other device inside
    ``[lo[0], hi[0]]``. ``lo``/``hi``: the windows per code magnitude (the VFY registers).
    """
    cs = np.asarray(code_sign).astype(bool)
    cm = np.asarray(code_mag, dtype=np.int64)
    lo, hi = np.asarray(lo), np.asarray(hi)
    plus, minus = np.asarray(adc_plus), np.asarray(adc_minus)
    target = np.where(cs, minus, plus)
    other = np.where(cs, plus, minus)
    return (target >= lo[cm]) & (target <= hi[cm]) & (other >= lo[0]) & (other <= hi[0])


def formed(adc, target: int) -> np.ndarray:
    """The forming check: a device is formed when it reads at least ``target`` (FORM.TARGET)."""
    return np.asarray(adc) >= target


class RetryLoop:
    """Check, then retry what failed, up to ``limit`` retries: the bookkeeping that verify
    and forming share (``rtl/hymem_verify_scan.sv``).

    ``todo`` (bool, ``(..., L)``): the lines still under test; ``tries``: retries made.
    After each check, :meth:`decide` drops the lines that passed and says whether to retry
    the rest; when it says no with lines left, those lines are failures (the check was the
    final one: :attr:`final`).
    """

    def __init__(self, mask, limit: int):
        self.todo = np.asarray(mask, dtype=bool).copy()
        self.limit = _check_int("limit", limit, 0, 255)
        self.tries = 0

    @property
    def final(self) -> bool:
        """The check being made is the last one: lines failing it are failures."""
        return self.tries == self.limit

    def decide(self, passed) -> bool:
        """Drop the lines that ``passed``; True (and one more retry counted) when some line
        is left and the limit is not reached."""
        self.todo = self.todo & ~np.asarray(passed, dtype=bool)
        again = bool(self.todo.any()) and not self.final
        if again:
            self.tries += 1
        return again


# ----------------------------------------------------------------- programmer


class Programmer(Protocol):
    """The analogue side of a transfer, called by :meth:`EngineState.transfer`.

    Masks and codes have shape ``(n, L)`` for one slot of every array.
    """

    def reset(self, slot: int, pol: np.ndarray, mask: np.ndarray) -> None: ...

    def transfer_set(self, slot: int, pol: np.ndarray, mask: np.ndarray,
                     code_mag: np.ndarray) -> None: ...

    def code_set(self, slot: int, pol: np.ndarray, mask: np.ndarray,
                 code_mag: np.ndarray) -> None: ...

    def verify(self, slot: int, mask: np.ndarray, pol: np.ndarray,
               code_mag: np.ndarray) -> np.ndarray:
        """Lines (within ``mask``) whose pair reads inside its verify window."""
        ...


def program_by_protocol(programmer: Programmer, cand: np.ndarray, sign: np.ndarray,
                        mag: np.ndarray) -> None:
    """The programmer calls of a transfer without verify, as :meth:`EngineState.transfer`
    makes them, from its plan (each ``(n, S, L)``): ``cand`` the synapses to program, ``sign``
    and ``mag`` the transfer code of every synapse (:meth:`EngineState.codes`). Slot by slot,
    where some array has a candidate: RESET of G+ and of G- of the candidates, then the
    DAC-free SET of those with a non-zero code (its MSB units see the codes of every line).

    A programmer's ``program_transfer(cand, sign, mag)`` (one call for every slot, used by
    :func:`hymem.digital.fastengine.transfer`) must leave it as these calls do."""
    for s in range(cand.shape[1]):
        c = cand[:, s]
        if not c.any():
            continue
        zeros = np.zeros_like(c)
        programmer.reset(s, zeros, c)
        programmer.reset(s, ~zeros, c)
        setm = c & (mag[:, s] != 0)
        if setm.any():
            programmer.transfer_set(s, sign[:, s], setm, mag[:, s])


class NullProgrammer:
    """Records nothing; every verify passes. For purely digital tests."""

    def reset(self, slot, pol, mask):
        pass

    def transfer_set(self, slot, pol, mask, code_mag):
        pass

    def code_set(self, slot, pol, mask, code_mag):
        pass

    def verify(self, slot, mask, pol, code_mag):
        return mask.copy()


class Former(Protocol):
    """The analogue side of forming, called by :meth:`EngineState.form` for one array.
    ``pol``: 0 for G+, 1 for G-; ``mask``: (L,) bools."""

    def read(self, slot: int, pol: int, mask: np.ndarray) -> np.ndarray:
        """ADC codes (L,) of the devices of row (slot, pol); only ``mask`` lines matter."""
        ...

    def form(self, slot: int, pol: int, mask: np.ndarray) -> None: ...


@dataclass
class FormResult:
    """What one forming run did on one array."""

    pulses: int                 # forming pulses (devices), the FORMS counter
    failures: list[int]         # failing synapse addresses (slot * L + line), in report order
    aborted_slot: int | None    # the slot at which an abort stopped the run


@dataclass
class WakeResult:
    """What one wake-up run did on one array."""

    passes: int                 # completed passes, the WAKE_CYCLES counter
    visits: int                 # row visits (two full writes each)
    aborted_slot: int | None    # the slot of the row at which an abort stopped the run


# --------------------------------------------------------------------- state


@dataclass
class FailureLog:
    first: np.ndarray   # first failing synapse address per array (-1: none)
    last: np.ndarray

    def record(self, k: int, addrs) -> None:
        """Array ``k`` reported failures at ``addrs``, in this order."""
        addrs = list(addrs)
        if addrs:
            if self.first[k] < 0:
                self.first[k] = addrs[0]
            self.last[k] = addrs[-1]


class XferLog:
    """Cycle model of ``rtl/hymem_xfer_log.sv``: the transfer engine's counters and failure
    log, one array. :meth:`clock` takes one cycle's inputs (the RTL's port names without
    ``_i``) and returns the state after the clock edge; counters wrap at 32 bits."""

    #: counter -> the event that adds |mask| to it (None: see :meth:`clock`)
    MASK_EVENTS = {"mr_resets": "mr_reset", "mr_sets": "mr_set", "forms": "mr_form",
                   "vfy_reads": "mr_vread", "vfy_retries": "mr_retry"}
    COUNTERS = ("transfers", "xfer_programmed", "xfer_skipped", "mr_resets", "mr_sets",
                "vfy_reads", "vfy_retries", "forms", "failures")

    def __init__(self, lines: int):
        self.lines = _check_int("lines", lines, 2, 4096)
        self.counters = {k: 0 for k in self.COUNTERS}
        self.fail = FailureLog(np.full(1, -1), np.full(1, -1))
        self.fail_kind = [0, 0]     # first / last entry's {forming, pol} (2 bits)
        self.logged = False
        self.irq = False

    def clock(self, ev: dict) -> None:
        """One clock edge. ``ev``: ``cnt_clear``, ``fail_clear``, ``run_start``, ``run_done``,
        ``xfer_start``, ``cand``, ``used_count``, ``mr_reset``, ``mr_set``, ``mr_form``,
        ``mr_vread``, ``mr_retry``, ``mask`` ((L,) bools), ``fail``, ``fail_slot``,
        ``fail_lane``, ``fail_kind`` ({forming, pol}); a missing key is 0."""
        g = lambda k: ev.get(k, 0)                      # noqa: E731
        n = int(np.count_nonzero(ev["mask"])) if "mask" in ev else 0
        c = dict(self.counters)
        if g("cnt_clear"):
            c = {k: 0 for k in c}
        else:
            c["transfers"] += bool(g("xfer_start"))
            if g("cand"):
                c["xfer_programmed"] += n
                c["xfer_skipped"] += int(g("used_count")) - n
            for k, e in self.MASK_EVENTS.items():
                c[k] += n if g(e) else 0
            c["failures"] += bool(g("fail"))
        self.counters = {k: v & 0xFFFF_FFFF for k, v in c.items()}
        if g("fail_clear"):
            self.fail = FailureLog(np.full(1, -1), np.full(1, -1))
            self.fail_kind = [0, 0]
        elif g("fail"):
            if self.fail.first[0] < 0:
                self.fail_kind[0] = int(g("fail_kind")) & 3
            self.fail_kind[1] = int(g("fail_kind")) & 3
            self.fail.record(0, [int(g("fail_slot")) * self.lines + int(g("fail_lane"))])
        self.irq = bool(g("run_done")) and self.logged
        if g("run_start"):
            self.logged = False
        elif g("fail"):
            self.logged = True


class EngineState:
    """Digital state of ``n`` arrays: hidden weights, flags, PRNG lanes, counters.

    ``h`` is the signed hidden weight (``-mag_max..mag_max``), shape ``(n, S, L)``;
    ``flags`` the change flags, same shape; ``prng`` the lane states ``(n, L)``.
    ``n_in``/``n_out`` give each array's layer tile (``n_in * n_out <= S * L``).
    """

    def __init__(self, n_in, n_out, geom: Geometry = DEFAULT_GEOMETRY, n: int | None = None,
                 seeds=None):
        geom.need_layout("EngineState")
        self.geom = geom
        n_in = np.atleast_1d(np.asarray(n_in, dtype=np.int64))
        n_out = np.atleast_1d(np.asarray(n_out, dtype=np.int64))
        if n is None:
            n = max(len(n_in), len(n_out))
        self.n = int(n)
        self.n_in = np.broadcast_to(n_in, (self.n,)).copy()
        self.n_out = np.broadcast_to(n_out, (self.n,)).copy()
        for k in range(self.n):
            if self.n_in[k] < 1 or self.n_out[k] < 1 or self.n_in[k] * self.n_out[k] > geom.synapses:
                raise ValueError(
                    f"array {k}: n_in * n_out must be in 1..{geom.synapses} with n_in, n_out >= 1; "
                    f"got n_in={self.n_in[k]}, n_out={self.n_out[k]}")
        S, L = geom.slots, geom.lines
        a = np.arange(S * L).reshape(S, L)
        self.idx_i = a[None] // self.n_in[:, None, None]          # (n, S, L)
        self.idx_j = a[None] % self.n_in[:, None, None]
        self.used = a[None] < (self.n_in * self.n_out)[:, None, None]
        self.idx_i = np.where(self.used, self.idx_i, 0)
        self.idx_j = np.where(self.used, self.idx_j, 0)
        self.h = np.zeros((self.n, S, L), dtype=np.int64)
        self.flags = np.zeros((self.n, S, L), dtype=bool)
        self.prng = np.zeros((self.n, L), dtype=np.uint32)
        self.counters = Counters.zeros(self.n)
        self.fail = FailureLog(np.full(self.n, -1), np.full(self.n, -1))
        self.samples_since_transfer = np.zeros(self.n, dtype=np.int64)
        self.seed(digital.DEFAULT_SEED if seeds is None else seeds)

    # -- PRNG

    def seed(self, seeds) -> None:
        """Seed every array's PRNG (``seeds``: one int, or one per array)."""
        seeds = np.broadcast_to(np.asarray(seeds, dtype=np.int64), (self.n,))
        for k in range(self.n):
            self.prng[k] = [digital.lane_seed(int(seeds[k]), l, 32) for l in range(self.geom.lines)]

    # -- values

    def sign_mag(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.h < 0).astype(np.int64), np.abs(self.h)

    def codes(self, code_round: bool) -> tuple[np.ndarray, np.ndarray]:
        """Canonical transfer codes (code_sign, code_mag) of every synapse."""
        s, m = self.sign_mag()
        return digital.msb_extract(s, m, code_round, self.geom.fmt)

    def weights_matrix(self, k: int) -> np.ndarray:
        """Hidden weights of array ``k`` as its ``(n_out, n_in)`` tile."""
        flat = self.h[k].reshape(-1)[: self.n_in[k] * self.n_out[k]]
        return flat.reshape(self.n_out[k], self.n_in[k]).copy()

    # -- update

    def increments(self, x: np.ndarray, e: np.ndarray, cfg: UpdateConfig,
                   rounds: int | None = None) -> np.ndarray:
        """Increments of one sample for every synapse, ``(n, S, L)``; draws the PRNG.

        ``x``: ``(n, max n_in)`` int8 values; ``e``: ``(n, max n_out)``.
        ``rounds``: draw the PRNG for only the first ``rounds`` slots (an abort);
        the increments of later slots are then 0.
        """
        x = self._vec(x, "x", self.n_in)
        e = self._vec(e, "e", self.n_out)
        S = self.geom.slots
        rounds = S if rounds is None else rounds
        rnd = np.zeros((self.n, S, self.geom.lines), dtype=np.uint32)
        state = self.prng
        for s in range(rounds):
            state = digital.xorshift(state, 32)
            rnd[:, s] = state
        self.prng = state
        mask = (rnd & 0xFFFF).astype(np.int64) < cfg.p16
        xv = np.take_along_axis(x, self.idx_j.reshape(self.n, -1), axis=1).reshape(self.idx_j.shape)
        ev = np.take_along_axis(e, self.idx_i.reshape(self.n, -1), axis=1).reshape(self.idx_i.shape)
        prod = xv * ev * cfg.lr_mult
        sh = cfg.lr_shift
        if cfg.stoch_round:
            r = ((rnd >> 16).astype(np.int64) << sh) >> 16
        else:
            r = (1 << (sh - 1)) if sh > 0 else 0
        lim = 1 << self.geom.mag_width            # increments are MagWidth+1-bit signed
        inc = np.clip((prod + r) >> sh, -lim, lim - 1)
        inc = np.where(mask & self.used, inc, 0)
        inc[:, rounds:] = 0
        return inc

    def apply_sample(self, x, e, cfg: UpdateConfig, abort_slot: int | None = None) -> np.ndarray:
        """Apply one sample to every array. Returns the increments used.

        ``abort_slot``: model an abort taken at the end of that slot's increment
        phase: slots before it are applied, it and later ones are not, the PRNG
        has been drawn for slots ``0..abort_slot``, the sample is not counted.
        Sets :attr:`last_active` (``(n, slots)``: the slots read and written back, not
        skipped or aborted) and :attr:`last_flagged` (the slots whose flag row was updated:
        a code changed), what the update engine's phases follow.
        """
        geom, c = self.geom, self.counters
        if abort_slot is not None and not 0 <= abort_slot < geom.slots:
            raise ValueError(f"abort_slot must be in 0..{geom.slots - 1}; got {abort_slot!r}")
        rounds = None if abort_slot is None else abort_slot + 1
        inc = self.increments(x, e, cfg, rounds)
        sign, mag = self.sign_mag()
        so, mo, _, changed = digital.sm_sat_add(sign, mag, inc, cfg.code_round, geom.fmt,
                                                inc_width=geom.mag_width + 1)
        active = np.ones((self.n, geom.slots), dtype=bool)
        if cfg.skip_zero:
            active = (inc != 0).any(axis=2)
        if abort_slot is not None:
            active[:, abort_slot:] = False
        new_h = np.where(so.astype(bool), -mo, mo)
        self.h = np.where(active[..., None], new_h, self.h)
        changed = changed.astype(bool) & active[..., None]
        self.flags |= changed
        rows = geom.rows_per_synapse
        flag_ops = changed.any(axis=2)
        self.last_active, self.last_flagged = active, flag_ops
        c.fe_reads += active.sum(axis=1) * rows + flag_ops.sum(axis=1)
        c.fe_writes += active.sum(axis=1) * rows + flag_ops.sum(axis=1)
        if abort_slot is None:
            c.slots_skipped += (~active).sum(axis=1)
            c.samples += 1
            self.samples_since_transfer += 1
        else:
            c.slots_skipped += (~active[:, :abort_slot]).sum(axis=1)
        return inc

    def _vec(self, v, name: str, lengths: np.ndarray) -> np.ndarray:
        v = np.asarray(v)
        if v.ndim == 1:
            v = v[None, :]
        if v.shape[0] != self.n:
            raise ValueError(f"{name} must have one row per array ({self.n}); got shape {v.shape}")
        if v.shape[1] < lengths.max():
            raise ValueError(f"{name} must have at least {lengths.max()} entries per array; "
                             f"got {v.shape[1]}")
        if v.size and (v.min() < -128 or v.max() > 127):
            raise ValueError(f"{name} values must be int8 (-128..127); got {v.min()}..{v.max()}")
        return v.astype(np.int64)

    # -- transfer

    def transfer(self, cfg: TransferConfig, programmer: Programmer | None = None,
                 abort_slot: int | None = None) -> None:
        """One transfer of every array, slot by slot, as docs/controller.md step 1-6.

        ``abort_slot``: an abort taken at the start of that slot: the slots before it are
        transferred, it and later ones are not visited (the run still counts as a transfer).
        Sets :attr:`last_phases`: for one array (``n = 1``), the transfer engine's phases
        (STATUS.XFER_PHASE, the register map's enum names) with their slot, in the order
        rtl/hymem_xfer_engine.sv goes through them, from leaving IDLE to IDLE again; ``None``
        for several arrays (their engines do not run in step)."""
        prog = programmer or NullProgrammer()
        geom, c = self.geom, self.counters
        if abort_slot is not None and not 0 <= abort_slot < geom.slots:
            raise ValueError(f"abort_slot must be in 0..{geom.slots - 1}; got {abort_slot!r}")
        ph: list[tuple[str, int]] = []
        c.transfers += 1
        self.samples_since_transfer[:] = 0
        code_sign, code_mag = self.codes(cfg.code_round)
        L = geom.lines
        last = geom.slots - 1
        for s in range(geom.slots):
            ph.append(("SLOT", s))
            if s == abort_slot:
                last = s
                break
            used = self.used[:, s]
            if not used.any():                # a slot without used synapses: not visited
                ph.append(("NEXT", s))
                continue
            cand = used & self.flags[:, s] if cfg.change_aware else used.copy()
            if cfg.change_aware:
                ph += [("FRD", s), ("FWB", s)]
                in_use = used.any(axis=1)  # slots without used synapses are not visited
                c.fe_reads += in_use       # flag row read ...
                c.fe_writes += in_use      # ... and restored at once
            ph.append(("CAND", s))
            c.xfer_skipped += (used & ~cand).sum(axis=1)
            active = cand.any(axis=1)    # per array: does this slot do anything
            if not active.any():
                ph.append(("NEXT", s))
                continue
            ph += [("CRD", s), ("CWB", s), ("RST0", s), ("RST1", s)]
            nrows = 1 + (2 ** geom.code_bits - 1) + (1 if cfg.code_round else 0)
            c.fe_reads += active * nrows
            c.fe_writes += active * nrows
            c.xfer_programmed += cand.sum(axis=1)
            pol = code_sign[:, s].astype(bool)
            cm = code_mag[:, s]
            zeros = np.zeros_like(pol)
            ones = np.ones_like(pol)
            prog.reset(s, zeros, cand)
            prog.reset(s, ones, cand)
            c.mr_resets += 2 * cand.sum(axis=1)
            setm = cand & (cm != 0)
            if setm.any():
                ph += [("XFER", s), ("RESTORE", s)]
                prog.transfer_set(s, pol, setm, cm)
                c.mr_sets += setm.sum(axis=1)
                has_set = setm.any(axis=1)
                c.fe_writes += has_set * (2 ** geom.code_bits - 1)   # MSB rows rewritten
            ok = cand.copy()
            if cfg.verify_max > 0:
                ok = self._verify(s, cand, pol, cm, cfg, prog, ph)
            failed = cand & ~ok
            if failed.any():
                for k in np.nonzero(failed.any(axis=1))[0]:
                    lines = np.nonzero(failed[k])[0]
                    c.failures[k] += len(lines)
                    self.fail.record(k, s * L + lines)
            ph += [("FLAG", s), ("NEXT", s)]
            if cfg.change_aware:
                # step 6: the flag row is written (a full write) only if a flag clears, i.e.
                # some candidate succeeded; if every candidate failed verify nothing changes
                new_flags = self.flags[:, s] & ~ok
                c.fe_writes += (new_flags != self.flags[:, s]).any(axis=1)
                self.flags[:, s] = new_flags
        self.last_phases = ph + [("DONE", last), ("IDLE", last)] if self.n == 1 else None

    def _verify(self, s, cand, pol, cm, cfg, prog, ph) -> np.ndarray:
        c = self.counters
        ok = np.zeros_like(cand)
        loop = RetryLoop(cand, cfg.verify_max)   # the arrays of a layer retry in step
        while True:
            todo = loop.todo
            ph += [("VRDP", s), ("VCHKP", s), ("VRDN", s), ("VCHKN", s), ("VDEC", s)]
            c.vfy_reads += 2 * todo.sum(axis=1)
            passed = prog.verify(s, todo, pol, cm) & todo
            ok |= passed
            if not loop.decide(passed):
                break
            todo = loop.todo
            ph += [("VR0", s), ("VR1", s)]
            c.vfy_retries += todo.sum(axis=1)
            prog.reset(s, np.zeros_like(pol), todo)
            prog.reset(s, np.ones_like(pol), todo)
            c.mr_resets += 2 * todo.sum(axis=1)
            setm = todo & (cm != 0)
            if setm.any():
                ph.append(("VSET", s))
                prog.code_set(s, pol, setm, cm)
                c.mr_sets += setm.sum(axis=1)
        return ok

    # -- forming

    def form(self, target: int, form_max: int, former: Former, k: int = 0,
             abort_row: int | None = None) -> FormResult:
        """Forming of every memristor of array ``k`` (docs/controller.md, "Forming").

        Row by row (slot 0 G+, slot 0 G-, slot 1 G+, ...): read the row's devices still to
        form (all of them at first); those reading at least ``target`` are formed; the others
        get a forming pulse and are read again, at most ``form_max`` pulses; devices below
        ``target`` at the last read are failures (counter, failure log). ``abort_row``: an
        abort taken at the start of that row (``2 * slot + pol``): it and later rows are not
        visited. Forming pulses count in :class:`FormResult`, reads in no counter.
        Sets :attr:`last_phases`: the phases STATUS.XFER_PHASE shows (rtl/hymem_form_engine.sv's,
        then the transfer engine's DONE and IDLE, at its slot 0), with their slot.
        """
        _check_int("target", target, 0, 65535)
        _check_int("form_max", form_max, 0, 255)
        S, L = self.geom.slots, self.geom.lines
        if abort_row is not None:
            _check_int("abort_row", abort_row, 0, 2 * S - 1)
        pulses, failures = 0, []
        ph: list[tuple[str, int]] = []
        self.last_phases = ph
        for row in range(2 * S):
            slot, pol = divmod(row, 2)
            ph.append(("FORM_ROW", slot))
            if row == abort_row:
                ph += [("DONE", 0), ("IDLE", 0)]
                self._fail(k, failures)
                return FormResult(pulses, failures, slot)
            loop = RetryLoop(np.ones(L, bool), form_max)
            while True:
                todo = loop.todo
                ph += [("FORM_RD", slot), ("FORM_CHK", slot), ("FORM_DEC", slot)]
                passed = formed(former.read(slot, pol, todo), target) & todo
                if loop.final:
                    failures += (slot * L + np.nonzero(todo & ~passed)[0]).tolist()
                if not loop.decide(passed):
                    break
                ph.append(("FORM_PULSE", slot))
                former.form(slot, pol, loop.todo)
                pulses += int(loop.todo.sum())
        ph += [("DONE", 0), ("IDLE", 0)]
        self._fail(k, failures)
        return FormResult(pulses, failures, None)

    # -- wake-up

    def used_slots(self, k: int = 0) -> int:
        """Slots of array ``k`` holding at least one used synapse (``s * L < n_in * n_out``)."""
        L = self.geom.lines
        return int(-(-int(self.n_in[k] * self.n_out[k]) // L))

    def wake_rows(self, k: int = 0) -> list[int]:
        """The FeCAP rows one wake-up pass cycles, in order (docs/controller.md, "Wake-up"):
        the data rows of every used slot, then their flag rows."""
        g, n = self.geom, self.used_slots(k)
        return [g.data_row(s, r) for s in range(n) for r in range(g.rows_per_synapse)] + \
            [g.flag_row(s) for s in range(n)]

    def wake(self, cycles: int, k: int = 0, abort_row: int | None = None) -> WakeResult:
        """FeCAP wake-up of array ``k`` (``rtl/hymem_wake_engine.sv``): ``cycles`` passes
        (0 runs one, as the RTL) over :meth:`wake_rows`, each row written all ones, then all
        zeros. Every row it visits ends '0': the hidden weights and flags of the used slots
        become 0. ``abort_row``: an abort taken at the start of that row visit (counted over
        the whole run, ``pass * len(rows) + i``): it and later visits are not made. Counts
        ``fe_writes`` (two per visit); returns the completed passes (CNT_WAKE_CYCLES)."""
        cycles = _check_int("cycles", cycles, 0, 65535)
        rows = self.wake_rows(k)
        visits = max(cycles, 1) * len(rows)
        if abort_row is not None:
            visits = _check_int("abort_row", abort_row, 0, visits - 1)
        g = self.geom
        R = g.rows_per_synapse
        cleared = rows[:visits]
        for s in range(self.used_slots(k)):
            b = g.data_row(s, 0)
            data = [r - b for r in cleared if b <= r < b + R]
            if data:
                sign, mag = self.sign_mag()
                bits = encode_slot(sign[k, s], mag[k, s], g)
                bits[data] = False
                sg, mg = decode_slot(bits, g)
                self.h[k, s] = np.where(sg.astype(bool), -mg, mg)
            if g.flag_row(s) in cleared:
                self.flags[k, s] = False
        self.counters.fe_writes[k] += 2 * visits
        passes = visits // len(rows)
        aborted = None
        if abort_row is not None and visits < max(cycles, 1) * len(rows):
            r = rows[visits % len(rows)]
            aborted = r // R if r < g.slots * R else r - g.slots * R
        return WakeResult(passes, visits, aborted)

    def _fail(self, k: int, addrs: list[int]) -> None:
        self.counters.failures[k] += len(addrs)
        self.fail.record(k, addrs)
