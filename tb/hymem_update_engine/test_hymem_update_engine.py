"""hymem_update_engine with hymem_fecap_seq and the vector buffers, on the FeCAP macro model.

The harness (tb_hymem_update_engine.sv) exposes the FeCAP port; the Python array model
(hymem.analog.array.HybridArray through hymem.sim.macro_port.MacroPortModel) sits on it and acts on
pulse edges. The scoreboard is hymem.digital.engine.EngineState, the bit-exact reference of
docs/controller.md: after every sample the hidden weights and flags decoded from the
model's FeCAPs, and every counter, must equal it; the sequence of (phase_o, slot_o) the
sample went through must be the datasheet's for the slots the reference applied, skipped,
flagged or aborted at (phase_trace). Any macro protocol violation fails the test.

The clock runs at 4 MHz (250 ns) so that 8-cycle pulses are the nominal 2 us: the
model measures pulses in simulation time (docs/macro_port.md).

Parameter sets: the published geometry and a small one (Lines 16) with SynPerCycle = 1 (one
synapse per cycle), the small one with 4 and with 16 synapses per cycle (= Lines: one group
per slot), and the published geometry at hymem_top's default SynPerCycle. The scoreboard is
the same for every SynPerCycle: the number of lanes per cycle changes only the latency
(checked against the datasheet's formula by ``latency``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from hymem import digital
from hymem.digital import engine
from hymem.analog.array import HybridArray
from hymem.host import regmap
from hymem.sim import simrun, tbkit
from hymem.sim.macro_port import MacroPortModel

TOPLEVEL = "tb_hymem_update_engine"
HARNESS = Path(__file__).with_name("tb_hymem_update_engine.sv")
CLK_NS = 250

_DEFAULT = dict(Lines=128, Slots=8, MagWidth=9, CodeBits=3, FecapRows=128, XDepth=256,
                EDepth=128)
_SMALL = dict(Lines=16, Slots=4, MagWidth=9, CodeBits=3, FecapRows=64, XDepth=64, EDepth=32)
PARAM_SETS = {
    "default": dict(_DEFAULT, SynPerCycle=1),
    "small": dict(_SMALL, SynPerCycle=1),
    "small_p4": dict(_SMALL, SynPerCycle=4),
    "small_p16": dict(_SMALL, SynPerCycle=16),           # P = Lines: one group per slot
}
#: hymem_top's default SynPerCycle on the published geometry
TOP_LANES = simrun.rtl_default("hymem_top", "SynPerCycle")
PARAM_SETS[f"default_p{TOP_LANES}"] = dict(_DEFAULT, SynPerCycle=TOP_LANES)

# update engine phases (rtl/hymem_update_engine.sv)
# phase_o codes: the RDL's enum (STATUS.UPD_PHASE), the one the RTL's FSM is typed with
_UPD = regmap.load().enum("STATUS.UPD_PHASE")
P_IDLE, P_INC, P_CHECK, P_READ, P_ADD, P_WRITE, P_FLAG_RD, P_FLAG_WR, P_NEXT, P_DONE = (
    _UPD.IDLE, _UPD.INC, _UPD.CHECK, _UPD.READ, _UPD.ADD, _UPD.WRITE, _UPD.FLAG_RD, _UPD.FLAG_WR,
    _UPD.NEXT, _UPD.DONE)

FAST_TIMING = dict(t_setup_i=1, t_pulse_i=8, t_sense_i=6, t_hold_i=1, t_gap_i=1)


#: functional bins (docs/coverage.md): update mode (MODE.STOCH_ROUND, CODE_ROUND, SKIP_ZERO)
#: x what a sample did to a hidden weight of an applied slot: saturated at +max or -max, sign
#: changed (both non-zero), went to zero from non-zero
MODES = [f"sr{a}_cr{b}_sz{c}" for a in (0, 1) for b in (0, 1) for c in (0, 1)]
CASES = ("sat_pos", "sat_neg", "sign_flip", "to_zero")
FUNC_BINS = [f"{m}.{c}" for m in MODES for c in CASES]


def update_cases(old, inc, new, active, mag_max: int) -> dict[str, int]:
    """How many weights of the applied slots (``active``: per slot) hit each of CASES."""
    a = np.asarray(active, bool)[:, None] & np.ones_like(old, bool)
    s = old + inc
    return {"sat_pos": int((a & (s > mag_max)).sum()), "sat_neg": int((a & (s < -mag_max)).sum()),
            "sign_flip": int((a & (old * new < 0)).sum()),
            "to_zero": int((a & (new == 0) & (old != 0)).sum())}


def phase_trace(active, flagged, slots: int, abort_slot: int | None = None) -> list[tuple]:
    """(phase_o, slot_o) at every change of phase_o during one sample, from the datasheet
    (rtl/hymem_update_engine.sv's header): per slot INC, CHECK, then READ, ADD, WRITE if the
    slot is applied (not skipped), FLAG_RD, FLAG_WR if a code changed, NEXT; DONE and IDLE at
    the end. An abort is taken at a slot's CHECK: DONE, IDLE there (slot_o stays)."""
    t = []
    for s in range(slots):
        t += [(P_INC, s), (P_CHECK, s)]
        if s == abort_slot:
            return t + [(P_DONE, s), (P_IDLE, s)]
        if active[s]:
            t += [(P_READ, s), (P_ADD, s), (P_WRITE, s)]
            if flagged[s]:
                t += [(P_FLAG_RD, s), (P_FLAG_WR, s)]
        t.append((P_NEXT, s))
    return t + [(P_DONE, slots - 1), (P_IDLE, slots - 1)]


def _pack(v: np.ndarray, words: int) -> list[int]:
    b = np.zeros(4 * words, dtype=np.uint8)
    b[: len(v)] = np.asarray(v, dtype=np.int64) & 0xFF
    return [int.from_bytes(b[4 * w: 4 * w + 4].tobytes(), "little") for w in range(words)]


class Env:
    """Harness driver, macro model and scoreboard for one simulation."""

    def __init__(self, dut):
        self.dut = dut
        self.p = tbkit.params()
        self.lanes = self.p["SynPerCycle"]
        self.geom = engine.Geometry(lines=self.p["Lines"], slots=self.p["Slots"],
                                    mag_width=self.p["MagWidth"], code_bits=self.p["CodeBits"],
                                    fecap_rows=self.p["FecapRows"])
        self.rng = tbkit.rng()
        self.array = HybridArray(self.geom, rng=int(self.rng.integers(2**31)), woken=True)
        self.port = None
        self.ref = None
        self.n_in = self.n_out = None
        self.cfg = None

    async def start(self):
        d = self.dut
        for n in ("x_we_i", "e_we_i", "start_i", "abort_i", "seed_load_i", "cnt_clear_i",
                  "x_waddr_i", "e_waddr_i", "vec_wdata_i", "seed_i"):
            getattr(d, n).value = 0
        self.timing(**FAST_TIMING)
        self.port = MacroPortModel(d, self.array).start()
        self.trace: list[tuple[int, int]] = []
        self.traces_checked = 0
        cocotb.start_soon(self._trace_phases())
        await tbkit.start_clock(d.clk_i, CLK_NS)
        await tbkit.reset(d.clk_i, d.rst_ni)
        self.ref = None

    async def _trace_phases(self):
        """(phase_o, slot_o) at every change of phase_o (one wake-up per phase, not per cycle)."""
        d = self.dut
        while True:
            await d.phase_o.value_change
            await ReadOnly()
            if d.phase_o.value.is_resolvable and d.slot_o.value.is_resolvable:   # X before reset
                self.trace.append((tbkit.u(d.phase_o), tbkit.u(d.slot_o)))

    def check_trace(self, what: str = "", abort_slot: int | None = None):
        """The phases of the last sample (since start_sample) against :func:`phase_trace`
        of the reference's last apply_sample."""
        want = phase_trace(self.ref.last_active[0], self.ref.last_flagged[0], self.geom.slots,
                           abort_slot)
        got = self.trace
        if got != want:
            i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            raise AssertionError(f"{what} phase_o/slot_o sequence differs at change {i}: RTL "
                                 f"{got[i:i + 4]}, datasheet {want[i:i + 4]}")
        self.traces_checked += 1

    def timing(self, **t):
        for k, v in t.items():
            getattr(self.dut, k).value = v

    async def seed(self, seed: int):
        self.dut.seed_i.value = seed
        self.dut.seed_load_i.value = 1
        await RisingEdge(self.dut.clk_i)
        self.dut.seed_load_i.value = 0
        if self.ref is not None:
            self.ref.seed(seed)
        self._seed = seed

    def configure(self, n_in: int, n_out: int, cfg: engine.UpdateConfig):
        """Set the layer tile and update configuration; the reference follows, keeping state."""
        d = self.dut
        d.cfg_n_in_i.value = n_in
        d.cfg_n_out_i.value = n_out
        d.cfg_lr_mult_i.value = cfg.lr_mult
        d.cfg_lr_shift_i.value = cfg.lr_shift
        d.cfg_p16_i.value = cfg.p16
        d.cfg_stoch_round_i.value = int(cfg.stoch_round)
        d.cfg_code_round_i.value = int(cfg.code_round)
        d.cfg_skip_zero_i.value = int(cfg.skip_zero)
        new = engine.EngineState(n_in, n_out, self.geom)
        if self.ref is None:
            new.seed(1)  # the RTL's reset seed (DefaultSeed)
            new.h[0] = self.array.backdoor.hidden_weights()
            new.flags[0] = self.array.backdoor.flags()
        else:
            new.h, new.flags, new.prng = self.ref.h, self.ref.flags, self.ref.prng
            new.counters = self.ref.counters
        self.ref = new
        self.n_in, self.n_out, self.cfg = n_in, n_out, cfg

    async def write_vectors(self, x, e):
        d = self.dut
        for w, word in enumerate(_pack(x, (self.n_in + 3) // 4)):
            d.x_we_i.value, d.x_waddr_i.value, d.vec_wdata_i.value = 1, w, word
            await RisingEdge(d.clk_i)
        d.x_we_i.value = 0
        for w, word in enumerate(_pack(e, (self.n_out + 3) // 4)):
            d.e_we_i.value, d.e_waddr_i.value, d.vec_wdata_i.value = 1, w, word
            await RisingEdge(d.clk_i)
        d.e_we_i.value = 0

    async def start_sample(self, x, e):
        await self.write_vectors(x, e)
        self.trace = []
        self.dut.start_i.value = 1
        await RisingEdge(self.dut.clk_i)
        self.t_start = cocotb.simtime.get_sim_time("ns")     # the edge that samples start_i
        self.dut.start_i.value = 0

    async def wait_done(self) -> tuple[bool, int]:
        """Wait for done_o by its edge (no per-clock Python); outputs sampled when settled."""
        d = self.dut
        if int(d.done_o.value) == 0:
            await RisingEdge(d.done_o)
        self.t_done = cocotb.simtime.get_sim_time("ns")      # the edge after which done_o is 1
        await FallingEdge(d.clk_i)
        aborted, slot = int(d.aborted_o.value), tbkit.u(d.abort_slot_o)
        await FallingEdge(d.clk_i)   # idle now: outputs settled for the checks
        return bool(aborted), slot

    async def sample(self, x, e):
        """Apply one sample through the RTL and the reference, then compare."""
        await self.start_sample(x, e)
        aborted, _ = await self.wait_done()
        assert not aborted
        old = self.ref.h[0].copy()
        inc = self.ref.apply_sample(x, e, self.cfg)
        self.check_trace()
        self.check()
        c = self.cfg
        mode = f"sr{int(c.stoch_round)}_cr{int(c.code_round)}_sz{int(c.skip_zero)}"
        cov = tbkit.FuncCov.of("hymem_update_engine", FUNC_BINS)
        for case, n in update_cases(old, inc[0], self.ref.h[0], self.ref.last_active[0],
                                    self.geom.fmt.mag_max).items():
            cov.hit(f"{mode}.{case}", n)
        cov.write()

    def random_vectors(self, sparse: float = 0.3):
        x = self.rng.integers(-128, 128, self.n_in)
        x[self.rng.random(self.n_in) < sparse] = 0
        e = self.rng.integers(-128, 128, self.n_out)
        return x, e

    def check(self, what: str = ""):
        d = self.dut
        h = self.array.backdoor.hidden_weights()
        bad = np.argwhere(h != self.ref.h[0])
        assert bad.size == 0, (f"{what} hidden weights differ at (slot, line) {bad[:5].tolist()}: "
                               f"model {h[tuple(bad[0])]}, reference {self.ref.h[0][tuple(bad[0])]}")
        f = self.array.backdoor.flags()
        assert (f == self.ref.flags[0]).all(), f"{what} flags differ at {np.argwhere(f != self.ref.flags[0])[:5].tolist()}"
        c = self.ref.counters.as_dict(0)
        got = {"samples": tbkit.u(d.cnt_samples_o), "slots_skipped": tbkit.u(d.cnt_slots_skipped_o),
               "fe_reads": tbkit.u(d.cnt_fe_reads_o), "fe_writes": tbkit.u(d.cnt_fe_writes_o)}
        for k, v in got.items():
            assert v == c[k], f"{what} counter {k}: RTL {v}, reference {c[k]}"
        assert int(d.fe_pending_o.value) == 0, "a FeCAP row awaits its write-back"
        assert int(d.fe_err_o.value) == 0, "FeCAP sequencer guard fired"
        assert int(d.busy_o.value) == 0
        self.port.check_quiescent()


def _random_cfg(rng, geom, lanes: int = 1) -> tuple[int, int, engine.UpdateConfig]:
    S, L = geom.slots, geom.lines
    n_in = int(rng.integers(1, min(64, S * L) + 1))
    if lanes > 1 and rng.random() < 0.3:      # j wraps within a group of lanes
        n_in = int(rng.integers(1, 2 * lanes + 1))
    n_out = int(rng.integers(1, min(32, S * L // n_in) + 1))
    cfg = engine.UpdateConfig(lr_mult=int(rng.integers(0, 256)), lr_shift=int(rng.integers(0, 24)),
                              p16=int(rng.choice([0, 6554, 13107, 32768, 65536])),
                              stoch_round=bool(rng.integers(2)), code_round=bool(rng.integers(2)),
                              skip_zero=bool(rng.integers(2)))
    return n_in, n_out, cfg


# ------------------------------------------------------------------- tests


@cocotb.test()
async def constrained_random(dut):
    """Random tiles, configurations, seeds, vectors and legal timings, many samples."""
    env = Env(dut)
    await env.start()
    n = 24 if env.geom.lines >= 128 else 40
    if tbkit.cross_check():
        n //= 3         # Icarus beside Verilator's full run (tbkit.cross_check)
    for t in range(n):
        if t % 6 == 0:
            n_in, n_out, cfg = _random_cfg(env.rng, env.geom, env.lanes)
            env.configure(n_in, n_out, cfg)
            pulse = int(env.rng.integers(8, 15))
            env.timing(t_setup_i=int(env.rng.integers(1, 4)), t_pulse_i=pulse,
                       t_sense_i=int(env.rng.integers(2, pulse)), t_hold_i=int(env.rng.integers(1, 4)),
                       t_gap_i=int(env.rng.integers(0, 4)))
        if t % 8 == 3:
            await env.seed(int(env.rng.integers(0, 2**32)))
        x, e = env.random_vectors(sparse=float(env.rng.choice([0.0, 0.5, 0.9])))
        await env.sample(x, e)
        dut._log.debug("sample %d ok", t)
    assert env.traces_checked == n
    dut._log.info("%d samples matched; macro port: %s", n, env.port.stats())


@cocotb.test()
async def default_tile(dut):
    """The published setting: a full array tile, p = 0.2, stochastic rounding, truncation."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    n_in = min(64, env.p["XDepth"])
    env.configure(n_in, S * L // n_in, engine.UpdateConfig(lr_mult=160, lr_shift=7, p16=13107))
    for _ in range(6):
        await env.sample(*env.random_vectors())


@cocotb.test()
async def saturation_both_ends(dut):
    """Weights at the ends of the range saturate at +-511 and do not wrap."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    top = 2 ** env.geom.mag_width - 1
    h = env.rng.integers(top - 8, top + 1, size=(S, L)) * np.where(env.rng.random((S, L)) < 0.5, 1, -1)
    env.array.backdoor.poke_hidden(h)
    env.configure(16, S * L // 16, engine.UpdateConfig(lr_mult=255, lr_shift=0, p16=65536))
    x = np.full(16, 127)
    for _ in range(2):                                  # +511 per sample: up to the top
        await env.sample(x, np.full(env.n_out, 127))
    assert (env.array.backdoor.hidden_weights()[env.ref.used[0]] == top).all()
    for _ in range(3):                                  # -512 per sample: down to the bottom
        await env.sample(x, np.full(env.n_out, -128))
    assert (env.array.backdoor.hidden_weights()[env.ref.used[0]] == -top).all()


@cocotb.test()
async def modes_by_case(dut):
    """Every update mode (stochastic rounding x code rounding x skip zero) with each case of
    FUNC_BINS, by construction: the increments of the next sample are drawn on a copy of the
    reference, and the weights poked so that, synapse by synapse in turn, the sum saturates
    (+max or -max, by the increment's sign), comes to 0, or changes sign."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    top = env.geom.fmt.mag_max
    n_in = min(32, S * L)
    cov = tbkit.FuncCov.of("hymem_update_engine", FUNC_BINS)
    # Icarus beside Verilator's full run (tbkit.cross_check): two modes, the simulators still
    # compared; the bins are closed by the Verilator runs (make coverage)
    for mode in (MODES[::5] if tbkit.cross_check() else MODES):
        before = {c: cov.count[f"{mode}.{c}"] for c in CASES}
        sr, cr, sz = (int(mode[k]) for k in (2, 6, 10))
        env.configure(n_in, S * L // n_in, engine.UpdateConfig(
            lr_mult=1, lr_shift=6, p16=65536, stoch_round=bool(sr), code_round=bool(cr),
            skip_zero=bool(sz)))
        x, e = env.random_vectors(sparse=0.0)
        inc = copy.deepcopy(env.ref).increments(x, e, env.cfg)[0]
        sgn, mag = np.sign(inc), np.abs(inc)
        case = np.arange(S * L).reshape(S, L) % 3
        h = np.where(case == 0, sgn * (top - mag + 1),                     # saturates
                     np.where(case == 1, -inc,                              # comes to 0
                              -sgn * np.maximum(1, mag // 2)))              # changes sign
        h = np.clip(h, -top, top)
        env.array.backdoor.poke_hidden(h)
        env.ref.h[0] = h
        await env.sample(x, e)
        missing = [c for c in CASES if cov.count[f"{mode}.{c}"] == before[c]]
        assert not missing, f"mode {mode}: no weight hit {missing}"


@cocotb.test()
async def both_zeros(dut):
    """-0 in the array reads as 0, is written back as +0, and adds like 0."""
    env = Env(dut)
    await env.start()
    L = env.geom.lines
    sign_row = env.geom.data_row(0, 0)
    env.array.backdoor.poke_fecap_row(sign_row, np.ones(L, dtype=bool))  # slot 0: all -0
    env.configure(L, 1, engine.UpdateConfig(lr_mult=1, lr_shift=0, p16=65536, skip_zero=False))
    assert (env.ref.h[0][0] == 0).all()
    x = np.zeros(L, dtype=np.int64)
    x[: L // 2] = 5
    x[L // 2: 3 * L // 4] = -5
    await env.sample(x, np.array([1]))
    h = env.array.backdoor.hidden_weights()[0]
    assert (h[: L // 2] == 5).all() and (h[L // 2: 3 * L // 4] == -5).all() and (h[3 * L // 4:] == 0).all()
    bits = env.array.backdoor.fecap_bits()[sign_row]
    assert not bits[3 * L // 4:].any(), "a zero result must be written as +0"
    assert bits[L // 2: 3 * L // 4].all()


@cocotb.test()
async def p_zero_p_one_zero_lr(dut):
    """p = 0 and lr = 0 change nothing; p = 1 applies every increment."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    env.array.backdoor.poke_hidden(env.rng.integers(-300, 301, size=(S, L)))
    for p16, mult, skip in ((0, 255, True), (0, 255, False), (65536, 0, True), (65536, 0, False)):
        env.configure(32, S * L // 32, engine.UpdateConfig(lr_mult=mult, lr_shift=4, p16=p16,
                                                           skip_zero=skip))
        before = env.array.backdoor.hidden_weights()
        reads = tbkit.u(dut.cnt_fe_reads_o)
        await env.sample(*env.random_vectors(sparse=0.0))
        assert (env.array.backdoor.hidden_weights() == before).all()
        assert (tbkit.u(dut.cnt_fe_reads_o) == reads) == skip, "skip_zero decides whether rows are read"
    env.configure(32, S * L // 32, engine.UpdateConfig(lr_mult=255, lr_shift=4, p16=65536))
    x = np.full(32, 50)
    before = env.array.backdoor.hidden_weights()
    await env.sample(x, np.full(env.n_out, 50))
    used = env.ref.used[0]
    assert (env.array.backdoor.hidden_weights()[used] != before[used]).all()


@cocotb.test()
async def maximal_x_and_delta(dut):
    """The largest products, with and without stochastic rounding, at every shift."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    for shift in (0, 7, 15, 16, 17, 23):
        for stoch in (True, False):
            env.configure(8, 8, engine.UpdateConfig(lr_mult=255, lr_shift=shift, p16=65536,
                                                     stoch_round=stoch))
            x = env.rng.choice([-128, 127], 8)
            e = env.rng.choice([-128, 127], 8)
            await env.sample(x, e)


def _reaches(env: Env, x, e, phase: int, slot: int) -> bool:
    """Whether the engine goes through `phase` of `slot` for this sample (from the reference)."""
    if phase == P_INC:
        return True                  # every slot's increments are computed
    probe = engine.EngineState(env.n_in, env.n_out, env.geom)
    probe.h, probe.flags, probe.prng = env.ref.h.copy(), env.ref.flags.copy(), env.ref.prng.copy()
    inc = probe.increments(x, e, env.cfg)[0]
    active = inc[slot].any() or not env.cfg.skip_zero
    if phase in (P_FLAG_RD, P_FLAG_WR):
        s, m = (probe.h[0] < 0).astype(int), np.abs(probe.h[0])
        changed = digital.sm_sat_add(s, m, inc, env.cfg.code_round, env.geom.fmt,
                                     inc_width=env.geom.mag_width + 1)[3]
        return active and bool(changed[slot].any())
    return active


async def _abort_in(env: Env, phase: int, slot: int, delay: int):
    """Start a sample, abort it when the engine is in `phase` of `slot` (+delay cycles)."""
    d = env.dut
    while True:  # vectors for which the engine goes through `phase` of `slot`
        x, e = env.random_vectors(sparse=0.0)
        if _reaches(env, x, e, phase, slot):
            break
    await env.start_sample(x, e)
    for _ in range(200_000):
        await FallingEdge(d.clk_i)
        if tbkit.u(d.phase_o) == phase and tbkit.u(d.slot_o) == slot:
            break
        if d.done_o.value == 1:
            raise AssertionError(f"phase {phase} of slot {slot} never reached")
    else:
        raise AssertionError("timeout waiting for the phase")
    await ClockCycles(d.clk_i, delay, rising=False)
    await RisingEdge(d.clk_i)
    d.abort_i.value = 1
    await FallingEdge(d.clk_i)
    seen_phase, seen_slot = tbkit.u(d.phase_o), tbkit.u(d.slot_o)
    await RisingEdge(d.clk_i)
    d.abort_i.value = 0
    aborted, abort_slot = await env.wait_done()
    # documented rule: taken at the end of the current slot's increments if it is in them,
    # else at the end of the next slot's; after the last slot's increments: no effect
    expect = seen_slot if seen_phase == P_INC else seen_slot + 1
    if expect >= env.geom.slots:
        assert not aborted, "an abort after the last slot's increments must not take effect"
        env.ref.apply_sample(x, e, env.cfg)
        env.check_trace(f"abort in phase {phase} slot {slot} (too late):")
    else:
        assert aborted and abort_slot == expect, (
            f"abort in phase {seen_phase} of slot {seen_slot}: expected stop at slot {expect}, "
            f"RTL aborted={aborted} at slot {abort_slot}")
        env.ref.apply_sample(x, e, env.cfg, abort_slot=abort_slot)
        env.check_trace(f"abort in phase {phase} slot {slot}:", abort_slot)
    env.check(f"abort in phase {phase} slot {slot}:")


@cocotb.test()
async def abort_in_every_phase(dut):
    """Abort in each phase of a slot: every synapse is old or new, every row written back."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    # big increments so codes change and the flag phases happen
    env.configure(32, S * L // 32, engine.UpdateConfig(lr_mult=255, lr_shift=2, p16=65536))
    for phase in (P_INC, P_READ, P_ADD, P_WRITE, P_FLAG_RD, P_FLAG_WR):
        for slot in (0, int(env.rng.integers(1, S - 1)) if S > 2 else 1, S - 1):
            await _abort_in(env, phase, slot, int(env.rng.integers(0, 3)))
    assert env.traces_checked == 6 * 3     # every abort's phase sequence
    # the engine still works normally afterwards
    await env.sample(*env.random_vectors())


@cocotb.test()
async def reset_mid_operation(dut):
    """A hard reset loses only the rows held between their read and write-back.

    Documented guarantee (docs/controller.md, "Reset"): rows read destructively but not yet
    written back are lost (they read as 0, and the macro model reports them pending); every
    other row keeps its value; the controller is idle after reset and works normally.
    A reset during a pulse also cuts the pulse, which the macro reports as a protocol error.
    """
    env = Env(dut)
    await env.start()
    d = dut
    S, L = env.geom.slots, env.geom.lines
    R = env.geom.rows_per_synapse
    env.configure(32, S * L // 32, engine.UpdateConfig(lr_mult=255, lr_shift=3, p16=65536,
                                                       skip_zero=False))
    slot, nread = S // 2, 5
    # 1) reset between two row reads
    x, e = env.random_vectors(sparse=0.0)
    await env.start_sample(x, e)
    before = env.array.backdoor.hidden_weights()
    full = engine.EngineState(env.n_in, env.n_out, env.geom)
    full.h, full.flags, full.prng = env.ref.h.copy(), env.ref.flags.copy(), env.ref.prng.copy()
    full.apply_sample(x, e, env.cfg)
    reads_done = 0
    while True:
        await FallingEdge(d.clk_i)
        if tbkit.u(d.phase_o) == P_READ and tbkit.u(d.slot_o) == slot and d.u_seq.done_o.value == 1:
            reads_done += 1
            if reads_done == nread:
                break
    d.rst_ni.value = 0
    await ClockCycles(d.clk_i, 2)
    d.rst_ni.value = 1
    await RisingEdge(d.clk_i)
    lost = [env.geom.data_row(slot, k) for k in range(nread)]
    assert env.array.backdoor.pending_rows() == lost, (
        f"pending rows {env.array.backdoor.pending_rows()}, expected exactly {lost}")
    assert int(d.busy_o.value) == 0 and int(d.fe_pending_o.value) == 0
    after = env.array.backdoor.hidden_weights()
    assert (after[:slot] == full.h[0][:slot]).all(), "slots before the reset must hold the new values"
    assert (after[slot + 1:] == before[slot + 1:]).all(), "slots after must be untouched"
    bits = env.array.backdoor.fecap_bits()
    assert not bits[lost].any(), "the lost rows read as 0"
    assert (bits[env.geom.data_row(slot, nread): env.geom.data_row(slot, 0) + R] ==
            engine.encode_slot((before[slot] < 0).astype(int), np.abs(before[slot]), env.geom)[nread:]).all()
    # 2) reset in the middle of a pulse: the macro sees the word line drop with the pulse on
    env.array.backdoor.clear_pending()
    env.ref = None
    env.configure(32, S * L // 32, env.cfg)     # resync from the array; PRNG back at reset seed
    await env.start_sample(*env.random_vectors(sparse=0.0))
    while not (int(d.fe_sl_o.value) == 1 and tbkit.u(d.phase_o) == P_READ):
        await FallingEdge(d.clk_i)
    with env.port.expect_error(rule="fe.2"):
        d.rst_ni.value = 0
        await ClockCycles(d.clk_i, 2)
    d.rst_ni.value = 1
    await RisingEdge(d.clk_i)
    assert int(d.busy_o.value) == 0
    # 3) after a reset the controller works: resync the reference from the array
    env.array.backdoor.clear_pending()
    env.ref = None
    env.configure(32, S * L // 32, env.cfg)
    await env.sample(*env.random_vectors())


def _corner_tiles(env: Env) -> list[tuple[int, int]]:
    """(n_in, n_out) tiles where the lanes of one cycle matter (P = SynPerCycle): n_in < P
    (j wraps several times within a group), n_in not a multiple of P, n_in * n_out not a
    multiple of P (the used / unused boundary inside a group), tiles ending inside a slot
    (later slots unused: skipped with skip_zero), and the full array."""
    S, L, P = env.geom.slots, env.geom.lines, env.lanes
    N, xd, ed = S * L, env.p["XDepth"], env.p["EDepth"]
    tiles = []
    for n_in in sorted({1, 2, 3, max(1, P - 1), P, P + 1, 2 * P + 3, L - 1, L + 1, 37}):
        if n_in > min(N, xd):
            continue
        top = min(N // n_in, ed)
        for n_out in sorted({top, max(1, top - 1), max(1, top // 3)}):
            tiles.append((n_in, n_out))
    return tiles


@cocotb.test()
async def lane_corners(dut):
    """Every corner tile (``_corner_tiles``), skip_zero on and off, every increment applied
    (p = 1, large learning rate, so every used synapse changes); then an abort in the middle
    of a slot's increments on the tile with the most wraps per group."""
    env = Env(dut)
    await env.start()
    S, L, P = env.geom.slots, env.geom.lines, env.lanes
    tiles = _corner_tiles(env)
    seen = dict(wraps=False, ragged_in=False, ragged_tile=False, skipped=False)
    for t, (n_in, n_out) in enumerate(tiles):
        cfg = engine.UpdateConfig(lr_mult=int(env.rng.integers(64, 256)), lr_shift=6, p16=65536,
                                  stoch_round=bool(t % 2), skip_zero=bool((t // 2) % 2))
        env.configure(n_in, n_out, cfg)
        skipped = tbkit.u(dut.cnt_slots_skipped_o)
        x, e = env.random_vectors(sparse=0.0)
        await env.sample(x, e)
        seen["wraps"] |= n_in < P
        seen["ragged_in"] |= n_in % P != 0
        seen["ragged_tile"] |= (n_in * n_out) % P != 0
        seen["skipped"] |= tbkit.u(dut.cnt_slots_skipped_o) > skipped
    if P > 1:
        assert all(seen.values()), f"corners not reached: {seen}"
    dut._log.info("%d corner tiles matched (P = %d): %s", len(tiles), P, tiles)
    # abort in the middle of a slot's increment phase, n_in = 3 (< P for P >= 4)
    n_in = 3
    env.configure(n_in, min(S * L // n_in, env.p["EDepth"]),
                  engine.UpdateConfig(lr_mult=255, lr_shift=2, p16=65536))
    for slot in (0, S // 2):
        await _abort_in(env, P_INC, slot, (L // P) // 2)
    await env.sample(*env.random_vectors())


def fecap_op_cycles(t: dict) -> int:
    """Cycles of one FeCAP row operation of the update engine through hymem_fecap_seq (a
    read or a write-back: setup, one pulse, hold, gap, each at least one cycle, plus the
    request cycle and the sequencer's done cycle), as the engine's datasheet gives it."""
    return sum(max(1, t[k]) for k in ("t_setup_i", "t_pulse_i", "t_hold_i", "t_gap_i")) + 2


def update_latency(geom: engine.Geometry, lanes: int, f: int, active, flagged) -> int:
    """Clock edges from the one that samples start_i to the one after which done_o is 1, for
    one sample (hymem_update_engine's datasheet): per slot (2*Lines/P + 3) + 2*R*F (+ 2*F
    with a flag update), a skipped slot Lines/P + 3. ``active``, ``flagged``: per slot, from
    the reference."""
    g, r = geom.lines // lanes, geom.rows_per_synapse
    cyc = 0
    for a, fl in zip(active, flagged):
        cyc += (2 * g + 3 + 2 * r * f + (2 * f if fl else 0)) if a else g + 3
    return cyc


@cocotb.test()
async def latency(dut):
    """start_i to done_o, in cycles, equals the datasheet's formula for skipped slots,
    processed slots and slots with a flag update, at two FeCAP timings."""
    env = Env(dut)
    await env.start()
    S, L = env.geom.slots, env.geom.lines
    n_in = min(32, env.p["XDepth"])
    timings = [FAST_TIMING, dict(t_setup_i=2, t_pulse_i=9, t_sense_i=3, t_hold_i=0, t_gap_i=3)]
    for t in timings:
        env.timing(**t)
        f = fecap_op_cycles(t)
        for p16, skip in ((0, True), (0, False), (6554, True), (65536, False)):
            env.configure(n_in, S * L // n_in // 2,       # half the array: later slots unused
                          engine.UpdateConfig(lr_mult=255, lr_shift=4, p16=p16, skip_zero=skip))
            x, e = env.random_vectors(sparse=0.2)
            probe = engine.EngineState(env.n_in, env.n_out, env.geom)
            probe.h, probe.flags, probe.prng = env.ref.h.copy(), env.ref.flags.copy(), env.ref.prng.copy()
            inc = probe.increments(x, e, env.cfg)[0]
            s, m = (probe.h[0] < 0).astype(int), np.abs(probe.h[0])
            changed = digital.sm_sat_add(s, m, inc, env.cfg.code_round, env.geom.fmt,
                                         inc_width=env.geom.mag_width + 1)[3].astype(bool)
            active = inc.any(axis=1) | (not skip)
            flagged = active & changed.any(axis=1)
            await env.sample(x, e)
            got = round((env.t_done - env.t_start) / CLK_NS)
            want = update_latency(env.geom, env.lanes, f, active, flagged)
            assert got == want, (f"latency {got} cycles, datasheet {want} (P = {env.lanes}, "
                                 f"F = {f}, active {active.tolist()}, flagged {flagged.tolist()})")
            dut._log.info("latency %d cycles (F = %d, active %s, flagged %s)", got, f,
                          active.astype(int).tolist(), flagged.astype(int).tolist())


# ------------------------------------------------------------ pytest: the RTL


#: Parameter sets simulated on Verilator only (tb/conftest.py `heavy`; make test FULL=1 runs them
#: on Icarus too): the published geometry at one synapse per cycle costs Icarus about a minute of
#: CPU, and Icarus runs the same geometry at the top level's SynPerCycle (default_p8).
HEAVY_SETS = ("default",)


@pytest.mark.sim
@pytest.mark.parametrize("params", [
    pytest.param(p, id=k, marks=[pytest.mark.heavy] if k in HEAVY_SETS else [])
    for k, p in PARAM_SETS.items()])
def test_hymem_update_engine(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_update_engine", sim, parameters=params, seed=seed,
               extra_sources=[HARNESS])
