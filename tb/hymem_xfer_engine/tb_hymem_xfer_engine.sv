// Testbench harness for hymem_xfer_engine: the engine with the FeCAP and memristor
// pulse sequencers, the whole macro port at the boundary (where the Python macro
// model sits). Testbench-only: not part of rtl/.

`default_nettype none

module tb_hymem_xfer_engine #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int MagWidth  = 9,
  parameter int CodeBits  = 3,
  parameter int FecapRows = 128,
  localparam int AdcBits  = 8,
  localparam int IdxBits  = $clog2(Lines * Slots) + 1,
  localparam int RowBits  = $clog2(FecapRows),
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int Levels   = 1 << CodeBits
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // configuration
  input  logic [IdxBits-1:0]        cfg_n_in_i,
  input  logic [IdxBits-1:0]        cfg_n_out_i,
  input  logic                      cfg_change_aware_i,
  input  logic                      cfg_code_round_i,
  input  logic [7:0]                cfg_verify_max_i,
  input  logic [Levels*AdcBits-1:0] cfg_vfy_lo_i,
  input  logic [Levels*AdcBits-1:0] cfg_vfy_hi_i,
  input  logic [AdcBits-1:0]        cfg_form_target_i,
  input  logic [7:0]                cfg_form_max_i,
  input  logic [15:0]               t_fe_setup_i,
  input  logic [15:0]               t_fe_pulse_i,
  input  logic [15:0]               t_fe_sense_i,
  input  logic [15:0]               t_fe_hold_i,
  input  logic [15:0]               t_fe_gap_i,
  input  logic [15:0]               t_mr_reset_i,
  input  logic [15:0]               t_mr_set_i,
  input  logic [15:0]               t_mr_form_i,
  input  logic [15:0]               t_mr_read_i,
  input  logic [15:0]               t_mr_adc_i,
  input  logic [15:0]               t_mr_pre_i,
  input  logic [15:0]               t_mr_xfer_i,
  input  logic [15:0]               t_mr_gap_i,
  // control and status
  input  logic                      start_xfer_i,
  input  logic                      start_form_i,
  input  logic                      abort_i,
  output logic                      busy_o,
  output logic                      done_o,
  output logic                      aborted_o,
  output logic [SlotBits-1:0]       abort_slot_o,
  output logic [4:0]                phase_o,
  output logic [SlotBits-1:0]       slot_o,
  output logic [FecapRows-1:0]      held_rows_o,
  output logic                      fe_pending_o,
  output logic                      seq_err_o,
  input  logic                      cnt_clear_i,
  output logic [31:0]               cnt_transfers_o,
  output logic [31:0]               cnt_programmed_o,
  output logic [31:0]               cnt_skipped_o,
  output logic [31:0]               cnt_resets_o,
  output logic [31:0]               cnt_sets_o,
  output logic [31:0]               cnt_vfy_reads_o,
  output logic [31:0]               cnt_retries_o,
  output logic [31:0]               cnt_forms_o,
  output logic [31:0]               cnt_failures_o,
  output logic [31:0]               cnt_fe_reads_o,
  output logic [31:0]               cnt_fe_writes_o,
  input  logic                      fail_clear_i,
  output logic                      fail_any_o,
  output logic [IdxBits-1:0]        fail_first_o,
  output logic [IdxBits-1:0]        fail_last_o,
  output logic [1:0]                fail_first_kind_o,   // {forming, pol}
  output logic [1:0]                fail_last_kind_o,
  output logic                      fail_irq_o,
  // macro FeCAP port
  output logic [RowBits-1:0]        fe_row_o,
  output logic                      fe_wl_o,
  output logic                      fe_sl_o,
  output logic                      fe_bl_o,
  output logic [Lines-1:0]          fe_mask_o,
  output logic                      fe_sae_o,
  input  logic [Lines-1:0]          fe_rdata_i,
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

  logic                      fe_valid, fe_ready, fe_done, fe_err, mr_valid, mr_ready, mr_done, mr_fired,
                             mr_err;
  logic [1:0]                fe_op;
  logic [2:0]                mr_op;
  logic [RowBits-1:0]        fe_row;
  logic [Lines-1:0]          fe_wdata, fe_rdata, mr_pol, mr_mask;
  logic [FecapRows-1:0]      pend_set;
  logic [SlotBits-1:0]       mr_slot;
  logic [Lines*CodeBits-1:0] mr_code;
  logic [Lines*AdcBits-1:0]  mr_rdata;

  assign seq_err_o = fe_err || mr_err;

  hymem_xfer_engine #(
    .Lines(Lines), .Slots(Slots), .MagWidth(MagWidth), .CodeBits(CodeBits),
    .FecapRows(FecapRows), .AdcBits(AdcBits)
  ) u_xfer (
    .clk_i, .rst_ni,
    .cfg_n_in_i, .cfg_n_out_i, .cfg_change_aware_i, .cfg_code_round_i, .cfg_verify_max_i,
    .cfg_vfy_lo_i, .cfg_vfy_hi_i, .cfg_form_target_i, .cfg_form_max_i,
    .start_xfer_i, .start_form_i, .abort_i, .busy_o, .done_o, .aborted_o, .abort_slot_o, .phase_o,
    .fe_req_valid_o(fe_valid), .fe_req_ready_i(fe_ready), .fe_req_op_o(fe_op),
    .fe_req_row_o(fe_row), .fe_req_wdata_o(fe_wdata), .fe_done_i(fe_done), .fe_rdata_i(fe_rdata),
    .fe_pend_set_o(pend_set),
    .mr_req_valid_o(mr_valid), .mr_req_ready_i(mr_ready), .mr_req_op_o(mr_op),
    .mr_req_slot_o(mr_slot), .mr_req_pol_o(mr_pol), .mr_req_mask_o(mr_mask),
    .mr_req_code_o(mr_code), .mr_done_i(mr_done), .mr_rdata_i(mr_rdata),
    .mr_xfer_fired_i(mr_fired),
    .cnt_clear_i, .cnt_transfers_o, .cnt_programmed_o, .cnt_skipped_o, .cnt_resets_o,
    .cnt_sets_o, .cnt_vfy_reads_o, .cnt_retries_o, .cnt_forms_o, .cnt_failures_o,
    .fail_clear_i, .fail_any_o, .fail_first_o, .fail_last_o, .fail_first_kind_o,
    .fail_last_kind_o, .fail_irq_o,
    .held_rows_o, .slot_o
  );

  hymem_fecap_seq #(.Lines(Lines), .Rows(FecapRows), .TimeBits(16)) u_fe_seq (
    .clk_i, .rst_ni,
    .t_setup_i(t_fe_setup_i), .t_pulse_i(t_fe_pulse_i), .t_sense_i(t_fe_sense_i),
    .t_hold_i(t_fe_hold_i), .t_gap_i(t_fe_gap_i),
    .req_valid_i(fe_valid), .req_ready_o(fe_ready), .req_op_i(fe_op), .req_row_i(fe_row),
    .req_wdata_i(fe_wdata), .done_o(fe_done), .rdata_o(fe_rdata), .busy_o(),
    .pend_set_i(pend_set), .pending_o(fe_pending_o), .held_o(), .err_o(fe_err), .err_clear_i(1'b0),
    .cnt_clear_i, .cnt_reads_o(cnt_fe_reads_o), .cnt_writes_o(cnt_fe_writes_o),
    .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i
  );

  hymem_mr_seq #(.Lines(Lines), .Slots(Slots), .CodeBits(CodeBits), .AdcBits(AdcBits),
                 .TimeBits(16)) u_mr_seq (
    .clk_i, .rst_ni,
    .t_reset_i(t_mr_reset_i), .t_set_i(t_mr_set_i), .t_form_i(t_mr_form_i),
    .t_read_i(t_mr_read_i), .t_adc_i(t_mr_adc_i), .t_pre_i(t_mr_pre_i), .t_xfer_i(t_mr_xfer_i),
    .t_gap_i(t_mr_gap_i),
    .req_valid_i(mr_valid), .req_ready_o(mr_ready), .req_op_i(mr_op), .req_slot_i(mr_slot),
    .req_pol_i(mr_pol), .req_mask_i(mr_mask), .req_code_i(mr_code), .done_o(mr_done),
    .rdata_o(mr_rdata), .xfer_fired_o(mr_fired), .busy_o(), .err_o(mr_err), .err_clear_i(1'b0),
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
