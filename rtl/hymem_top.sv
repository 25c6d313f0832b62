// hymem_top: controller of one hybrid FeCAP + memristor array behind APB4.
//
// Datasheet
//   hymem_regs (generated from rtl/hymem_regs.rdl) + hymem_cfg_check (write
//   validation) + hymem_core (engines, sequencers, buffers, scheduler), and the
//   glue between them:
//     - memory windows: XBUF / EBUF writes go to the vector buffers (rejected
//       with ERR 6 while a sample runs or is queued, ERR 9 beyond the built
//       depth); READOUT reads return the last read-out's ADC codes, with wait
//       states until every requested read-out has completed;
//     - ERR records every rejected access (code, address) until CMD.ERR_CLEAR;
//     - IRQ_STATUS: DONE (an operation ended, nothing queued), FAIL (a transfer
//       or forming run logged a failure), ERROR (an access was rejected);
//       irq_o = |(IRQ_STATUS & IRQ_ENABLE), registered;
//     - LOST: at every rst_ni that interrupts an operation, what it cost (the
//       operation, its slot, the FeCAP rows whose data only the controller
//       held); reset by por_ni only, cleared by CMD.LOST_CLEAR.
//     - STATUS.WOKEN: the FeCAPs have been woken up (a CMD.WAKE completed, or
//       CMD.WOKEN declared them woken); reset by por_ni only (rst_ni does not
//       un-wake the devices). While it is 0, CMD.SAMPLE and CMD.TRANSFER are
//       refused with ERR 10.
//   Resets: rst_ni (synchronous, active low) is the controller's hard reset;
//   por_ni (synchronous, active low) the power-on reset, which also clears
//   LOST and STATUS.WOKEN: assert both at power-up, tie por_ni to rst_ni where no separate
//   power-on reset exists (LOST then reads 0 after every reset).
//   Ports, parameters and their limits: docs/top.md. Programming guide:
//   docs/programming.md.

`include "hymem_defs.svh"
`include "hymem_regs_defs.svh"

`default_nettype none

module hymem_top #(
  parameter int Lines       = 128,
  parameter int Slots       = 8,
  parameter int MagWidth    = 9,
  parameter int CodeBits    = 3,
  parameter int FecapRows   = 128,
  parameter int AdcBits     = 8,
  parameter int XDepth      = 256,
  parameter int EDepth      = 128,
  parameter int VerifyLimit = 15,
  // synapses the update engine processes per cycle (micro-architecture: no register);
  // the default is chosen in docs/bench/update_lanes.md
  parameter int SynPerCycle = 8,
  localparam int RowBits    = $clog2(FecapRows),
  localparam int SlotBits   = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int Levels     = 1 << CodeBits
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic                      por_ni,
  // APB4 slave
  input  logic                      psel_i,
  input  logic                      penable_i,
  input  logic                      pwrite_i,
  input  logic [11:0]               paddr_i,
  input  logic [31:0]               pwdata_i,
  input  logic [3:0]                pstrb_i,
  input  logic [2:0]                pprot_i,
  output logic [31:0]               prdata_o,
  output logic                      pready_o,
  output logic                      pslverr_o,
  output logic                      irq_o,
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

  // The register map (rtl/hymem_regs.rdl) fixes these limits.
  `HYMEM_CHECK(chk_regmap, Lines <= 2048 && Slots <= 8 && CodeBits == 3 && AdcBits == 8 &&
               XDepth <= 256 && EDepth <= 128 && Lines * AdcBits <= 1024 && MagWidth <= 15,
               "hymem_top: parameters exceed the register map (Slots<=8, CodeBits=3, AdcBits=8, XDepth<=256, EDepth<=128, Lines<=128, MagWidth<=15)")

  `HYMEM_CHECK(chk_build, Lines >= 2 && Slots >= 1 && MagWidth >= 4 && VerifyLimit >= 0 &&
               VerifyLimit <= 255 && XDepth >= 8 && EDepth >= 8 && (XDepth & (XDepth - 1)) == 0 &&
               (EDepth & (EDepth - 1)) == 0 &&
               FecapRows >= Slots * ((1 << CodeBits) + MagWidth - CodeBits + 1),
               "hymem_top: need Lines >= 2, Slots >= 1, MagWidth >= 4, VerifyLimit in 0..255, XDepth and EDepth powers of two >= 8, FecapRows >= Slots * (RowsPerSyn + 1) (docs/top.md)")
  localparam logic LanesOk = (SynPerCycle >= 1 && SynPerCycle <= Lines &&
                              (SynPerCycle & (SynPerCycle - 1)) == 0 && (Lines % SynPerCycle) == 0 &&
                              SynPerCycle <= XDepth && SynPerCycle <= EDepth);
  `HYMEM_CHECK(chk_lanes, LanesOk,
               "hymem_top: parameter SynPerCycle must be a power of two in 1..Lines dividing Lines, at most XDepth and EDepth (1, 2, 4, ..., 128 at the default geometry)")
  // an illegal value reaches no submodule (whose widths it would break before the check)
  localparam int Lanes = LanesOk ? SynPerCycle : 1;

  localparam int IdxBits = $clog2(Lines * Slots) + 1;
  // the vector buffers' word addresses (an illegal depth below 8 would make a zero-width cast
  // below and stop the elaboration before chk_build speaks)
  localparam int XWBits = (XDepth >= 8) ? $clog2(XDepth / 4) : 1;
  localparam int EWBits = (EDepth >= 8) ? $clog2(EDepth / 4) : 1;

  // ------------------------------------------------------------ wires
  logic        chk_valid, chk_ok;
  logic [11:0] chk_addr;
  logic [31:0] chk_wdata;
  logic [7:0]  chk_code;
  logic        acc_err;
  logic [7:0]  acc_err_code;
  logic [11:0] acc_err_addr;

  logic cmd_sample, cmd_transfer, cmd_form, cmd_readout, cmd_abort, cmd_seed_load, cmd_cnt_clear,
        cmd_err_clear, cmd_fail_clear, cmd_wake, cmd_woken;
  logic irq_done, irq_fail, irq_error, en_done, en_fail, en_error;
  logic [10:0] n_in, n_out;
  logic [7:0]  lr_mult, verify_max, form_target, form_max;
  logic [4:0]  lr_shift;
  logic [16:0] p16;
  logic        stoch_round, code_round, skip_zero, change_aware;
  logic [15:0] k, wake_cycles;
  logic [31:0] seed;
  logic [2:0]  ro_slot;
  logic        ro_pol;
  logic [7:0]  lo [0:7];
  logic [7:0]  hi [0:7];
  logic [15:0] t_fe_setup, t_fe_pulse, t_fe_sense, t_fe_hold, t_fe_gap;
  logic [15:0] t_mr_reset, t_mr_set, t_mr_form, t_mr_read, t_mr_adc, t_mr_pre, t_mr_xfer, t_mr_gap;

  logic        xbuf_req, ebuf_req, ro_req;
  logic [5:0]  xbuf_addr;
  logic [4:0]  ebuf_addr, ro_addr;
  logic [31:0] xbuf_wdata, ebuf_wdata, ro_rdata;
  logic [3:0]  xbuf_wstrb, ebuf_wstrb;
  logic        xbuf_err, ebuf_err, ro_ready, ro_err;
  logic [7:0]  xbuf_code, ebuf_code;

  // core status
  logic        busy, done, upd_busy, xfer_busy, readout_busy, aborted, fe_pending, seq_err,
               core_irq, fail_any, wake_busy, wake_done, woken_q;
  logic [SlotBits-1:0] abort_slot, upd_slot;
  logic [3:0]  upd_phase;
  logic [4:0]  queued;
  logic [4:0]  xfer_phase;
  logic [1:0]  seq_busy;
  logic [15:0] since;
  logic [Lines*AdcBits-1:0] readout;
  logic [31:0] c_samples, c_skipped, c_fe_reads, c_fe_writes, c_transfers, c_programmed,
               c_xskipped, c_resets, c_sets, c_vreads, c_retries, c_forms, c_failures, c_wake;
  logic [IdxBits-1:0] fail_first, fail_last;
  logic [1:0]  fail_first_kind, fail_last_kind;
  logic [2:0]  lost_op;
  logic [SlotBits-1:0] lost_slot;
  logic        lost_flag;
  logic [(1 << CodeBits) + MagWidth - CodeBits - 1:0] lost_rows;
  logic        cmd_lost_clear;

  // ------------------------------------------------------ register block
  hymem_regs #(
    .Lines(Lines), .Slots(Slots), .XDepth(XDepth), .EDepth(EDepth)
  ) u_regs (
    .clk_i, .rst_ni, .por_ni,
    .psel_i, .penable_i, .pwrite_i, .paddr_i, .pwdata_i, .pstrb_i, .pprot_i,
    .prdata_o, .pready_o, .pslverr_o,
    .chk_valid_o (chk_valid), .chk_addr_o (chk_addr), .chk_wdata_o (chk_wdata),
    .chk_ok_i (chk_ok), .chk_code_i (chk_code),
    .acc_err_o (acc_err), .acc_err_code_o (acc_err_code), .acc_err_addr_o (acc_err_addr),
    .hwcfg0_lines_i (16'(Lines)), .hwcfg0_slots_i (8'(Slots)), .hwcfg0_mag_width_i (4'(MagWidth)),
    .hwcfg0_code_bits_i (4'(CodeBits)),
    .hwcfg1_xdepth_i (16'(XDepth)), .hwcfg1_edepth_i (16'(EDepth)),
    .hwcfg2_verify_limit_i (8'(VerifyLimit)), .hwcfg2_adc_bits_i (8'(AdcBits)),
    .cmd_sample_o (cmd_sample), .cmd_transfer_o (cmd_transfer), .cmd_form_o (cmd_form),
    .cmd_readout_o (cmd_readout), .cmd_abort_o (cmd_abort), .cmd_seed_load_o (cmd_seed_load),
    .cmd_cnt_clear_o (cmd_cnt_clear), .cmd_err_clear_o (cmd_err_clear),
    .cmd_fail_clear_o (cmd_fail_clear), .cmd_lost_clear_o (cmd_lost_clear),
    .cmd_wake_o (cmd_wake), .cmd_woken_o (cmd_woken),
    .status_busy_i (busy), .status_upd_busy_i (upd_busy), .status_xfer_busy_i (xfer_busy),
    .status_readout_busy_i (readout_busy), .status_aborted_i (aborted),
    .status_fe_pending_i (fe_pending), .status_seq_err_i (seq_err),
    .status_fail_any_i (fail_any), .status_upd_phase_i (upd_phase),
    .status_upd_slot_i (3'(upd_slot)), .status_xfer_phase_i (xfer_phase),
    .status_abort_slot_i (3'(abort_slot)),
    .status_wake_busy_i (wake_busy), .status_woken_i (woken_q),
    .samples_since_count_i (since),
    .err_code_i (cmd_err_clear ? 8'd0 : acc_err_code), .err_code_we_i (acc_err || cmd_err_clear),
    .err_addr_i (cmd_err_clear ? 12'd0 : acc_err_addr), .err_addr_we_i (acc_err || cmd_err_clear),
    .irq_status_done_set_i (done), .irq_status_done_o (irq_done),
    .irq_status_fail_set_i (core_irq), .irq_status_fail_o (irq_fail),
    .irq_status_error_set_i (acc_err), .irq_status_error_o (irq_error),
    .irq_enable_done_o (en_done), .irq_enable_fail_o (en_fail), .irq_enable_error_o (en_error),
    .layer_n_in_o (n_in), .layer_n_out_o (n_out),
    .lr_mult_o (lr_mult), .lr_shift_o (lr_shift), .mask_p_p16_o (p16),
    .mode_stoch_round_o (stoch_round), .mode_code_round_o (code_round),
    .mode_skip_zero_o (skip_zero), .mode_change_aware_o (change_aware),
    .mode_verify_max_o (verify_max), .xfer_k_k_o (k), .seed_seed_o (seed),
    .wake_cycles_o (wake_cycles),
    .form_target_o (form_target), .form_max_o (form_max),
    .readout_sel_slot_o (ro_slot), .readout_sel_pol_o (ro_pol),
    .vfy_lo0_l0_o (lo[0]), .vfy_lo0_l1_o (lo[1]), .vfy_lo0_l2_o (lo[2]), .vfy_lo0_l3_o (lo[3]),
    .vfy_lo1_l4_o (lo[4]), .vfy_lo1_l5_o (lo[5]), .vfy_lo1_l6_o (lo[6]), .vfy_lo1_l7_o (lo[7]),
    .vfy_hi0_l0_o (hi[0]), .vfy_hi0_l1_o (hi[1]), .vfy_hi0_l2_o (hi[2]), .vfy_hi0_l3_o (hi[3]),
    .vfy_hi1_l4_o (hi[4]), .vfy_hi1_l5_o (hi[5]), .vfy_hi1_l6_o (hi[6]), .vfy_hi1_l7_o (hi[7]),
    .t_fe0_setup_o (t_fe_setup), .t_fe0_pulse_o (t_fe_pulse), .t_fe1_sense_o (t_fe_sense),
    .t_fe1_hold_o (t_fe_hold), .t_fe2_gap_o (t_fe_gap),
    .t_mr0_reset_o (t_mr_reset), .t_mr0_set_o (t_mr_set), .t_mr1_form_o (t_mr_form),
    .t_mr1_read_o (t_mr_read), .t_mr2_adc_o (t_mr_adc), .t_mr2_pre_o (t_mr_pre),
    .t_mr3_xfer_o (t_mr_xfer), .t_mr3_gap_o (t_mr_gap),
    .cnt_samples_count_i (c_samples), .cnt_slots_skipped_count_i (c_skipped),
    .cnt_fe_reads_count_i (c_fe_reads), .cnt_fe_writes_count_i (c_fe_writes),
    .cnt_transfers_count_i (c_transfers), .cnt_xfer_programmed_count_i (c_programmed),
    .cnt_xfer_skipped_count_i (c_xskipped), .cnt_mr_resets_count_i (c_resets),
    .cnt_mr_sets_count_i (c_sets), .cnt_vfy_reads_count_i (c_vreads),
    .cnt_vfy_retries_count_i (c_retries), .cnt_forms_count_i (c_forms),
    .cnt_failures_count_i (c_failures), .cnt_wake_cycles_count_i (c_wake),
    .fail_first_addr_i (11'(fail_first)), .fail_first_pol_i (fail_first_kind[0]),
    .fail_first_form_i (fail_first_kind[1]), .fail_first_valid_i (fail_any),
    .fail_last_addr_i (11'(fail_last)), .fail_last_pol_i (fail_last_kind[0]),
    .fail_last_form_i (fail_last_kind[1]), .fail_last_valid_i (fail_any),
    .lost_op_i (lost_cap_op), .lost_op_we_i (lost_we),
    .lost_multi_i (lost_cap_multi), .lost_multi_we_i (lost_we),
    .lost_slot_i (lost_cap_slot), .lost_slot_we_i (lost_we),
    .lost_flag_i (lost_cap_flag), .lost_flag_we_i (lost_we),
    .lost_rows_i (lost_cap_rows), .lost_rows_we_i (lost_we),
    .xbuf_req_o (xbuf_req), .xbuf_addr_o (xbuf_addr), .xbuf_wdata_o (xbuf_wdata),
    .xbuf_wstrb_o (xbuf_wstrb), .xbuf_ready_i (1'b1), .xbuf_err_i (xbuf_err),
    .xbuf_err_code_i (xbuf_code),
    .ebuf_req_o (ebuf_req), .ebuf_addr_o (ebuf_addr), .ebuf_wdata_o (ebuf_wdata),
    .ebuf_wstrb_o (ebuf_wstrb), .ebuf_ready_i (1'b1), .ebuf_err_i (ebuf_err),
    .ebuf_err_code_i (ebuf_code),
    .readout_req_o (ro_req), .readout_addr_o (ro_addr), .readout_rdata_i (ro_rdata),
    .readout_ready_i (ro_ready), .readout_err_i (ro_err), .readout_err_code_i (`HYMEM_ERR_BUSY)
  );

  hymem_cfg_check #(
    .Lines(Lines), .Slots(Slots), .XDepth(XDepth), .EDepth(EDepth), .VerifyLimit(VerifyLimit)
  ) u_check (
    .chk_addr_i   (chk_addr),
    .chk_wdata_i  (chk_wdata),
    .busy_i       (busy),
    .queued_i     (queued),
    .woken_i      (woken_q),
    .t_fe_pulse_i (t_fe_pulse),
    .t_fe_sense_i (t_fe_sense),
    .t_mr_read_i  (t_mr_read),
    .t_mr_adc_i   (t_mr_adc),
    .ok_o         (chk_ok),
    .code_o       (chk_code)
  );

  // Signals kept for waves and debugging only (lowRISC convention: unused_*).
  logic       unused_chk_valid, unused_ro_req;
  logic [1:0] unused_seq_busy;
  assign unused_chk_valid = chk_valid;   // the register block acts on chk_ok itself
  assign unused_ro_req    = ro_req;      // READOUT is a pure read mux
  assign unused_seq_busy  = seq_busy;

  // ----------------------------------------------------- memory windows
  logic vec_locked;   // a sample runs or is queued: x and e must not change
  assign vec_locked = upd_busy || queued[0];

  assign xbuf_err  = vec_locked || (32'(xbuf_addr) >= XDepth / 4);
  assign xbuf_code = vec_locked ? `HYMEM_ERR_BUSY : `HYMEM_ERR_BUILD;
  assign ebuf_err  = vec_locked || (32'(ebuf_addr) >= EDepth / 4);
  assign ebuf_code = vec_locked ? `HYMEM_ERR_BUSY : `HYMEM_ERR_BUILD;

  // READOUT: a read waits (PREADY low) until every requested read-out has completed, so
  // firmware can read the window right after CMD.READOUT. The wait is bounded by the
  // operation the read-out is queued behind; firmware that must not stall the bus polls
  // STATUS.READOUT_BUSY and STATUS.BUSY first.
  assign ro_ready = !(readout_busy || queued[3]);
  assign ro_err   = 1'b0;
  // the codes zero-extended to whole words (Lines * AdcBits need not be a multiple of 32:
  // 16 bits at Lines = 2)
  localparam int RoWords = (Lines * AdcBits + 31) / 32;
  logic [RoWords*32-1:0] readout_w;
  always_comb begin
    readout_w = '0;
    readout_w[Lines*AdcBits-1:0] = readout;
  end
  assign ro_rdata = (32'(ro_addr) < RoWords) ? readout_w[32'(ro_addr) * 32 +: 32] : 32'd0;

  // ---------------------------------------------------------------- core
  logic [Levels*AdcBits-1:0] lo_vec, hi_vec;
  for (genvar m = 0; m < Levels; m++) begin : gen_win
    assign lo_vec[m*AdcBits +: AdcBits] = lo[m];
    assign hi_vec[m*AdcBits +: AdcBits] = hi[m];
  end

  hymem_core #(
    .Lines(Lines), .Slots(Slots), .MagWidth(MagWidth), .CodeBits(CodeBits), .FecapRows(FecapRows),
    .AdcBits(AdcBits), .XDepth(XDepth), .EDepth(EDepth), .TimeBits(16),
    .SynPerCycle(Lanes)
  ) u_core (
    .clk_i, .rst_ni,
    .x_we_i (xbuf_req && !xbuf_err), .x_waddr_i (XWBits'(xbuf_addr)),
    .e_we_i (ebuf_req && !ebuf_err), .e_waddr_i (EWBits'(ebuf_addr)),
    .vec_wdata_i (xbuf_req ? xbuf_wdata : ebuf_wdata),
    .vec_wstrb_i (xbuf_req ? xbuf_wstrb : ebuf_wstrb),
    .cfg_n_in_i (IdxBits'(n_in)), .cfg_n_out_i (IdxBits'(n_out)),
    .cfg_lr_mult_i (lr_mult), .cfg_lr_shift_i (lr_shift), .cfg_p16_i (p16),
    .cfg_stoch_round_i (stoch_round), .cfg_code_round_i (code_round),
    .cfg_skip_zero_i (skip_zero), .cfg_change_aware_i (change_aware),
    .cfg_verify_max_i (verify_max), .cfg_vfy_lo_i (lo_vec), .cfg_vfy_hi_i (hi_vec),
    .cfg_form_target_i (form_target), .cfg_form_max_i (form_max), .cfg_k_i (k),
    .cfg_wake_cycles_i (wake_cycles),
    .t_fe_setup_i (t_fe_setup), .t_fe_pulse_i (t_fe_pulse), .t_fe_sense_i (t_fe_sense),
    .t_fe_hold_i (t_fe_hold), .t_fe_gap_i (t_fe_gap),
    .t_mr_reset_i (t_mr_reset), .t_mr_set_i (t_mr_set), .t_mr_form_i (t_mr_form),
    .t_mr_read_i (t_mr_read), .t_mr_adc_i (t_mr_adc), .t_mr_pre_i (t_mr_pre),
    .t_mr_xfer_i (t_mr_xfer), .t_mr_gap_i (t_mr_gap),
    .seed_load_i (cmd_seed_load), .seed_i (seed),
    .cmd_sample_i (cmd_sample), .cmd_transfer_i (cmd_transfer), .cmd_form_i (cmd_form),
    .cmd_readout_i (cmd_readout), .readout_slot_i (SlotBits'(ro_slot)), .readout_pol_i (ro_pol),
    .cmd_wake_i (cmd_wake),
    .cmd_abort_i (cmd_abort),
    .busy_o (busy), .done_o (done), .upd_busy_o (upd_busy), .xfer_busy_o (xfer_busy),
    .readout_busy_o (readout_busy), .wake_busy_o (wake_busy), .wake_done_o (wake_done),
    .aborted_o (aborted), .abort_slot_o (abort_slot),
    .upd_phase_o (upd_phase), .upd_slot_o (upd_slot), .xfer_phase_o (xfer_phase),
    .seq_busy_o (seq_busy), .queued_o (queued), .samples_since_o (since),
    .readout_o (readout), .fe_pending_o (fe_pending), .seq_err_o (seq_err),
    .err_clear_i (cmd_err_clear), .irq_o (core_irq),
    .cnt_clear_i (cmd_cnt_clear),
    .cnt_samples_o (c_samples), .cnt_slots_skipped_o (c_skipped), .cnt_fe_reads_o (c_fe_reads),
    .cnt_fe_writes_o (c_fe_writes), .cnt_transfers_o (c_transfers),
    .cnt_programmed_o (c_programmed), .cnt_xfer_skipped_o (c_xskipped),
    .cnt_mr_resets_o (c_resets), .cnt_mr_sets_o (c_sets), .cnt_vfy_reads_o (c_vreads),
    .cnt_retries_o (c_retries), .cnt_forms_o (c_forms), .cnt_failures_o (c_failures),
    .cnt_wake_cycles_o (c_wake),
    .fail_clear_i (cmd_fail_clear), .fail_any_o (fail_any), .fail_first_o (fail_first),
    .fail_last_o (fail_last), .fail_first_kind_o (fail_first_kind),
    .fail_last_kind_o (fail_last_kind),
    .lost_op_o (lost_op), .lost_slot_o (lost_slot), .lost_flag_o (lost_flag),
    .lost_rows_o (lost_rows),
    .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i,
    .mr_slot_o, .mr_pol_o, .mr_mask_o, .mr_code_o, .mr_reset_o, .mr_set_o, .mr_form_o,
    .mr_read_o, .mr_adc_o, .mr_rdata_i, .tl_pre_o, .xfer_o
  );

  // ------------------------------------------------------------------ LOST
  // At a reset edge the core's state is still that of the cycle before: if an
  // operation runs, LOST takes what it cost (later reset cycles find the core
  // idle and leave LOST alone). lost_any_q remembers that LOST holds something
  // (for MULTI); like LOST it is reset by por_ni only.
  logic        lost_we, lost_any_q, lost_cap_multi, lost_cap_flag;
  logic [2:0]  lost_cap_op, lost_cap_slot;
  logic [19:0] lost_cap_rows;
  logic        lost_capture;
  assign lost_capture   = !rst_ni && (lost_op != 3'd0);
  assign lost_we        = lost_capture || cmd_lost_clear;
  assign lost_cap_op    = lost_capture ? lost_op : 3'd0;
  assign lost_cap_multi = lost_capture && lost_any_q;
  assign lost_cap_slot  = lost_capture ? 3'(lost_slot) : 3'd0;
  assign lost_cap_flag  = lost_capture && lost_flag;
  assign lost_cap_rows  = lost_capture ? 20'(lost_rows) : 20'd0;

  always_ff @(posedge clk_i) begin
    if (!por_ni)             lost_any_q <= 1'b0;
    else if (lost_capture)   lost_any_q <= 1'b1;
    else if (cmd_lost_clear) lost_any_q <= 1'b0;
  end

  // -------------------------------------------------------------- WOKEN
  // The devices stay woken across rst_ni (a reset does not touch them): only the
  // power-on reset forgets it.
  always_ff @(posedge clk_i) begin
    if (!por_ni)                       woken_q <= 1'b0;
    else if (wake_done || cmd_woken)   woken_q <= 1'b1;
  end

  // ----------------------------------------------------------- interrupt
  logic irq_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) irq_q <= 1'b0;
    else         irq_q <= (irq_done && en_done) || (irq_fail && en_fail) || (irq_error && en_error);
  end
  assign irq_o = irq_q;

endmodule

`default_nettype wire
