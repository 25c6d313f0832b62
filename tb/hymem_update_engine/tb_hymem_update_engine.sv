// Testbench harness for hymem_update_engine: the engine with its two vector
// buffers and the FeCAP sequencer, the macro's FeCAP port at the boundary
// (where the Python macro model sits). Testbench-only: not part of rtl/.

`default_nettype none

module tb_hymem_update_engine #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int MagWidth  = 9,
  parameter int CodeBits  = 3,
  parameter int FecapRows = 128,
  parameter int XDepth    = 256,
  parameter int EDepth    = 128,
  parameter int SynPerCycle = 1,
  localparam int IdxBits  = $clog2(Lines * Slots) + 1,
  localparam int RowBits  = $clog2(FecapRows),
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int XWBits   = $clog2(XDepth / 4),
  localparam int EWBits   = $clog2(EDepth / 4)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  // vector buffer writes
  input  logic                x_we_i,
  input  logic [XWBits-1:0]   x_waddr_i,
  input  logic                e_we_i,
  input  logic [EWBits-1:0]   e_waddr_i,
  input  logic [31:0]         vec_wdata_i,
  // configuration
  input  logic [IdxBits-1:0]  cfg_n_in_i,
  input  logic [IdxBits-1:0]  cfg_n_out_i,
  input  logic [7:0]          cfg_lr_mult_i,
  input  logic [4:0]          cfg_lr_shift_i,
  input  logic [16:0]         cfg_p16_i,
  input  logic                cfg_stoch_round_i,
  input  logic                cfg_code_round_i,
  input  logic                cfg_skip_zero_i,
  input  logic [15:0]         t_setup_i,
  input  logic [15:0]         t_pulse_i,
  input  logic [15:0]         t_sense_i,
  input  logic [15:0]         t_hold_i,
  input  logic [15:0]         t_gap_i,
  input  logic                seed_load_i,
  input  logic [31:0]         seed_i,
  // control and status
  input  logic                start_i,
  input  logic                abort_i,
  output logic                busy_o,
  output logic                done_o,
  output logic                aborted_o,
  output logic [SlotBits-1:0] abort_slot_o,
  output logic [SlotBits-1:0] slot_o,
  output logic [3:0]          phase_o,
  output logic                fe_pending_o,
  output logic                fe_err_o,
  input  logic                cnt_clear_i,
  output logic [31:0]         cnt_samples_o,
  output logic [31:0]         cnt_slots_skipped_o,
  output logic [31:0]         cnt_fe_reads_o,
  output logic [31:0]         cnt_fe_writes_o,
  // macro FeCAP port
  output logic [RowBits-1:0]  fe_row_o,
  output logic                fe_wl_o,
  output logic                fe_sl_o,
  output logic                fe_bl_o,
  output logic [Lines-1:0]    fe_mask_o,
  output logic                fe_sae_o,
  input  logic [Lines-1:0]    fe_rdata_i,
  // macro memristor port: idle in this harness (the update path never uses it)
  output logic [SlotBits-1:0]   mr_slot_o,
  output logic [Lines-1:0]      mr_pol_o,
  output logic [Lines-1:0]      mr_mask_o,
  output logic [Lines*CodeBits-1:0] mr_code_o,
  output logic                  mr_reset_o,
  output logic                  mr_set_o,
  output logic                  mr_form_o,
  output logic                  mr_read_o,
  output logic                  mr_adc_o,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [Lines*8-1:0]    mr_rdata_i,
  /* verilator lint_on UNUSEDSIGNAL */
  output logic                  tl_pre_o,
  output logic                  xfer_o
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

  // The 11 controls, the FeCAP row address and mask in one vector for the Python macro model
  // (hymem.sim.macro_port.MacroPortModel watches it instead of 13 pins; order: hymem.analog.port
  // .CONTROLS, then fe_row_o, fe_mask_o). Testbench-only.
  wire [11+RowBits+Lines-1:0] macro_port_mon = {fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o, mr_reset_o,
      mr_set_o, mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o, fe_row_o, fe_mask_o};

  logic                           vec_re;
  logic [SynPerCycle*IdxBits-1:0] x_raddr, e_raddr;
  logic [SynPerCycle*8-1:0]       x_rdata, e_rdata;
  logic               req_valid, req_ready, seq_done;
  logic [1:0]         req_op;
  logic [RowBits-1:0] req_row;
  logic [Lines-1:0]   req_wdata, seq_rdata;

  hymem_vecbuf #(.Depth(XDepth), .AddrBits(IdxBits), .Ports(SynPerCycle)) u_xbuf (
    .clk_i, .we_i(x_we_i), .waddr_i(x_waddr_i), .wdata_i(vec_wdata_i), .wstrb_i(4'hF),
    .re_i(vec_re), .raddr_i(x_raddr), .rdata_o(x_rdata));

  hymem_vecbuf #(.Depth(EDepth), .AddrBits(IdxBits), .Ports(SynPerCycle)) u_ebuf (
    .clk_i, .we_i(e_we_i), .waddr_i(e_waddr_i), .wdata_i(vec_wdata_i), .wstrb_i(4'hF),
    .re_i(vec_re), .raddr_i(e_raddr), .rdata_o(e_rdata));

  hymem_update_engine #(
    .Lines(Lines), .Slots(Slots), .MagWidth(MagWidth), .CodeBits(CodeBits), .FecapRows(FecapRows),
    .SynPerCycle(SynPerCycle)
  ) u_engine (
    .clk_i, .rst_ni,
    .cfg_n_in_i, .cfg_n_out_i, .cfg_lr_mult_i, .cfg_lr_shift_i, .cfg_p16_i,
    .cfg_stoch_round_i, .cfg_code_round_i, .cfg_skip_zero_i,
    .seed_load_i, .seed_i,
    .start_i, .abort_i, .busy_o, .done_o, .aborted_o, .abort_slot_o, .slot_o, .phase_o,
    .vec_re_o(vec_re), .x_raddr_o(x_raddr), .x_rdata_i(x_rdata), .e_raddr_o(e_raddr), .e_rdata_i(e_rdata),
    .fe_req_valid_o(req_valid), .fe_req_ready_i(req_ready), .fe_req_op_o(req_op),
    .fe_req_row_o(req_row), .fe_req_wdata_o(req_wdata), .fe_done_i(seq_done),
    .fe_rdata_i(seq_rdata),
    .cnt_clear_i, .cnt_samples_o, .cnt_slots_skipped_o
  );

  hymem_fecap_seq #(.Lines(Lines), .Rows(FecapRows), .TimeBits(16)) u_seq (
    .clk_i, .rst_ni,
    .t_setup_i, .t_pulse_i, .t_sense_i, .t_hold_i, .t_gap_i,
    .req_valid_i(req_valid), .req_ready_o(req_ready), .req_op_i(req_op), .req_row_i(req_row),
    .req_wdata_i(req_wdata), .done_o(seq_done), .rdata_o(seq_rdata), .busy_o(),
    .pend_set_i({FecapRows{1'b0}}), .pending_o(fe_pending_o), .held_o(), .err_o(fe_err_o), .err_clear_i(1'b0),
    .cnt_clear_i, .cnt_reads_o(cnt_fe_reads_o), .cnt_writes_o(cnt_fe_writes_o),
    .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i
  );

endmodule

`default_nettype wire
