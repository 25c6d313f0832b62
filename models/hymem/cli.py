"""The ``hymem`` command line.

    hymem demo [--sim icarus|verilator]   run the RTL primitives' testbenches and print a table
    hymem devices [--json FILE] [--plot FILE.png]
                                          sample the device models, compare with the paper

Later subcommands: devices, train, cosim, bench.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import __version__, simrun


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
    import json

    from . import device_report

    fig = device_report.device_figures(seed=args.seed)
    print(device_report.format_table(fig))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(device_report.public(fig), f, indent=2)
            f.write("\n")
        print(f"\nJSON: {args.json}")
    if args.plot:
        device_report.plot(fig, args.plot)
        print(f"plot: {args.plot}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hymem", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"hymem {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    d = sub.add_parser("demo", help="run the RTL primitives' testbenches on one simulator")
    d.add_argument("--sim", choices=simrun.SIMULATORS, default="verilator")
    d.add_argument("--seed", type=int, default=1)
    d.set_defaults(func=_cmd_demo)
    dv = sub.add_parser("devices", help="sample the device models and compare with the published figures")
    dv.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    dv.add_argument("--plot", metavar="FILE.png", help="also plot the level distributions")
    dv.add_argument("--seed", type=int, default=1)
    dv.set_defaults(func=_cmd_devices)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
