"""End-to-end training through the RTL: the co-simulation behind ``hymem cosim`` and ``make sim``.

One ``hymem_top`` per array (``tb/hymem_cosim/tb_hymem_cosim.sv``), each with the analogue
macro model (:class:`hymem.analog.array.HybridArray`) on its macro port and a firmware driver
(:class:`hymem.host.firmware.Hymem`) on its APB port. The host does what firmware and a host CPU
would: the forward and backward passes from the weights it read out of the memristors, the
quantization of each layer's input ``x`` and error ``e`` into int8 vectors and learning-rate
registers (the fast reference's own code, :mod:`hymem.learn.reference`, :mod:`hymem.learn.quant`), one
``CMD.SAMPLE`` per array per sample, and after every transfer (the controllers start one by
themselves every ``k`` samples) a read-out of every memristor.

Scoreboard, every sample: a shadow of the fast reference (:class:`hymem.learn.reference.Network`'s
:class:`~hymem.digital.engine.EngineState` per layer) is driven with the same quantized stream; the
hidden weights and change flags decoded from every array's FeCAPs must equal it; at every
transfer every memristor operation of every array must equal the reference's
(:class:`hymem.sim.scoreboard.LayerReplayProgrammer`) and all counters read over APB must equal
its counters. ``state_match`` is true when all of that held throughout.

Analogue path: both sides use keyed devices (:mod:`hymem.analog.devices`): every array's devices
are identified by its PRNG seed, and each memristor's draws (its device-to-device parameters,
every RESET/SET and every read) depend only on that identity and its own count of events, not
on the order in which the macro model (row by row, as the RTL pulses it) or the reference's
programmer (all arrays of a layer at once) apply them. The shadow's memristors are
programmed by replaying the RTL's operations and read out after every transfer, as the host
reads the RTL's; the ADC codes of both read-outs are compared (``adc_codes_identical``).
One physical difference remains, documented and measured: the reference does not model the
FeCAP wear of the update's row operations (each sample reads and rewrites FeCAP rows, the
MSB units among them), so the MSB units' windows, hence the transfer currents, differ
slightly (``msb_window_rel_diff_max``), which moves a few ADC codes by one.

Accuracy: ``test_accuracy`` uses the weights read out of the co-simulated arrays;
``reference_test_accuracy`` the shadow's own read-out after the same last transfer
(``accuracy_diff`` = the difference; ``accuracy_within_0p5`` what issue 7 asks for).
``reference_device_draws`` are the shadow's final hidden weights programmed into other
devices (other keys): the spread the analogue path alone gives.
``reference_independent_test_accuracy`` (``hymem cosim``) is a separate run of the fast
reference with the same options, seeds and devices, which follows its own forward passes.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from ..learn import reference, transfer_learning
from ..digital import engine
from ..host.firmware import COSIM_TIMING_CLK_NS
from ..analog.programmer import physical_factory
from ..analog.devices import device_keys

@dataclass
class CosimConfig:
    """What to train, passed to the simulation as JSON in ``HYMEM_COSIM``."""

    dataset: str = "digits"
    # a frozen feature extractor (.npz, hymem.learn.transfer_learning): train on its target
    # task's 4-bit features (last-layer transfer learning) instead of `dataset` itself
    features: str = ""
    arch: str = "64-16-10"
    # how long to train: exactly `samples` samples (> 0); else `epochs` epochs (> 0); else
    # as many whole epochs as fit in `time_budget_s` of wall time since `t0` (the launcher's
    # start, epoch seconds), at least one
    samples: int = 0
    epochs: int = 0
    time_budget_s: float = 300.0
    t0: float = 0.0
    seed: int = 1
    # the operating point of `make sim` (docs/bench/cosim.md, "Choosing make sim's operating
    # point"): a transfer every 10 samples, change-aware and rounded (the controller's
    # improved modes), learning rate 0.1 decaying by 0.8 per epoch (the host's schedule)
    k: int = 10
    p: float = 0.5
    lr: float = 0.1
    transfer: str = "round"
    skip_unchanged: bool = True
    verify_retries: int = 0
    stochastic_rounding: bool = False
    lr_decay: float = 0.8            # learning rate of epoch e: lr * lr_decay**e
    progress_every: int = 100        # 0: no progress bar
    json_out: str = ""
    plan_out: str = ""               # where the run writes its plan (epochs) once decided
    # test hook: after this sample (-1: never) one hidden weight of array 0 is changed behind the
    # controller's back, to show that the scoreboard catches it (tb/hymem_cosim)
    corrupt_at: int = -1

    def __post_init__(self) -> None:
        # what the RTL's registers can hold (XFER_K.K 16 bits, MODE.VERIFY_MAX up to the default
        # build's HWCFG2.VERIFY_LIMIT); the rest is checked by reference.Options
        for name, lo, hi in (("samples", 0, 10_000_000), ("epochs", 0, 10_000), ("k", 1, 65535),
                             ("verify_retries", 0, 15), ("progress_every", 0, 10_000_000),
                             ("corrupt_at", -1, 10_000_000)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer in {lo}..{hi}; got {v!r}")
        b = self.time_budget_s
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 <= b <= 1e6:
            raise ValueError(f"time_budget_s must be a number of seconds in 0..1e6; got {b!r}")
        if not (self.samples or self.epochs or self.time_budget_s):
            raise ValueError("give samples, epochs or time_budget_s (how long to train)")

    def options(self) -> reference.Options:
        return reference.Options(arch=reference.parse_arch(self.arch), scheme="hybrid",
                                 epochs=1, lr=self.lr, k=self.k, p=self.p, seed=self.seed,
                                 transfer=self.transfer, skip_unchanged=self.skip_unchanged,
                                 verify_retries=self.verify_retries,
                                 stochastic_rounding=self.stochastic_rounding,
                                 lr_decay=self.lr_decay)


HARNESS = "tb_hymem_cosim"
#: the cocotb module that runs inside the simulator (tb/hymem_cosim/cosim_tb.py)
BENCH_MODULE = "cosim_tb"
MAX_ARRAYS = 16


def run(cfg: CosimConfig, sim: str, *, waves: bool = False, console: bool = False,
        run_name: str | None = None) -> dict:
    """Build the harness with as many arrays as ``cfg.arch`` needs, run the co-simulation on
    ``sim`` and return its results (the JSON the test writes). Raises ValueError for a bad
    configuration, :class:`hymem.sim.simrun.SimulationFailed` when the co-simulation failed (a
    state mismatch or a macro protocol error fails the test)."""
    import tempfile
    from pathlib import Path

    from . import simrun

    n_arrays = arrays_needed(cfg)
    if n_arrays > MAX_ARRAYS:
        raise ValueError(f"arch {cfg.arch} needs {n_arrays} arrays; the co-simulation supports "
                         f"1..{MAX_ARRAYS} (use a smaller network, e.g. digits 64-16-10)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cosim.json"
        c = CosimConfig(**{**asdict(cfg), "json_out": str(out)})
        try:
            _run_harness(simrun, c, sim, n_arrays, waves, console, run_name)
        except simrun.SimulationFailed as e:
            # a state mismatch still leaves its JSON (state_match false, what differed)
            e.result = json.loads(out.read_text()) if out.exists() else None
            raise
        return json.loads(out.read_text())


def load_data(cfg: CosimConfig):
    """The training data of a run: ``cfg.dataset``, or the target task of ``cfg.features``."""
    return transfer_learning.load_data(cfg.dataset, cfg.features or None)


def reference_run(options: dict, dataset: str, max_samples: int = 0, features: str = "") -> dict:
    """One run of the fast reference (a Dask task of :func:`main_job`): ``options`` as
    :meth:`hymem.learn.reference.Options.to_dict`; a hybrid run uses the co-simulation's devices
    (keyed device physics). Returns its test accuracy, per epoch and at the end."""
    opts = reference.Options(**options)
    data = transfer_learning.load_data(dataset, features or None)
    factory = physical_factory(keyed=True) if opts.scheme == "hybrid" else None
    res, _ = reference.train(opts, data, programmer_factory=factory, eval_each_epoch=True,
                             max_samples=max_samples)
    return {"seed": opts.seed, "scheme": opts.scheme, "test_accuracy": res.test_accuracy,
            "epoch_test_accuracy": list(res.epoch_test_accuracy),
            "samples_per_s": res.samples_per_s, "train_samples": res.train_samples}


#: Seeds of the emulated hosts :func:`main_job` runs beside the co-simulation.
EMULATED_SEEDS = 20


def main_job(cfg: CosimConfig, sim: str, *, emulated_seeds: int = EMULATED_SEEDS,
             waves: bool = False, console: bool = True, log=print,
             scheduler: str | None = None) -> dict:
    """The main job (``make sim``): the co-simulation (:func:`run`) and, beside it on the
    other core (a Dask ``LocalCluster`` of one worker, or ``scheduler``), the baselines it is
    judged by, for the same number of epochs on the same sample stream
    (:func:`hymem.learn.reference.epoch_order`):

    * float: the float network trained on the identical stream (same seed);
    * emulated hosts: the fast reference with the co-simulation's options and devices on
      ``emulated_seeds`` seeds (1..N; seed ``cfg.seed`` sees the co-simulation's stream).

    They start as soon as the co-simulation knows how many epochs it trains (its plan file).
    Returns the co-simulation's results plus ``float_test_accuracy``, ``emulated_mean``,
    ``emulated_std`` and the per-epoch curves. Raises like :func:`run`."""
    import tempfile
    import threading
    from dataclasses import replace
    from pathlib import Path

    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        plan_path = Path(tmp) / "plan.json"
        c = replace(cfg, t0=t0, plan_out=str(plan_path))
        out: dict = {}

        def simulate():
            try:
                out["result"] = run(c, sim, waves=waves, console=console)
            except BaseException as e:             # handed to the caller below
                out["error"] = e

        th = threading.Thread(target=simulate, name="cosim", daemon=True)
        th.start()
        while th.is_alive() and not plan_path.exists():
            th.join(0.2)
        plan = json.loads(plan_path.read_text()) if plan_path.exists() else None
        client = cluster = futures = None
        if plan is not None and emulated_seeds > 0:
            from distributed import Client, LocalCluster

            if scheduler:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
                client = Client(cluster)
            base = c.options().to_dict()
            # (a time budget's plan may still grow: the baselines train its largest size and
            # are read at the epoch the co-simulation ends, Plan)
            base["epochs"] = plan["max_epochs"]
            max_s = c.samples
            jobs = [dict(base, scheme="float", seed=c.seed)]
            jobs += [dict(base, seed=s) for s in range(1, emulated_seeds + 1)]
            futures = [client.submit(reference_run, o, c.dataset, max_s, c.features, pure=False)
                       for o in jobs]
            log(f"hymem cosim: float baseline and {emulated_seeds} emulated hosts "
                f"({base['epochs']} epoch(s) each, read at the co-simulation's last) running "
                "beside the co-simulation")
        th.join()
        try:
            if "error" in out:
                raise out["error"]
            res = out["result"]
            if futures is not None:
                done = [_at_epoch(r, res["epochs"]) for r in client.gather(futures)]
                fl, emu = done[0], done[1:]
                accs = np.array([r["test_accuracy"] for r in emu])
                curves = np.array([r["epoch_test_accuracy"] for r in emu])
                res.update(float_test_accuracy=fl["test_accuracy"],
                           float_epoch_test_accuracy=fl["epoch_test_accuracy"],
                           emulated_seeds=[r["seed"] for r in emu],
                           emulated_test_accuracy=accs.tolist(),
                           emulated_mean=float(accs.mean()), emulated_std=float(accs.std()),
                           emulated_epoch_mean=curves.mean(axis=0).tolist(),
                           emulated_epoch_std=curves.std(axis=0).tolist(),
                           emulated_same_stream=next(r["test_accuracy"] for r in emu
                                                     if r["seed"] == c.seed)
                           if c.seed <= emulated_seeds else None,
                           float_gap=fl["test_accuracy"] - res["test_accuracy"],
                           within_3_points_of_float=bool(
                               fl["test_accuracy"] - res["test_accuracy"] <= 0.03))
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
    res["wall_s"] = time.time() - t0
    return res


def _at_epoch(r: dict, epochs: int) -> dict:
    """A baseline's result (:func:`reference_run`) as if it had trained ``epochs`` epochs:
    its accuracy after that epoch (it evaluated after every one)."""
    accs = r["epoch_test_accuracy"]
    if len(accs) <= epochs:
        return r
    return dict(r, test_accuracy=accs[epochs - 1], epoch_test_accuracy=accs[:epochs])


def learning_curve_png(res: dict, path) -> None:
    """Test accuracy against training samples: the RTL after each epoch, float on the same
    stream, the emulated hosts' mean +- std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.asarray(res.get("curve_samples") or [], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    if len(x):
        ax.plot(x, 100 * np.asarray(res["epoch_test_accuracy"]), "o-", color="C3",
                label=f"RTL co-simulation ({res.get('sim', '')})")
    fl = res.get("float_epoch_test_accuracy")
    if fl and len(fl) == len(x):
        ax.plot(x, 100 * np.asarray(fl), "s--", color="C0", label="float, same samples")
    em, es = res.get("emulated_epoch_mean"), res.get("emulated_epoch_std")
    if em and len(em) == len(x):
        em, es = 100 * np.asarray(em), 100 * np.asarray(es)
        ax.fill_between(x, em - es, em + es, color="C2", alpha=0.2)
        ax.plot(x, em, color="C2", label=f"emulated host, {len(res['emulated_seeds'])} seeds "
                                         "(mean +- std)")
    ax.set_xlabel("training samples")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{res['dataset']} {res['arch']}: on-chip learning through the RTL")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no whole epoch trained", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def _run_harness(simrun, c: CosimConfig, sim: str, n_arrays: int, waves: bool, console: bool,
                 run_name: str | None) -> None:
    with _bench_on_path():
        simrun.run(HARNESS, BENCH_MODULE, sim,
                   parameters={"NArrays": n_arrays, "ClkPeriodNs": COSIM_TIMING_CLK_NS},
                   defines=_clock_defines(sim), seed=c.seed, waves=waves,
                   # one BLAS thread: the process's matrix products are small, and idle
                   # BLAS threads spin on the cores the baselines run on
                   extra_env={"HYMEM_COSIM": json.dumps(asdict(c)), "OPENBLAS_NUM_THREADS": "1",
                              "OMP_NUM_THREADS": "1"},
                   extra_sources=harness_sources(),
                   run_name=run_name or f"cosim-{c.dataset}-{c.arch}-s{c.seed}",
                   console=console, public_all=False)


@contextmanager
def _bench_on_path():
    """The cocotb module (tb/hymem_cosim/cosim_tb.py) importable in the simulator: cocotb's
    runner passes this process's sys.path on as the simulator's PYTHONPATH."""
    from ..paths import repo_root

    d = str(repo_root() / "tb" / "hymem_cosim")
    added = d not in sys.path
    if added:
        sys.path.insert(0, d)
    try:
        yield
    finally:
        if added:
            sys.path.remove(d)


def harness_sources() -> list:
    """The co-simulation harness and its transactors (testbench HDL)."""
    from . import simrun

    tb = simrun.repo_root() / "tb"
    return [tb / "hymem_cosim" / f"{HARNESS}.sv", tb / "hdl" / "hymem_apb_burst.sv",
            tb / "hdl" / "hymem_macro_tlm.sv"]


def _clock_defines(sim: str) -> dict:
    return {"HYMEM_HDL_CLOCK": 1} if hdl_clock(sim) else {}


def default_arch(n_features: int, n_classes: int) -> str:
    """The co-simulated network for a dataset of ``n_features`` inputs and ``n_classes``
    classes: :attr:`CosimConfig.arch`'s hidden layers between them (64-16-10 for digits,
    13-16-3 for wine, 4-16-3 for iris)."""
    hidden = reference.parse_arch(CosimConfig.arch)[1:-1]
    return "-".join(str(n) for n in (n_features, *hidden, n_classes))


def arrays_needed(cfg: CosimConfig) -> int:
    arch = reference.parse_arch(cfg.arch)
    return sum(len(reference.tile_layer(a, b)) for a, b in zip(arch[:-1], arch[1:]))


def hdl_clock(sim: str) -> bool:
    """Who makes the clock, whichever is faster (idle harness, 2 arrays, measured): on Icarus
    the harness (HYMEM_HDL_CLOCK; 11.7k cycles/s against 7.9k with cocotb's), on Verilator
    cocotb's GPI clock (C++, no Python per edge: 4x its Python clock; an HDL clock needs
    --timing, whose coroutines cost)."""
    return sim == "icarus"


def _log(msg: str) -> None:
    print(msg, flush=True)


class Plan:
    """How long the run trains (:class:`CosimConfig`: samples, epochs, or a wall-time budget)
    and the file that tells the launcher (``plan_out``), which starts the float baseline and
    the emulated hosts as soon as it knows how many epochs they need.

    With a time budget the plan is made twice over: after CALIBRATE samples, the epochs that
    fit at the rate of those first samples (the slowest: early training changes many weights,
    and a transfer programs every changed synapse); then, at the end of every epoch, more epochs
    if they fit at the rate of the epoch just finished, up to ``max_epochs`` (EXTEND times the
    first plan). The baselines train ``max_epochs`` and record their accuracy after every
    epoch, which is what a shorter run of theirs would give (the learning rate and sample order
    of an epoch do not depend on the run's length), so :func:`main_job` reads them at the
    epoch the co-simulation ended."""

    #: samples timed before a time budget becomes a number of epochs
    CALIBRATE = 300
    #: wall time kept for the final evaluation, read-outs, device draws and the report (s)
    TAIL_S = 25.0
    #: a time budget's plan may grow to this many times its first number of epochs
    EXTEND = 3.0

    def __init__(self, cfg: CosimConfig, n_train: int, t0: float):
        self.cfg, self.n, self.t0 = cfg, n_train, t0
        self.rate = None
        if cfg.samples:
            self.epochs, self.total = -(-cfg.samples // n_train), cfg.samples
        elif cfg.epochs:
            self.epochs, self.total = cfg.epochs, cfg.epochs * n_train
        else:
            self.epochs, self.total = None, n_train          # decided after CALIBRATE samples
        self.max_epochs = self.epochs
        if self.epochs is not None:
            self._write()

    def calibrate(self, done: int, train_s: float) -> bool:
        """With a time budget: after CALIBRATE samples (or the first epoch), the epochs that
        fit. Returns True when it decided now."""
        if self.epochs is not None or done < min(self.CALIBRATE, self.n) or train_s <= 0:
            return False
        self.rate = done / train_s
        self.epochs = max(1, int((done + self._left() * self.rate) // self.n))
        self.total = self.epochs * self.n
        self.max_epochs = int(math.ceil(self.EXTEND * self.epochs))
        _log(f"cosim: {self.rate:.1f} samples/s: {self.epochs} epoch(s) of {self.n} samples fit "
             f"in the {self.cfg.time_budget_s:.0f} s budget (more if later epochs run faster, "
             f"up to {self.max_epochs})")
        self._write()
        return True

    def extend(self, epochs_done: int, epoch_s: float) -> bool:
        """With a time budget, at the end of a whole epoch (``epochs_done`` so far, the last in
        ``epoch_s`` seconds): plan more epochs if they fit at that epoch's rate, up to
        ``max_epochs``. Returns True when the plan grew."""
        if (self.cfg.samples or self.cfg.epochs or self.epochs is None or epoch_s <= 0
                or self.epochs >= self.max_epochs):
            return False
        grown = min(self.max_epochs, epochs_done + int(self._left() / epoch_s))
        if grown <= self.epochs:
            return False
        self.rate = self.n / epoch_s
        _log(f"cosim: epoch {epochs_done} ran {self.rate:.1f} samples/s: {grown} epoch(s) fit "
             f"in the budget (planned {self.epochs})")
        self.epochs, self.total = grown, grown * self.n
        self._write()
        return True

    def _left(self) -> float:
        """Training time left in the budget (s), the end's TAIL_S kept."""
        return max(0.0, self.cfg.time_budget_s - (time.time() - self.t0) - self.TAIL_S)

    def more(self, epoch: int, done: int) -> bool:
        if self.cfg.samples:
            return done < self.cfg.samples
        return self.epochs is None or epoch < self.epochs

    def _write(self) -> None:
        if self.cfg.plan_out:
            tmp = self.cfg.plan_out + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"epochs": self.epochs, "max_epochs": self.max_epochs,
                           "samples": self.total, "samples_per_s": self.rate}, f)
            os.replace(tmp, self.cfg.plan_out)


def _bar(total: int, every: int):
    """A progress bar with ETA (tqdm), or None."""
    if not every:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=" samples", mininterval=1.0, smoothing=0.05, dynamic_ncols=True,
                desc="cosim")


#: other device sets the shadow's final hidden weights are programmed into
DEVICE_DRAWS = 8


def device_draws(net, data, n: int) -> list[float]:
    """Test accuracy of the shadow's final hidden weights programmed (all synapses, the run's
    code mode and verify) into ``n`` other sets of devices (other keys) of the reference's
    device-physics model: the spread the analogue path alone gives to the accuracy of one
    digital state."""
    import copy

    accs = []
    saved = [layer.w for layer in net.layers]
    factory = physical_factory(keyed=True)
    for d in range(n):
        for li, layer in enumerate(net.layers):
            st = copy.deepcopy(layer.state)
            st.flags[:] = st.used
            keys = device_keys(reference.layer_keys(net.opts.seed, li, layer.tiling.n), 0xD1A, d)
            prog = factory(layer.tiling.n, layer.geom,
                           np.random.default_rng([net.opts.seed, 0xD1A, d, li]), keys=keys)
            tcfg = engine.TransferConfig(change_aware=False, code_round=layer.tcfg.code_round,
                                         verify_max=layer.tcfg.verify_max)
            reference.fastengine.transfer(st, tcfg, prog)
            layer.w = layer.weights_from_adc(prog.read_adc())
        accs.append(net.evaluate(data.x_test, data.y_test))
    for layer, w in zip(net.layers, saved):
        layer.w = w
    return accs


