"""Compiled (numba) twins of the engine: the per-sample update and the transfer's digital side.

The NumPy engine is the definition (docs/controller.md in code); it spends most of a training
step on temporary arrays. :class:`Updater` does the same per-sample update in one pass over
the synapses of every array, in place on an :class:`~hymem.digital.engine.EngineState`: same hidden
weights, change flags, PRNG lane states and counters (``tb/test_fastengine.py`` checks it against
the NumPy engine on random inputs and configurations). Without numba it falls back to the NumPy
engine, so results never depend on whether numba is installed; ``backend()`` says which runs.

The update kernel steps every PRNG lane (every draw is part of the contract) and exploits two
facts of the definition: a masked-out synapse, or one whose product ``x * e * lr_mult`` is 0,
has increment 0 whatever the rounding (the rounding offset is always below ``2**lr_shift``),
so it only evaluates the synapses whose input is non-zero and whose mask bit is set.

:func:`transfer` does a transfer without verify as one compiled pass over the digital side and
one call of the programmer for the analogue side (``program_transfer``).
"""

from __future__ import annotations

import numpy as np

from . import XORSHIFT_TRIPLES
from .engine import EngineState, UpdateConfig
from ..jit import HAVE_NUMBA as _HAVE_NUMBA, njit, numba  # noqa: F401  (numba: for other modules)


# the kernel's lane step, xorshift32 (a, b, c) = (13, 17, 5): x ^= x * 2**a (the same as x << a
# mod 2**32; the factor is handed in prm, see _kernel); x ^= x >> b; x ^= x << c
_LANE_MUL = 1 << XORSHIFT_TRIPLES[32][0]
_LANE_B = np.uint32(XORSHIFT_TRIPLES[32][1])
_LANE_C = np.uint32(XORSHIFT_TRIPLES[32][2])


def backend() -> str:
    """``'numba'`` when the compiled kernel is used, else ``'numpy'``."""
    return "numba" if _HAVE_NUMBA else "numpy"


def slot_runs(n_in, n_out, slots: int, lines: int) -> np.ndarray:
    """The runs of lines of every slot of every array that share one tile row ``i``: rows
    ``(l0, l1, i, j0)`` (lines ``l0..l1-1`` hold synapses ``(i, j0 .. j0 + l1 - l0 - 1)``),
    array by array and slot by slot; ``starts[k * slots + s]`` indexes the first run of slot
    ``s`` of array ``k`` (a slot without used synapses has none). They depend on the tile shape
    only, so the update kernel is handed them instead of dividing addresses every sample."""
    runs, starts = [], [0]
    for nin, nout in zip(np.asarray(n_in).tolist(), np.asarray(n_out).tolist()):
        nused = nin * nout
        for s in range(slots):
            l0 = 0
            while l0 < lines and s * lines + l0 < nused:
                a = s * lines + l0
                i, j0 = divmod(a, nin)
                l1 = min(lines, l0 + nin - j0, l0 + nused - a)
                runs.append((l0, l1, i, j0))
                l0 = l1
            starts.append(len(runs))
    return np.array(starts, dtype=np.int64), np.array(runs, dtype=np.int64).reshape(-1, 4)


def _kernel(h, flags, prng, starts, runs, xbuf, xoff, ebuf, eoff, prm, fe_reads, fe_writes,
            slots_skipped, samples, since_transfer):
    # array k sees x[j] = xbuf[xoff[k] + j] and e[i] = ebuf[eoff[k] + i]
    n, S, L = h.shape
    for k in range(n):
        samples[k] += 1
        since_transfer[k] += 1
    lr_mult, lr_shift, p16, stoch, code_round, skip_zero = prm[0], prm[1], prm[2], prm[3], prm[4], prm[5]
    mag_width, code_bits, rows, inc_lo, inc_hi = prm[6], prm[7], prm[8], prm[9], prm[10]
    # the lane step's first left shift as a product by 2**13 (equal mod 2**32), the factor read
    # from prm so that the compiler cannot turn it back into a shift: the vector shifts limit
    # the step on this machine (one execution port), the multiply runs beside them
    lane_mul = np.uint32(prm[11])
    mag_max = (1 << mag_width) - 1
    shift = mag_width - code_bits
    half = (1 << (shift - 1)) if code_round else 0
    code_max = (1 << code_bits) - 1 if code_round else mag_max
    r_const = (1 << (lr_shift - 1)) if lr_shift > 0 else 0
    # stochastic rounding offset ((rnd >> 16) << lr_shift) >> 16, without a 48-bit intermediate
    r_left = lr_shift - 16 if lr_shift > 16 else 0
    r_right = 16 - lr_shift if lr_shift < 16 else 0
    p16u = np.uint32(p16)
    low16 = np.uint32(0xFFFF)
    cand = np.empty(L, dtype=np.uint64)       # lanes of a run whose mask bit is set and x != 0
    # positions of the non-zero inputs (a zero x gives a zero product, hence increment 0):
    # nzg lists them in order, cnt[t] counts those before position t of xbuf
    nx = xbuf.size
    nzg = np.empty(nx + 1, dtype=np.int64)
    cnt = np.empty(nx + 1, dtype=np.int64)
    nnz = 0
    x_max = 0                                 # the largest |x| (a bound for every array)
    for t in range(nx):
        cnt[t] = nnz
        if xbuf[t] != 0:
            nzg[nnz] = t
            nnz += 1
            x_max = max(x_max, abs(np.int64(xbuf[t])))
    cnt[nx] = nnz
    # a product p gives increment 0 when it is 0 or, rounding half up, when -r_const <= p <
    # r_const: a row whose |e * lr_mult| * x_max is below p_min changes nothing
    p_min = 1 if stoch else max(r_const, 1)
    for k in range(n):
        x0 = xoff[k]
        lanes = prng[k]
        for s in range(S):
            # 1. one xorshift32 draw per lane (every lane, used synapse or not); the lane's new
            # state is this slot's draw, read from lanes below
            for l in range(L):
                v = lanes[l]
                v = v ^ np.uint32(v * lane_mul)
                v = v ^ np.uint32(v >> _LANE_B)
                v = v ^ np.uint32(v << _LANE_C)
                lanes[l] = v
            # 2-5. increment, read, add, write, run by run (lines sharing one row i); only lines
            # whose mask bit is set and whose x is not 0 can change
            hs = h[k, s]
            fs = flags[k, s]
            nonzero = 0                       # increments != 0 (the slot is not skipped)
            changed = 0                       # transfer codes changed (the flags row is written)
            for r in range(starts[k * S + s], starts[k * S + s + 1]):
                l0, l1, i, jlo = runs[r, 0], runs[r, 1], runs[r, 2], runs[r, 3]
                eim = np.int64(ebuf[eoff[k] + i]) * lr_mult
                if abs(eim) * x_max >= p_min:
                    off = l0 - jlo - x0         # line of buffer position t is t + off
                    nc = np.uint64(0)
                    # unsigned indices: no test for a negative index (numba's wraparound),
                    # 0.89-0.93x the kernel's time
                    for p in range(np.uint64(cnt[x0 + jlo]), np.uint64(cnt[x0 + jlo + l1 - l0])):
                        l = np.uint64(nzg[p] + off)
                        cand[nc] = l
                        nc += np.uint64((lanes[l] & low16) < p16u)
                    for q in range(nc):
                        l = cand[q]
                        if stoch:
                            r_ = ((np.int64(lanes[l]) >> 16) << r_left) >> r_right
                        else:
                            r_ = r_const
                        d = min(max((np.int64(xbuf[l - off]) * eim + r_) >> lr_shift, inc_lo), inc_hi)
                        if d == 0:
                            continue                  # nothing changes (the row is still written)
                        nonzero += 1
                        old = hs[l]
                        new = min(max(old + d, -mag_max), mag_max)
                        if new == old:
                            continue                  # saturated
                        hs[l] = new
                        co = min((abs(old) + half) >> shift, code_max)
                        cn = min((abs(new) + half) >> shift, code_max)
                        # canonical code value: the sign only counts when the code magnitude is not 0
                        if (co if old >= 0 else -co) != (cn if new >= 0 else -cn):
                            fs[l] = True              # the flags touched only when a code changes
                            changed += 1
            # 6. counters: a slot whose increments are all 0 is skipped (skip_zero)
            if nonzero == 0 and skip_zero:
                slots_skipped[k] += 1
                continue
            fe_reads[k] += rows
            fe_writes[k] += rows
            if changed:
                fe_reads[k] += 1              # flags row
                fe_writes[k] += 1


_kernel_jit = njit(_kernel)
#: The compiled update kernel, for callers that hand it the arrays of :meth:`Updater.layer_args`
#: themselves: ``update_kernel(*head, xq, x_off, eq, e_off, prm, *tail)``; None without numba.
update_kernel = _kernel_jit


def _kernel_batch(h, flags, prng, starts, runs, xq, xoff, eq, eoff, regs, nb, prm, fe_reads,
                  fe_writes, slots_skipped, samples, since_transfer):
    # samples b < nb in order: xq[b], eq[b], lr_mult regs[b, 0], lr_shift regs[b, 1]
    for b in range(nb):
        prm[0] = regs[b, 0]
        prm[1] = regs[b, 1]
        _kernel_jit(h, flags, prng, starts, runs, xq[b], xoff, eq[b], eoff, prm, fe_reads,
                    fe_writes, slots_skipped, samples, since_transfer)


#: :data:`update_kernel` for ``nb`` samples of one layer in one call, in order (the same states
#: as ``nb`` calls): ``update_batch_kernel(*head, xq, x_off, eq, e_off, regs, nb, prm, *tail)``
#: with sample ``b``'s vectors in rows ``xq[b]``, ``eq[b]`` (int8) and its ``lr_mult``,
#: ``lr_shift`` in ``regs[b]`` (int64); ``prm`` is :meth:`Updater.layer_args`' array, its
#: first two entries overwritten. None without numba. (In this file, not the caller's:
#: numba's cache follows only a function's own file.)
update_batch_kernel = njit(_kernel_batch) if _HAVE_NUMBA else None


class Updater:
    """The per-sample update of one :class:`~hymem.digital.engine.EngineState`, compiled when possible.

    ``Updater(state).apply(x, e, cfg)`` leaves ``state`` exactly as ``state.apply_sample(x, e,
    cfg)`` would (hidden weights, flags, PRNG lanes, counters, ``samples_since_transfer``).
    ``x``: ``(n, >= max n_in)`` int8 values, ``e``: ``(n, >= max n_out)``; NumPy ``int8``
    arrays of that shape skip the range check (their dtype is the check), anything else goes
    through the engine's own validation. ``force_numpy`` uses the NumPy engine.
    """

    def __init__(self, state: EngineState, force_numpy: bool = False):
        self.state = state
        self.compiled = _HAVE_NUMBA and not force_numpy
        self._max_in = int(state.n_in.max())
        self._max_out = int(state.n_out.max())
        g = state.geom
        lim = 1 << g.mag_width          # MagWidth+1-bit increments (docs/controller.md)
        self._geom_prm = (g.mag_width, g.code_bits, g.rows_per_synapse, -lim, lim - 1, _LANE_MUL)
        self._prm_key = None
        self._prm = None
        self._xoff = self._eoff = None
        self._layer_key = None
        self._runs = slot_runs(state.n_in, state.n_out, g.slots, g.lines)

    def _fits(self) -> bool:
        """The compiled kernel runs on the engine's own dtypes."""
        st = self.state
        return self.compiled and st.h.dtype == np.int64 and st.prng.dtype == np.uint32

    def _params(self, cfg: UpdateConfig) -> np.ndarray:
        if cfg is not self._prm_key:
            self._prm = np.array((cfg.lr_mult, cfg.lr_shift, cfg.p16, cfg.stoch_round,
                                  cfg.code_round, cfg.skip_zero) + self._geom_prm, dtype=np.int64)
            self._prm_key = cfg
        return self._prm

    def _int8(self, v, name: str, lengths: np.ndarray, width: int) -> np.ndarray:
        st = self.state
        if (isinstance(v, np.ndarray) and v.dtype == np.int8 and v.ndim == 2
                and v.shape[0] == st.n and v.shape[1] >= width and v.flags.c_contiguous):
            return v
        return np.ascontiguousarray(st._vec(v, name, lengths).astype(np.int8))

    def apply(self, x, e, cfg: UpdateConfig) -> None:
        st = self.state
        if not self._fits():
            st.apply_sample(x, e, cfg)
            return
        x = self._int8(x, "x", st.n_in, self._max_in)
        e = self._int8(e, "e", st.n_out, self._max_out)
        if self._xoff is None or self._xoff[1] != x.shape[1] or self._eoff[1] != e.shape[1]:
            self._xoff = (np.arange(st.n, dtype=np.int64) * x.shape[1], x.shape[1])
            self._eoff = (np.arange(st.n, dtype=np.int64) * e.shape[1], e.shape[1])
        self._run(x.reshape(-1), self._xoff[0], e.reshape(-1), self._eoff[0], cfg)

    def apply_layer(self, xq: np.ndarray, eq: np.ndarray, x_off: np.ndarray, e_off: np.ndarray,
                    cfg: UpdateConfig) -> None:
        """The same update, with every array's vectors taken from whole-layer int8 vectors.

        Array ``k`` gets ``x = xq[x_off[k] : x_off[k] + n_in[k]]`` and ``e = eq[e_off[k] :
        e_off[k] + n_out[k]]`` (its tile's slice of the layer input and error); ``xq`` and
        ``eq`` must be int8 and long enough (checked).
        """
        st = self.state
        key = (id(x_off), id(e_off))
        if self._layer_key != key:
            if (len(x_off) != st.n or len(e_off) != st.n or x_off.min() < 0 or e_off.min() < 0):
                raise ValueError(f"x_off and e_off must hold one offset >= 0 per array ({st.n})")
            self._layer_need = (int((x_off + st.n_in).max()), int((e_off + st.n_out).max()))
            self._layer_key = key
        if xq.dtype != np.int8 or eq.dtype != np.int8:
            raise ValueError(f"xq and eq must be int8 arrays; got {xq.dtype} and {eq.dtype}")
        if len(xq) < self._layer_need[0] or len(eq) < self._layer_need[1]:
            raise ValueError(f"xq / eq must have at least {self._layer_need[0]} / {self._layer_need[1]} "
                             f"entries (x_off[k] + n_in[k], e_off[k] + n_out[k]); got {len(xq)} / {len(eq)}")
        if not self._fits():
            xi = np.arange(self._max_in)[None, :] + x_off[:, None]
            ei = np.arange(self._max_out)[None, :] + e_off[:, None]
            x = np.where(np.arange(self._max_in)[None, :] < st.n_in[:, None],
                         np.concatenate([xq, np.zeros(self._max_in, np.int8)])[xi], 0)
            e = np.where(np.arange(self._max_out)[None, :] < st.n_out[:, None],
                         np.concatenate([eq, np.zeros(self._max_out, np.int8)])[ei], 0)
            st.apply_sample(x, e, cfg)
            return
        self._run(np.ascontiguousarray(xq), x_off, np.ascontiguousarray(eq), e_off, cfg)

    def layer_args(self, x_off: np.ndarray, e_off: np.ndarray, cfg: UpdateConfig):
        """What :meth:`apply_layer` hands the compiled kernel besides the two vectors, for
        callers that call :data:`update_kernel` themselves every sample (the reference's
        hybrid layer, :class:`hymem.learn.reference.HybridLayer`, without the checks and
        objects of :meth:`apply_layer`): ``(prm, head, tail)``, the call being
        ``update_kernel(*head, xq, x_off, eq, e_off, prm, *tail)``; ``prm[0]`` and ``prm[1]``
        are ``lr_mult`` and ``lr_shift`` (a fresh array of ``cfg``'s values: the caller writes
        them per sample). The arrays are the state's own: a caller must fetch them again after
        anything replaces them (the NumPy engine's ``apply_sample`` does). None when the NumPy
        engine runs."""
        if not self._fits():
            return None
        st, c = self.state, self.state.counters
        if (len(x_off) != st.n or len(e_off) != st.n or x_off.min() < 0 or e_off.min() < 0):
            raise ValueError(f"x_off and e_off must hold one offset >= 0 per array ({st.n})")
        prm = self._params(cfg).copy()
        return (prm, (st.h, st.flags, st.prng) + tuple(self._runs),
                (c.fe_reads, c.fe_writes, c.slots_skipped, c.samples, st.samples_since_transfer))

    def _run(self, xbuf, xoff, ebuf, eoff, cfg):
        st, c = self.state, self.state.counters
        _kernel_jit(st.h, st.flags, st.prng, *self._runs, xbuf, xoff.astype(np.int64, copy=False),
                    ebuf, eoff.astype(np.int64, copy=False), self._params(cfg),
                    c.fe_reads, c.fe_writes, c.slots_skipped, c.samples, st.samples_since_transfer)


def apply_sample(state: EngineState, x, e, cfg: UpdateConfig, force_numpy: bool = False) -> None:
    """One-off form of :meth:`Updater.apply` (builds an :class:`Updater` each call)."""
    Updater(state, force_numpy).apply(x, e, cfg)


# ------------------------------------------------------------------- fused transfer


def _transfer_kernel(h, flags, n_in, n_out, change_aware, code_round, mag_width, code_bits,
                     cand, sign, mag, fe_reads, fe_writes, xfer_programmed, xfer_skipped,
                     mr_resets, mr_sets):
    """The digital side of EngineState.transfer without verify: flags and counters, and the
    plan of the analogue side: ``cand`` (the synapses to program), ``sign`` and ``mag`` (the
    transfer code of every synapse, :meth:`~hymem.digital.engine.EngineState.codes`)."""
    n, S, L = h.shape
    shift = mag_width - code_bits
    code_max = (1 << code_bits) - 1
    half = 1 << (shift - 1)
    msb_rows = code_max                       # 2**code_bits - 1 MSB copy rows
    nrows = 1 + msb_rows + (1 if code_round else 0)
    for k in range(n):
        nused = n_in[k] * n_out[k]
        for s in range(S):
            for l in range(L):                # the code of every synapse, used or not
                v = h[k, s, l]
                m = v if v >= 0 else -v
                cm = min((m + half) >> shift, code_max) if code_round else m >> shift
                mag[k, s, l] = cm
                sign[k, s, l] = v < 0 and cm != 0
                cand[k, s, l] = False
            a0 = s * L
            if a0 >= nused:
                continue                      # no used synapse: slot not visited
            if change_aware:
                fe_reads[k] += 1              # flag row read ...
                fe_writes[k] += 1             # ... and restored at once
            ncand = 0
            nset = 0
            for l in range(L):
                if a0 + l >= nused:
                    break
                if change_aware and not flags[k, s, l]:
                    xfer_skipped[k] += 1
                    continue
                ncand += 1
                cand[k, s, l] = True
                nset += mag[k, s, l] != 0
                if change_aware:
                    flags[k, s, l] = False     # no verify: every candidate succeeds
            if ncand == 0:
                continue
            fe_reads[k] += nrows
            fe_writes[k] += nrows
            xfer_programmed[k] += ncand
            mr_resets[k] += 2 * ncand
            if nset:
                mr_sets[k] += nset
                fe_writes[k] += msb_rows      # MSB rows rewritten after the transfer pulse
            if change_aware:
                fe_writes[k] += 1             # flag row written with the cleared flags


_transfer_jit = njit(_transfer_kernel)


def transfer(state: EngineState, cfg, programmer, force_numpy: bool = False) -> None:
    """``state.transfer(cfg, programmer)``, fused and compiled when it can be.

    Without verify (``cfg.verify_max == 0``) nothing the programmer does feeds back into the
    digital state, so the digital side runs in one compiled pass and the analogue side in one
    call, ``programmer.program_transfer(cand, sign, mag)`` for every slot at once (each
    ``(n, slots, lines)``: the synapses to program and the transfer code of every synapse). A
    programmer offers it when that leaves it as the slot-by-slot calls of
    :meth:`~hymem.digital.engine.EngineState.transfer` would (:func:`hymem.digital.engine.program_by_protocol`;
    :class:`hymem.analog.programmer.StatisticalProgrammer`, and the device physics with keyed
    devices, whose draws do not depend on the order of the operations). Otherwise, or with
    verify, or without numba, the engine's own transfer runs. ``tb/test_fastengine.py``
    checks that both leave the engine and the programmer the same.
    """
    bulk = getattr(programmer, "program_transfer", None)
    if force_numpy or _transfer_jit is None or cfg.verify_max != 0 or bulk is None \
            or state.h.dtype != np.int64:
        state.transfer(cfg, programmer)
        return
    g, c = state.geom, state.counters
    c.transfers += 1
    state.samples_since_transfer[:] = 0
    cand = np.empty(state.h.shape, dtype=bool)
    sign = np.empty(state.h.shape, dtype=bool)
    mag = np.empty(state.h.shape, dtype=np.int8)
    _transfer_jit(state.h, state.flags, state.n_in, state.n_out, bool(cfg.change_aware),
                  bool(cfg.code_round), np.int64(g.mag_width), np.int64(g.code_bits),
                  cand, sign, mag, c.fe_reads, c.fe_writes, c.xfer_programmed,
                  c.xfer_skipped, c.mr_resets, c.mr_sets)
    bulk(cand, sign, mag)


# ------------------------------------------------------------------- weight read-out


def _weights_kernel(codes, gp, lines, w_dst, scale, w):
    for i in range(gp.size):
        d = np.int16(codes[gp[i]]) - np.int16(codes[gp[i] + lines])
        w[w_dst[i]] = np.float32(d) * scale


_weights_jit = njit(_weights_kernel)


def weights_from_adc(codes: np.ndarray, gp: np.ndarray, w_dst: np.ndarray, scale, shape,
                     force_numpy: bool = False) -> np.ndarray:
    """Layer weight matrix ``shape`` from ADC codes ``(n, 2S, L)``: the synapse whose G+ is the
    code at flat index ``gp[i]`` (its G- is ``L`` further) gives ``w.flat[w_dst[i]] =
    float32(code(G+) - code(G-)) * float32(scale)``; entries no synapse maps to are 0
    (:attr:`hymem.learn.reference.Tiling.adc_gplus`)."""
    scale = np.float32(scale)
    flat = np.ascontiguousarray(codes).reshape(-1)
    lines = codes.shape[-1]
    w = np.zeros(int(np.prod(shape)), dtype=np.float32)
    if _weights_jit is None or force_numpy:
        w[w_dst] = flat[gp].astype(np.int16) - flat[gp + lines].astype(np.int16)
        return (w * scale).reshape(shape)
    _weights_jit(flat, gp, lines, w_dst, scale, w)
    return w.reshape(shape)
