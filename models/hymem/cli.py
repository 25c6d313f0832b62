"""The ``hymem`` command line.

    hymem demo [--sim icarus|verilator]   run the RTL primitives' testbenches and print a table
    hymem devices [--json FILE] [--plot FILE.png]
                                          sample the device models, compare with the paper
    hymem train --dataset NAME ...        train the float or hybrid reference, print a table
    hymem features --scenario S --out F.npz
                                          train a frozen feature extractor (transfer learning)
    hymem train --features F.npz ...      learn only the last layer on its 4-bit features
    hymem bench [--quick]                 the standard comparison table and the k sweep
    hymem cosim --dataset NAME --arch A-B-C --samples N --sim {verilator,icarus} --json FILE
                                          train through the RTL (the main job: make sim)
    hymem sweep SPEC [--scheduler ADDR | --cluster slurm|lsf|pbs] [--retry-failed]
                                          many train / cosim runs on Dask, a store, a report
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import __version__, outputs
from .sim import simrun


def int_range(lo: int, hi: int):
    """argparse type: an integer in ``lo..hi``; the message names the range (argparse adds the
    option's name)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer in {lo}..{hi}; got {v}")
        return v
    parse.__name__ = "int"
    return parse


def _seed_type():
    from .learn.reference import SEED_MAX
    return int_range(0, SEED_MAX)


def _cmd_demo(args) -> int:
    """Build and run each RTL primitive's cocotb tests on one simulator."""
    tb = simrun.repo_root() / "tb"
    blocks = [
        ("hymem_prng", dict(Width=32, Lanes=4, DefaultSeed=1)),
        ("hymem_msb_extract", dict(MagWidth=9, CodeBits=3)),
        ("hymem_sm_sat_add", dict(MagWidth=9, IncWidth=10, CodeBits=3)),
    ]
    try:
        simrun.check_simulator(args.sim)
    except simrun.SimulatorError as e:
        print(f"hymem demo: {e}", file=sys.stderr)
        return 2
    rows, status = [], 0
    for top, params in blocks:
        sys.path.insert(0, str(tb / top))
        t0 = time.time()
        try:
            d = simrun.run(top, f"test_{top}", args.sim, parameters=params, seed=args.seed,
                           run_name="demo")
            ok, where = "PASS", d
        except simrun.SimulationFailed as e:
            ok, where, status = "FAIL", str(e).splitlines()[1], 1
        rows.append((top, ", ".join(f"{k}={v}" for k, v in params.items()), ok,
                     time.time() - t0, where))
        print(f"  {top}: {ok}", flush=True)
    print(f"\nRTL primitives on {args.sim} (seed {args.seed})")
    print(f"{'block':<20} {'parameters':<40} {'result':<6} {'time/s':>7}")
    for top, p, ok, dt, _ in rows:
        print(f"{top:<20} {p:<40} {ok:<6} {dt:>7.1f}")
    print("logs: sim_build/<sim>/<block>-<hash>/runs/demo/sim.log")
    return status


def _cmd_devices(args) -> int:
    """Sample the analogue device models at their defaults; table model vs published."""
    from .analog import device_report

    fig = device_report.device_figures(seed=args.seed)
    print(device_report.format_table(fig))
    if args.json is not None or args.plot is not None:
        print()
    write = outputs.Writer("devices")
    if args.json is not None:
        write.json(args.json, device_report.public(fig), "JSON", indent=2)
    if args.plot is not None:
        write.plot(args.plot, lambda f, fmt: device_report.plot(fig, f, fmt), "plot")
    return write.status


# ----------------------------------------------------------------------------- train


def _add_train_args(t) -> None:
    from . import bench
    from .learn import datasets, reference

    d = reference.Options()
    t.add_argument("--dataset", default=None,
                   help=f"one of: {datasets.valid_names()} (see docs/reference.md); required "
                        "unless --features names the data")
    t.add_argument("--features", metavar="FILE.npz", default=None,
                   help="a frozen feature extractor (`hymem features`): train on its scenario's "
                        "target task, 4-bit features (default arch FEATURES-CLASSES: the last "
                        "layer only; docs/edge-learning.md)")
    t.add_argument("--csv-header", choices=datasets.CSV_HEADER_MODES, default="auto",
                   help="csv: is the first row a header? auto: only if none of its fields is a "
                        "number (default)")
    t.add_argument("--arch", default=None,
                   help="layer sizes, e.g. 784-200-100-10 (default: FEATURES-200-100-CLASSES)")
    t.add_argument("--scheme", choices=reference.SCHEMES, default=d.scheme)
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--k", type=int, default=d.k, help="transfer every K samples (hybrid)")
    t.add_argument("--p", type=float, default=d.p, help="Bernoulli update-mask probability (hybrid)")
    t.add_argument("--lr", type=float, default=None,
                   help=f"learning rate (default {bench.FLOAT_LR} float, {bench.HYBRID_LR} hybrid)")
    t.add_argument("--lr-decay", type=float, default=d.lr_decay, metavar="F",
                   help="learning rate of epoch e: LR * F**e (default %(default)s: constant)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--batch", type=int, default=d.batch, metavar="N",
                   help="mini-batch size: one update per N samples with the gradient averaged "
                        "over them (default 1: online, as published; reference only)")
    t.add_argument("--preset", choices=sorted(bench.PRESETS), default="published",
                   help="transfer/rounding switches of the published scheme or of our improvements; "
                        "the switches below override it")
    t.add_argument("--transfer", choices=reference.TRANSFER_MODES, default=None,
                   help="transfer code: truncate (published) or round")
    t.add_argument("--skip-unchanged", action=argparse.BooleanOptionalAction, default=None,
                   help="change-aware transfer: reprogram only synapses whose code changed")
    t.add_argument("--verify-retries", type=int, default=None, metavar="N",
                   help="program-and-verify with up to N retries (0: off)")
    t.add_argument("--stochastic-rounding", action=argparse.BooleanOptionalAction, default=None,
                   help="stochastic rounding of the hidden-weight increments")
    t.add_argument("--variability", action=argparse.BooleanOptionalAction, default=d.variability,
                   help="transfer variability of the memristor levels")
    t.add_argument("--layer-norm", action=argparse.BooleanOptionalAction, default=d.layer_norm,
                   help="layer normalisation before each hidden ReLU")
    t.add_argument("--max-train-samples", type=int, default=0, metavar="N",
                   help="use only the first N training samples (quick checks)")
    from .learn import endurance

    t.add_argument("--endurance-limit", type=float, default=None, metavar="FRACTION",
                   help="watch the worst memristor's writes and the worst FeCAP's cycles against "
                        "FRACTION (in (0, 1]) of their published endurance "
                        f"({endurance.ENDURANCE['memristor']:.0e} and "
                        f"{endurance.ENDURANCE['fecap']:.0e} cycles)")
    t.add_argument("--endurance-action", choices=endurance.ACTIONS, default="warn",
                   help="when the limit is reached: warn once, or stop training there and report "
                        "the network as trained (default %(default)s)")
    t.add_argument("--json", metavar="FILE", help="write the results (and options) as JSON")
    t.add_argument("--record", metavar="FILE",
                   help="record every array's x/e stream and registers (.npz) for co-simulation")
    t.add_argument("--quiet", action="store_true", help="no progress lines")


def train_options(args, n_features: int, n_classes: int):
    """Options from parsed ``hymem train`` arguments (raises ValueError on bad values)."""
    from . import bench
    from .learn import reference

    if args.arch is not None:
        arch = args.arch
    elif getattr(args, "features", None):
        arch = f"{n_features}-{n_classes}"              # transfer learning: the last layer only
    else:
        arch = f"{n_features}-200-100-{n_classes}"
    kw = dict(bench.PRESETS[args.preset])
    for name in ("transfer", "skip_unchanged", "verify_retries", "stochastic_rounding"):
        v = getattr(args, name)
        if v is not None:
            kw[name] = v
    lr = args.lr if args.lr is not None else (bench.FLOAT_LR if args.scheme == "float" else bench.HYBRID_LR)
    return reference.Options(arch=arch, scheme=args.scheme, epochs=args.epochs, lr=lr, k=args.k,
                             p=args.p, seed=args.seed, layer_norm=args.layer_norm,
                             variability=args.variability, max_train_samples=args.max_train_samples,
                             lr_decay=args.lr_decay, batch=args.batch, **kw)


def _cmd_train(args) -> int:
    from .learn import datasets, endurance, reference, transfer_learning

    try:
        if args.endurance_limit is not None:
            endurance.check_limit(args.endurance_limit, args.endurance_action)
        if args.features:
            data = transfer_learning.load_data(args.dataset, args.features)
        elif args.dataset is None:
            raise ValueError("give --dataset NAME (or --features FILE.npz)")
        else:
            data = datasets.load(args.dataset, csv_header=args.csv_header)
        opts = train_options(args, data.n_features, data.n_classes)
        reference.check_arch(opts, data.n_features, data.n_classes)
        if args.record is not None and opts.scheme != "hybrid":
            raise ValueError("--record needs --scheme hybrid")
        if args.record is not None and opts.batch > 1:
            raise ValueError("--record needs --batch 1 (the controller applies one sample per "
                             "update)")
        n_train = min(len(data.y_train), opts.max_train_samples or len(data.y_train))
        reference.check_memory(opts, record_samples=opts.epochs * n_train if args.record else 0)
    except ValueError as e:
        print(f"hymem train: error: {e}", file=sys.stderr)
        return 2
    log = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    log(f"{data.summary()}\n{opts.scheme} {'-'.join(map(str, opts.arch))}, "
        + ", ".join(f"{k}={v}" for k, v in opts.to_dict().items() if k not in ("arch", "scheme")))
    net = reference.Network(opts, record=args.record is not None)
    guard = (endurance.Guard(net, args.endurance_limit, args.endurance_action,
                             log=lambda m: print(m, flush=True))
             if args.endurance_limit is not None else None)
    with outputs.deferred_interrupt("interrupted: finishing the current sample, then writing the "
                                    "results so far (Ctrl-C again to abort)") as interrupt:
        stop = interrupt if guard is None else (lambda: interrupt() or guard())
        res, net = reference.train(opts, data, progress=log, network=net, stop=stop)
    d = res.to_dict()
    d.update(data.info)
    d["endurance"] = endurance.margins(net)
    stopped = guard is not None and guard.tripped is not None and guard.action == "stop"
    if guard is not None:
        d["endurance"].update(limit=args.endurance_limit, action=args.endurance_action,
                              tripped=guard.tripped)
    rows = [("test accuracy", f"{100 * d['test_accuracy']:.2f} %"),
            ("train samples", f"{d['train_samples']}"),
            ("samples/s", f"{d['samples_per_s']:.0f} ({d['engine_backend']} engine)")]
    if opts.scheme == "hybrid":
        rows += [("arrays", f"{d['arrays']}"),
                 ("transfers (every k; + initial programming)", f"{d['transfers']} + 1"),
                 ("synapses programmed / skipped", f"{d['synapses_programmed']:.4g} / {d['transfers_skipped']:.4g}"),
                 ("memristor writes (RESET + SET)", f"{d['memristor_writes']:.4g} ({d['memristor_resets']:.4g} + {d['memristor_sets']:.4g})"),
                 ("verify reads / retries / failures", f"{d['verify_reads']:.4g} / {d['verify_retries']:.4g} / {d['verify_failures']:.4g}"),
                 ("FeCAP row ops (reads + writes)", f"{d['fecap_ops']:.4g} ({d['fecap_reads']:.4g} + {d['fecap_writes']:.4g})"),
                 ("energy: memristor + FeCAP", f"{d['energy_memristor_j']:.3g} J + {d['energy_fecap_j']:.3g} J = {d['energy_j']:.3g} J"),
                 ("worst memristor writes / endurance margin",
                  f"{d['worst_device_writes']} / {d['endurance_margin']:.3g}x (of "
                  f"{endurance.ENDURANCE['memristor']:.0e} cycles)"),
                 ("worst FeCAP cycles (bound) / endurance margin",
                  f"{d['endurance']['fecap_worst']} / {d['endurance']['fecap_margin']:.3g}x (of "
                  f"{endurance.ENDURANCE['fecap']:.0e} cycles)")]
    if data.labels is not None:
        rows.append(("classes (labels of the file)",
                     ", ".join(f"{c} = {name!r}" for c, name in enumerate(data.labels))))
    if stopped:
        t = guard.tripped
        rows.insert(0, ("STOPPED at the endurance limit after",
                        f"{d['train_samples']} of {opts.epochs * n_train} samples: worst {t['device']} "
                        f"{t['worst']:,} >= {t['limit']:g} x {t['endurance']:.0e} (figures cover those)"))
    elif res.interrupted:
        rows.insert(0, ("INTERRUPTED after", f"{d['train_samples']} of {opts.epochs * n_train} "
                                             "samples (figures cover those)"))
    print(f"\n{data.name}, {opts.scheme} {'-'.join(map(str, opts.arch))}")
    for k, v in rows:
        print(f"  {k:<40} {v}")
    write = outputs.Writer("train")
    if args.json is not None:
        write.json(args.json, d, "  results", default=float)
    if args.record is not None:
        write(args.record, net.save_record, "  x/e stream")
    return write.status or (outputs.EXIT_INTERRUPTED if res.interrupted and not stopped else 0)


def _cmd_features(args) -> int:
    """Train the float feature extractor of a transfer-learning scenario and store it."""
    from .learn import transfer_learning as tl

    try:
        ext = tl.train_extractor(args.scenario, args.seed, args.hidden, args.size, args.epochs,
                                 log=lambda m: print(m, flush=True))
    except ValueError as e:
        print(f"hymem features: error: {e}", file=sys.stderr)
        return 2
    data = tl.target_dataset(ext)
    print(data.summary())
    write = outputs.Writer("features")
    write(args.out, lambda f: tl.save(ext, f), "extractor")
    return write.status


def _cmd_bench(args) -> int:
    from . import bench

    try:
        plan = bench.plan(quick=args.quick, seeds=args.seeds, epochs=args.epochs,
                          sweep_epochs=args.sweep_epochs)
    except ValueError as e:
        print(f"hymem bench: error: {e}", file=sys.stderr)
        return 2
    with outputs.deferred_interrupt("interrupted: finishing the current run, then writing the "
                                    "finished ones (Ctrl-C again to abort)") as interrupt:
        res = bench.run_bench(**plan, log=lambda m: print(m, flush=True), stop=interrupt)
    print()
    print(bench.table_markdown(res))
    write = outputs.Writer("bench")
    if args.out is not None:
        bench.write_outputs(res, args.out, write)
    return write.status or (outputs.EXIT_INTERRUPTED if res.get("interrupted") else 0)


# ----------------------------------------------------------------------------- cosim


def _cmd_cosim(args) -> int:
    """Train a network through the RTL co-simulation, beside float on the same samples and the
    emulated host on many seeds (:func:`hymem.sim.cosim.main_job`)."""
    from pathlib import Path

    from .sim import cosim
    from .learn import reference, transfer_learning

    try:
        simrun.check_simulator(args.sim)
        if args.features:
            data = transfer_learning.load_data(args.dataset, args.features)
            dataset = transfer_learning.load_extractor(args.features).dataset
        else:
            dataset = args.dataset or cosim.CosimConfig.dataset
            data = transfer_learning.load_data(dataset, None)
        arch = args.arch or (f"{data.n_features}-{data.n_classes}" if args.features
                             else cosim.default_arch(data.n_features, data.n_classes))
        cfg = cosim.CosimConfig(dataset=dataset, arch=arch,
                                features=str(Path(args.features).resolve()) if args.features else "",
                                samples=args.samples,
                                epochs=args.epochs,
                                time_budget_s=0.0 if (args.samples or args.epochs)
                                else args.time_budget,
                                seed=args.seed, k=args.k, p=args.p, lr=args.lr,
                                transfer=args.transfer, skip_unchanged=args.skip_unchanged,
                                verify_retries=args.verify_retries,
                                stochastic_rounding=args.stochastic_rounding,
                                lr_decay=args.lr_decay, progress_every=args.progress)
        opts = cfg.options()
        reference.check_arch(opts, data.x_train.shape[1], data.n_classes)
        if not 0 <= args.emulated_seeds <= 1000:
            raise ValueError(f"--emulated-seeds must be in 0..1000; got {args.emulated_seeds}")
    except (simrun.SimulatorError, ValueError) as e:
        print(f"hymem cosim: error: {e}", file=sys.stderr)
        return 2
    n_arrays = cosim.arrays_needed(cfg)
    if n_arrays > cosim.MAX_ARRAYS:      # cosim.run's own check, before the banner below
        print(f"hymem cosim: error: arch {cfg.arch} needs {n_arrays} arrays; the co-simulation "
              f"supports 1..{cosim.MAX_ARRAYS} (use a smaller network, e.g. digits 64-16-10)",
              file=sys.stderr)
        return 2
    how = (f"{args.samples} samples" if args.samples else f"{args.epochs} epoch(s)" if args.epochs
           else f"as many epochs as fit in {args.time_budget:.0f} s")
    print(f"hymem cosim: {data.name} {cfg.arch} ({n_arrays} arrays, {len(data.y_train)} "
          f"training samples), {how}, k={args.k}, p={args.p}, lr={args.lr}, transfer "
          f"{args.transfer}{', change-aware' if args.skip_unchanged else ''}"
          f"{f', verify {args.verify_retries}' if args.verify_retries else ''}, on {args.sim}",
          flush=True)
    write = outputs.Writer("cosim")
    try:
        res = cosim.main_job(cfg, args.sim, emulated_seeds=args.emulated_seeds,
                             waves=args.waves, console=True,
                             log=lambda m: print(m, flush=True), scheduler=args.scheduler)
    except simrun.SimulationFailed as e:
        print(f"hymem cosim: error: the co-simulation failed (state mismatch or protocol "
              f"error):\n{e}", file=sys.stderr)
        result = getattr(e, "result", None)
        if result is not None:
            print(f"state match: False ({result.get('mismatch')})", file=sys.stderr)
            if args.json:
                write.json(args.json, result, "JSON", indent=2)
        return 1
    res["sim"] = args.sim
    if args.json:
        png = str(Path(args.json).with_suffix(".png"))
        if write.plot(png, lambda f, fmt: _curve(cosim, res, f, fmt), "learning curve"):
            res["learning_curve"] = png
    _cosim_table(res)
    if args.json:
        write.json(args.json, res, "JSON", indent=2)
    return write.status


def _curve(cosim, res, f, fmt) -> None:
    import io

    buf = io.BytesIO()
    cosim.learning_curve_png(res, buf)
    f.write(buf.getvalue())


def _cosim_table(res: dict) -> None:
    pct = lambda v: f"{100 * v:.2f} %"
    print()
    print(f"{'test accuracy after':<48}{res['samples']} samples ({res['epochs']} epoch(s))")
    print(f"{'  RTL co-simulation':<48}{pct(res['test_accuracy'])}")
    print(f"{'  shadow reference (same state, same devices)':<48}"
          f"{pct(res['reference_test_accuracy'])}  (difference "
          f"{100 * res['accuracy_diff']:+.2f} points; state match {res['state_match']})")
    if "float_test_accuracy" in res:
        print(f"{'  float, same samples in the same order':<48}{pct(res['float_test_accuracy'])}"
              f"  (RTL {abs(100 * res['float_gap']):.2f} points "
              f"{'below' if res['float_gap'] >= 0 else 'above'}: "
              f"{'within' if res['within_3_points_of_float'] else 'NOT within'} 3 points)")
        print(f"{'  emulated host, %d seeds (mean +- std)' % len(res['emulated_seeds']):<48}"
              f"{pct(res['emulated_mean'])} +- {100 * res['emulated_std']:.2f}")
    print(f"{'  same hidden weights, %d other devices' % len(res['reference_device_draws']):<48}"
          f"{pct(res['reference_device_mean'])} +- {100 * res['reference_device_std']:.2f}")
    print(f"{'read-out ADC codes identical to the shadow':<48}"
          f"{100 * res['adc_codes_identical']:.3f} % of {res['adc_codes_compared']:,} "
          f"(largest difference {res['adc_codes_max_diff']})")
    print(f"{'samples/s (co-simulation)':<48}{res['samples_per_s']:.1f}")
    c = res["counters"]
    print(f"{'counters (all arrays)':<48}" + ", ".join(
        f"{k} {c.get(k, 0):,}" for k in ("transfers", "fe_reads", "fe_writes", "mr_resets",
                                          "mr_sets", "xfer_programmed", "xfer_skipped")))
    print(f"{'simulated time':<48}{res['sim_time_us'] / 1e6:.3f} s")
    print(f"{'wall time':<48}{res['wall_s']:.1f} s")


# ----------------------------------------------------------------------------- sweep

SWEEP_FILES = ("sweep.sqlite", "results.csv", "results.parquet", "report.md", "pareto.png",
               "axes.png")


def _cmd_sweep(args) -> int:
    """Run a sweep spec's jobs on Dask, keep every result in the store, write the report
    (:mod:`hymem.sweep`)."""
    import re
    from pathlib import Path

    from . import sweep, sweep_report, sweep_spec, sweep_store

    def error(msg: str, status: int = outputs.EXIT_ERROR) -> int:
        print(f"hymem sweep: error: {msg}", file=sys.stderr)
        return status

    modes = [o for o, v in (("--scheduler", args.scheduler), ("--cluster", args.cluster),
                            ("--serial", args.serial)) if v]
    if len(modes) > 1:
        return error(f"{' and '.join(modes)}: give one of --scheduler, --cluster and --serial")
    if args.workers is not None and (args.scheduler or args.serial):
        return error("--workers sets the local cluster's workers or --cluster's batch jobs; "
                     "an existing scheduler (--scheduler) or --serial has its own")
    try:
        spec = sweep_spec.load(args.spec)
    except sweep_spec.SpecError as e:
        return error(str(e))
    out = Path(args.out if args.out is not None
               else Path("build") / "sweep" / (re.sub(r"[^\w.-]+", "_", spec.name) or "sweep"))
    try:
        outputs.check_dir(out, "--out", SWEEP_FILES)
    except outputs.OutputError as e:
        return error(str(e))
    n_pts = len(sweep_spec.points(spec))
    print(f"hymem sweep: {spec.name}: {len(spec.jobs)} {spec.kind} jobs ({n_pts} points x "
          f"{len(spec.seeds)} seeds{', duplicates merged' if n_pts * len(spec.seeds) != len(spec.jobs) else ''})"
          f", results in {out}", flush=True)
    if args.dry_run:
        for j in spec.jobs:
            print(f"  {j.hash[:12]}  " + " ".join(f"{k}={v}" for k, v in j.options.items()))
        return 0
    db = out / "sweep.sqlite"
    try:
        store = sweep_store.Store(db, lock=True)
    except sweep_store.StoreError as e:
        return error(str(e))
    with store:
        hashes = [j.hash for j in spec.jobs]
        store.add(spec.jobs)
        todo = set(store.todo(hashes, retry_failed=args.retry_failed))
        before = store.counts(hashes)
        skipped = [f"{before['done']} done"] if before["done"] else []
        if before["failed"] and not args.retry_failed:
            skipped.append(f"{before['failed']} failed (--retry-failed runs them)")
        if skipped:
            print(f"hymem sweep: in the store already, skipped: {', '.join(skipped)}")
        jobs = [j for j in spec.jobs if j.hash in todo]
        run, status = None, 0
        where = ("serial, this process" if args.serial else f"Dask scheduler {args.scheduler}"
                 if args.scheduler else f"dask-jobqueue {args.cluster}, {args.workers or 1} job(s)"
                 if args.cluster else f"LocalCluster, {args.workers or os.cpu_count()} worker(s)")
        if jobs and not args.report_only:
            client = cluster = None
            if not args.serial:
                try:
                    client, cluster = sweep.connect(args.scheduler, args.cluster, args.workers,
                                                    spec.cluster)
                except sweep.ClusterError as e:
                    return error(str(e))
            print(f"hymem sweep: running {len(jobs)} jobs on {where}", flush=True)
            try:
                with outputs.deferred_interrupt("interrupted: recording the finished jobs, the "
                                                "others stay pending (Ctrl-C again to abort)") as stop:
                    stats = sweep.run_jobs(jobs, store, client=client, stop=stop)
                run = {**stats, "hashes": {j.hash for j in jobs}}
                if stats["lost"]:
                    status = error(f"the cluster cancelled {stats['lost']} job(s) (a lost "
                                   f"scheduler?); they stay pending: run again to resume", 1)
            except (OSError, TimeoutError, RuntimeError) as e:
                status = error(f"the Dask cluster failed ({type(e).__name__}: {e}); the finished "
                               f"jobs are in {db}: run again to resume", 1)
            finally:
                if client is not None:
                    client.close()
                if cluster is not None:
                    cluster.close()
        rows = store.rows(hashes)
        counts = store.counts(hashes)
    print()
    write = outputs.Writer("sweep")
    summary = sweep_report.write(spec, rows, counts, run, str(db), where, out, write)
    write.bytes(str(out / "results.csv"), sweep_store.csv_bytes(rows), "CSV")
    write(str(out / "results.parquet"), lambda f: f.write(sweep_store.parquet_bytes(rows)),
          "Parquet", errors=(OSError, ImportError))
    print(f"store: {db}")
    print()
    print(sweep_report.table_markdown(spec, summary))
    print(f"\njobs: {counts['done']} done, {counts['failed']} failed, {counts['pending']} pending"
          + (f"; this run: {run['ran']} in {run['wall_s']:.1f} s" if run else ""))
    if run and run.get("interrupted"):
        return write.status or outputs.EXIT_INTERRUPTED
    return status or write.status or (1 if counts["failed"] else 0)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hymem", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"hymem {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    d = sub.add_parser("demo", help="run the RTL primitives' testbenches on one simulator")
    d.add_argument("--sim", choices=simrun.SIMULATORS, default="verilator")
    d.add_argument("--seed", type=_seed_type(), default=1)
    d.set_defaults(func=_cmd_demo)
    dv = sub.add_parser("devices", help="sample the device models and compare with the published figures")
    dv.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    dv.add_argument("--plot", metavar="FILE.png",
                    help="also plot the level distributions (format from the extension: .png, .pdf, .svg, ...)")
    dv.add_argument("--seed", type=_seed_type(), default=1)
    dv.set_defaults(func=_cmd_devices, outputs=(("json", "--json", "file"), ("plot", "--plot", "plot")))
    t = sub.add_parser("train", help="train the float or hybrid learning reference on a dataset")
    _add_train_args(t)
    t.set_defaults(func=_cmd_train, outputs=(("json", "--json", "file"), ("record", "--record", "file")),
                   inputs=(("dataset", "--dataset"), ("features", "--features")))
    from .learn import transfer_learning as _tl

    fx = sub.add_parser("features", help="train a frozen float feature extractor for last-layer "
                                         "transfer learning (writes .npz)")
    fx.add_argument("--scenario", choices=_tl.SCENARIOS, required=True,
                    help="new-classes: source digits 0-4, target 5-9; domain-shift: target "
                         "images rotated, shifted and noisy")
    fx.add_argument("--seed", type=_seed_type(), default=1)
    fx.add_argument("--hidden", type=int_range(1, 4096), default=_tl.HIDDEN_DEFAULT,
                    help="hidden units of the extractor (default %(default)s)")
    fx.add_argument("--size", type=int_range(1, 1024), default=_tl.FEATURES_DEFAULT,
                    help="features (the last layer's inputs; default %(default)s)")
    fx.add_argument("--epochs", type=int_range(1, 1000), default=_tl.EXTRACTOR_EPOCHS)
    fx.add_argument("--out", metavar="FILE.npz", required=True)
    fx.set_defaults(func=_cmd_features, outputs=(("out", "--out", "file"),))
    from .bench import OUTPUT_FILES
    b = sub.add_parser("bench", help="standard comparison table and k sweep (docs/reference.md)")
    b.add_argument("--quick", action="store_true", help="short version: 2 epochs, 1 seed, 1-epoch sweep")
    b.add_argument("--seeds", type=int, default=None, help="seeds per table row (default 3; --quick: 1)")
    b.add_argument("--epochs", type=int, default=None, help="epochs of the table runs (default 10; --quick: 2)")
    b.add_argument("--sweep-epochs", type=int, default=None,
                   help="epochs of the k-sweep runs (default: --epochs; --quick: 1)")
    b.add_argument("--out", metavar="DIR", help=f"write {', '.join(OUTPUT_FILES)} there")
    b.set_defaults(func=_cmd_bench, outputs=(("out", "--out", "dir", OUTPUT_FILES),))
    c = sub.add_parser("cosim", help="train through the RTL co-simulation (the main job)")
    from .sim import cosim as _cosim

    cd = _cosim.CosimConfig()          # the one place the co-simulation's defaults live
    c.add_argument("--dataset", default=None, help=f"default {cd.dataset}")
    c.add_argument("--features", metavar="FILE.npz", default=None,
                   help="a frozen feature extractor (`hymem features`): learn the last layer of "
                        "its target task through the RTL (default arch FEATURES-CLASSES)")
    c.add_argument("--arch", default=None,
                   help=f"default {cd.arch} (the dataset's FEATURES and CLASSES around the same "
                        "hidden layer for another dataset, e.g. 4-16-3 for iris); with "
                        "--features FEATURES-CLASSES")
    c.add_argument("--samples", type=int, default=cd.samples,
                   help="train exactly N samples (default: whole epochs, see --epochs)")
    c.add_argument("--epochs", type=int, default=cd.epochs,
                   help="train N epochs (default 0: as many as fit in --time-budget)")
    c.add_argument("--time-budget", type=float, default=cd.time_budget_s, metavar="SECONDS",
                   help="wall time for the whole run when neither --samples nor --epochs is "
                        f"given (default {cd.time_budget_s:g})")
    c.add_argument("--emulated-seeds", type=int, default=_cosim.EMULATED_SEEDS, metavar="N",
                   help=f"seeds of the emulated host run beside the co-simulation (default "
                        f"{_cosim.EMULATED_SEEDS}; 0: none)")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:port) for the baselines instead of a "
                        "local worker")
    c.add_argument("--sim", choices=simrun.SIMULATORS, default="verilator")
    c.add_argument("--seed", type=int, default=cd.seed)
    c.add_argument("--k", type=int, default=cd.k, help="transfer every K samples")
    c.add_argument("--p", type=float, default=cd.p, help="Bernoulli update-mask probability")
    c.add_argument("--lr", type=float, default=cd.lr)
    c.add_argument("--lr-decay", type=float, default=cd.lr_decay, metavar="F",
                   help="learning rate of epoch e: LR * F**e (default %(default)s)")
    c.add_argument("--transfer", choices=["truncate", "round"], default=cd.transfer)
    c.add_argument("--skip-unchanged", action=argparse.BooleanOptionalAction,
                   default=cd.skip_unchanged, help="change-aware transfers")
    c.add_argument("--verify-retries", type=int, default=cd.verify_retries)
    c.add_argument("--stochastic-rounding", action=argparse.BooleanOptionalAction,
                   default=cd.stochastic_rounding)
    c.add_argument("--progress", type=int, default=cd.progress_every, help="0: no progress bar")
    c.add_argument("--waves", action="store_true", help="dump waves (large!)")
    c.add_argument("--json", metavar="FILE")
    c.set_defaults(func=_cmd_cosim, outputs=(("json", "--json", "file"),),
                   inputs=(("dataset", "--dataset"), ("features", "--features")))
    sw = sub.add_parser("sweep", help="a grid or random sweep of train or cosim runs on Dask, "
                                      "results in a store, a report")
    sw.add_argument("spec", metavar="SPEC", help="the sweep's TOML file (examples/sweep.toml; "
                                                  "format: hymem.sweep_spec)")
    sw.add_argument("--out", metavar="DIR", default=None,
                    help="the store, exports and report (default build/sweep/NAME)")
    sw.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run on an existing Dask cluster (default: a LocalCluster here)")
    from .sweep import CLUSTERS
    sw.add_argument("--cluster", choices=sorted(CLUSTERS),
                    help="start workers as batch jobs through dask-jobqueue (pip install "
                         "'hymem[cluster]'); keywords from the spec's [cluster] table")
    sw.add_argument("--workers", type=int_range(1, 10000), default=None, metavar="N",
                    help="local workers (default: one per core) or --cluster batch jobs (default 1)")
    sw.add_argument("--serial", action="store_true",
                    help="run the jobs one after another in this process (no Dask)")
    sw.add_argument("--retry-failed", action="store_true",
                    help="run the failed jobs of the store again (the done ones are never re-run)")
    sw.add_argument("--dry-run", action="store_true", help="list the jobs and stop")
    sw.add_argument("--report-only", action="store_true",
                    help="run nothing: write the report and exports from the store")
    sw.set_defaults(func=_cmd_sweep)
    return ap


def subcommand_parser(name: str) -> argparse.ArgumentParser:
    """A fresh parser of one subcommand (``hymem sweep`` checks its jobs' options with it)."""
    ap = build_parser()
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        outputs.check(args)       # every output path, before any work (hymem.outputs)
    except outputs.OutputError as e:
        print(f"hymem {args.command}: error: {e}", file=sys.stderr)
        return outputs.EXIT_ERROR
    try:
        with outputs.pipe_safe_stdout():     # `hymem ... | head` must not cost the files
            return args.func(args)
    except KeyboardInterrupt:
        print(f"\nhymem {args.command}: interrupted", file=sys.stderr)
        return outputs.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
