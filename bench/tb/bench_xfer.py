"""cocotb bench module: one full-array transfer per mode, co-simulated (bench/bench_cosim.py).

Not a test (not named test_*.py: pytest never collects it). The benchmark script runs it
through hymem.sim.simrun on tb/hymem_xfer_engine's harness with the macro model on the whole
port, and reads the JSON it writes. Configuration as JSON in HYMEM_BENCH:

  weights   .npz with the array's hidden weights ``h`` (S, L), change flags ``flags`` (S, L)
            and its tile ``n_in``, ``n_out`` (the script takes them from a reference run)
  modes     list of [name, change_aware, code_round, verify_max]
  timing    "fast" (4 MHz clock, 8-cycle FeCAP pulses, 40-cycle transfer pulse) or
            "nominal" (100 MHz, 200 / 1000 cycles)
  seed      seed of the array model
  out       where to write the JSON result

Before each mode the hidden weights and flags are poked back, so every mode transfers the
same state. Each transfer is checked against hymem.digital.engine with the replay scoreboard
(hymem.sim.scoreboard) after it is timed.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from hymem.digital import engine
from hymem.analog.adc import default_verify_windows
from hymem.analog.array import HybridArray
from hymem.sim import tbkit
from hymem.sim.macro_port import MacroPortModel
from hymem.sim.scoreboard import OpLog, ReplayProgrammer

TIMINGS = {
    # clock period (ns) and the harness's timing inputs (cycles), docs/macro_port.md and the
    # register reset values (rtl/hymem_regs.rdl) for nominal
    "fast": (250, dict(t_fe_setup_i=1, t_fe_pulse_i=8, t_fe_sense_i=6, t_fe_hold_i=1,
                       t_fe_gap_i=1, t_mr_reset_i=4, t_mr_set_i=4, t_mr_form_i=1200,
                       t_mr_read_i=2, t_mr_adc_i=1, t_mr_pre_i=1, t_mr_xfer_i=40,
                       t_mr_gap_i=1)),
    "nominal": (10, dict(t_fe_setup_i=2, t_fe_pulse_i=200, t_fe_sense_i=150, t_fe_hold_i=2,
                         t_fe_gap_i=2, t_mr_reset_i=100, t_mr_set_i=100, t_mr_form_i=30000,
                         t_mr_read_i=20, t_mr_adc_i=10, t_mr_pre_i=10, t_mr_xfer_i=1000,
                         t_mr_gap_i=2)),
}

COUNTERS = dict(transfers="cnt_transfers_o", xfer_programmed="cnt_programmed_o",
                xfer_skipped="cnt_skipped_o", mr_resets="cnt_resets_o", mr_sets="cnt_sets_o",
                vfy_reads="cnt_vfy_reads_o", vfy_retries="cnt_retries_o",
                failures="cnt_failures_o", fe_reads="cnt_fe_reads_o", fe_writes="cnt_fe_writes_o")


@cocotb.test()
async def bench_xfer(dut):
    cfg = json.loads(os.environ["HYMEM_BENCH"])
    clk_ns, regs = TIMINGS[cfg["timing"]]
    p = tbkit.params()
    geom = engine.Geometry(lines=p["Lines"], slots=p["Slots"], mag_width=p["MagWidth"],
                           code_bits=p["CodeBits"], fecap_rows=p["FecapRows"])
    with np.load(cfg["weights"]) as z:
        h, flags = z["h"].astype(np.int64), z["flags"].astype(bool)
        n_in, n_out = int(z["n_in"]), int(z["n_out"])
    d = dut
    array = HybridArray(geom, rng=int(cfg["seed"]), woken=True)
    log = OpLog(array)
    for n in ("start_xfer_i", "start_form_i", "abort_i", "cnt_clear_i", "fail_clear_i"):
        getattr(d, n).value = 0
    for k, v in regs.items():
        getattr(d, k).value = v
    lo, hi = default_verify_windows()
    d.cfg_vfy_lo_i.value = int(sum(int(v) << (8 * m) for m, v in enumerate(lo)))
    d.cfg_vfy_hi_i.value = int(sum(int(v) << (8 * m) for m, v in enumerate(hi)))
    d.cfg_form_target_i.value = 40
    d.cfg_form_max_i.value = 8
    d.cfg_n_in_i.value, d.cfg_n_out_i.value = n_in, n_out
    port = MacroPortModel(d, array).start()
    Clock(d.clk_i, clk_ns, unit="ns").start(start_high=False)
    await RisingEdge(d.clk_i)
    await tbkit.reset(d.clk_i, d.rst_ni)

    results = []
    for name, ca, cr, vm in cfg["modes"]:
        tcfg = engine.TransferConfig(bool(ca), bool(cr), int(vm))
        d.cfg_change_aware_i.value, d.cfg_code_round_i.value = int(ca), int(cr)
        d.cfg_verify_max_i.value = int(vm)
        array.backdoor.poke_hidden(h)
        array.backdoor.poke_flags(flags)
        d.cnt_clear_i.value = 1
        await RisingEdge(d.clk_i)
        d.cnt_clear_i.value = 0
        await FallingEdge(d.clk_i)
        ref = engine.EngineState(n_in, n_out, geom)
        ref.h[0], ref.flags[0] = h, flags
        log.ops.clear()
        s0, w0 = cocotb.simtime.get_sim_time("ns"), port.stats()
        t0 = time.perf_counter()
        d.start_xfer_i.value = 1
        await RisingEdge(d.clk_i)
        d.start_xfer_i.value = 0
        if int(d.done_o.value) == 0:
            await RisingEdge(d.done_o)
        wall = time.perf_counter() - t0
        sim_ns = cocotb.simtime.get_sim_time("ns") - s0
        w1 = port.stats()
        await ClockCycles(d.clk_i, 2, rising=False)
        # scoreboard (outside the timing): same operations, counters, flags as hymem.digital.engine
        prog = ReplayProgrammer(log.ops, geom.slots, geom.lines)
        ref.transfer(tcfg, prog)
        prog.done()
        got = {k: tbkit.u(getattr(d, v)) for k, v in COUNTERS.items()}
        want = ref.counters.as_dict(0)
        bad = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
        assert not bad, f"{name}: counters RTL vs reference {bad}"
        assert (array.backdoor.flags() == ref.flags[0]).all(), f"{name}: flags differ"
        assert (array.backdoor.hidden_weights() == h).all(), f"{name}: hidden weights changed"
        port.check_quiescent()
        results.append({"mode": name, "change_aware": bool(ca), "code_round": bool(cr),
                        "verify_max": int(vm), "wall_s": wall, "sim_ns": sim_ns,
                        "cycles": sim_ns / clk_ns, "wakeups": w1["wakeups"] - w0["wakeups"],
                        "model_py_s": w1["py_time_s"] - w0["py_time_s"], "counters": got,
                        "mr_ops": len(log.ops)})
        dut._log.info("bench %s: %s", name, results[-1])
    assert not port.errors, port.errors[:3]
    with open(cfg["out"], "w") as f:
        json.dump({"sim": tbkit.sim_name(), "timing": cfg["timing"], "clk_ns": clk_ns,
                   "n_in": n_in, "n_out": n_out, "flags_set": int(flags.sum()),
                   "results": results}, f)
