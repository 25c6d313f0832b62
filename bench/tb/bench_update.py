"""cocotb bench module: co-simulated update of a full default array (bench/bench_cosim.py).

Not a test (the file is not named test_*.py, so pytest never collects it): the benchmark
script runs it through hymem.sim.simrun on tb/hymem_update_engine's harness and reads the JSON
it writes. The configuration comes as JSON in HYMEM_BENCH:

  samples   samples timed (after one untimed warm-up sample)
  timing    "fast" (4 MHz clock, 8-cycle FeCAP pulses), "nominal" (100 MHz, 200 cycles) or
            "cosim" (hymem.host.firmware.COSIM_TIMING: 1 MHz, 2-cycle pulses, as `make sim`)
  model     "macro": the Python macro model (hymem.sim.macro_port.MacroPortModel) on the FeCAP
            port, as in the regression; "none": no model at all, fe_rdata_i held at 0 (the
            cost of the simulator and of this driver alone)
  seed      NumPy seed of the vectors and the array
  out       where to write the JSON result
  profile   optional path: cProfile the timed loop, write the pstats there

Every sample: random x (n_in = 64, 30 % zeros) and e (n_out = 16): a tile of all 1,024
synapses, p = 0.2, round-half-up increments, truncation codes, skip_zero (the published
update). With the model, the final hidden weights, flags and counters are checked bit for
bit against hymem.digital.engine after the timed loop (outside the timing). The result also gives
the update engine's own cycles per timed sample (``engine_cycles``: the edge that samples
start_i to the one after which done_o is 1), deterministic for a seed.
"""

from __future__ import annotations

import cProfile
import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from hymem.digital import engine
from hymem.host import firmware
from hymem.analog.array import HybridArray
from hymem.sim import tbkit
from hymem.sim.macro_port import MacroPortModel

TIMINGS = {
    # clock period (ns) and the harness's FeCAP timing inputs (cycles), docs/macro_port.md
    "fast": (250, dict(t_setup_i=1, t_pulse_i=8, t_sense_i=6, t_hold_i=1, t_gap_i=1)),
    "nominal": (10, dict(t_setup_i=2, t_pulse_i=200, t_sense_i=150, t_hold_i=2, t_gap_i=2)),
    "cosim": (firmware.COSIM_TIMING_CLK_NS,
              dict(t_setup_i=firmware.COSIM_TIMING["T_FE0"]["SETUP"],
                   t_pulse_i=firmware.COSIM_TIMING["T_FE0"]["PULSE"],
                   t_sense_i=firmware.COSIM_TIMING["T_FE1"]["SENSE"],
                   t_hold_i=firmware.COSIM_TIMING["T_FE1"]["HOLD"],
                   t_gap_i=firmware.COSIM_TIMING["T_FE2"]["GAP"])),
}

N_IN, N_OUT = 64, 16
UPDATE = engine.UpdateConfig(lr_mult=160, lr_shift=14, p16=13107, stoch_round=False,
                             code_round=False, skip_zero=True)


def _pack(v: np.ndarray, words: int) -> list[int]:
    b = np.zeros(4 * words, dtype=np.uint8)
    b[: len(v)] = np.asarray(v, dtype=np.int64) & 0xFF
    return [int.from_bytes(b[4 * w: 4 * w + 4].tobytes(), "little") for w in range(words)]


@cocotb.test()
async def bench_update(dut):
    cfg = json.loads(os.environ["HYMEM_BENCH"])
    n, timing, model = int(cfg["samples"]), cfg["timing"], cfg["model"]
    clk_ns, regs = TIMINGS[timing]
    p = tbkit.params()
    geom = engine.Geometry(lines=p["Lines"], slots=p["Slots"], mag_width=p["MagWidth"],
                           code_bits=p["CodeBits"], fecap_rows=p["FecapRows"])
    rng = np.random.default_rng(int(cfg["seed"]))
    d = dut
    for name in ("x_we_i", "e_we_i", "start_i", "abort_i", "seed_load_i", "cnt_clear_i",
                 "x_waddr_i", "e_waddr_i", "vec_wdata_i", "seed_i"):
        getattr(d, name).value = 0
    for k, v in regs.items():
        getattr(d, k).value = v
    d.cfg_n_in_i.value, d.cfg_n_out_i.value = N_IN, N_OUT
    d.cfg_lr_mult_i.value, d.cfg_lr_shift_i.value, d.cfg_p16_i.value = (
        UPDATE.lr_mult, UPDATE.lr_shift, UPDATE.p16)
    d.cfg_stoch_round_i.value = int(UPDATE.stoch_round)
    d.cfg_code_round_i.value = int(UPDATE.code_round)
    d.cfg_skip_zero_i.value = int(UPDATE.skip_zero)

    array = port = None
    if model == "macro":
        array = HybridArray(geom, rng=int(rng.integers(2**31)), woken=True)
        array.backdoor.poke_hidden(rng.integers(-300, 301, size=(geom.slots, geom.lines)))
        kw = {} if cfg.get("mon", True) else {"mon": None}     # port monitor or the pins
        port = MacroPortModel(d, array, watch=cfg.get("watch"), **kw).start()
    elif model == "none":
        d.fe_rdata_i.value = 0
    else:
        raise ValueError(f"model must be 'macro' or 'none'; got {model!r}")
    ref = engine.EngineState(N_IN, N_OUT, geom)          # PRNG at the RTL's reset seed
    if array is not None:
        ref.h[0] = array.backdoor.hidden_weights()
        ref.flags[0] = array.backdoor.flags()

    Clock(d.clk_i, clk_ns, unit="ns").start(start_high=False)
    await RisingEdge(d.clk_i)
    await tbkit.reset(d.clk_i, d.rst_ni)

    vectors = []
    for _ in range(n + 1):
        x = rng.integers(-128, 128, N_IN)
        x[rng.random(N_IN) < 0.3] = 0
        vectors.append((x, rng.integers(-128, 128, N_OUT)))
    xw, ew = (N_IN + 3) // 4, (N_OUT + 3) // 4
    engine_cycles = []

    async def sample(x, e):
        for w, word in enumerate(_pack(x, xw)):
            d.x_we_i.value, d.x_waddr_i.value, d.vec_wdata_i.value = 1, w, word
            await RisingEdge(d.clk_i)
        d.x_we_i.value = 0
        for w, word in enumerate(_pack(e, ew)):
            d.e_we_i.value, d.e_waddr_i.value, d.vec_wdata_i.value = 1, w, word
            await RisingEdge(d.clk_i)
        d.e_we_i.value = 0
        d.start_i.value = 1
        await RisingEdge(d.clk_i)
        t0 = cocotb.simtime.get_sim_time("ns")
        d.start_i.value = 0
        if int(d.done_o.value) == 0:
            await RisingEdge(d.done_o)
        engine_cycles.append(round((cocotb.simtime.get_sim_time("ns") - t0) / clk_ns))
        await FallingEdge(d.clk_i)

    await sample(*vectors[0])                             # warm-up (imports, first calls)
    await ClockCycles(d.clk_i, 2)
    engine_cycles.clear()
    w0 = port.stats() if port else {"wakeups": 0, "py_time_s": 0.0}
    sim0 = cocotb.simtime.get_sim_time("ns")
    prof = cProfile.Profile() if cfg.get("profile") else None
    cpu0, t0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    for x, e in vectors[1:]:
        await sample(x, e)
    if prof:
        prof.disable()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    sim_ns = cocotb.simtime.get_sim_time("ns") - sim0
    w1 = port.stats() if port else {"wakeups": 0, "py_time_s": 0.0}

    checked = False
    if array is not None:
        for x, e in vectors:
            ref.apply_sample(x, e, UPDATE)
        await ClockCycles(d.clk_i, 2)
        h = array.backdoor.hidden_weights()
        assert (h == ref.h[0]).all(), f"hidden weights differ at {np.argwhere(h != ref.h[0])[:5].tolist()}"
        assert (array.backdoor.flags() == ref.flags[0]).all(), "flags differ"
        c = ref.counters.as_dict(0)
        for k, sig in (("samples", "cnt_samples_o"), ("fe_reads", "cnt_fe_reads_o"),
                       ("fe_writes", "cnt_fe_writes_o"), ("slots_skipped", "cnt_slots_skipped_o")):
            assert tbkit.u(getattr(d, sig)) == c[k], f"counter {k}"
        port.check_quiescent()
        assert not port.errors, port.errors[:3]
        checked = True

    fe_ops = tbkit.u(d.cnt_fe_reads_o) + tbkit.u(d.cnt_fe_writes_o)
    res = {"samples": n, "timing": timing, "model": model, "sim": tbkit.sim_name(),
           "clk_ns": clk_ns, "wall_s": wall, "cpu_s": cpu, "sim_ns": sim_ns,
           "cycles": sim_ns / clk_ns, "wakeups": w1["wakeups"] - w0["wakeups"],
           "model_py_s": w1["py_time_s"] - w0["py_time_s"],
           "fe_row_ops_total": fe_ops, "samples_total": n + 1, "checked": checked,
           "watch": port.watch if port else None,
           "syn_per_cycle": p.get("SynPerCycle", 1), "engine_cycles": engine_cycles,
           "port_monitor": port.stats()["port_monitor"] if port else None}
    if prof:
        prof.dump_stats(cfg["profile"])
    with open(cfg["out"], "w") as f:
        json.dump(res, f)
    dut._log.info("bench: %s", res)
