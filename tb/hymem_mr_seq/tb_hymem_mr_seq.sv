// Testbench harness for hymem_mr_seq: the sequencer with its memristor port at the
// boundary, plus an idle FeCAP port, so that the Python macro model
// (hymem.sim.macro_port.MacroPortModel, which needs every port pin) can sit on it.
// Without the model, the test drives mr_rdata_i itself. Testbench-only: not in rtl/.

`default_nettype none

module tb_hymem_mr_seq #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int FecapRows = 128,  // only sizes the idle FeCAP port for the model
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int RowBits  = $clog2(FecapRows)
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic [15:0]               t_reset_i,
  input  logic [15:0]               t_set_i,
  input  logic [15:0]               t_form_i,
  input  logic [15:0]               t_read_i,
  input  logic [15:0]               t_adc_i,
  input  logic [15:0]               t_pre_i,
  input  logic [15:0]               t_xfer_i,
  input  logic [15:0]               t_gap_i,
  input  logic                      req_valid_i,
  output logic                      req_ready_o,
  input  logic [2:0]                req_op_i,
  input  logic [SlotBits-1:0]       req_slot_i,
  input  logic [Lines-1:0]          req_pol_i,
  input  logic [Lines-1:0]          req_mask_i,
  input  logic [Lines*3-1:0]        req_code_i,
  output logic                      done_o,
  output logic [Lines*8-1:0]        rdata_o,
  output logic                      xfer_fired_o,
  output logic                      busy_o,
  output logic                      err_o,
  input  logic                      err_clear_i,
  // macro memristor port
  output logic [SlotBits-1:0]       mr_slot_o,
  output logic [Lines-1:0]          mr_pol_o,
  output logic [Lines-1:0]          mr_mask_o,
  output logic [Lines*3-1:0]        mr_code_o,
  output logic                      mr_reset_o,
  output logic                      mr_set_o,
  output logic                      mr_form_o,
  output logic                      mr_read_o,
  output logic                      mr_adc_o,
  input  logic [Lines*8-1:0]        mr_rdata_i,
  output logic                      tl_pre_o,
  output logic                      xfer_o,
  // macro FeCAP port: idle
  output logic [RowBits-1:0]        fe_row_o,
  output logic                      fe_wl_o,
  output logic                      fe_sl_o,
  output logic                      fe_bl_o,
  output logic [Lines-1:0]          fe_mask_o,
  output logic                      fe_sae_o,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [Lines-1:0]          fe_rdata_i
  /* verilator lint_on UNUSEDSIGNAL */
);

  assign fe_row_o  = '0;
  assign fe_wl_o   = 1'b0;
  assign fe_sl_o   = 1'b0;
  assign fe_bl_o   = 1'b0;
  assign fe_mask_o = '0;
  assign fe_sae_o  = 1'b0;

  hymem_mr_seq #(
    .Lines(Lines), .Slots(Slots), .CodeBits(3), .AdcBits(8), .TimeBits(16)
  ) u_seq (
    .clk_i, .rst_ni,
    .t_reset_i, .t_set_i, .t_form_i, .t_read_i, .t_adc_i, .t_pre_i, .t_xfer_i, .t_gap_i,
    .req_valid_i, .req_ready_o, .req_op_i, .req_slot_i, .req_pol_i, .req_mask_i, .req_code_i,
    .done_o, .rdata_o, .xfer_fired_o, .busy_o, .err_o, .err_clear_i,
    .mr_slot_o, .mr_pol_o, .mr_mask_o, .mr_code_o, .mr_reset_o, .mr_set_o, .mr_form_o,
    .mr_read_o, .mr_adc_o, .mr_rdata_i, .tl_pre_o, .xfer_o
  );

  // The 11 controls, the FeCAP row address and mask in one vector for the Python macro model
  // (hymem.sim.macro_port.MacroPortModel watches it instead of 13 pins; order: hymem.analog.port
  // .CONTROLS, then fe_row_o, fe_mask_o). Testbench-only.
  wire [11+RowBits+Lines-1:0] macro_port_mon = {fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o, mr_reset_o,
      mr_set_o, mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o, fe_row_o, fe_mask_o};

endmodule

`default_nettype wire
