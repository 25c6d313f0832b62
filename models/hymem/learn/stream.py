"""Recorded x/e streams of a hybrid run: save, load, replay, and cut per array for co-simulation.

A :class:`Recording` holds everything a controller needs to reproduce the digital state of every
array of a training run without the network around it:

- per layer: its tiling (which array holds which block), every array's PRNG seed, the initial
  hidden weights, the constant update registers (``p16``, ``stoch_round``, ``code_round``,
  ``skip_zero``) and transfer modes, and per sample the layer's int8 vectors ``x`` and ``e`` and
  the ``lr_mult`` / ``lr_shift`` registers;
- the sample counts after which a transfer ran (the first transfer, at count 0, is the initial
  programming of the preloaded weights, with every change flag set);
- the verify outcomes the programmer returned, in call order, per layer (only used with
  program-and-verify: the only place where the analogue side feeds back into the digital state).

:func:`replay` rebuilds :class:`hymem.digital.engine.EngineState` objects from a recording with the NumPy
engine (or the compiled one) and a programmer that replays the verify outcomes;
``tb/test_reference.py`` checks that it lands on exactly the reference's state.
:meth:`Recording.array_stream` gives one array's view: what a co-simulation drives into one RTL
controller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..digital import engine
from ..digital.engine import EngineState, Geometry, TransferConfig, UpdateConfig

FORMAT = "hymem-stream-1"


class RecordingProgrammer:
    """Wraps a programmer and logs what its ``verify`` returns (the rest is passed through)."""

    def __init__(self, inner):
        self.inner = inner
        self.verify_log: list[np.ndarray] = []

    def reset(self, slot, pol, mask):
        self.inner.reset(slot, pol, mask)

    def transfer_set(self, slot, pol, mask, code_mag):
        self.inner.transfer_set(slot, pol, mask, code_mag)

    def code_set(self, slot, pol, mask, code_mag):
        self.inner.code_set(slot, pol, mask, code_mag)

    def verify(self, slot, mask, pol, code_mag):
        ok = np.asarray(self.inner.verify(slot, mask, pol, code_mag), dtype=bool)
        self.verify_log.append(ok.copy())
        return ok

    def __getattr__(self, name):            # read_adc, device_writes, ...
        return getattr(self.inner, name)


class ScriptedProgrammer(engine.NullProgrammer):
    """Replays logged verify outcomes in order (for :func:`replay`)."""

    def __init__(self, verify_log):
        self.log = list(verify_log)
        self.pos = 0

    def verify(self, slot, mask, pol, code_mag):
        if self.pos >= len(self.log):
            raise ValueError("the recording holds fewer verify outcomes than the replay asks for")
        ok = self.log[self.pos]
        self.pos += 1
        if ok.shape != mask.shape:
            raise ValueError(f"recorded verify outcome has shape {ok.shape}; expected {mask.shape}")
        return ok & mask


@dataclass
class LayerRecord:
    n_in: int
    n_out: int
    tiles: np.ndarray          # (n, 4): row0, rows, col0, cols
    seeds: np.ndarray          # (n,) uint32 seeds
    h0: np.ndarray             # (n_out, n_in) initial hidden weights
    update: dict               # p16, stoch_round, code_round, skip_zero
    transfer: dict             # change_aware, code_round, verify_max
    x: list = field(default_factory=list)          # per sample (n_in,) int8
    e: list = field(default_factory=list)          # per sample (n_out,) int8
    lr_mult: list = field(default_factory=list)
    lr_shift: list = field(default_factory=list)
    verify_log: list = field(default_factory=list)  # (n, L) bool per verify call

    def append(self, xq, eq, lr_mult, lr_shift):
        self.x.append(xq)
        self.e.append(eq)
        self.lr_mult.append(lr_mult)
        self.lr_shift.append(lr_shift)

    @property
    def samples(self) -> int:
        return len(self.lr_mult)


@dataclass
class Recording:
    geom: Geometry
    layers: list
    transfer_after: list = field(default_factory=list)   # sample counts; 0 = initial programming
    options: dict = field(default_factory=dict)

    # -- files

    def save(self, path) -> None:
        """Write the recording as a compressed ``.npz`` (format ``hymem-stream-1``)."""
        arrays = {"transfer_after": np.asarray(self.transfer_after, dtype=np.int64)}
        meta = {"format": FORMAT, "geometry": self.geom.__dict__, "options": self.options, "layers": []}
        for li, lr in enumerate(self.layers):
            meta["layers"].append({"n_in": lr.n_in, "n_out": lr.n_out, "update": lr.update,
                                   "transfer": lr.transfer})
            p = f"l{li}_"
            arrays[p + "tiles"] = lr.tiles
            arrays[p + "seeds"] = lr.seeds
            arrays[p + "h0"] = lr.h0.astype(np.int16)
            arrays[p + "x"] = np.asarray(lr.x, dtype=np.int8).reshape(lr.samples, lr.n_in)
            arrays[p + "e"] = np.asarray(lr.e, dtype=np.int8).reshape(lr.samples, lr.n_out)
            arrays[p + "lr_mult"] = np.asarray(lr.lr_mult, dtype=np.uint8)
            arrays[p + "lr_shift"] = np.asarray(lr.lr_shift, dtype=np.uint8)
            n = len(lr.tiles)
            v = np.asarray(lr.verify_log, dtype=bool).reshape(-1, n, self.geom.lines)
            arrays[p + "verify"] = v
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path) -> "Recording":
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: not a {FORMAT} recording")
            geom = Geometry(**meta["geometry"])
            layers = []
            for li, m in enumerate(meta["layers"]):
                p = f"l{li}_"
                lr = LayerRecord(m["n_in"], m["n_out"], z[p + "tiles"], z[p + "seeds"],
                                 z[p + "h0"].astype(np.int64), m["update"], m["transfer"])
                lr.x = list(z[p + "x"])
                lr.e = list(z[p + "e"])
                lr.lr_mult = [int(v) for v in z[p + "lr_mult"]]
                lr.lr_shift = [int(v) for v in z[p + "lr_shift"]]
                lr.verify_log = list(z[p + "verify"])
                layers.append(lr)
            return cls(geom, layers, [int(t) for t in z["transfer_after"]], meta["options"])

    # -- one array

    def array_stream(self, layer: int, array: int) -> dict:
        """What one array's controller sees: seed, initial hidden weights ``(S, L)``, register
        values, and per sample its slices ``x`` ``(T, n_in)`` and ``e`` ``(T, n_out)`` with
        ``lr_mult`` / ``lr_shift``; transfers after the sample counts in ``transfer_after``."""
        lr = self.layers[layer]
        row0, rows, col0, cols = (int(v) for v in lr.tiles[array])
        h = np.zeros(self.geom.synapses, dtype=np.int64)
        h[: rows * cols] = lr.h0[row0: row0 + rows, col0: col0 + cols].reshape(-1)
        x = np.asarray(lr.x, dtype=np.int8).reshape(lr.samples, lr.n_in)[:, col0: col0 + cols]
        e = np.asarray(lr.e, dtype=np.int8).reshape(lr.samples, lr.n_out)[:, row0: row0 + rows]
        return {"n_in": cols, "n_out": rows, "seed": int(lr.seeds[array]),
                "h0": h.reshape(self.geom.slots, self.geom.lines), "x": x, "e": e,
                "lr_mult": np.asarray(lr.lr_mult, dtype=np.int64),
                "lr_shift": np.asarray(lr.lr_shift, dtype=np.int64),
                "update": dict(lr.update), "transfer": dict(lr.transfer),
                "transfer_after": list(self.transfer_after)}


def replay(rec: Recording, compiled: bool = False, samples: int | None = None) -> list[EngineState]:
    """Rebuild every layer's :class:`EngineState` from a recording (``samples``: stop early).

    Per layer: new state with the recorded tiles and seeds, hidden weights preloaded, every
    change flag set, the initial transfer; then per sample the recorded registers, and a
    transfer after every recorded count.
    """
    from ..digital.fastengine import Updater

    out = []
    T = min(l.samples for l in rec.layers) if rec.layers else 0
    T = T if samples is None else min(T, samples)
    after = set(rec.transfer_after)
    for lr in rec.layers:
        tiles = np.asarray(lr.tiles)
        st = EngineState(tiles[:, 3], tiles[:, 1], rec.geom, seeds=np.asarray(lr.seeds, dtype=np.int64))
        for k, (row0, rows, col0, cols) in enumerate(tiles):
            flat = np.zeros(rec.geom.synapses, dtype=np.int64)
            flat[: rows * cols] = lr.h0[row0: row0 + rows, col0: col0 + cols].reshape(-1)
            st.h[k] = flat.reshape(rec.geom.slots, rec.geom.lines)
        st.flags[:] = st.used
        prog = ScriptedProgrammer(lr.verify_log)
        tcfg = TransferConfig(**lr.transfer)
        if 0 in after:
            st.transfer(tcfg, prog)
        upd = Updater(st, force_numpy=not compiled)
        base = UpdateConfig(**lr.update)
        x_off = np.ascontiguousarray(tiles[:, 2], dtype=np.int64)
        e_off = np.ascontiguousarray(tiles[:, 0], dtype=np.int64)
        for t in range(T):
            cfg = UpdateConfig(lr_mult=lr.lr_mult[t], lr_shift=lr.lr_shift[t], **lr.update) \
                if (lr.lr_mult[t], lr.lr_shift[t]) != (base.lr_mult, base.lr_shift) else base
            upd.apply_layer(np.asarray(lr.x[t], dtype=np.int8), np.asarray(lr.e[t], dtype=np.int8),
                            x_off, e_off, cfg)
            if t + 1 in after:
                st.transfer(tcfg, prog)
        out.append(st)
    return out
