"""The fast learning reference: float baseline and the hybrid FeCAP + memristor scheme.

One network code path (forward, backward, evaluation, training loop) with two kinds of layer:

- ``float``: the weight matrix is a float array updated by online SGD (batch 1);
- ``hybrid``: the published scheme. Forward and backward use the weights read from the memristor
  pairs (``G+ - G-`` through the macro's ADC), cached between transfers. The hidden weights live
  in :class:`hymem.digital.engine.EngineState` (one per layer, one array per tile) and receive the
  Bernoulli-masked, rounded update of every sample through the bit-exact update engine
  (:class:`hymem.digital.fastengine.Updater`); every ``k`` samples the transfer engine reprograms the
  memristors through a pluggable programmer (:mod:`hymem.analog.programmer`).

Everything the hybrid layer hands to the engine is what the real firmware would write to the
controller's registers: int8 vectors ``x`` and ``e`` and the ``lr_mult`` / ``lr_shift`` / ``p16``
register values. docs/reference.md is the full description (quantization, tiling, seeds, weight
read-out, counters, energy); the summary:

- **tiling**: a layer of ``n_in`` inputs and ``n_out`` outputs is cut into a grid of blocks, each
  on one array (:func:`tile_layer`); inside an array the synapse of tile row ``i``, column ``j`` is
  address ``a = i * n_in_tile + j`` (docs/controller.md);
- **quantization** (per layer, per sample): ``x`` and ``e = -dL/dy`` are each scaled by a power of
  two so that their largest magnitude falls in 64..127, then rounded half up to int8
  (:func:`hymem.learn.quant.quantize_pow2`); the learning rate ``lr`` becomes ``lr_mult * 2**-lr_shift`` =
  ``lr / lsb * sx * se`` with an 8-bit mantissa (:func:`hymem.learn.quant.lr_registers`);
- **weights**: ``w = (adc(G+) - adc(G-)) * 0.5 uS / g_step_us * w_step``, ``g_step_us`` =
  (top level mean - level 0 mean) / 7 and ``w_step`` the weight of one code step of the layer;
- **seeds**: everything derives from the run seed (:func:`array_seed`, :func:`run_rngs`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np

from ..digital import engine, fastengine
from . import minibatch, quant
from .. import published, resources
from ..digital.engine import EngineState, Geometry, TransferConfig, UpdateConfig
from ..analog.programmer import ADC_LSB_US, LevelStats, ProgrammerFactory, statistical_factory
from ..resources import size_text
from .stream import LayerRecord, Recording, RecordingProgrammer

try:  # imported here, not lazily, so that threadpool limits set in train() cover its BLAS too
    from scipy.linalg.blas import sger as _sger
except ImportError:  # pragma: no cover
    _sger = None

DEFAULT_GEOM = engine.DEFAULT_GEOMETRY
#: Cells touched by one FeCAP row operation (one per transfer line).
FECAP_CELLS_PER_ROW = published.TRANSFER_LINES

SCHEMES = ("float", "hybrid")
#: Largest run seed (:func:`array_seed` keeps 32 bits of it).
SEED_MAX = 2 ** 32 - 1
#: Largest number of epochs of a run.
EPOCHS_MAX = 10000
TRANSFER_MODES = ("truncate", "round")


# ---------------------------------------------------------------------------- options


def parse_arch(text) -> tuple[int, ...]:
    """``"784-200-100-10"`` -> ``(784, 200, 100, 10)``; at least an input and an output size."""
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = str(text).replace(",", "-").split("-")
    try:
        sizes = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"arch must be layer sizes joined by '-', e.g. 784-200-100-10; got {text!r}") from None
    if len(sizes) < 2 or any(s < 1 or s > 100000 for s in sizes):
        raise ValueError(f"arch must have at least 2 layer sizes, each in 1..100000; got {text!r}")
    return sizes


@dataclass(frozen=True)
class Options:
    """One training run. Defaults: the published hybrid scheme (SPEC section 1)."""

    arch: tuple = (784, 200, 100, 10)
    scheme: str = "hybrid"            # float | hybrid
    epochs: int = 10
    lr: float = 0.01                  # SGD learning rate (float weight units)
    k: int = 100                      # transfer every k samples (hybrid)
    p: float = 0.2                    # Bernoulli update-mask probability (hybrid)
    seed: int = 1
    layer_norm: bool = True           # parameter-free layer normalisation before each ReLU
    transfer: str = "truncate"        # truncate (published) | round
    skip_unchanged: bool = False      # change-aware transfer
    verify_retries: int = 0           # program-and-verify retries (0: no verify, published)
    stochastic_rounding: bool = False  # of the hidden-weight increments (published: round half up)
    variability: bool = True          # transfer variability of the statistical programmer
    init_codes: float = 2.0           # std of the initial weights, in code steps
    # learning rate of epoch e (from 0): lr * lr_decay**e (1: constant, the published runs).
    # The host computes lr_mult/lr_shift per sample, so a schedule costs the controller nothing
    lr_decay: float = 1.0
    max_train_samples: int = 0        # 0: whole training set each epoch; else the first N (tests)
    # mini-batch size: 1 online (published); N > 1 one update per N samples with the gradient
    # averaged over them (hymem.learn.minibatch; the paper's Fig. 5f)
    batch: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", parse_arch(self.arch))
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}; got {self.scheme!r}")
        if self.transfer not in TRANSFER_MODES:
            raise ValueError(f"transfer must be one of {', '.join(TRANSFER_MODES)}; got {self.transfer!r}")
        _check("epochs", self.epochs, int, 1, EPOCHS_MAX)
        _check("k", self.k, int, 1, 10 ** 9)
        _check("verify_retries", self.verify_retries, int, 0, 255)
        _check("seed", self.seed, int, 0, SEED_MAX)
        _check("max_train_samples", self.max_train_samples, int, 0, 10 ** 9)
        _check("lr", self.lr, float, 1e-9, 100.0)
        _check("p", self.p, float, 0.0, 1.0)
        _check("init_codes", self.init_codes, float, 0.05, 7.0)
        _check("lr_decay", self.lr_decay, float, 0.01, 1.0)
        _check("batch", self.batch, int, 1, minibatch.BATCH_MAX)
        if self.scheme == "hybrid" and UpdateConfig.p_to_p16(self.p) == 0:
            raise ValueError(f"p must be in 1/65536..1 for the hybrid scheme; got {self.p!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["arch"] = "-".join(str(s) for s in self.arch)
        return d


def _check(name, value, kind, lo, hi):
    ok_type = (isinstance(value, (int, np.integer)) and not isinstance(value, bool)) if kind is int \
        else isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok_type or not (lo <= value <= hi) or (kind is float and not math.isfinite(value)):
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'} in {lo}..{hi}; "
                         f"got {value!r}")


# ----------------------------------------------------------------------------- seeds


def splitmix64(x: int) -> int:
    """SplitMix64 finaliser (Steele et al.), on Python ints modulo 2**64."""
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def array_seed(run_seed: int, layer: int, array: int) -> int:
    """32-bit PRNG seed of array ``array`` of layer ``layer`` (both from 0):
    ``splitmix64((run_seed << 32) ^ (layer << 20) ^ array) & 0xFFFFFFFF``.
    (A zero seed is legal: :func:`hymem.digital.lane_seed` replaces a zero lane state.)"""
    return splitmix64(((run_seed << 32) ^ (layer << 20) ^ array) & ((1 << 64) - 1)) & 0xFFFFFFFF


def layer_keys(run_seed: int, layer: int, n: int) -> np.ndarray:
    """Device-identity keys of the ``n`` arrays of a layer (keyed device noise,
    :func:`hymem.analog.array.array_device_keys`): their :func:`array_seed` values."""
    return np.array([array_seed(run_seed, layer, k) for k in range(n)], dtype=np.uint64)


def run_rngs(run_seed: int) -> dict[str, np.random.Generator]:
    """NumPy generators of a run: ``order`` (sample order), ``init`` (initial weights);
    the programmer of layer ``l`` gets ``default_rng([run_seed, 3, l])``."""
    return {"order": np.random.default_rng([run_seed, 1]),
            "init": np.random.default_rng([run_seed, 2])}


# ---------------------------------------------------------------------------- tiling


@dataclass(frozen=True)
class Tile:
    row0: int     # first output (row of W) of the tile
    rows: int     # n_out of the array
    col0: int     # first input (column of W)
    cols: int     # n_in of the array


def _blocks(n: int, m: int) -> list[tuple[int, int]]:
    """``n`` split into ``m`` near-equal consecutive blocks (the first ``n % m`` one longer)."""
    base, extra = divmod(n, m)
    out, start = [], 0
    for b in range(m):
        size = base + (1 if b < extra else 0)
        out.append((start, size))
        start += size
    return out


def tile_grid(n_in: int, n_out: int, synapses: int = DEFAULT_GEOM.synapses,
              lines: int = DEFAULT_GEOM.lines) -> tuple[int, int]:
    """``(m_in, m_out)``: the number of input and output blocks :func:`tile_layer` cuts a layer
    into (``m_in * m_out`` arrays), found without building the tiles."""
    best = None
    for b_out in range(1, min(n_out, synapses) + 1):
        b_in = min(n_in, synapses // b_out)
        if b_in < min(n_in, lines):
            break
        m_in, m_out = -(-n_in // b_in), -(-n_out // b_out)
        key = (m_in * m_out, -b_in)
        if best is None or key < best[0]:
            best = (key, m_in, m_out)
    return best[1], best[2]


def tile_layer(n_in: int, n_out: int, synapses: int = DEFAULT_GEOM.synapses,
               lines: int = DEFAULT_GEOM.lines) -> list[Tile]:
    """Deterministic tiling of an ``n_out x n_in`` weight matrix over arrays of ``synapses``.

    For every output-block bound ``b_out = 1 .. min(n_out, synapses)`` the input-block bound is
    ``b_in = min(n_in, synapses // b_out)``, kept only if ``b_in >= min(n_in, lines)`` (a tile
    row fills at least one FeCAP row, so a row operation serves few outputs); the cost is
    ``ceil(n_in / b_in) * ceil(n_out / b_out)`` arrays, the smallest cost wins, ties going to
    the larger ``b_in``. Inputs and outputs are then cut into that many near-equal blocks
    (:func:`_blocks`), and the arrays numbered row block by row block: array ``rb * m_in + cb``.
    Example: 784-200 -> 4 x 40 = 160 arrays of 196 x 5 (the unconstrained minimum, 157 arrays
    of 5 x 200, would spread each output over 40 FeCAP rows); 200-100 -> 20 of 200 x 5;
    100-10 -> 1 of 100 x 10.
    """
    m_in, m_out = tile_grid(n_in, n_out, synapses, lines)
    return [Tile(r0, nr, c0, nc) for r0, nr in _blocks(n_out, m_out) for c0, nc in _blocks(n_in, m_in)]


class Tiling:
    """Index maps between a layer's vectors / matrix and its arrays' synapses."""

    def __init__(self, n_in: int, n_out: int, geom: Geometry = DEFAULT_GEOM):
        self.n_in, self.n_out, self.geom = n_in, n_out, geom
        self.tiles = tile_layer(n_in, n_out, geom.synapses, geom.lines)
        self.n = len(self.tiles)
        self.tile_in = np.array([t.cols for t in self.tiles], dtype=np.int64)
        self.tile_out = np.array([t.rows for t in self.tiles], dtype=np.int64)
        mi, mo = int(self.tile_in.max()), int(self.tile_out.max())
        # gather maps: layer vector padded with one zero at the end -> (n, max tile size)
        self.x_index = np.full((self.n, mi), n_in, dtype=np.int64)
        self.e_index = np.full((self.n, mo), n_out, dtype=np.int64)
        w_dst, syn = [], []
        S, L = geom.slots, geom.lines
        for k, t in enumerate(self.tiles):
            self.x_index[k, : t.cols] = t.col0 + np.arange(t.cols)
            self.e_index[k, : t.rows] = t.row0 + np.arange(t.rows)
            a = np.arange(t.rows * t.cols)
            i, j = a // t.cols, a % t.cols
            w_dst.append((t.row0 + i) * n_in + t.col0 + j)
            syn.append(k * S * L + a)            # flat index into (n, S, L)
        self.w_dst = np.concatenate(w_dst)
        self.syn = np.concatenate(syn)
        #: flat index of each synapse's G+ in its arrays' memristor codes (n, 2S, L): synapse
        #: (k, s, l) has G+ at row 2s, G- one row (L codes) further
        self.adc_gplus = 2 * self.syn - self.syn % L
        self.x_off = np.array([t.col0 for t in self.tiles], dtype=np.int64)
        self.e_off = np.array([t.row0 for t in self.tiles], dtype=np.int64)

    def gather(self, v: np.ndarray, index: np.ndarray) -> np.ndarray:
        pad = np.zeros(len(v) + 1, dtype=v.dtype)
        pad[:-1] = v
        return pad[index]

    def to_matrix(self, per_synapse: np.ndarray, dtype=np.float32) -> np.ndarray:
        """Values per synapse ``(n, S, L)`` -> the layer's ``(n_out, n_in)`` matrix."""
        w = np.zeros(self.n_out * self.n_in, dtype=dtype)
        w[self.w_dst] = per_synapse.reshape(-1)[self.syn]
        return w.reshape(self.n_out, self.n_in)

    def from_matrix(self, w: np.ndarray, fill=0) -> np.ndarray:
        """The layer's ``(n_out, n_in)`` matrix -> values per synapse ``(n, S, L)``."""
        g = self.geom
        out = np.full(self.n * g.slots * g.lines, fill, dtype=w.dtype)
        out[self.syn] = w.reshape(-1)[self.w_dst]
        return out.reshape(self.n, g.slots, g.lines)


# ---------------------------------------------------------------------------- layers


class FloatLayer:
    """Float weights, online SGD."""

    def __init__(self, w0: np.ndarray, lr: float):
        self.w = np.ascontiguousarray(w0, dtype=np.float32)
        self.lr = lr
        self._ger = _sger

    def weights(self) -> np.ndarray:
        return self.w

    def update(self, x: np.ndarray, e: np.ndarray) -> None:
        """``w += lr * outer(e, x)`` in place (BLAS ``sger`` on the transposed, Fortran view)."""
        if self._ger is not None:
            self._ger(self.lr, x, e, a=self.w.T, overwrite_a=1)
        else:  # pragma: no cover
            self.w += self.lr * np.outer(e, x)


#: Samples whose updates a hybrid layer queues before applying them in one compiled call
#: (:meth:`HybridLayer.update`), at most ``k`` (a transfer applies them anyway) and at most
#: UPDATE_QUEUE_BYTES of queued vectors and registers per layer.
UPDATE_QUEUE = 128
UPDATE_QUEUE_BYTES = 1 << 20


def queue_depth(n_in: int, n_out: int, k: int) -> int:
    """Samples a hybrid layer ``n_in`` x ``n_out`` queues (:data:`UPDATE_QUEUE`): its queue
    holds ``queue_depth * (n_in + n_out + 16)`` bytes."""
    return max(1, min(UPDATE_QUEUE, k, UPDATE_QUEUE_BYTES // (n_in + n_out + 16)))


class HybridLayer:
    """A layer held by ``tiling.n`` arrays: EngineState + programmer + cached memristor weights."""

    def __init__(self, index: int, n_in: int, n_out: int, h0: np.ndarray, opts: Options,
                 programmer, geom: Geometry = DEFAULT_GEOM, w_step: float = 1.0,
                 level_mean_us=published.MEMRISTOR_LEVEL_MEAN_US, force_numpy: bool = False,
                 record: bool = False):
        self.index, self.n_in, self.n_out, self.geom = index, n_in, n_out, geom
        self.tiling = Tiling(n_in, n_out, geom)
        self.seeds = np.array([array_seed(opts.seed, index, k) for k in range(self.tiling.n)],
                              dtype=np.int64)
        self._state = EngineState(self.tiling.tile_in, self.tiling.tile_out, geom, seeds=self.seeds)
        self.updater = fastengine.Updater(self._state, force_numpy=force_numpy)
        self.force_numpy = force_numpy
        self._registers = quant.registers if force_numpy else quant.registers_fast
        self.programmer = programmer
        self.w_step = float(w_step)
        self.lsb = self.w_step / 2 ** (geom.mag_width - geom.code_bits)
        self.lr = opts.lr
        round_codes = opts.transfer == "round"
        self.cfg_base = UpdateConfig(p16=UpdateConfig.p_to_p16(opts.p),
                                     stoch_round=opts.stochastic_rounding,
                                     code_round=round_codes, skip_zero=True)
        self.tcfg = TransferConfig(change_aware=opts.skip_unchanged, code_round=round_codes,
                                   verify_max=opts.verify_retries)
        self._cfgs: dict[tuple[int, int], UpdateConfig] = {}
        m = np.asarray(level_mean_us, dtype=np.float64)
        self.g_step_us = (m[-1] - m[0]) / (len(m) - 1)
        self.adc_to_w = ADC_LSB_US / self.g_step_us * self.w_step
        self.lr_clipped = 0
        self.h0 = np.asarray(h0, dtype=np.int64).copy()
        # the host's quantization per sample (one compiled call, into a queue) and the engine's
        # updates of the queued samples in one compiled call, on arrays fetched once (update(),
        # flush()); None: registers() then Updater.apply_layer, the same computation with
        # per-sample checks and objects
        self._fused = None
        self._queued = 0
        # the compiled updates run on a working copy of the hidden weights in the narrowest
        # integer type that holds them (a quarter of the engine's int64 bytes: the update's
        # memory traffic); None: to be copied from the state; _hw_ahead: the state's own
        # hidden weights lack updates the copy holds (written back when the state is read)
        self._hw = None
        self._hw_ahead = False
        self._hw_dtype = np.int16 if geom.mag_width <= 15 else np.int32
        args = None if force_numpy or quant.registers_into is None \
            else self.updater.layer_args(self.tiling.x_off, self.tiling.e_off, self.config(0, 0))
        if args is not None:
            prm, head, tail = args
            depth = queue_depth(n_in, n_out, opts.k)
            self._fused = (prm, head, tail, (n_in,), (n_out,), self.tiling.x_off, self.tiling.e_off)
            self._qx = np.empty((depth, n_in), dtype=np.int8)
            self._qe = np.empty((depth, n_out), dtype=np.int8)
            self._qregs = np.empty((depth, 2), dtype=np.int64)      # lr_mult, lr_shift
        self.record: LayerRecord | None = None
        if record:
            self.programmer = RecordingProgrammer(programmer)
            t = self.tiling
            self.record = LayerRecord(
                n_in, n_out, np.array([[x.row0, x.rows, x.col0, x.cols] for x in t.tiles], dtype=np.int64),
                self.seeds.copy(), self.h0.copy(),
                dict(p16=self.cfg_base.p16, stoch_round=self.cfg_base.stoch_round,
                     code_round=self.cfg_base.code_round, skip_zero=self.cfg_base.skip_zero),
                dict(change_aware=self.tcfg.change_aware, code_round=self.tcfg.code_round,
                     verify_max=self.tcfg.verify_max))
            self.record.verify_log = self.programmer.verify_log
        # preload the hidden weights, mark every synapse for programming, program them
        self._state.h[:] = self.tiling.from_matrix(np.asarray(h0, dtype=np.int64))
        self._state.flags[:] = self._state.used
        fastengine.transfer(self._state, self.tcfg, self.programmer, force_numpy=self.force_numpy)
        self.w = np.zeros((n_out, n_in), dtype=np.float32)
        self.refresh()

    @property
    def state(self) -> EngineState:
        """The layer's arrays (:class:`~hymem.digital.engine.EngineState`), every queued update
        applied first (:meth:`flush`): hidden weights, flags, PRNG lanes and counters are
        always those of every sample given to :meth:`update`. The caller may change them:
        the next update starts again from the state's own arrays."""
        self._sync()
        self._hw = None
        return self._state

    def _sync(self) -> None:
        """Apply the queued updates and write the working copy of the hidden weights back."""
        if self._queued:
            self.flush()
        if self._hw_ahead:
            self._state.h[...] = self._hw
            self._hw_ahead = False

    # -- weights

    def refresh(self) -> None:
        """Read every memristor through the ADC and rebuild the cached float weights."""
        self.w = self.weights_from_adc(self.programmer.read_adc())

    def weights_from_adc(self, codes) -> np.ndarray:
        """Float weights of this layer from the ADC codes of its arrays' memristor rows
        (``(tiles, 2 * slots, lines)``), e.g. read out of the co-simulated RTL."""
        t = self.tiling
        return fastengine.weights_from_adc(np.asarray(codes, dtype=np.uint8), t.adc_gplus, t.w_dst,
                                           self.adc_to_w, (self.n_out, self.n_in),
                                           self.force_numpy)

    def weights(self) -> np.ndarray:
        return self.w

    def hidden(self) -> np.ndarray:
        """Hidden weights as the layer's ``(n_out, n_in)`` integer matrix."""
        return self.tiling.to_matrix(self.state.h, dtype=np.int64)

    # -- learning

    def config(self, lr_mult: int, lr_shift: int) -> UpdateConfig:
        key = (lr_mult, lr_shift)
        cfg = self._cfgs.get(key)
        if cfg is None:
            cfg = replace(self.cfg_base, lr_mult=lr_mult, lr_shift=lr_shift)
            self._cfgs[key] = cfg
        return cfg

    def registers(self, x: np.ndarray, e: np.ndarray):
        """What the host writes to the arrays for one sample: ``(xq, eq, UpdateConfig)``
        (:func:`hymem.learn.quant.registers`)."""
        xq, eq, mult, shift, clipped = self._registers(x, e, self.lr / self.lsb)
        self.lr_clipped += clipped
        return xq, eq, self.config(mult, shift)

    def update(self, x: np.ndarray, e: np.ndarray) -> None:
        """One sample's update of the layer's arrays (layer input ``x``, error ``e``): the host
        quantizes them (:meth:`registers`) and the arrays apply the update. On the compiled
        path the quantized vectors and registers are queued and applied by :meth:`flush`
        (when the queue is full, before a transfer, and whenever :attr:`state` is read): the
        forward weights do not change between transfers, so running the queued updates back
        to back changes nothing but the order of the memory traffic (the update's hidden
        weights and PRNG lanes no longer evict the forward pass's weights every sample)."""
        f = self._fused
        st = self._state
        if (f is not None and x.shape == f[3] and e.shape == f[4] and x.dtype is e.dtype
                and x.dtype.char in "fd" and f[1][0] is st.h and f[1][2] is st.prng):
            i = self._queued
            xq, eq = self._qx[i], self._qe[i]
            m, s, clipped = quant.registers_into(x, e, xq, eq, self.lr / self.lsb)
            if m == quant.INF_OR_NAN:
                raise ValueError("cannot quantize a vector holding inf or nan (the network diverged)")
            regs = self._qregs[i]
            regs[0] = m
            regs[1] = s
            if clipped:
                self.lr_clipped += 1
            if self.record is not None:
                self.record.append(xq.copy(), eq.copy(), m, s)
            self._queued = i + 1
            if self._queued == len(self._qregs):
                self.flush()
            return
        self._sync()                              # queued samples first, into the state
        self._hw = None                           # the state's hidden weights change below
        xq, eq, cfg = self.registers(x, e)
        if self.record is not None:
            self.record.append(xq, eq, cfg.lr_mult, cfg.lr_shift)
        self.updater.apply_layer(xq, eq, self.tiling.x_off, self.tiling.e_off, cfg)

    def flush(self) -> None:
        """Apply the queued updates, in order (one compiled call on the working copy of the
        hidden weights and the state's flags, PRNG lanes and counters)."""
        n = self._queued
        if n:
            prm, head, tail, _, _, x_off, e_off = self._fused
            hw = self._hw
            if hw is None:
                hw = self._hw = self._state.h.astype(self._hw_dtype)
            self._queued = 0
            fastengine.update_batch_kernel(hw, *head[1:], self._qx, x_off, self._qe, e_off,
                                           self._qregs, n, prm, *tail)
            self._hw_ahead = True

    def transfer(self) -> None:
        # a transfer reads the hidden weights and writes flags and counters only: the
        # working copy stays valid
        self._sync()
        fastengine.transfer(self._state, self.tcfg, self.programmer, force_numpy=self.force_numpy)
        self.refresh()


# ---------------------------------------------------------------------------- memory

#: Memory of a network, per part (upper bounds of what tracemalloc measures while a network is
#: built and trained; tb/test_cli.py checks them): a fixed base (code, caches), every
#: weight (float: the weights and the initialisation's float64 temporaries; hybrid: the hidden
#: and float weight matrices and the tiling's index maps), every array of a hybrid layer (engine
#: state, the update's working copy of its hidden weights, 2 KiB as int16, and the programmer's
#: devices), the activations of an evaluation batch, a hybrid layer's update queue
#: (queue_depth()), and per sample and layer of a recording (two int8 vectors and their list
#: entries, twice while saving).
MEMORY_BASE_BYTES = 64 << 20
MEMORY_FLOAT_WEIGHT_BYTES = 24
MEMORY_HYBRID_WEIGHT_BYTES = 48
MEMORY_ARRAY_BYTES = 96 << 10
MEMORY_ACTIVATION_BYTES = 16          # per unit of a layer and sample of the evaluation batch
EVAL_BATCH = 1000                      # samples per forward pass of Network.predict
MEMORY_RECORD_SAMPLE_BYTES = 256      # per sample and layer, besides 2 * (n_in + n_out)


def arrays_needed(arch, geom: Geometry = DEFAULT_GEOM) -> int:
    """Arrays a hybrid network of layer sizes ``arch`` occupies (:func:`tile_grid`)."""
    arch = parse_arch(arch)
    return sum(math.prod(tile_grid(a, b, geom.synapses, geom.lines)) for a, b in zip(arch[:-1], arch[1:]))


def memory_needed(opts: Options, geom: Geometry = DEFAULT_GEOM, record_samples: int = 0) -> int:
    """Bytes needed to build and train the network of ``opts`` (an upper estimate, see the
    constants above), ``record_samples`` samples recorded."""
    arch = opts.arch
    weights = sum(a * b for a, b in zip(arch[:-1], arch[1:]))
    need = MEMORY_BASE_BYTES + EVAL_BATCH * sum(arch) * MEMORY_ACTIVATION_BYTES
    if opts.scheme == "float":
        return need + weights * MEMORY_FLOAT_WEIGHT_BYTES
    need += weights * MEMORY_HYBRID_WEIGHT_BYTES + arrays_needed(arch, geom) * MEMORY_ARRAY_BYTES
    need += sum(queue_depth(a, b, opts.k) * (a + b + 16) for a, b in zip(arch[:-1], arch[1:]))
    per_sample = sum(2 * (a + b) + MEMORY_RECORD_SAMPLE_BYTES for a, b in zip(arch[:-1], arch[1:]))
    return need + record_samples * per_sample


def check_memory(opts: Options, geom: Geometry = DEFAULT_GEOM, record_samples: int = 0,
                 available: int | None = None) -> None:
    """ValueError when the network of ``opts`` cannot fit the memory available (checked before
    anything is allocated, instead of a MemoryError part-way)."""
    need = memory_needed(opts, geom, record_samples)
    avail = resources.available_memory() if available is None else available
    if avail is not None and need > avail:
        arch = "-".join(map(str, opts.arch))
        what = f"{arrays_needed(opts.arch, geom):,} arrays, " if opts.scheme == "hybrid" else ""
        rec = f", recording {record_samples:,} samples" if record_samples else ""
        raise ValueError(f"arch {arch} ({opts.scheme}{rec}) needs about {size_text(need)} of memory "
                         f"({what}{sum(a * b for a, b in zip(opts.arch[:-1], opts.arch[1:])):,} "
                         f"weights); {size_text(avail)} available: use a smaller network")


# --------------------------------------------------------------------------- network


LN_EPS = 1e-5


def _layer_norm(a: np.ndarray):
    """Parameter-free layer normalisation over the last axis: ``(a - mean) / sqrt(var + eps)``."""
    n = a.shape[-1]
    if a.ndim == 1:          # the per-sample path, without the overhead of mean()/var()
        c = a - np.float32(a.sum() / n)
        sd = np.float32(math.sqrt(float(np.dot(c, c)) / n + LN_EPS))
        return c / sd, sd
    c = a - a.mean(axis=-1, keepdims=True)
    sd = np.sqrt((c * c).mean(axis=-1, keepdims=True) + LN_EPS)
    return c / sd, sd


class Network:
    """A fully connected network (ReLU hidden layers, softmax or sigmoid output) of float or
    hybrid layers; :meth:`train_sample` is one online SGD step."""

    def __init__(self, opts: Options, programmer_factory: ProgrammerFactory | None = None,
                 geom: Geometry = DEFAULT_GEOM, force_numpy: bool = False,
                 level_stats: LevelStats | None = None, record: bool = False):
        check_memory(opts, geom)
        self.opts, self.geom = opts, geom
        arch = opts.arch
        rngs = run_rngs(opts.seed)
        self.rng_order = rngs["order"]
        # --variability switches the statistics of the default programmer on or off
        stats = replace(level_stats or LevelStats(), variability=opts.variability)
        factory = programmer_factory or statistical_factory(stats)
        mag_max = (1 << geom.mag_width) - 1
        code_lsbs = 2 ** (geom.mag_width - geom.code_bits)
        self.layers = []
        self.samples = 0
        self.transfers = 0
        for li, (n_in, n_out) in enumerate(zip(arch[:-1], arch[1:])):
            # He initialisation, expressed in hidden LSBs: std init_codes code steps
            w_step = math.sqrt(2.0 / n_in) / opts.init_codes
            h0 = np.clip(np.round(rngs["init"].standard_normal((n_out, n_in)) * opts.init_codes * code_lsbs),
                         -mag_max, mag_max).astype(np.int64)
            if opts.scheme == "float":
                self.layers.append(FloatLayer(h0 * (w_step / code_lsbs), opts.lr))
            else:
                tiling_n = len(tile_layer(n_in, n_out, geom.synapses, geom.lines))
                prog = factory(tiling_n, geom, np.random.default_rng([opts.seed, 3, li]),
                               layer_keys(opts.seed, li, tiling_n))
                self.layers.append(HybridLayer(li, n_in, n_out, h0, opts, prog, geom, w_step,
                                               stats.level_mean_us, force_numpy, record))
        self.binary = arch[-1] == 1
        self.transfer_after = [0] if self.hybrid else []   # 0: the initial programming
        self.recorded = record and self.hybrid
        if opts.batch > 1:
            if record:
                raise ValueError("recording needs batch 1 (the controller applies one sample per "
                                 "update; a mini-batch update is not an outer product)")
            self.batcher = minibatch.Batcher(self)
        else:
            self.batcher = None

    @property
    def hybrid(self) -> bool:
        return self.opts.scheme == "hybrid"

    # -- passes

    def forward(self, x: np.ndarray):
        """Batch or single forward pass; returns the output probabilities and the cache."""
        hs, sds, us = [x], [], []
        h = x
        last = len(self.layers) - 1
        for li, layer in enumerate(self.layers):
            a = h @ layer.weights().T
            if li == last:
                break
            if self.opts.layer_norm:
                u, sd = _layer_norm(a)
            else:
                u, sd = a, None
            us.append(u)
            sds.append(sd)
            h = np.maximum(u, 0)
            hs.append(h)
        if self.binary:
            out = 1.0 / (1.0 + np.exp(-np.clip(a, -60, 60)))
        else:
            z = a - a.max(axis=-1, keepdims=True)
            out = np.exp(z)
            out /= out.sum(axis=-1, keepdims=True)
        return out, (hs, us, sds)

    def predict(self, x: np.ndarray, batch: int = EVAL_BATCH) -> np.ndarray:
        pred = []
        for b in range(0, len(x), batch):
            out, _ = self.forward(np.asarray(x[b:b + batch], dtype=np.float32))
            pred.append((out[:, 0] > 0.5).astype(np.int64) if self.binary else out.argmax(axis=1))
        return np.concatenate(pred) if pred else np.zeros(0, dtype=np.int64)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(x) == y).mean()) if len(y) else float("nan")

    def gradients(self, x: np.ndarray, label: int):
        """The forward and backward pass of one online step, without the update.

        Returns ``(correct, pairs)``: whether the sample was classified right before the
        step, and, last layer first, ``(layer index, layer input, e)`` for every layer, each
        ``e`` computed from the weights before any update of the sample (``e = -dL/da``).
        Updates change hidden weights only (hybrid) or come after their layer's gradient
        (float), so computing every pair first is the same as interleaving.
        """
        out, (hs, us, sds) = self.forward(x)
        if self.binary:
            e = np.array([label - out[0]], dtype=np.float32)
            correct = (out[0] > 0.5) == bool(label)
        else:
            e = -out
            e[label] += 1.0
            correct = int(out.argmax()) == label
        pairs = []
        for li in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[li]
            pairs.append((li, hs[li], e))
            if li > 0:
                g = e @ layer.weights()
                u = us[li - 1]
                g = g * (u > 0)
                if self.opts.layer_norm:
                    n = len(u)
                    g = (g - np.float32(g.sum() / n) - u * np.float32(np.dot(g, u) / n)) / sds[li - 1]
                e = g.astype(np.float32, copy=False)
        return bool(correct), pairs

    def train_sample(self, x: np.ndarray, label: int) -> bool:
        """One online step on one sample; returns whether it was classified right before the step.
        With ``opts.batch > 1`` the sample joins the mini-batch (:mod:`hymem.learn.minibatch`)."""
        if self.batcher is not None:
            return self.batcher.add(x, label)
        correct, pairs = self.gradients(x, label)
        for li, h, e in pairs:
            self.layers[li].update(h, e)
        self.samples += 1
        if self.hybrid and self.samples % self.opts.k == 0:
            self.transfer()
        return correct

    def start_epoch(self, epoch: int) -> None:
        """The learning rate of ``epoch`` (from 0): ``lr * lr_decay**epoch`` in every layer.
        Every training loop (the reference's, the co-simulation's host) calls it."""
        lr = self.opts.lr * self.opts.lr_decay ** epoch
        for layer in self.layers:
            layer.lr = lr

    def transfer(self) -> None:
        """Transfer every layer (all arrays of the network share one schedule)."""
        for layer in self.layers:
            layer.transfer()
        self.transfers += 1
        self.transfer_after.append(self.samples)

    def recording(self) -> Recording:
        """The x/e streams recorded so far (the network must be built with ``record=True``)."""
        if not self.recorded:
            raise ValueError("this network does not record: build it with Network(..., record=True) "
                             "(hybrid scheme only)")
        return Recording(self.geom, [l.record for l in self.layers], list(self.transfer_after),
                         self.opts.to_dict())

    def save_record(self, path) -> None:
        self.recording().save(path)

    # -- accounting

    def counters(self) -> dict:
        """Device operations, energy and wear of the hybrid layers (zeros for float)."""
        tot = {k: 0 for k in engine.Counters.zeros(1).as_dict()}
        layers = []
        worst = 0
        for li, layer in enumerate(self.layers):
            if not isinstance(layer, HybridLayer):
                continue
            c = layer.state.counters.as_dict()
            for k in tot:
                tot[k] += c[k]
            w = int(layer.programmer.device_writes().max())
            worst = max(worst, w)
            per_array = layer.state.counters
            layers.append({"layer": li, "n_in": layer.n_in, "n_out": layer.n_out,
                           "arrays": layer.tiling.n,
                           "fecap_ops": int((per_array.fe_reads + per_array.fe_writes).sum()),
                           "memristor_writes": int((per_array.mr_resets + per_array.mr_sets).sum()),
                           "max_array_fecap_ops": int((per_array.fe_reads + per_array.fe_writes).max()),
                           "worst_device_writes": w, "lr_clipped": layer.lr_clipped})
        mw = tot["mr_resets"] + tot["mr_sets"]
        fe = tot["fe_reads"] + tot["fe_writes"]
        e_mr, e_fe = programming_energy_j(mw, fe)
        endurance = published.MEMRISTOR_ENDURANCE_CYCLES
        return {
            "arrays": sum(l["arrays"] for l in layers),
            "transfers": self.transfers,
            "synapses_programmed": tot["xfer_programmed"],
            "transfers_skipped": tot["xfer_skipped"],
            "memristor_writes": mw, "memristor_resets": tot["mr_resets"],
            "memristor_sets": tot["mr_sets"],
            "verify_reads": tot["vfy_reads"], "verify_retries": tot["vfy_retries"],
            "verify_failures": tot["failures"],
            "fecap_reads": tot["fe_reads"], "fecap_writes": tot["fe_writes"], "fecap_ops": fe,
            "fecap_slots_skipped": tot["slots_skipped"],
            "energy_memristor_j": e_mr, "energy_fecap_j": e_fe, "energy_j": e_mr + e_fe,
            "worst_device_writes": worst,
            "endurance_margin": (endurance / worst) if worst else float("inf"),
            "layers": layers,
        }


def programming_energy_j(memristor_writes, fecap_row_ops) -> tuple[float, float]:
    """Programming energy (memristor, FeCAP) in J of so many memristor writes (RESET + SET)
    and FeCAP row operations (reads + writes, each pulsing a whole row), at the energies the
    paper's system estimates use (SPEC section 1). The one formula: the reference's counters
    and the sweep's co-simulation rows (hymem.sweep_report) use it."""
    return (memristor_writes * published.ENERGY_MEMRISTOR_WRITE_J,
            fecap_row_ops * FECAP_CELLS_PER_ROW * published.ENERGY_FECAP_WRITE_J)


# -------------------------------------------------------------------------- training


@dataclass
class Result:
    options: dict
    dataset: str
    test_accuracy: float
    train_accuracy_last_epoch: float
    train_samples: int
    train_time_s: float
    samples_per_s: float
    epoch_test_accuracy: list
    counters: dict
    backend: str
    interrupted: bool = False     # stopped early (Ctrl-C): the figures cover train_samples only

    def to_dict(self) -> dict:
        d = {"test_accuracy": self.test_accuracy, "train_samples": self.train_samples,
             "interrupted": self.interrupted,
             "samples_per_s": self.samples_per_s, "train_time_s": self.train_time_s,
             "train_accuracy_last_epoch": self.train_accuracy_last_epoch,
             "epoch_test_accuracy": self.epoch_test_accuracy, "dataset": self.dataset,
             "engine_backend": self.backend}
        d.update({k: v for k, v in self.counters.items()})
        d["options"] = self.options
        return d


def check_arch(opts: Options, n_features: int, n_classes: int) -> None:
    """The network must fit the dataset: input size = features, output = classes (1 for binary)."""
    a = opts.arch
    if a[0] != n_features:
        raise ValueError(f"arch input size must be the dataset's {n_features} features; got {a[0]} "
                         f"(arch {'-'.join(map(str, a))})")
    if a[-1] != n_classes and not (a[-1] == 1 and n_classes == 2):
        raise ValueError(f"arch output size must be the dataset's {n_classes} classes"
                         f"{' (or 1, sigmoid)' if n_classes == 2 else ''}; got {a[-1]}")


def epoch_order(rng_order: np.random.Generator, n: int) -> np.ndarray:
    """The order in which one epoch visits the ``n`` training samples: a fresh permutation
    from the run's ``order`` generator (:func:`run_rngs`), one per epoch. The one definition
    of the sample stream: the reference, the float baseline and the co-simulation
    (:mod:`hymem.sim.cosim`) with the same seed see the same samples in the same order."""
    return rng_order.permutation(n)


def train(opts: Options, data, programmer_factory: ProgrammerFactory | None = None,
          progress: Callable[[str], None] | None = None, eval_each_epoch: bool = False,
          force_numpy: bool = False, network: Network | None = None,
          stop: Callable[[], bool] | None = None,
          max_samples: int = 0) -> tuple[Result, Network]:
    """Train on ``data`` (a :class:`hymem.learn.datasets.Dataset`) and evaluate on its test set.

    ``max_samples`` (> 0): end after that many samples of the stream, inside an epoch if need
    be (the co-simulation's ``--samples``); the last epoch is then partial and evaluated.

    ``stop`` is polled between samples: when it returns True, training ends there (every
    started sample finished, so the state and any recording are consistent), the network as it
    is is evaluated, and the result is marked ``interrupted`` (:func:`hymem.outputs.deferred_interrupt`
    turns Ctrl-C into such a request)."""
    check_arch(opts, data.n_features, data.n_classes)
    try:  # one BLAS thread: batch-1 matrix-vector work is slower with more (and the cores are shared)
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:  # pragma: no cover
        limits = None
    try:
        return _train(opts, data, programmer_factory, progress, eval_each_epoch, force_numpy, network,
                      stop, max_samples)
    finally:
        if limits is not None:
            limits.restore_original_limits()


def _train(opts, data, programmer_factory, progress, eval_each_epoch, force_numpy, network, stop,
           max_samples=0):
    net = network or Network(opts, programmer_factory, force_numpy=force_numpy)
    xtr, ytr = data.x_train, data.y_train
    if opts.max_train_samples:
        xtr, ytr = xtr[: opts.max_train_samples], ytr[: opts.max_train_samples]
    n = len(ytr)
    epoch_acc, train_time, correct, seen = [], 0.0, 0, n
    report_every = max(1, n // 4)
    interrupted = False
    epochs = opts.epochs
    if max_samples:
        epochs = min(epochs, -(-max_samples // n))
    for ep in range(epochs):
        net.start_epoch(ep)
        order = epoch_order(net.rng_order, n)
        if max_samples and (ep + 1) * n > max_samples:
            order = order[: max_samples - ep * n]
        correct = 0
        t0 = time.perf_counter()
        for t, idx in enumerate(order):
            if stop is not None and stop():
                interrupted, seen = True, t
                break
            correct += net.train_sample(xtr[idx], int(ytr[idx]))
            if progress and (t + 1) % report_every == 0 and n >= 2000:
                el = train_time + time.perf_counter() - t0
                done = ep * n + t + 1
                progress(f"  epoch {ep + 1}/{opts.epochs}: {t + 1}/{n} samples, running train "
                         f"accuracy {correct / (t + 1):.3f}, {done / el:.0f} samples/s")
        if net.batcher is not None and not interrupted:
            net.batcher.flush()                   # the epoch's last, shorter mini-batch
        train_time += time.perf_counter() - t0
        if interrupted:
            acc = net.evaluate(data.x_test, data.y_test)     # the network as trained so far
            if progress:
                progress(f"  interrupted in epoch {ep + 1}/{opts.epochs} after {seen}/{n} samples: "
                         f"test accuracy {acc:.4f}")
            break
        if eval_each_epoch or ep == epochs - 1:
            acc = net.evaluate(data.x_test, data.y_test)
            epoch_acc.append(acc)
            if progress:
                progress(f"  epoch {ep + 1}/{epochs}: train accuracy {correct / len(order):.4f}, "
                         f"test accuracy {acc:.4f}")
    samples = ep * n + seen if interrupted else (min(max_samples, epochs * n) if max_samples
                                                  else epochs * n)
    if not interrupted:
        seen = len(order)
    res = Result(options=opts.to_dict(), dataset=data.name, test_accuracy=acc,
                 train_accuracy_last_epoch=correct / seen if seen else float("nan"),
                 train_samples=samples,
                 train_time_s=train_time, samples_per_s=samples / train_time if train_time else 0.0,
                 epoch_test_accuracy=epoch_acc, counters=net.counters(),
                 backend=fastengine.backend() if opts.scheme == "hybrid" and not force_numpy else "numpy",
                 interrupted=interrupted)
    return res, net
