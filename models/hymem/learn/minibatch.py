"""Mini-batch training of the learning reference (``hymem train --batch N``; the paper's Fig. 5f
compares batch 1 with mini-batch 10 on MNIST, SPEC section 1).

With ``Options.batch = N > 1`` the network's :meth:`~hymem.learn.reference.Network.train_sample`
only computes the sample's forward and backward passes (from the weights of the last update:
the memristor read-out for a hybrid layer, as in batch 1) and keeps the layer inputs and errors;
every ``N`` samples (and at the end of an epoch, for a shorter last batch of ``n`` samples) each
layer gets **one** update with the gradient averaged over the batch,
``G = (1/n) sum_i e_i x_i^T``:

- ``float``: ``w += lr * G``;
- ``hybrid``: one hidden-weight update of every array: the increment of each synapse in hidden
  LSBs, ``lr * G / lsb``, rounded half up (or stochastically with ``stochastic_rounding``),
  limited to the update engine's increment range, masked by Bernoulli(``p``) drawn from the
  array's on-chip PRNG exactly as a sample's update draws it, and added with the
  sign-magnitude saturating add (:func:`hymem.digital.sm_sat_add`); change flags and the FeCAP
  row counters as for one sample (:meth:`hymem.digital.engine.EngineState.apply_sample`). The matrix
  increment is not an outer product, so the controller's update engine (x and e vectors in,
  rank one) cannot apply it in one command: batch mode is a reference-only study of the scheme,
  not something ``hymem cosim`` runs.

Transfers stay every ``k`` *samples*: after a batch update the network transfers if the batch
crossed a multiple of ``k`` (``k`` should be a multiple of ``N``).
"""

from __future__ import annotations

import numpy as np

from .. import digital

BATCH_MAX = 10000


class Batcher:
    """The samples of the current mini-batch of a network: per layer, the rows ``x`` and ``e``."""

    def __init__(self, net):
        self.net = net
        self.size = net.opts.batch
        self.xs = [[] for _ in net.layers]
        self.es = [[] for _ in net.layers]
        self.n = 0
        self.updates = 0

    def add(self, x: np.ndarray, label: int) -> bool:
        """One sample: its gradients are kept; the batch is applied when full. Returns whether
        the sample was classified right (before this batch's update)."""
        correct, pairs = self.net.gradients(x, label)
        for li, h, e in pairs:
            self.xs[li].append(np.asarray(h, dtype=np.float32))
            self.es[li].append(np.asarray(e, dtype=np.float32))
        self.n += 1
        self.net.samples += 1
        if self.n == self.size:
            self.flush()
        return correct

    def flush(self) -> None:
        """Apply the batch so far (nothing if empty), then transfer if it crossed a multiple of k."""
        if not self.n:
            return
        net, n = self.net, self.n
        for li, layer in enumerate(net.layers):
            x = np.stack(self.xs[li])
            e = np.stack(self.es[li])
            g = (e.T @ x) / np.float32(n)                     # (n_out, n_in) mean gradient
            if hasattr(layer, "state"):
                apply_hybrid(layer, g)
            else:
                layer.w += np.float32(layer.lr) * g
            self.xs[li].clear()
            self.es[li].clear()
        self.n = 0
        self.updates += 1
        if net.hybrid:
            k = net.opts.k
            if net.samples // k > (net.samples - n) // k:
                net.transfer()


def apply_hybrid(layer, g: np.ndarray) -> np.ndarray:
    """One hidden-weight update of a :class:`hymem.learn.reference.HybridLayer` with the float weight
    gradient ``g`` (``(n_out, n_in)``); returns the increments ``(arrays, S, L)`` applied."""
    st, geom, cfg = layer.state, layer.geom, layer.cfg_base
    S = geom.slots
    rnd = np.zeros((st.n, S, geom.lines), dtype=np.uint32)
    state = st.prng
    for s in range(S):                     # the same PRNG draws as one sample's update
        state = digital.xorshift(state, 32)
        rnd[:, s] = state
    st.prng[...] = state
    mask = ((rnd & 0xFFFF).astype(np.int64) < cfg.p16) & st.used
    f = layer.tiling.from_matrix(np.asarray(g, dtype=np.float64) * (layer.lr / layer.lsb), fill=0.0)
    if cfg.stoch_round:
        u = (rnd >> 16).astype(np.float64) / 65536.0
        inc = np.floor(f + u)
    else:
        inc = np.floor(f + 0.5)
    lim = 1 << geom.mag_width              # increments are MagWidth+1-bit signed
    inc = np.where(mask, np.clip(inc, -lim, lim - 1), 0).astype(np.int64)
    sign, mag = st.sign_mag()
    so, mo, _, changed = digital.sm_sat_add(sign, mag, inc, cfg.code_round, geom.fmt,
                                            inc_width=geom.mag_width + 1)
    active = (inc != 0).any(axis=2) if cfg.skip_zero else np.ones((st.n, S), dtype=bool)
    new_h = np.where(so.astype(bool), -mo, mo)
    st.h[...] = np.where(active[..., None], new_h, st.h)
    changed = changed.astype(bool) & active[..., None]
    st.flags |= changed
    c = st.counters
    rows = geom.rows_per_synapse
    flag_ops = changed.any(axis=2)
    c.fe_reads += active.sum(axis=1) * rows + flag_ops.sum(axis=1)
    c.fe_writes += active.sum(axis=1) * rows + flag_ops.sum(axis=1)
    c.slots_skipped += (~active).sum(axis=1)
    c.samples += 1                         # one update command per array
    st.samples_since_transfer += 1
    return inc
