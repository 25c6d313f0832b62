"""hymem_xfer_log: the transfer engine's counters and failure log, against the cycle model
hymem.digital.engine.XferLog, compared after every clock edge.

Directed: a clear together with an event (the clear wins), a failure together with its
log's clear, the interrupt only for a run that logged a failure, every mask event at once
on a full mask. Constrained random: every event, mask density, clears and run boundaries.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge

from hymem.digital import engine
from hymem.sim import simrun, tbkit
from hymem.sim.macro_port import bits_to_int

TOPLEVEL = "hymem_xfer_log"

PARAM_SETS = {
    "default": dict(Lines=128, Slots=8),
    "small": dict(Lines=16, Slots=4),
    "odd": dict(Lines=5, Slots=3),
}

STROBES = ("cnt_clear", "fail_clear", "run_start", "run_done", "xfer_start", "cand",
           "mr_reset", "mr_set", "mr_form", "mr_vread", "mr_retry", "fail")
OUT = {"transfers": "cnt_transfers_o", "xfer_programmed": "cnt_programmed_o",
       "xfer_skipped": "cnt_skipped_o", "mr_resets": "cnt_resets_o", "mr_sets": "cnt_sets_o",
       "vfy_reads": "cnt_vfy_reads_o", "vfy_retries": "cnt_retries_o", "forms": "cnt_forms_o",
       "failures": "cnt_failures_o"}


class Env:
    def __init__(self, dut):
        self.dut = dut
        p = tbkit.params()
        self.L, self.S = p["Lines"], p["Slots"]
        self.model = engine.XferLog(self.L)
        self.rng = tbkit.rng()
        self.cycles = 0
        self.irqs = 0

    async def start(self):
        d = self.dut
        for k in STROBES:
            getattr(d, k + "_i").value = 0
        for k in ("used_count_i", "mask_i", "fail_slot_i", "fail_lane_i", "fail_kind_i"):
            getattr(d, k).value = 0
        await tbkit.start_clock(d.clk_i)
        await tbkit.reset(d.clk_i, d.rst_ni)
        await FallingEdge(d.clk_i)
        self.check()

    def check(self):
        d, m = self.dut, self.model
        for k, pin in OUT.items():
            got = tbkit.u(getattr(d, pin))
            assert got == m.counters[k], f"cycle {self.cycles}: {k} RTL {got}, model {m.counters[k]}"
        any_ = m.fail.first[0] >= 0
        assert int(d.fail_any_o.value) == any_, f"cycle {self.cycles}: fail_any"
        if any_:
            assert tbkit.u(d.fail_first_o) == m.fail.first[0], f"cycle {self.cycles}: fail_first"
            assert tbkit.u(d.fail_last_o) == m.fail.last[0], f"cycle {self.cycles}: fail_last"
            assert [tbkit.u(d.fail_first_kind_o), tbkit.u(d.fail_last_kind_o)] == m.fail_kind, \
                f"cycle {self.cycles}: fail kinds"
        else:
            assert tbkit.u(d.fail_first_o) == 0 and tbkit.u(d.fail_last_o) == 0
            assert tbkit.u(d.fail_first_kind_o) == 0 and tbkit.u(d.fail_last_kind_o) == 0
        assert int(d.fail_irq_o.value) == m.irq, f"cycle {self.cycles}: fail_irq"
        self.irqs += m.irq

    async def cycle(self, **ev):
        """Drive one cycle's events (the others 0), clock, compare."""
        d = self.dut
        mask = ev.get("mask", np.zeros(self.L, bool))
        for k in STROBES:
            getattr(d, k + "_i").value = int(bool(ev.get(k, 0)))
        d.mask_i.value = bits_to_int(mask)
        d.used_count_i.value = int(ev.get("used_count", 0))
        d.fail_slot_i.value = int(ev.get("fail_slot", 0))
        d.fail_lane_i.value = int(ev.get("fail_lane", 0))
        d.fail_kind_i.value = int(ev.get("fail_kind", 0))
        self.model.clock({**ev, "mask": mask})
        await FallingEdge(d.clk_i)
        self.cycles += 1
        self.check()

    def random_events(self, p: float) -> dict:
        r = self.rng
        ev = {k: r.random() < p for k in STROBES[4:]}
        ev["cnt_clear"] = r.random() < 0.01
        ev["fail_clear"] = r.random() < 0.02
        ev["run_start"] = r.random() < 0.05
        ev["run_done"] = r.random() < 0.05
        ev["mask"] = r.random(self.L) < float(r.choice([0.0, 0.1, 0.5, 1.0]))
        ev["used_count"] = int(r.integers(ev["mask"].sum(), self.L + 1))
        ev["fail_slot"] = int(r.integers(self.S))
        ev["fail_lane"] = int(r.integers(self.L))
        ev["fail_kind"] = int(r.integers(4))
        return ev


@cocotb.test()
async def corners(dut):
    env = Env(dut)
    await env.start()
    L, S = env.L, env.S
    full = np.ones(L, bool)
    # every mask event at once on a full mask, twice
    for _ in range(2):
        await env.cycle(mask=full, mr_reset=1, mr_set=1, mr_form=1, mr_vread=1, mr_retry=1,
                        cand=1, used_count=L, xfer_start=1)
    # the clear wins over events in its cycle
    await env.cycle(mask=full, cnt_clear=1, mr_reset=1, cand=1, used_count=L, fail=1,
                    fail_slot=S - 1, fail_lane=L - 1)
    assert env.model.counters["mr_resets"] == 0 and env.model.fail.first[0] == (S - 1) * L + L - 1
    # the log's clear wins over a failure in its cycle; the counter still counts it
    await env.cycle(fail=1, fail_clear=1, fail_slot=0, fail_lane=1)
    assert env.model.fail.first[0] < 0 and env.model.counters["failures"] == 1
    # first stays, last follows
    await env.cycle(fail=1, fail_slot=0, fail_lane=3, fail_kind=3)
    await env.cycle(fail=1, fail_slot=S - 1, fail_lane=0, fail_kind=2)
    assert env.model.fail_kind == [3, 2]
    # interrupt: a run without a failure, then one with
    await env.cycle(run_start=1)
    await env.cycle(run_done=1)
    assert not env.model.irq
    await env.cycle(run_start=1)
    await env.cycle(fail=1, fail_slot=1 % S, fail_lane=2)
    await env.cycle(run_done=1)
    await env.cycle()
    assert env.irqs == 1
    # skipped = used - candidates
    await env.cycle(cand=1, used_count=L, mask=np.arange(L) % 3 == 0)


@cocotb.test()
async def constrained_random(dut):
    env = Env(dut)
    await env.start()
    for i in range(3000):
        await env.cycle(**env.random_events(float(env.rng.choice([0.05, 0.3]))))
    dut._log.info("%d cycles, %d interrupts, counters %s", env.cycles, env.irqs,
                  env.model.counters)


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_hymem_xfer_log(sim, seed, params):
    simrun.run(TOPLEVEL, "test_hymem_xfer_log", sim, parameters=params, seed=seed)


# ------------------------------------------------------- pytest: the model only


def test_model_wraps_and_clears():
    m = engine.XferLog(4)
    m.counters["mr_sets"] = 0xFFFF_FFFF
    m.clock({"mr_set": 1, "mask": np.array([1, 1, 0, 0], bool)})
    assert m.counters["mr_sets"] == 1
    m.clock({"fail": 1, "fail_slot": 2, "fail_lane": 3, "run_start": 0})
    assert (m.fail.first[0], m.fail.last[0]) == (11, 11) and m.logged
    m.clock({"run_done": 1})
    assert m.irq
    m.clock({"cnt_clear": 1, "mr_set": 1, "mask": np.ones(4, bool)})
    assert m.counters["mr_sets"] == 0 and m.fail.first[0] == 11
