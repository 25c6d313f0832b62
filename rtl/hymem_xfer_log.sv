// hymem_xfer_log: the transfer engine's event counters and failure log.
//
// Datasheet (the counters are docs/controller.md, "Transfer (reprogram) engine";
// bit-exact model: hymem.digital.engine.XferLog)
//   Counters, 32 bits, wrapping, cleared by cnt_clear_i (which wins over an
//   event in the same cycle); each event below is one cycle:
//     xfer_start_i   transfers       += 1
//     cand_i         xfer_programmed += |mask_i|   (the slot's candidates)
//                    xfer_skipped    += used_count_i - |mask_i|
//                                       (used lines of the slot, candidates among them)
//     mr_reset_i     mr_resets       += |mask_i|   (an accepted memristor operation:
//     mr_set_i       mr_sets         += |mask_i|    |mask_i| devices; several may be on
//     mr_form_i      forms           += |mask_i|    in one cycle, e.g. a retry's RESET)
//     mr_vread_i     vfy_reads       += |mask_i|
//     mr_retry_i     vfy_retries     += |mask_i|
//     fail_i         failures        += 1
//   |mask_i| (the number of ones) is computed only for the counter that uses it.
//   Failure log: fail_i records address fail_slot_i * Lines + fail_lane_i:
//     fail_any_o, fail_first_o (the first since the last clear) and fail_last_o,
//     each with its fail_kind_i ({forming, pol}: a verify failure names the
//     synapse, a forming failure the device) in fail_first_kind_o and
//     fail_last_kind_o, sticky until fail_clear_i (which wins over a failure in
//     the same cycle).
//   Interrupt: fail_irq_o pulses for one cycle after run_done_i (the last cycle
//     of a run) when a failure was recorded since run_start_i.

`include "hymem_defs.svh"

`default_nettype none

module hymem_xfer_log #(
  parameter int Lines = 128,
  parameter int Slots = 8,
  localparam int IdxBits  = $clog2(Lines * Slots) + 1,
  localparam int LaneBits = $clog2(Lines),
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                cnt_clear_i,
  input  logic                fail_clear_i,
  // events
  input  logic                run_start_i,
  input  logic                run_done_i,
  input  logic                xfer_start_i,
  input  logic                cand_i,
  input  logic [LaneBits:0]   used_count_i,
  input  logic                mr_reset_i,
  input  logic                mr_set_i,
  input  logic                mr_form_i,
  input  logic                mr_vread_i,
  input  logic                mr_retry_i,
  input  logic [Lines-1:0]    mask_i,
  input  logic                fail_i,
  input  logic [SlotBits-1:0] fail_slot_i,
  input  logic [LaneBits-1:0] fail_lane_i,
  input  logic [1:0]          fail_kind_i,     // {forming, pol}
  // counters
  output logic [31:0]         cnt_transfers_o,
  output logic [31:0]         cnt_programmed_o,
  output logic [31:0]         cnt_skipped_o,
  output logic [31:0]         cnt_resets_o,
  output logic [31:0]         cnt_sets_o,
  output logic [31:0]         cnt_vfy_reads_o,
  output logic [31:0]         cnt_retries_o,
  output logic [31:0]         cnt_forms_o,
  output logic [31:0]         cnt_failures_o,
  // failure log
  output logic                fail_any_o,
  output logic [IdxBits-1:0]  fail_first_o,
  output logic [IdxBits-1:0]  fail_last_o,
  output logic [1:0]          fail_first_kind_o,
  output logic [1:0]          fail_last_kind_o,
  output logic                fail_irq_o
);

  `HYMEM_CHECK(chk_geom, Lines >= 2 && Slots >= 1 && Lines * Slots <= 65536,
               "hymem_xfer_log: need Lines >= 2, Slots >= 1, Lines * Slots <= 65536")

  // $countones rather than a loop: Icarus runs a loop as a thread on every change
  function automatic logic [31:0] ones(input logic [Lines-1:0] v);
    ones = 32'($countones(v));
  endfunction

  logic [31:0] c_xfers_q, c_prog_q, c_skip_q, c_rst_q, c_set_q, c_vrd_q, c_retry_q, c_form_q,
               c_fail_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || cnt_clear_i) begin
      c_xfers_q <= '0;
      c_prog_q  <= '0;
      c_skip_q  <= '0;
      c_rst_q   <= '0;
      c_set_q   <= '0;
      c_vrd_q   <= '0;
      c_retry_q <= '0;
      c_form_q  <= '0;
      c_fail_q  <= '0;
    end else begin
      if (xfer_start_i) c_xfers_q <= c_xfers_q + 1'b1;
      if (cand_i) begin
        c_prog_q <= c_prog_q + ones(mask_i);
        c_skip_q <= c_skip_q + 32'(used_count_i) - ones(mask_i);
      end
      if (mr_reset_i) c_rst_q   <= c_rst_q + ones(mask_i);
      if (mr_set_i)   c_set_q   <= c_set_q + ones(mask_i);
      if (mr_form_i)  c_form_q  <= c_form_q + ones(mask_i);
      if (mr_vread_i) c_vrd_q   <= c_vrd_q + ones(mask_i);
      if (mr_retry_i) c_retry_q <= c_retry_q + ones(mask_i);
      if (fail_i)     c_fail_q  <= c_fail_q + 1'b1;
    end
  end

  // failure log
  logic               fail_any_q, logged_q, irq_q;
  logic [IdxBits-1:0] fail_first_q, fail_last_q, fail_addr;
  logic [1:0]         fail_first_kind_q, fail_last_kind_q;
  assign fail_addr = IdxBits'(fail_slot_i) * IdxBits'(Lines) + IdxBits'(fail_lane_i);

  always_ff @(posedge clk_i) begin
    if (!rst_ni || fail_clear_i) begin
      fail_any_q        <= 1'b0;
      fail_first_q      <= '0;
      fail_last_q       <= '0;
      fail_first_kind_q <= '0;
      fail_last_kind_q  <= '0;
    end else if (fail_i) begin
      fail_any_q       <= 1'b1;
      fail_last_q      <= fail_addr;
      fail_last_kind_q <= fail_kind_i;
      if (!fail_any_q) begin
        fail_first_q      <= fail_addr;
        fail_first_kind_q <= fail_kind_i;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      logged_q <= 1'b0;
      irq_q    <= 1'b0;
    end else begin
      if (run_start_i)  logged_q <= 1'b0;
      else if (fail_i)  logged_q <= 1'b1;
      irq_q <= run_done_i && logged_q;
    end
  end

  assign cnt_transfers_o  = c_xfers_q;
  assign cnt_programmed_o = c_prog_q;
  assign cnt_skipped_o    = c_skip_q;
  assign cnt_resets_o     = c_rst_q;
  assign cnt_sets_o       = c_set_q;
  assign cnt_vfy_reads_o  = c_vrd_q;
  assign cnt_retries_o    = c_retry_q;
  assign cnt_forms_o      = c_form_q;
  assign cnt_failures_o   = c_fail_q;
  assign fail_any_o       = fail_any_q;
  assign fail_first_o     = fail_first_q;
  assign fail_last_o      = fail_last_q;
  assign fail_first_kind_o = fail_first_kind_q;
  assign fail_last_kind_o  = fail_last_kind_q;
  assign fail_irq_o       = irq_q;

endmodule

`default_nettype wire
