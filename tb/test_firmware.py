"""hymem.host.firmware.Hymem without a simulator: every argument is checked before the first bus
write, against the register map's legal values (hymem.host.regmap, the RDL), and a refused call
writes nothing.

:class:`FakeBus` is a register file built from the register map for one build (reset values,
HWCFG): it records every access and applies writes as the register block would (rw fields
under the write mask, nothing for read-only targets). It does not check legality itself: a
test that lets a bad value through would see it written.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hymem.host import firmware, regmap
from hymem.host.firmware import ArgumentError, Hymem

RM = regmap.load()
#: the small build of the hymem_top tests (XDEPTH 64, EDEPTH 32, 16 x 4 synapses, verify <= 2)
SMALL = dict(Lines=16, Slots=4, FecapRows=64, XDepth=64, EDepth=32, VerifyLimit=2)


class FakeBus:
    def __init__(self, params: dict | None = None):
        self.build = regmap.build_values(params or {})
        self.regs = {r.name: RM.reset_value(r.name, self.build) for r in RM.registers}
        for r in RM.registers:
            if r.name.startswith("HWCFG"):
                self.regs[r.name] = r.pack(**{f.name: self.build[f.name] for f in r.fields})
        self.log: list[tuple] = []

    async def read(self, addr: int) -> int:
        self.log.append(("r", addr))
        t = RM.decode(addr)
        return self.regs.get(t.name, 0) if isinstance(t, regmap.Register) else 0

    async def write(self, addr: int, data: int, strb: int = 0xF) -> None:
        self.log.append(("w", addr, data))
        t = RM.decode(addr)
        if isinstance(t, regmap.Register) and t.write_mask and t.name != "CMD":
            self.regs[t.name] = data & t.write_mask

    @property
    def writes(self) -> list[tuple]:
        return [a for a in self.log if a[0] == "w"]

    def field(self, reg: str, name: str) -> int:
        return RM[reg].unpack(self.regs[reg])[name]


def run(coro):
    return asyncio.run(coro)


def fw_on(params=SMALL) -> tuple[Hymem, FakeBus]:
    bus = FakeBus(params)
    return Hymem(bus, RM), bus


GOOD = dict(n_in=16, n_out=4, lr_mult=200, lr_shift=5, p16=30000, verify_max=1, k=7, seed=99,
            form_max=9)


def snapshot(bus: FakeBus) -> dict:
    return dict(bus.regs)


# ------------------------------------------------------------------------ configure


def test_configure_good_writes_what_was_asked():
    fw, bus = fw_on()
    run(fw.configure(**GOOD))
    assert (bus.field("LAYER", "N_IN"), bus.field("LAYER", "N_OUT")) == (16, 4)
    assert (bus.field("LR", "MULT"), bus.field("LR", "SHIFT")) == (200, 5)
    assert bus.field("MASK_P", "P16") == 30000
    assert bus.field("MODE", "VERIFY_MAX") == 1 and bus.field("XFER_K", "K") == 7
    assert bus.field("SEED", "SEED") == 99 and bus.field("FORM", "MAX") == 9
    for reg, fields in firmware.FAST_TIMING.items():
        for f, v in fields.items():
            assert bus.field(reg, f) == v, f"{reg}.{f}"
    # every value written is one the hardware accepts
    cur = lambda r, f: bus.field(r, f)  # noqa: E731
    for name in ("LAYER", "LR", "MASK_P", "MODE") + tuple(firmware.FAST_TIMING):
        assert RM.check(name, bus.regs[name], bus.build, cur) is None, name


@pytest.mark.parametrize("bad, match", [
    (dict(k=-1), r"k \(XFER_K.K\) must be in 0..65535; got -1"),
    (dict(k=65536), r"k \(XFER_K.K\) must be in 0..65535"),
    (dict(lr_shift=24), r"lr_shift \(LR.SHIFT\) must be in 0..23; got 24"),
    (dict(lr_mult=256), r"lr_mult \(LR.MULT\) must be in 0..255"),
    (dict(lr_mult=-1), r"lr_mult"),
    (dict(p16=65537), r"p16 \(MASK_P.P16\) must be in 0..65536"),
    (dict(p16=0.2), r"p16 must be an integer; got 0.2"),
    (dict(n_in=3.9), r"n_in must be an integer; got 3.9"),
    (dict(n_in="3"), r"n_in must be an integer; got '3'"),
    (dict(n_in=True), r"n_in must be an integer; got the boolean True"),
    (dict(n_in=0), r"n_in \(LAYER.N_IN\) must be in 1..2047; got 0"),
    (dict(n_out=None), r"n_out must be an integer; got None"),
    (dict(seed=2**32), r"seed \(SEED.SEED\) must be in 0..4294967295"),
    (dict(seed=-1), r"seed"),
    (dict(form_max=256), r"form_max \(FORM.MAX\) must be in 0..255"),
    (dict(stoch_round=2), r"stoch_round must be a bool \(or 0 / 1\); got 2"),
    (dict(code_round="yes"), r"code_round must be an integer"),
    (dict(verify_max=1.0), r"verify_max must be an integer"),
    (dict(p=0.2, p16=13107), r"give p16 or p, not both"),
    (dict(p=1e-6, p16=None), r"below one LSB of MASK_P.P16"),
    (dict(p=1.5, p16=None), r"p must be in 0..1; got 1.5"),
    (dict(p=-0.1, p16=None), r"p must be in 0..1"),
    (dict(p="0.2", p16=None), r"p must be a number in 0..1"),
    (dict(timing={"T_FE9": {"PULSE": 8}}), r"unknown timing register 'T_FE9'"),
    (dict(timing={"T_FE0": {"PULS": 8}}), r"T_FE0 has no field 'PULS'"),
    (dict(timing={"T_FE0": {"PULSE": 0}}), r"T_FE0.PULSE must be in 2..65535; got 0"),
    (dict(timing={"T_FE0": {"PULSE": 8.0}}), r"T_FE0.PULSE must be an integer"),
    (dict(timing={"T_FE0": {"PULSE": 8}, "T_FE1": {"SENSE": 8}}),
     r"T_FE1.SENSE must be below T_FE0.PULSE; the registers would hold 8 and 8"),
    (dict(timing={"T_MR1": {"READ": 1}}), r"T_MR1.READ must be in 2..65535; got 1"),
    (dict(timing=[("T_FE0", 8)]), r"must be a dict"),
])
def test_configure_refuses_before_any_bus_access(bad, match):
    """Arguments that are wrong in every build: refused before the bus is touched at all."""
    fw, bus = fw_on()
    with pytest.raises(ArgumentError, match=match):
        run(fw.configure(**{**GOOD, **bad}))
    assert bus.log == []


@pytest.mark.parametrize("bad, match", [
    (dict(n_in=65), r"n_in \(LAYER.N_IN\) must be in 1..64 in this build \(XDEPTH = 64\); got 65"),
    (dict(n_out=33), r"n_out \(LAYER.N_OUT\) must be in 1..32 in this build \(EDEPTH = 32\)"),
    (dict(n_in=16, n_out=16), r"LAYER: N_IN \* N_OUT <= LINES \* SLOTS must hold; here LINES = 16, "
                              r"N_IN = 16, N_OUT = 16, SLOTS = 4"),
    (dict(verify_max=3), r"verify_max \(MODE.VERIFY_MAX\) must be in 0..2 in this build "
                         r"\(VERIFY_LIMIT = 2\)"),
])
def test_configure_refuses_build_limits_without_writing(bad, match):
    """Limits of this build: the HWCFG registers are read (once), nothing is written, so
    every register keeps its value."""
    fw, bus = fw_on()
    before = snapshot(bus)
    with pytest.raises(ArgumentError, match=match):
        run(fw.configure(**{**GOOD, **bad}))
    assert bus.writes == [] and bus.regs == before
    assert {RM.decode(a[1]).name for a in bus.log} <= {"ID", "HWCFG0", "HWCFG1", "HWCFG2"}


def test_configure_k_minus_one_leaves_every_register():
    """The issue's case: k = -1 used to leave LAYER, LR, MASK_P and MODE already changed."""
    fw, bus = fw_on()
    run(fw.configure(**GOOD))
    before = snapshot(bus)
    n = len(bus.log)
    with pytest.raises(ArgumentError, match="k "):
        run(fw.configure(n_in=8, n_out=8, lr_mult=1, lr_shift=1, p16=1, k=-1))
    assert bus.regs == before and len(bus.log) == n


def test_configure_p():
    """p in 0..1 becomes P16 = round(p * 65536); p = 0 (learning off) is allowed, a p that
    rounds to 0 is not (configure(p16=0.2) used to write 0)."""
    for p, want in ((0.2, 13107), (0.0, 0), (1.0, 65536), (1.6 / 65536, 2), (1 / 65536, 1)):
        fw, bus = fw_on()
        run(fw.configure(**{**GOOD, "p16": None, "p": p}))
        assert bus.field("MASK_P", "P16") == want, p
    with pytest.raises(ArgumentError, match="below one LSB"):
        Hymem.p16_of(0.9 / 65536)


def test_configure_numpy_integers_and_bools():
    fw, bus = fw_on()
    run(fw.configure(**{**GOOD, "n_in": np.int64(16), "n_out": np.uint8(4), "stoch_round": np.bool_(0),
                        "skip_zero": 0, "change_aware": 1}))
    assert bus.field("LAYER", "N_IN") == 16
    assert (bus.field("MODE", "STOCH_ROUND"), bus.field("MODE", "SKIP_ZERO"),
            bus.field("MODE", "CHANGE_AWARE")) == (0, 0, 1)


# ------------------------------------------------------------------------ timing


def test_set_timing_partial_checks_against_current_values():
    """A partial set: the cross-register rule uses the register's current value (read);
    SENSE 250 against the nominal PULSE 200 is refused with nothing written."""
    fw, bus = fw_on()
    with pytest.raises(ArgumentError, match=r"T_FE1.SENSE must be below T_FE0.PULSE; the "
                                            r"registers would hold 250 and 200"):
        run(fw.set_timing({"T_FE1": {"SENSE": 250}}))
    assert bus.writes == []
    run(fw.set_timing({"T_FE1": {"SENSE": 199}}))
    assert bus.field("T_FE1", "SENSE") == 199 and bus.field("T_FE1", "HOLD") == 2


def test_set_timing_orders_writes_so_every_state_is_legal():
    """Shortening a pulse below its current strobe: the strobe is written first (the
    hardware checks each write against the other register's current value)."""
    fw, bus = fw_on()
    run(fw.set_timing(firmware.FAST_TIMING))
    regs = [RM.decode(a[1]).name for a in bus.writes]
    assert regs.index("T_FE1") < regs.index("T_FE0") and regs.index("T_MR2") < regs.index("T_MR1")
    bus.log.clear()
    run(fw.set_timing({reg: RM.reset_fields(reg) for reg in firmware.FAST_TIMING}))   # back up
    regs = [RM.decode(a[1]).name for a in bus.writes]
    assert regs.index("T_FE0") < regs.index("T_FE1") and regs.index("T_MR1") < regs.index("T_MR2")


@pytest.mark.parametrize("name", ["FAST_TIMING", "COSIM_TIMING"])
def test_timing_sets_are_complete_and_legal(name):
    firmware.check_timing_set(getattr(firmware, name), RM, regmap.build_values(), complete=True)


# ------------------------------------------------------------------------ write / read


@pytest.mark.parametrize("args, kw, match", [
    (("LAYER", 2**40), {}, r"LAYER value must be in 0..4294967295; got 1099511627776"),
    (("LAYER", -1), {}, r"LAYER value must be in 0..4294967295"),
    (("LAYER", 1 << 12), {}, r"sets bits 0x00001000 outside its writable fields"),
    (("LAYER", 3.0), {}, r"LAYER value must be an integer"),
    (("STATUS", 0), {}, r"STATUS is read-only"),
    (("HWCFG0", 0), {}, r"HWCFG0 is read-only"),
    (("FAIL_FIRST",), dict(ADDR=1), r"FAIL_FIRST is read-only"),
    (("LOST", 0), {}, r"LOST is read-only"),
    (("NOPE", 1), {}, r"unknown register 'NOPE'"),
    (("LAYER",), dict(N_IN=0), r"LAYER.N_IN must be in 1..64; got 0"),
    (("LAYER",), dict(N_IN=3.9), r"LAYER.N_IN must be an integer"),
    (("LAYER",), dict(N_INPUTS=3), r"register LAYER has no field 'N_INPUTS'"),
    (("LAYER", 5), dict(N_IN=1), r"give either a value or fields"),
    (("LAYER",), {}, r"give a value or fields"),
    (("IRQ_STATUS",), dict(DONE=1), r"write-1-to-clear"),
    (("CMD",), dict(SAMPLE=2), r"CMD.SAMPLE must be in 0..1; got 2"),
    (("READOUT_SEL",), dict(SLOT=4), r"READOUT_SEL.SLOT must be in 0..3; got 4"),
    (("MODE",), dict(VERIFY_MAX=3), r"MODE.VERIFY_MAX must be in 0..2"),
    (("MASK_P", 65537), {}, r"MASK_P.P16 must be in 0..65536; got 65537"),
    (("T_FE1",), dict(SENSE=300), r"T_FE1.SENSE must be below T_FE0.PULSE \(currently 200\); got 300"),
    (("T_FE0",), dict(PULSE=150), r"T_FE0.PULSE must be above T_FE1.SENSE \(currently 150\); got 150"),
])
def test_write_refuses_without_writing(args, kw, match):
    fw, bus = fw_on()
    with pytest.raises(ArgumentError, match=match):
        run(fw.write(*args, **kw))
    assert bus.writes == []


def test_write_good_and_w1c():
    fw, bus = fw_on()
    run(fw.write("LAYER", N_IN=8, N_OUT=8))
    assert bus.writes[-1] == ("w", RM["LAYER"].addr, RM["LAYER"].pack(N_IN=8, N_OUT=8))
    run(fw.write("IRQ_STATUS", RM["IRQ_STATUS"].field("DONE").mask))     # an explicit W1C value
    run(fw.clear_irq("DONE", "ERROR"))
    assert bus.writes[-1][2] == RM["IRQ_STATUS"].field("DONE").mask | RM["IRQ_STATUS"].field("ERROR").mask
    with pytest.raises(ArgumentError, match="no field 'DONNE'"):
        run(fw.clear_irq("DONNE"))
    with pytest.raises(ArgumentError, match="no field 'SAMPEL'"):
        run(fw.command("SAMPEL"))
    with pytest.raises(ArgumentError, match="at least one"):
        run(fw.command())
    with pytest.raises(ArgumentError, match="CMD is write-only"):
        run(fw.read("CMD"))
    n = len(bus.writes)
    with pytest.raises(ArgumentError, match="lr_mult must be an integer"):
        run(fw.set_lr(1.5, 2))
    assert len(bus.writes) == n


def test_readout_arguments():
    fw, bus = fw_on()
    for slot, pol, match in ((4, 0, r"READOUT_SEL.SLOT must be in 0..3; got 4"),
                             (0, 2, r"READOUT_SEL.POL must be in 0..1; got 2"),
                             (0.5, 0, r"must be an integer")):
        with pytest.raises(ArgumentError, match=match):
            run(fw.readout(slot, pol))
    assert bus.writes == []


# ------------------------------------------------------------------------ vectors


def configured() -> tuple[Hymem, FakeBus]:
    fw, bus = fw_on()
    run(fw.configure(**GOOD))          # N_IN 16, N_OUT 4
    bus.log.clear()
    return fw, bus


@pytest.mark.parametrize("mem, values, match", [
    ("XBUF", [0.6] * 16, r"XBUF values must be integers \(int8\); got dtype float64 \(e.g. 0.6\)"),
    ("XBUF", [1.0] * 16, r"XBUF values must be integers"),
    ("XBUF", ["1"] * 16, r"XBUF values must be integers"),
    ("XBUF", [True] * 16, r"XBUF values must be integers"),
    ("XBUF", [1, "a"] + [0] * 14, r"XBUF values must be integers"),
    ("XBUF", [0] * 15, r"XBUF needs exactly N_IN = 16 values \(LAYER\); got 15"),
    ("XBUF", [0] * 17, r"XBUF needs exactly N_IN = 16 values"),
    ("EBUF", [0] * 16, r"EBUF needs exactly N_OUT = 4 values"),
    ("EBUF", [128, 0, 0, 0], r"EBUF values must be int8 \(-128..127\); got 0..128"),
    ("EBUF", [[1, 2], [3, 4]], r"1-D vector"),
    ("XBUF", [0] * 300, r"XBUF holds 256 entries"),
    ("READOUT", [0] * 16, r"mem must be one of XBUF, EBUF"),
    ("xbuf", [0] * 16, r"mem must be one of XBUF, EBUF"),
])
def test_write_vector_refuses(mem, values, match):
    fw, bus = configured()
    with pytest.raises(ArgumentError, match=match):
        run(fw.write_vector(mem, values))
    assert bus.writes == []


def test_write_vector_packs_and_reads_layer_once_if_unknown():
    fw, bus = configured()
    x = np.arange(-8, 8, dtype=np.int8)
    run(fw.write_vector("XBUF", x))
    words = [a[2] for a in bus.writes]
    assert len(words) == 4 and bus.log == bus.writes           # LAYER known: no read
    assert words[0] == int.from_bytes(bytes(np.arange(-8, -4, dtype=np.int8).view(np.uint8)), "little")
    fw.forget()                                                 # e.g. after a reset
    bus.log.clear()
    run(fw.write_vector("EBUF", [1, -1, 127, -128]))
    assert bus.log[0] == ("r", RM["LAYER"].addr) and len(bus.writes) == 1
    assert bus.writes[0][2] == 0x80_7F_FF_01


# -------------------------------------------------------------------------- wake-up


class WakeBus(FakeBus):
    """FakeBus with STATUS.WOKEN: set by CMD.WAKE (the wake-up completes at once) or
    CMD.WOKEN, unless ``abort`` (a wake-up that never completes)."""

    def __init__(self, woken=False, abort=False):
        super().__init__(SMALL)
        self.abort = abort
        self.regs["STATUS"] = RM["STATUS"].pack(WOKEN=int(woken))

    async def write(self, addr, data, strb=0xF):
        await super().write(addr, data, strb)
        if addr == RM["CMD"].addr:
            cmd = RM["CMD"].unpack(data)
            if cmd["WOKEN"] or (cmd["WAKE"] and not self.abort):
                self.regs["STATUS"] = RM["STATUS"].pack(WOKEN=1)

    def cmds(self) -> list[str]:
        return [n for a in self.writes if a[1] == RM["CMD"].addr
                for n, v in RM["CMD"].unpack(a[2]).items() if v]


def test_start_wakes_a_fresh_array_once():
    bus = WakeBus()
    fw = Hymem(bus, RM)
    assert run(fw.start(cycles=500)) is True
    assert bus.field("WAKE", "CYCLES") == 500 and bus.cmds() == ["WAKE"]
    assert run(fw.start()) is False and bus.cmds() == ["WAKE"]     # woken: nothing more


def test_start_declares_or_leaves_a_woken_array():
    bus = WakeBus()
    assert run(Hymem(bus, RM).start(woken=True)) is False and bus.cmds() == ["WOKEN"]
    bus = WakeBus(woken=True)
    assert run(Hymem(bus, RM).start()) is False and bus.cmds() == []


def test_wake_arguments_and_abort():
    for bad, what in ((0, r"WAKE.CYCLES.* must be in 1\.\.65535"), (70000, r"must be in 1\.\.65535"),
                      (2.5, "must be an integer")):
        bus = WakeBus()
        with pytest.raises(ArgumentError, match=what):
            run(Hymem(bus, RM).start(cycles=bad))
        assert bus.writes == []
    with pytest.raises(ArgumentError, match="woken must be a bool"):
        run(Hymem(WakeBus(), RM).start(woken=2))
    with pytest.raises(firmware.FirmwareError, match="did not complete"):
        run(Hymem(WakeBus(abort=True), RM).wake(3))
