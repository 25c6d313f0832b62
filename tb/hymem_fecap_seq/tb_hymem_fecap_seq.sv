// Testbench harness for hymem_fecap_seq: the sequencer with its FeCAP port at the
// boundary, plus an idle memristor port, so that the Python macro model
// (hymem.sim.macro_port.MacroPortModel, which needs every port pin) can sit on it.
// Without the model, the test drives fe_rdata_i itself. Testbench-only: not in rtl/.

`default_nettype none

module tb_hymem_fecap_seq #(
  parameter int Lines    = 128,
  parameter int Rows     = 128,
  parameter int Slots    = 8,    // only sizes the idle memristor port for the model
  localparam int RowBits  = $clog2(Rows),
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic [15:0]         t_setup_i,
  input  logic [15:0]         t_pulse_i,
  input  logic [15:0]         t_sense_i,
  input  logic [15:0]         t_hold_i,
  input  logic [15:0]         t_gap_i,
  input  logic                req_valid_i,
  output logic                req_ready_o,
  input  logic [1:0]          req_op_i,
  input  logic [RowBits-1:0]  req_row_i,
  input  logic [Lines-1:0]    req_wdata_i,
  output logic                done_o,
  output logic [Lines-1:0]    rdata_o,
  output logic                busy_o,
  input  logic [Rows-1:0]     pend_set_i,
  output logic                pending_o,
  output logic [Rows-1:0]     held_o,
  output logic                err_o,
  input  logic                err_clear_i,
  input  logic                cnt_clear_i,
  output logic [31:0]         cnt_reads_o,
  output logic [31:0]         cnt_writes_o,
  // macro FeCAP port
  output logic [RowBits-1:0]  fe_row_o,
  output logic                fe_wl_o,
  output logic                fe_sl_o,
  output logic                fe_bl_o,
  output logic [Lines-1:0]    fe_mask_o,
  output logic                fe_sae_o,
  input  logic [Lines-1:0]    fe_rdata_i,
  // macro memristor port: idle
  output logic [SlotBits-1:0]       mr_slot_o,
  output logic [Lines-1:0]          mr_pol_o,
  output logic [Lines-1:0]          mr_mask_o,
  output logic [Lines*3-1:0]        mr_code_o,
  output logic                      mr_reset_o,
  output logic                      mr_set_o,
  output logic                      mr_form_o,
  output logic                      mr_read_o,
  output logic                      mr_adc_o,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [Lines*8-1:0]        mr_rdata_i,
  /* verilator lint_on UNUSEDSIGNAL */
  output logic                      tl_pre_o,
  output logic                      xfer_o
);

  assign mr_slot_o  = '0;
  assign mr_pol_o   = '0;
  assign mr_mask_o  = '0;
  assign mr_code_o  = '0;
  assign mr_reset_o = 1'b0;
  assign mr_set_o   = 1'b0;
  assign mr_form_o  = 1'b0;
  assign mr_read_o  = 1'b0;
  assign mr_adc_o   = 1'b0;
  assign tl_pre_o   = 1'b0;
  assign xfer_o     = 1'b0;

  hymem_fecap_seq #(.Lines(Lines), .Rows(Rows), .TimeBits(16)) u_seq (
    .clk_i, .rst_ni,
    .t_setup_i, .t_pulse_i, .t_sense_i, .t_hold_i, .t_gap_i,
    .req_valid_i, .req_ready_o, .req_op_i, .req_row_i, .req_wdata_i,
    .done_o, .rdata_o, .busy_o,
    .pend_set_i, .pending_o, .held_o, .err_o, .err_clear_i,
    .cnt_clear_i, .cnt_reads_o, .cnt_writes_o,
    .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i
  );

  // The 11 controls, the FeCAP row address and mask in one vector for the Python macro model
  // (hymem.sim.macro_port.MacroPortModel watches it instead of 13 pins; order: hymem.analog.port
  // .CONTROLS, then fe_row_o, fe_mask_o). Testbench-only.
  wire [11+RowBits+Lines-1:0] macro_port_mon = {fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o, mr_reset_o,
      mr_set_o, mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o, fe_row_o, fe_mask_o};

endmodule

`default_nettype wire
