// hymem_form_engine: forming of every memristor of the array.
//
// Datasheet (the algorithm is docs/controller.md, "Forming"; bit-exact model:
// hymem.digital.engine.EngineState.form)
//   start_i: one forming run, row by row: slot 0 G+ (pol 0), slot 0 G-, slot 1
//     G+, ... For each row: every line is to form (the verify scan's todo is
//     loaded with all lines); read the row's lines still to form, scan them
//     (ADC code >= form target: formed); if some are left and fewer than
//     form_max pulses were given, a forming pulse on them and read again;
//     lines left after the last read are failures (the scan flags them).
//   abort_i (level: an abort is pending): taken at the start of the next row;
//     the row in flight completes. fin_o pulses in the last cycle of a run,
//     with fin_aborted_o when it stopped on an abort (slot_o: that row's slot).
//   The memristor request carries no mask: it is the verify scan's todo.
//   Phases (phase_o, shown by hymem_xfer_engine as its phase while forming):
//     0 idle, 22 row start, 23 read, 24 scan, 25 decide, 26 forming pulse;
//     row start and decide last one cycle.
//   form_max is latched at start_i; the target and the scan belong to
//   hymem_verify_scan.

`include "hymem_defs.svh"
`include "hymem_regs_defs.svh"

`default_nettype none

module hymem_form_engine #(
  parameter int Slots = 8,
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic [7:0]          cfg_form_max_i,
  // control
  input  logic                start_i,
  input  logic                abort_i,
  output logic [4:0]          phase_o,
  output logic                fin_o,
  output logic                fin_aborted_o,
  output logic [SlotBits-1:0] slot_o,
  // memristor sequencer: a read (req_form_o = 0) or a forming pulse of row (slot_o, req_pol_o)
  output logic                req_valid_o,
  input  logic                req_ready_i,
  output logic                req_form_o,
  output logic                req_pol_o,
  input  logic                mr_done_i,
  // verify scan
  output logic                scan_load_o,    // todo := every line, tries := 0
  output logic                scan_o,         // scan the read one lane per cycle
  input  logic                scan_last_i,
  output logic                decide_o,
  input  logic                again_i,
  output logic [7:0]          max_o
);

  `HYMEM_CHECK(chk_slots, Slots >= 1 && Slots <= 64, "hymem_form_engine: Slots must be in 1..64")

  // phases: hymem_xfer_phase_e's XFER_FORM_* (rtl/hymem_regs.rdl, STATUS.XFER_PHASE)

  hymem_xfer_phase_e   ph_q, ph_d;
  logic [SlotBits-1:0] slot_q, slot_d;
  logic                pol_q, pol_d;
  logic                issued_q, issued_d;
  logic [7:0]          max_q;
  logic                last_slot;

  assign last_slot   = (slot_q == SlotBits'(Slots - 1));
  assign req_valid_o = ((ph_q == XFER_FORM_RD) || (ph_q == XFER_FORM_PULSE)) && !issued_q;
  assign req_form_o  = (ph_q == XFER_FORM_PULSE);
  assign scan_load_o = (ph_q == XFER_FORM_ROW);
  assign scan_o      = (ph_q == XFER_FORM_CHK);
  assign decide_o    = (ph_q == XFER_FORM_DEC);
  // the run ends: an abort at a row start, or the last row done
  assign fin_aborted_o = (ph_q == XFER_FORM_ROW) && abort_i;
  assign fin_o         = fin_aborted_o || ((ph_q == XFER_FORM_DEC) && !again_i && pol_q && last_slot);

  always_comb begin
    ph_d     = ph_q;
    slot_d   = slot_q;
    pol_d    = pol_q;
    issued_d = issued_q || (req_valid_o && req_ready_i);
    case (ph_q)
      XFER_IDLE: begin
        slot_d = '0;
        pol_d  = 1'b0;
        if (start_i) ph_d = XFER_FORM_ROW;
      end
      XFER_FORM_ROW: begin
        issued_d = 1'b0;
        if (abort_i) begin
          ph_d = XFER_IDLE;
        end else begin
          ph_d = XFER_FORM_RD;
        end
      end
      XFER_FORM_RD: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = XFER_FORM_CHK;
      end
      XFER_FORM_CHK: if (scan_last_i) ph_d = XFER_FORM_DEC;
      XFER_FORM_DEC: begin
        if (!again_i) begin
          // row done: the other device of the pair, then the next slot
          pol_d = !pol_q;
          ph_d  = XFER_FORM_ROW;
          if (pol_q) begin
            slot_d = slot_q + 1'b1;
            if (last_slot) ph_d = XFER_IDLE;
          end
        end else begin
          ph_d = XFER_FORM_PULSE;
        end
      end
      XFER_FORM_PULSE: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = XFER_FORM_RD;
      end
      default: ph_d = XFER_IDLE;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ph_q     <= XFER_IDLE;
      slot_q   <= '0;
      pol_q    <= 1'b0;
      issued_q <= 1'b0;
      max_q    <= '0;
    end else begin
      ph_q     <= ph_d;
      slot_q   <= slot_d;
      pol_q    <= pol_d;
      issued_q <= issued_d;
      if (ph_q == XFER_IDLE && start_i) max_q <= cfg_form_max_i;
    end
  end

  assign phase_o   = ph_q;
  assign slot_o    = slot_q;
  assign req_pol_o = pol_q;
  assign max_o     = max_q;

endmodule

`default_nettype wire
