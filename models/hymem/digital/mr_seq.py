"""Cycle model of rtl/hymem_mr_seq.sv (the memristor pulse sequencer), written from the datasheet
in the RTL's header: :class:`MrSeqRef` says what every output must be in the current cycle and how
the state changes at a clock edge (tb/hymem_mr_seq compares it with the RTL in every cycle). Op
codes: rtl/hymem_defs.svh's hymem_mr_op_e."""

from __future__ import annotations

from dataclasses import dataclass, field


OP_RESET, OP_SET, OP_FORM, OP_READ, OP_XFER = range(5)
OP_NAMES = {0: "RESET", 1: "SET", 2: "FORM", 3: "READ", 4: "XFER", 5: "op 5", 6: "op 6", 7: "op 7"}
PULSE_PIN = {OP_RESET: "mr_reset_o", OP_SET: "mr_set_o", OP_FORM: "mr_form_o",
             OP_READ: "mr_read_o", OP_XFER: "xfer_o"}
CODE_BITS, ADC_BITS = 3, 8


@dataclass(frozen=True)
class Timing:
    reset: int
    set: int
    form: int
    read: int
    adc: int
    pre: int
    xfer: int
    gap: int


FIELDS = ("reset", "set", "form", "read", "adc", "pre", "xfer", "gap")


def phase_cycles(t: int) -> int:
    """Cycles a phase of timing value t lasts (0 counts as 1, as in the RTL)."""
    return t if t > 0 else 1


def op_cycles(op: int, t: Timing) -> list[tuple[str, int]]:
    """(phase, cycle within it) of every cycle of an operation after its acceptance."""
    main = {OP_RESET: t.reset, OP_SET: t.set, OP_FORM: t.form, OP_READ: t.read, OP_XFER: t.xfer}[op]
    plan = [("PRE", t.pre), ("GAP1", t.gap)] if op == OP_XFER else []
    plan += [("MAIN", main), ("GAP", t.gap)]
    return [(ph, k) for ph, n in plan for k in range(phase_cycles(n))] + [("DONE", 0)]


@dataclass
class Op:
    op: int
    slot: int
    pol: int
    mask: int
    code: int
    timing: Timing
    cycles: list
    accepted_at: int = 0
    done_at: int | None = None
    rdata: int | None = None
    phases_seen: list = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.op <= OP_XFER

    def __str__(self) -> str:
        return f"{OP_NAMES[self.op]} slot {self.slot} {self.timing}"


class MrSeqRef:
    """Outputs of the current cycle (:meth:`expected`), update at a clock edge (:meth:`edge`)."""

    def __init__(self) -> None:
        self.accepted: list[Op] = []
        self.completed: list[Op] = []
        self.reset()

    def reset(self) -> None:
        self.op: Op | None = None
        self.idx = 0
        self.sel = (0, 0, 0, 0)    # slot, pol, mask, code of the last accepted request
        self.rdata = 0
        self.err = False

    @property
    def phase(self):
        return self.op.cycles[self.idx] if self.op else None

    def expected(self) -> dict:
        slot, pol, mask, code = self.sel
        e = dict(req_ready_o=int(self.op is None), busy_o=int(self.op is not None), done_o=0,
                 rdata_o=self.rdata, xfer_fired_o=0, err_o=int(self.err), mr_slot_o=slot,
                 mr_pol_o=pol, mr_mask_o=mask, mr_code_o=code, mr_reset_o=0, mr_set_o=0,
                 mr_form_o=0, mr_read_o=0, mr_adc_o=0, tl_pre_o=0, xfer_o=0)
        if self.op is not None:
            op = self.op
            ph, k = self.phase
            e["done_o"] = int(ph == "DONE")
            if ph == "MAIN":
                e[PULSE_PIN[op.op]] = 1
                e["mr_adc_o"] = int(op.op == OP_READ and k >= op.timing.adc)
            elif ph == "PRE":
                e["tl_pre_o"] = 1
            elif ph == "GAP" and k == 0 and op.op == OP_XFER:
                e["xfer_fired_o"] = 1
        return e

    def edge(self, i: dict, cycle: int) -> None:
        if not i["rst_ni"]:
            self.reset()
            return
        self.err = self.err and not i["err_clear_i"]
        op = self.op
        if op is not None:
            ph, _ = self.phase
            nxt = op.cycles[self.idx + 1][0] if self.idx + 1 < len(op.cycles) else None
            op.phases_seen.append(ph)
            if op.op == OP_READ and ph == "MAIN" and nxt != "MAIN":
                self.rdata = op.rdata = i["mr_rdata_i"]
            self.idx += 1
            if self.idx == len(op.cycles):
                op.done_at = cycle
                self.completed.append(op)
                self.op = None
        elif i["req_valid_i"]:
            t = Timing(*(i[f"t_{k}_i"] for k in FIELDS))
            new = Op(i["req_op_i"], i["req_slot_i"], i["req_pol_i"], i["req_mask_i"],
                     i["req_code_i"], t, [], accepted_at=cycle)
            new.cycles = op_cycles(new.op, t) if new.valid else [("DONE", 0)]
            if not new.valid:
                self.err = True
            # the code pins carry the code of a code SET only (0 for every other operation)
            self.sel = (new.slot, new.pol, new.mask, new.code if new.op == OP_SET else 0)
            self.accepted.append(new)
            self.op, self.idx = new, 0
