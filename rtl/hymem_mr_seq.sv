// hymem_mr_seq: memristor pulse sequencer, one operation at a time.
//
// Datasheet
//   Executes operations on the memristor port of the macro (docs/macro_port.md)
//   on the devices selected by slot (memristor rows 2*slot, 2*slot+1), a
//   per-line polarity (0: G+, 1: G-) and a per-line mask:
//     MR_RESET  RESET pulse, t_reset cycles.
//     MR_SET    digital-code SET pulse, t_set cycles; gate level per line from
//               code (3 bits per line).
//     MR_FORM   one forming pulse, t_form cycles (the forming loop that reads
//               back and repeats lives in hymem_xfer_engine).
//     MR_READ   read pulse, t_read cycles; ADC strobe from cycle t_adc of the
//               pulse to its end; the ADC codes (8 bits per line) are captured
//               at the end of the pulse into rdata_o and held.
//     MR_XFER   DAC-free transfer: transfer-line precharge (t_pre), a gap
//               (t_gap), then the transfer pulse (t_xfer): the slot's MSB FeCAP
//               rows and the selected memristors together. xfer_fired_o pulses
//               when the transfer pulse ends (the MSB rows are then pending
//               write-back).
//   mr_code_o carries the request's code during a code SET and 0 otherwise.
//   Every operation ends with a t_gap recovery (all pulses off). Every phase
//   lasts at least one cycle. Handshake: req_valid_i/req_ready_o (accepted in
//   idle), done_o pulses for one cycle at the end. All port outputs are flops;
//   selection signals are registered at accept and stable during the op.
//   Constraint (checked by the register block): 1 <= t_adc < t_read.

`include "hymem_defs.svh"

`default_nettype none

module hymem_mr_seq #(
  parameter int Lines    = 128,
  parameter int Slots    = 8,
  parameter int CodeBits = 3,
  parameter int AdcBits  = 8,
  parameter int TimeBits = 16,
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // timing, in clock cycles
  input  logic [TimeBits-1:0]       t_reset_i,
  input  logic [TimeBits-1:0]       t_set_i,
  input  logic [TimeBits-1:0]       t_form_i,
  input  logic [TimeBits-1:0]       t_read_i,
  input  logic [TimeBits-1:0]       t_adc_i,
  input  logic [TimeBits-1:0]       t_pre_i,
  input  logic [TimeBits-1:0]       t_xfer_i,
  input  logic [TimeBits-1:0]       t_gap_i,
  // request
  input  logic                      req_valid_i,
  output logic                      req_ready_o,
  input  logic [2:0]                req_op_i,
  input  logic [SlotBits-1:0]       req_slot_i,
  input  logic [Lines-1:0]          req_pol_i,
  input  logic [Lines-1:0]          req_mask_i,
  input  logic [Lines*CodeBits-1:0] req_code_i,
  output logic                      done_o,
  output logic [Lines*AdcBits-1:0]  rdata_o,
  output logic                      xfer_fired_o,
  output logic                      busy_o,
  output logic                      err_o,        // an unknown op was requested (sticky)
  input  logic                      err_clear_i,
  // macro memristor port
  output logic [SlotBits-1:0]       mr_slot_o,
  output logic [Lines-1:0]          mr_pol_o,
  output logic [Lines-1:0]          mr_mask_o,
  output logic [Lines*CodeBits-1:0] mr_code_o,
  output logic                      mr_reset_o,
  output logic                      mr_set_o,
  output logic                      mr_form_o,
  output logic                      mr_read_o,
  output logic                      mr_adc_o,
  input  logic [Lines*AdcBits-1:0]  mr_rdata_i,
  output logic                      tl_pre_o,
  output logic                      xfer_o
);


  `HYMEM_CHECK(chk_lines, Lines >= 1 && Slots >= 1, "hymem_mr_seq: Lines and Slots must be >= 1")
  `HYMEM_CHECK(chk_time, TimeBits >= 2 && TimeBits <= 32, "hymem_mr_seq: TimeBits must be in 2..32")

  // states: hymem_mr_state_e (hymem_defs.svh)
  hymem_mr_state_e           state_q, state_d;
  logic [TimeBits-1:0]       cnt_q, cnt_d;
  hymem_mr_op_e              op_q, op_d;   // typed: waves show the operation's name
  logic [SlotBits-1:0]       slot_q, slot_d;
  logic [Lines-1:0]          pol_q, pol_d, mask_q, mask_d;
  logic [Lines*CodeBits-1:0] code_q, code_d;
  logic [Lines*AdcBits-1:0]  rdata_q, rdata_d;
  logic                      err_q, err_d;
  logic                      reset_q, set_q, form_q, read_q, adc_q, pre_q, xfer_q;
  logic                      reset_d, set_d, form_d, read_d, adc_d, pre_d, xfer_d;
  logic                      fired_q, fired_d;

  function automatic logic [TimeBits-1:0] len(input logic [TimeBits-1:0] t);
    len = (t == '0) ? TimeBits'(1) : t;
  endfunction

  logic [TimeBits-1:0] main_len;
  logic                last;
  logic                valid_op;

  always_comb begin
    case (op_q)
      MR_RESET: main_len = len(t_reset_i);
      MR_SET:   main_len = len(t_set_i);
      MR_FORM:  main_len = len(t_form_i);
      MR_READ:  main_len = len(t_read_i);
      default:  main_len = len(t_xfer_i);
    endcase
    case (state_q)
      MS_PRE:   last = (cnt_q == len(t_pre_i) - 1'b1);
      MS_GAP1:  last = (cnt_q == len(t_gap_i) - 1'b1);
      MS_MAIN:  last = (cnt_q == main_len - 1'b1);
      MS_GAP:   last = (cnt_q == len(t_gap_i) - 1'b1);
      default: last = 1'b1;
    endcase
  end

  assign req_ready_o = (state_q == MS_IDLE);
  assign valid_op    = (req_op_i <= MR_XFER);

  always_comb begin
    state_d = state_q;
    cnt_d   = last ? '0 : cnt_q + 1'b1;
    op_d    = op_q;
    slot_d  = slot_q;
    pol_d   = pol_q;
    mask_d  = mask_q;
    code_d  = code_q;
    rdata_d = rdata_q;
    err_d   = err_q && !err_clear_i;
    fired_d = 1'b0;
    case (state_q)
      MS_IDLE: begin
        cnt_d = '0;
        if (req_valid_i) begin
          // (Icarus 11 has no enum casts: each code named; an unknown code is refused below
          // and never reaches MS_MAIN)
          case (req_op_i)
            3'd0:    op_d = MR_RESET;
            3'd1:    op_d = MR_SET;
            3'd2:    op_d = MR_FORM;
            3'd3:    op_d = MR_READ;
            default: op_d = MR_XFER;
          endcase
          slot_d = req_slot_i;
          pol_d  = req_pol_i;
          mask_d = req_mask_i;
          // only a code SET uses the code: other operations drive 0 (the requester's
          // code is a data path that may hold anything, X after power-up included)
          code_d = (req_op_i == MR_SET) ? req_code_i : '0;
          if (!valid_op) begin
            err_d   = 1'b1;
            state_d = MS_DONE;
          end else begin
            if (req_op_i == MR_XFER) state_d = MS_PRE;
            else                     state_d = MS_MAIN;
          end
        end
      end
      MS_PRE:  if (last) state_d = MS_GAP1;
      MS_GAP1: if (last) state_d = MS_MAIN;
      MS_MAIN: if (last) begin
        state_d = MS_GAP;
        if (op_q == MR_READ) rdata_d = mr_rdata_i;
        if (op_q == MR_XFER) fired_d = 1'b1;
      end
      MS_GAP:  if (last) state_d = MS_DONE;
      MS_DONE: state_d = MS_IDLE;
      default: state_d = MS_IDLE;
    endcase

    reset_d = (state_d == MS_MAIN) && (op_d == MR_RESET);
    set_d   = (state_d == MS_MAIN) && (op_d == MR_SET);
    form_d  = (state_d == MS_MAIN) && (op_d == MR_FORM);
    read_d  = (state_d == MS_MAIN) && (op_d == MR_READ);
    adc_d   = (state_d == MS_MAIN) && (op_d == MR_READ) && (cnt_d >= t_adc_i);
    pre_d   = (state_d == MS_PRE);
    xfer_d  = (state_d == MS_MAIN) && (op_d == MR_XFER);
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q <= MS_IDLE;
      cnt_q   <= '0;
      op_q    <= MR_RESET;
      slot_q  <= '0;
      pol_q   <= '0;
      mask_q  <= '0;
      code_q  <= '0;
      rdata_q <= '0;
      err_q   <= 1'b0;
      reset_q <= 1'b0;
      set_q   <= 1'b0;
      form_q  <= 1'b0;
      read_q  <= 1'b0;
      adc_q   <= 1'b0;
      pre_q   <= 1'b0;
      xfer_q  <= 1'b0;
      fired_q <= 1'b0;
    end else begin
      state_q <= state_d;
      cnt_q   <= cnt_d;
      op_q    <= op_d;
      slot_q  <= slot_d;
      pol_q   <= pol_d;
      mask_q  <= mask_d;
      code_q  <= code_d;
      rdata_q <= rdata_d;
      err_q   <= err_d;
      reset_q <= reset_d;
      set_q   <= set_d;
      form_q  <= form_d;
      read_q  <= read_d;
      adc_q   <= adc_d;
      pre_q   <= pre_d;
      xfer_q  <= xfer_d;
      fired_q <= fired_d;
    end
  end

  assign done_o       = (state_q == MS_DONE);
  assign busy_o       = (state_q != MS_IDLE);
  assign rdata_o      = rdata_q;
  assign xfer_fired_o = fired_q;
  assign err_o        = err_q;
  assign mr_slot_o    = slot_q;
  assign mr_pol_o     = pol_q;
  assign mr_mask_o    = mask_q;
  assign mr_code_o    = code_q;
  assign mr_reset_o   = reset_q;
  assign mr_set_o     = set_q;
  assign mr_form_o    = form_q;
  assign mr_read_o    = read_q;
  assign mr_adc_o     = adc_q;
  assign tl_pre_o     = pre_q;
  assign xfer_o       = xfer_q;

endmodule

`default_nettype wire
