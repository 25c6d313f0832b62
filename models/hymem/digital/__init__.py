"""Bit-exact Python models of the controller's digital primitives.

Every function here is the golden reference for one RTL block and is also what
the fast learning model (:mod:`hymem.learn.reference`, later) uses, so the RTL and the
reference agree bit for bit by construction.

=========================  ==========================  ===========================
Python                     RTL                         what
=========================  ==========================  ===========================
:class:`Prng`              ``rtl/hymem_prng.sv``       ring of xorshift lanes
:func:`msb_extract`        ``rtl/hymem_msb_extract.sv`` 10-bit hidden weight -> code
:func:`sm_sat_add`         ``rtl/hymem_sm_sat_add.sv`` saturating sign-magnitude add
=========================  ==========================  ===========================

All array functions are vectorized over NumPy arrays and also accept Python
ints. The number formats are documented in ``docs/architecture.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------- PRNG

#: Marsaglia xorshift shift triples (a, b, c): x ^= x << a; x ^= x >> b; x ^= x << c.
#: Each gives a maximal period of 2**width - 1 over the non-zero states.
XORSHIFT_TRIPLES: dict[int, tuple[int, int, int]] = {
    16: (7, 9, 8),
    32: (13, 17, 5),
    64: (13, 7, 17),
}

#: Odd "golden ratio" constants per width, used to derive per-lane seeds.
GOLDEN: dict[int, int] = {
    16: 0x9E37,
    32: 0x9E3779B9,
    64: 0x9E3779B97F4A7C15,
}

#: State a lane falls back to if its derived seed is zero (xorshift's only fixed point).
ZERO_SEED_REPLACEMENT: dict[int, int] = {
    16: 0xACE1,
    32: 0x2545F491,
    64: 0x2545F4914F6CDD1D,
}

#: Reset seed of the RTL (parameter ``DefaultSeed``) and of :class:`Prng`.
DEFAULT_SEED = 1

_DTYPES = {16: np.uint16, 32: np.uint32, 64: np.uint64}


def _check_width(width: int) -> None:
    if width not in XORSHIFT_TRIPLES:
        raise ValueError(
            f"PRNG width must be one of {sorted(XORSHIFT_TRIPLES)}; got {width!r}"
        )


def xorshift(state, width: int = 32):
    """One xorshift step. ``state`` is a Python int or an unsigned NumPy array.

    Returns the next state, which is also the generator's output.
    """
    _check_width(width)
    a, b, c = XORSHIFT_TRIPLES[width]
    if isinstance(state, np.ndarray):
        dt = _DTYPES[width]
        x = state.astype(dt, copy=True)
        x ^= x << dt(a)
        x ^= x >> dt(b)
        x ^= x << dt(c)
        return x
    mask = (1 << width) - 1
    x = int(state) & mask
    x ^= (x << a) & mask
    x ^= x >> b
    x ^= (x << c) & mask
    return x


def lane_seed(seed: int, lane: int, width: int = 32) -> int:
    """Initial state of ``lane`` for a given ``seed``.

    ``seed XOR (lane * GOLDEN[width] mod 2**width)``; a zero result (the one
    state xorshift can never leave) is replaced by ``ZERO_SEED_REPLACEMENT``.
    Lane 0 therefore starts from ``seed`` itself (or the replacement for 0).
    """
    _check_width(width)
    mask = (1 << width) - 1
    if not 0 <= int(seed) <= mask:
        raise ValueError(f"seed must be in 0..{mask} for width {width}; got {seed!r}")
    s = (int(seed) ^ ((lane * GOLDEN[width]) & mask)) & mask
    return s if s else ZERO_SEED_REPLACEMENT[width]


class Prng:
    """Ring of ``lanes`` independent xorshift generators (model of ``hymem_prng``).

    ``heads`` lanes (the RTL's ``Heads``; it must divide ``lanes``) sit at the head of
    the ring. ``step()`` returns the next value of each head lane, advances those lanes
    and rotates the ring by ``heads``, so ``lanes / heads`` consecutive steps draw one
    number from each lane, in lane order. With ``heads = 1`` a step returns one value;
    with more, the values packed as the RTL's ``rnd_o`` (head ``h`` at bits
    ``h*width``); :meth:`peek_heads` gives them as a list. ``draw_round()`` does a whole
    round for all lanes at once (vectorized).
    """

    def __init__(self, width: int = 32, lanes: int = 1, seed: int = DEFAULT_SEED,
                 heads: int = 1):
        _check_width(width)
        if not isinstance(lanes, (int, np.integer)) or lanes < 1:
            raise ValueError(f"lanes must be an integer >= 1; got {lanes!r}")
        if (not isinstance(heads, (int, np.integer)) or not 1 <= heads <= lanes
                or lanes % heads):
            raise ValueError(f"heads must be an integer in 1..{lanes} that divides lanes "
                             f"({lanes}); got {heads!r}")
        self.width = width
        self.lanes = int(lanes)
        self.heads = int(heads)
        self._dtype = _DTYPES[width]
        self.state = np.zeros(self.lanes, dtype=self._dtype)
        self.head = 0
        self.seed(seed)

    def seed(self, seed: int) -> None:
        """Load every lane from ``seed`` (the RTL's ``seed_load_i``)."""
        self.state[:] = [lane_seed(seed, lane, self.width) for lane in range(self.lanes)]
        self.head = 0

    def peek_heads(self) -> list[int]:
        """The values the next ``step()`` draws, head lane first."""
        return [int(xorshift(int(self.state[self.head + h]), self.width))
                for h in range(self.heads)]

    def peek(self) -> int:
        """The value the next ``step()`` returns (the RTL's ``rnd_o``, heads packed)."""
        return sum(v << (h * self.width) for h, v in enumerate(self.peek_heads()))

    def step(self) -> int:
        value = self.peek()
        self.state[self.head: self.head + self.heads] = self.peek_heads()
        self.head = (self.head + self.heads) % self.lanes
        return value

    def draw_round(self) -> np.ndarray:
        """``lanes / heads`` steps at once; only valid at a ring boundary (head == 0)."""
        if self.head != 0:
            raise RuntimeError(
                f"draw_round() needs the ring at lane 0; it is at lane {self.head}"
            )
        self.state = xorshift(self.state, self.width)
        return self.state.copy()

    def lane_states(self) -> np.ndarray:
        """Lane states in lane order, whatever the ring position."""
        return self.state.copy()


# ----------------------------------------------------------- sign-magnitude words


@dataclass(frozen=True)
class HiddenFormat:
    """Widths of the hidden weight and its transfer code.

    Defaults are the published ones: a 10-bit sign-magnitude hidden weight
    (1 sign + 9 magnitude bits) of which sign + 3 MSBs are transferred.
    """

    mag_width: int = 9
    code_bits: int = 3

    def __post_init__(self) -> None:
        if not 2 <= self.mag_width <= 30:
            raise ValueError(f"mag_width must be in 2..30; got {self.mag_width!r}")
        if not 1 <= self.code_bits < self.mag_width:
            raise ValueError(
                f"code_bits must be in 1..{self.mag_width - 1} (below mag_width); "
                f"got {self.code_bits!r}"
            )

    @property
    def mag_max(self) -> int:
        return (1 << self.mag_width) - 1

    @property
    def code_max(self) -> int:
        return (1 << self.code_bits) - 1

    @property
    def code_shift(self) -> int:
        return self.mag_width - self.code_bits


DEFAULT_FORMAT = HiddenFormat()


def _arr(x, name: str, lo: int, hi: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        bad = a[(a < lo) | (a > hi)].flat[0]
        raise ValueError(f"{name} must be in {lo}..{hi}; got {int(bad)}")
    return a


def _out(a: np.ndarray, scalar: bool):
    return int(a) if scalar else a


def msb_extract(sign, mag, round_mode=False, fmt: HiddenFormat = DEFAULT_FORMAT):
    """Hidden weight (sign, magnitude) -> transfer code (code_sign, code_mag).

    Truncation (published): ``code_mag = mag >> (mag_width - code_bits)``.
    Round-to-nearest (``round_mode``): half up, saturating at ``code_max``.
    The code is canonical: a zero ``code_mag`` always has ``code_sign = 0``, so
    comparing 4-bit codes compares the conductance pairs they program.
    """
    scalar = np.isscalar(sign) and np.isscalar(mag) and np.isscalar(round_mode)
    s = _arr(sign, "sign", 0, 1)
    m = _arr(mag, "mag", 0, fmt.mag_max)
    r = _arr(round_mode, "round_mode", 0, 1)
    sh = fmt.code_shift
    trunc = m >> sh
    rounded = np.minimum((m + (1 << (sh - 1))) >> sh, fmt.code_max)
    cm = np.where(r.astype(bool), rounded, trunc)
    cs = s & (cm != 0)
    return _out(cs, scalar), _out(cm, scalar)


def code_value(code_sign, code_mag):
    """Signed integer value of a transfer code, -code_max..+code_max."""
    cs = np.asarray(code_sign, dtype=np.int64)
    cm = np.asarray(code_mag, dtype=np.int64)
    v = np.where(cs.astype(bool), -cm, cm)
    return int(v) if np.isscalar(code_sign) and np.isscalar(code_mag) else v


def sm_to_int(sign, mag):
    """Sign-magnitude -> signed integer (both zeros give 0)."""
    s = np.asarray(sign, dtype=np.int64)
    m = np.asarray(mag, dtype=np.int64)
    v = np.where(s.astype(bool), -m, m)
    return int(v) if np.isscalar(sign) and np.isscalar(mag) else v


def int_to_sm(value, fmt: HiddenFormat = DEFAULT_FORMAT):
    """Signed integer -> canonical sign-magnitude (zero is +0)."""
    scalar = np.isscalar(value)
    v = _arr(value, "value", -fmt.mag_max, fmt.mag_max)
    s = (v < 0).astype(np.int64)
    m = np.abs(v)
    return _out(s, scalar), _out(m, scalar)


def sm_sat_add(sign, mag, inc, round_mode=False, fmt: HiddenFormat = DEFAULT_FORMAT,
               inc_width: int = 10):
    """Saturating sign-magnitude add (model of ``hymem_sm_sat_add``).

    ``(sign, mag)`` is the hidden weight, ``inc`` a two's-complement increment
    of ``inc_width`` bits. The sum saturates at +-``mag_max``. Zero results are
    always +0 (-0 is accepted on input, never produced).

    Returns ``(sign_o, mag_o, sat, code_changed)``: ``sat`` is 1 when the sum
    was clamped; ``code_changed`` is 1 when the canonical transfer code
    (:func:`msb_extract` with ``round_mode``) of the result differs from the
    input's.
    """
    if not 2 <= inc_width <= 62:
        raise ValueError(f"inc_width must be in 2..62; got {inc_width!r}")
    scalar = all(np.isscalar(x) for x in (sign, mag, inc, round_mode))
    s = _arr(sign, "sign", 0, 1)
    m = _arr(mag, "mag", 0, fmt.mag_max)
    lim = 1 << (inc_width - 1)
    i = _arr(inc, "inc", -lim, lim - 1)
    total = np.where(s.astype(bool), -m, m) + i
    clamped = np.clip(total, -fmt.mag_max, fmt.mag_max)
    sat = (clamped != total).astype(np.int64)
    so = (clamped < 0).astype(np.int64)
    mo = np.abs(clamped)
    cs0, cm0 = msb_extract(s, m, round_mode, fmt)
    cs1, cm1 = msb_extract(so, mo, round_mode, fmt)
    changed = ((cs0 != cs1) | (cm0 != cm1)).astype(np.int64)
    return _out(so, scalar), _out(mo, scalar), _out(sat, scalar), _out(changed, scalar)
