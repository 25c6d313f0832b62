"""The cocotb side of the co-simulation (``hymem cosim``, ``make sim``): the test that runs
inside the simulator. The host side (configuration, the run plan, building and starting the
simulation, the float and emulated runs beside it, the results) is :mod:`hymem.sim.cosim`,
whose module doc describes the scoreboard; this file is the bench: one :class:`Array` per
``hymem_top`` of ``tb_hymem_cosim.sv`` (APB burst master, firmware driver, transaction-level
macro model), the training loop, and the :class:`Checker` that compares every sample and
transfer with the shadow reference."""

from __future__ import annotations

import gc
import json
import os
import time
from dataclasses import asdict

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from hymem.analog.array import HybridArray, msb_rows
from hymem.analog.programmer import physical_factory
from hymem.digital import engine
from hymem.host.apb import ApbBurstMaster
from hymem.host.firmware import COSIM_TIMING, COSIM_TIMING_CLK_NS, Hymem
from hymem.learn import reference
from hymem.sim import tbkit
from hymem.sim.cosim import (DEVICE_DRAWS, CosimConfig, Plan, _bar, _log, device_draws,
                             hdl_clock, load_data)
from hymem.sim.macro_tlm import MacroTlmModel
from hymem.sim.scoreboard import LayerReplayProgrammer, OpLog


class Array:
    """One co-simulated controller: its APB driver, macro model and operation log."""

    def __init__(self, dut, k: int, layer: int, tile: int, geom, seed: int):
        self.k, self.layer, self.tile = k, layer, tile
        scope = dut.gen_array[k]
        self.bus = ApbBurstMaster(scope.u_bm)
        self.fw = Hymem(self.bus, name=f"array{k}")
        # keyed devices: the array's seed identifies them, as in the shadow's programmer
        self.array = HybridArray(geom, rng=seed & 0x7FFF_FFFF, key=seed, woken=True)
        self.log = OpLog(self.array)
        self.port = MacroTlmModel(scope, self.array)
        self.irq = scope.irq
        self.lr = None
        self.scope = scope
        self.transferred = False

    async def command(self, *names: str) -> None:
        """Issue a command to wait on: DONE is cleared first, since every operation that ends
        with nothing queued (a read-out too) sets it."""
        await self.fw.clear_irq("DONE")
        await self.fw.command(*names)

    async def wait_done(self) -> None:
        """Wait for the DONE interrupt (nothing runs or is queued)."""
        if not int(self.irq.value):
            await RisingEdge(self.irq)

    async def sample(self, xq, eq, lr_mult: int, lr_shift: int) -> None:
        """One sample in one access list: the learning rate (when it changed), x, e, clear
        DONE, CMD.SAMPLE, wait for the interrupt, then SAMPLES_SINCE, which is 0 when the
        controller transferred after this sample (every K-th): ``transferred``."""
        fw = self.fw
        ops = []
        if self.lr != (lr_mult, lr_shift):
            ops.append(fw.op_write("LR", MULT=lr_mult, SHIFT=lr_shift))
            self.lr = (lr_mult, lr_shift)
        ops += fw.vector_ops("XBUF", xq) + fw.vector_ops("EBUF", eq)
        ops += [fw.op_write("IRQ_STATUS", DONE=1), fw.op_write("CMD", SAMPLE=1), ("irq",),
                fw.op_read("SAMPLES_SINCE")]
        since = (await fw.run(ops))[-1]
        self.transferred = fw.op_field("SAMPLES_SINCE", "COUNT", since) == 0


async def _all(coros):
    tasks = [cocotb.start_soon(c) for c in coros]
    for t in tasks:
        await t


@cocotb.test()
async def cosim(dut):
    t_start = time.perf_counter()
    t_wall = time.time()
    cfg = CosimConfig(**json.loads(os.environ.get("HYMEM_COSIM", "{}")))
    opts = cfg.options()
    data = load_data(cfg)
    factory = physical_factory(keyed=True)
    net = reference.Network(opts, factory)                  # host + shadow reference
    _log(f"cosim: dataset and reference network ready in {time.perf_counter() - t_start:.1f} s")
    layers = net.layers
    geom = net.geom
    n_arrays = sum(l.tiling.n for l in layers)
    assert len(dut.irq_o) == n_arrays, (f"the harness has {len(dut.irq_o)} arrays; "
                                        f"{cfg.arch} needs {n_arrays}")
    arrays: list[Array] = []
    for li, layer in enumerate(layers):
        for t in range(layer.tiling.n):
            arrays.append(Array(dut, len(arrays), li, t, geom,
                                int(reference.array_seed(opts.seed, li, t))))
    for a in arrays:
        a.port.start()
    if hdl_clock(os.environ.get("HYMEM_SIM", "")):   # the harness's: its ClkPeriodNs
        await RisingEdge(dut.clk_i)
    else:
        await tbkit.start_clock(dut.clk_i, COSIM_TIMING_CLK_NS, impl="gpi")
    await tbkit.reset(dut.clk_i, dut.rst_ni)

    # ---------------------------------------------------------------- set-up
    # The initial hidden weights are preloaded through the macro model's backdoor (the
    # controller has no host path that writes FeCAP rows); everything after is physical.
    t0 = time.perf_counter()
    for a in arrays:
        layer = layers[a.layer]
        tile = layer.tiling.tiles[a.tile]
        st = layer.state
        hw = await a.fw.identify()
        assert (hw.lines, hw.slots) == (geom.lines, geom.slots)
        await a.fw.configure(n_in=tile.cols, n_out=tile.rows, lr_mult=128, lr_shift=8,
                             p16=layer.cfg_base.p16, stoch_round=layer.cfg_base.stoch_round,
                             code_round=layer.cfg_base.code_round, skip_zero=True,
                             change_aware=layer.tcfg.change_aware,
                             verify_max=layer.tcfg.verify_max, k=cfg.k,
                             seed=int(layer.seeds[a.tile]), timing=COSIM_TIMING)
        await a.fw.write("IRQ_ENABLE", DONE=1)
        # the macro model is built woken (its devices are the shadow's, which models a woken
        # array): declared, not cycled (a fresh array would run Hymem.start's wake-up)
        await a.fw.start(woken=True)
        a.array.backdoor.poke_hidden(st.h[a.tile])
        a.array.backdoor.poke_flags(st.used[a.tile])
    # the shadow starts from the same state: every synapse flagged, counters at zero, and
    # fresh (formed, RESET) devices, which the replay of the RTL's first transfer programs
    for li, layer in enumerate(layers):
        layer.state.flags[:] = layer.state.used
        layer.state.counters = engine.Counters.zeros(layer.state.n)
        layer.programmer = factory(layer.tiling.n, geom, np.random.default_rng([opts.seed, 3, li]),
                                   keys=reference.layer_keys(opts.seed, li, layer.tiling.n))
    await _all(a.command("TRANSFER") for a in arrays)
    await _all(a.wait_done() for a in arrays)
    check = Checker(dut, arrays, layers)
    await check.transfer()
    _log(f"cosim: {n_arrays} arrays ({cfg.arch}) programmed in {time.perf_counter() - t0:.1f} s")

    # --------------------------------------------------------------- training
    xtr, ytr = data.x_train, data.y_train
    n_train = len(ytr)
    plan = Plan(cfg, n_train, cfg.t0 or t_wall)
    bar = _bar(plan.total, cfg.progress_every)
    correct = done = 0
    curve: list[tuple[int, float]] = []          # (samples, test accuracy) after each epoch
    prof = None
    if os.environ.get("HYMEM_PROFILE"):          # cProfile of the training loop (debugging)
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    # Everything built so far (the simulator's handles, the models, the data) lives to the
    # end: out of the cyclic collector's sight, its full collections stop walking it
    gc.collect()
    gc.freeze()
    t_train = time.perf_counter()
    cpu_train = time.process_time()
    epoch = 0
    while plan.more(epoch, done):
        t_epoch = time.perf_counter()
        net.start_epoch(epoch)
        order = reference.epoch_order(net.rng_order, n_train)
        if cfg.samples:
            order = order[: cfg.samples - done]
        for idx in order:
            t = done
            ok, pairs = net.gradients(xtr[idx], int(ytr[idx]))
            correct += ok
            jobs = []
            for li, h, e in pairs:
                layer = layers[li]
                xq, eq, ucfg = layer.registers(h, e)
                layer.updater.apply_layer(xq, eq, layer.tiling.x_off, layer.tiling.e_off, ucfg)
                for a in arrays:
                    if a.layer == li:
                        tl = layer.tiling.tiles[a.tile]
                        jobs.append(a.sample(xq[tl.col0: tl.col0 + tl.cols],
                                             eq[tl.row0: tl.row0 + tl.rows],
                                             ucfg.lr_mult, ucfg.lr_shift))
            await _all(jobs)
            net.samples += 1
            done += 1
            if t == cfg.corrupt_at:
                bd = arrays[0].array.backdoor
                h = bd.hidden_weights()
                h[0, 0] = h[0, 0] - 1 if h[0, 0] > 0 else h[0, 0] + 1
                bd.poke_hidden(h)
                _log(f"cosim: sample {t}: hidden weight (slot 0, line 0) of array 0 changed on purpose")
            try:
                moved = {a.transferred for a in arrays}
                if len(moved) > 1:
                    raise AssertionError("the arrays disagree on whether they transferred after "
                                         "this sample (SAMPLES_SINCE)")
                if moved.pop():                      # the controllers transferred by themselves
                    net.transfers += 1
                    await check.transfer()
                check.sample(t)
            except AssertionError as e:
                mismatch = f"sample {t}: {e}"
                _log(f"cosim: STATE MISMATCH at {mismatch}")
                if cfg.json_out:
                    with open(cfg.json_out, "w") as f:
                        json.dump(dict(dataset=cfg.dataset, arch=cfg.arch, samples=t + 1,
                                       state_match=False, mismatch=mismatch, options=asdict(cfg)),
                                  f, indent=2)
                raise
            if plan.calibrate(done, time.perf_counter() - t_train) and bar is not None:
                bar.total = plan.total
                bar.refresh()
            if bar is not None:
                bar.set_postfix_str(f"epoch {epoch + 1}/{plan.epochs or '?'}, "
                                    f"train acc {correct / done:.3f}", refresh=False)
                bar.update(1)
        epoch += 1
        if len(order) == n_train:                 # a whole epoch: the host's weights now
            for li, layer in enumerate(layers):
                layer.w = check.rtl_w[li]
            curve.append((done, net.evaluate(data.x_test, data.y_test)))
            _log(f"cosim: epoch {epoch}: {done} samples, test accuracy (RTL) {curve[-1][1]:.4f}")
            if plan.extend(epoch, time.perf_counter() - t_epoch) and bar is not None:
                bar.total = plan.total
                bar.refresh()
    if bar is not None:
        bar.close()
    n = done
    train_s = time.perf_counter() - t_train
    train_cpu_s = time.process_time() - cpu_train
    if prof is not None:
        prof.disable()
        prof.dump_stats(os.environ["HYMEM_PROFILE"])
        _log(f"cosim: profile of the training loop in {os.environ['HYMEM_PROFILE']}")

    # ------------------------------------------------------------- accuracy
    for li, layer in enumerate(layers):
        layer.w = check.rtl_w[li]
    t_eval = time.perf_counter()
    acc = net.evaluate(data.x_test, data.y_test)
    for li, layer in enumerate(layers):
        layer.w = check.ref_w[li]         # the shadow's read-out after the same last transfer
    ref_acc = net.evaluate(data.x_test, data.y_test)
    draws = device_draws(net, data, DEVICE_DRAWS)
    _log(f"cosim: evaluation and device draws in {time.perf_counter() - t_eval:.1f} s")
    # the one modelled difference: FeCAP wear of the MSB units by the update's row operations
    msb_diff = 0.0
    for a in arrays:
        rows = msb_rows(geom, a.array.transfer.total_units)       # (S, U)
        w_rtl = a.array.fe.window_v((rows,))                             # (S, U, L)
        w_ref = layers[a.layer].programmer.msb.window_v((a.tile,))   # (S, U, L)
        msb_diff = max(msb_diff, float(np.max(np.abs(w_rtl / w_ref - 1.0))))
    counters = await check.counters_total()
    stats = [a.port.stats() for a in arrays]
    res = dict(dataset=cfg.dataset, arch=cfg.arch, samples=n, test_accuracy=acc,
               reference_test_accuracy=ref_acc, state_match=True,
               accuracy_diff=acc - ref_acc,
               accuracy_within_0p5=bool(abs(acc - ref_acc) <= 0.005),
               adc_codes_identical=check.codes_same / max(check.codes_total, 1),
               adc_codes_compared=check.codes_total,
               adc_codes_max_diff=check.codes_max_diff,
               msb_window_rel_diff_max=msb_diff,
               reference_device_draws=draws,
               reference_device_mean=float(np.mean(draws)),
               reference_device_std=float(np.std(draws)),
               accuracy_within_device_spread=bool(min(draws) <= acc <= max(draws)),
               epochs=plan.epochs, epoch_test_accuracy=[a for _, a in curve],
               curve_samples=[c for c, _ in curve],
               train_accuracy=correct / n, samples_per_s=n / train_s, train_time_s=train_s,
               train_cpu_s=train_cpu_s, samples_per_cpu_s=n / train_cpu_s,
               arrays=n_arrays, transfers=net.transfers + 1, counters=counters,
               sim_time_us=cocotb.simtime.get_sim_time("us"),
               macro_model_py_s=sum(s["py_time_s"] for s in stats),
               macro_model=[{k: v for k, v in st.items()} for st in stats],
               bus_bursts=sum(a.bus.bursts for a in arrays),
               bus_ops=sum(a.fw.bus_ops for a in arrays), options=asdict(cfg))
    _log(f"cosim: the shadow's final hidden weights programmed into {DEVICE_DRAWS} fresh "
         f"device draws: test accuracy {np.mean(draws):.4f} +- {np.std(draws):.4f} "
         f"(min {min(draws):.4f}, max {max(draws):.4f})")
    _log(f"cosim: read-outs: {check.codes_same} of {check.codes_total} ADC codes identical to "
         f"the reference's ({100 * res['adc_codes_identical']:.3f} %), largest difference "
         f"{check.codes_max_diff} code(s); MSB FeCAP windows differ by at most "
         f"{msb_diff:.2e} (relative; the update's FeCAP wear, not in the reference)")
    _log(f"cosim: done: test accuracy {acc:.4f} (reference {ref_acc:.4f}), "
         f"{n / train_s:.1f} samples/s, hidden weights, flags, memristor operations and "
         f"counters matched the reference throughout")
    if cfg.json_out:
        with open(cfg.json_out, "w") as f:
            json.dump(res, f, indent=2)




class Checker:
    """Compares the co-simulated arrays with the shadow reference; reads weights back."""

    COUNTER_MAP = dict(samples="SAMPLES", slots_skipped="SLOTS_SKIPPED", fe_reads="FE_READS",
                       fe_writes="FE_WRITES", transfers="TRANSFERS",
                       xfer_programmed="XFER_PROGRAMMED", xfer_skipped="XFER_SKIPPED",
                       mr_resets="MR_RESETS", mr_sets="MR_SETS", vfy_reads="VFY_READS",
                       vfy_retries="VFY_RETRIES", failures="FAILURES")

    def __init__(self, dut, arrays, layers):
        self.dut, self.arrays, self.layers = dut, arrays, layers
        self.rtl_w = [None] * len(layers)
        self.ref_w = [None] * len(layers)
        self.codes_same = self.codes_total = self.codes_max_diff = 0

    def sample(self, t: int) -> None:
        for a in self.arrays:
            a.port.sync()
            st = self.layers[a.layer].state
            h = a.array.backdoor.hidden_weights()
            if not (h == st.h[a.tile]).all():
                diff = np.argwhere(h != st.h[a.tile])
                bad = diff[0]
                raise AssertionError(
                    f"sample {t}: array {a.k} (layer {a.layer}, tile {a.tile}): {len(diff)} hidden "
                    f"weights differ from the reference, in slots {sorted(set(diff[:, 0].tolist()))}; "
                    f"first at slot {bad[0]} line {bad[1]}: RTL {h[tuple(bad)]}, reference "
                    f"{st.h[a.tile][tuple(bad)]}")
            f = a.array.backdoor.flags()
            if not (f == st.flags[a.tile]).all():
                raise AssertionError(f"sample {t}: array {a.k}: change flags differ from the reference")

    async def transfer(self) -> None:
        """After a transfer in the RTL: the reference transfers with the RTL's logs, then every
        array's counters are compared and its memristors read out."""
        for a in self.arrays:
            a.port.sync()
        for li, layer in enumerate(self.layers):
            mine = [a for a in self.arrays if a.layer == li]
            prog = LayerReplayProgrammer([a.log.take() for a in mine], layer.geom.slots,
                                         layer.geom.lines, inner=layer.programmer)
            layer.state.transfer(layer.tcfg, prog)
            prog.done()
        await _all(self._counters(a) for a in self.arrays)
        await _all(self._readout(a) for a in self.arrays)
        for li, layer in enumerate(self.layers):
            codes = np.stack([a.codes for a in self.arrays if a.layer == li])
            self.rtl_w[li] = layer.weights_from_adc(codes)
            # the shadow reads its own (keyed) devices out the same way
            ref = layer.programmer.read_adc()
            self.ref_w[li] = layer.weights_from_adc(ref)
            d = np.abs(codes.astype(np.int64) - ref.astype(np.int64))
            self.codes_same += int((d == 0).sum())
            self.codes_total += d.size
            self.codes_max_diff = max(self.codes_max_diff, int(d.max()))
            layer.w = self.rtl_w[li]          # the host computes with what it read
        for a in self.arrays:
            a.port.check_quiescent()

    async def _counters(self, a) -> None:
        ref = self.layers[a.layer].state.counters.as_dict(a.tile)
        got = await a.fw.counters()
        a.counters = got
        for k, reg in self.COUNTER_MAP.items():
            if got[reg.lower()] != ref[k]:
                raise AssertionError(f"array {a.k}: counter {reg}: RTL {got[reg.lower()]}, "
                                     f"reference {ref[k]}")
        await a.fw.check_errors()

    async def _readout(self, a) -> None:
        codes = await a.fw.read_conductance_codes()           # (S, 2, L)
        a.port.sync()
        a.codes = codes.reshape(-1, codes.shape[-1]).astype(np.uint8)
        # the read-out must return what the macro's ADC gave
        reads = [op for op in a.log.take() if op["kind"] == "read"]
        adc = np.stack([op["adc"] for op in reads]).reshape(codes.shape)
        if not (adc == codes).all():
            raise AssertionError(f"array {a.k}: READOUT window differs from the ADC codes")

    async def counters_total(self) -> dict:
        total: dict[str, int] = {}
        for a in self.arrays:
            got = await a.fw.counters()
            for k, v in got.items():
                total[k] = total.get(k, 0) + v
        return total
