// Testbench harness for hymem_form_engine: the engine with the verify scan it shares
// with the transfer engine in hymem_xfer_engine; the memristor request and the read data
// at the boundary, where the test plays the memristor sequencer. Testbench-only.

`default_nettype none

module tb_hymem_form_engine #(
  parameter int Lines    = 16,
  parameter int Slots    = 4,
  localparam int AdcBits  = 8,
  localparam int CodeBits = 3,
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int LaneBits = $clog2(Lines)
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic [7:0]               cfg_form_max_i,
  input  logic [AdcBits-1:0]       cfg_form_target_i,
  input  logic                     start_i,
  input  logic                     abort_i,
  output logic [4:0]               phase_o,
  output logic                     fin_o,
  output logic                     fin_aborted_o,
  output logic [SlotBits-1:0]      slot_o,
  output logic                     req_valid_o,
  input  logic                     req_ready_i,
  output logic                     req_form_o,
  output logic                     req_pol_o,
  output logic [Lines-1:0]         req_mask_o,
  input  logic                     mr_done_i,
  input  logic [Lines*AdcBits-1:0] mr_rdata_i,
  output logic                     fail_o,
  output logic [LaneBits-1:0]      lane_o
);

  logic       scan_load, scan, last, decide, again;
  logic [7:0] max;
  logic [Lines-1:0] unused_pass;

  hymem_form_engine #(.Slots(Slots)) u_form (
    .clk_i, .rst_ni, .cfg_form_max_i, .start_i, .abort_i, .phase_o, .fin_o, .fin_aborted_o,
    .slot_o, .req_valid_o, .req_ready_i, .req_form_o, .req_pol_o, .mr_done_i,
    .scan_load_o (scan_load), .scan_o (scan), .scan_last_i (last), .decide_o (decide),
    .again_i (again), .max_o (max)
  );

  hymem_verify_scan #(.Lines(Lines), .CodeBits(CodeBits), .AdcBits(AdcBits)) u_scan (
    .clk_i, .rst_ni,
    .cfg_load_i (start_i && phase_o == 5'd0), .cfg_vfy_lo_i ('0),
    .cfg_vfy_hi_i ('0), .cfg_form_target_i,
    .load_i (scan_load), .load_mask_i ({Lines{1'b1}}), .max_i (max), .decide_i (decide),
    .todo_o (req_mask_o), .again_o (again),
    .scan_plus_i (1'b0), .scan_minus_i (1'b0), .scan_form_i (scan), .adc_i (mr_rdata_i),
    .code_sign_i ('0), .code_mag_i ('0), .lane_o, .last_o (last), .pass_o (unused_pass),
    .fail_o
  );

endmodule

`default_nettype wire
