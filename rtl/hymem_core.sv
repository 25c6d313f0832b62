// hymem_core: the controller of one hybrid array, without the host bus.
//
// Datasheet
//   Holds the update engine, the transfer engine, the FeCAP and memristor
//   pulse sequencers, the x and e vector buffers and the scheduler that
//   serializes their work. Configuration comes in as plain ports (the
//   register block drives them); commands are one-cycle pulses.
//
//   Scheduler (docs/controller.md, "Transfer"): one operation runs at a time.
//     cmd_sample_i    apply one sample (x, e from the buffers)
//     cmd_transfer_i  transfer now
//     cmd_form_i      form every memristor
//     cmd_readout_i   read memristor row (slot, pol) of every line into the
//                     read-out buffer (readout_o: 8-bit ADC code per line)
//     cmd_wake_i      FeCAP wake-up: cfg_wake_cycles_i write-1 / write-0
//                     cycles of every used FeCAP row (hymem_wake_engine);
//                     wake_done_o pulses when one completes (not aborted)
//     cmd_abort_i     abort the running operation at its next safe point and
//                     drop queued commands
//   A command that arrives while the machine is idle starts in the cycle of its
//   pulse (it never occupies its queue slot, so the same command right behind it
//   queues). A command that arrives while another operation runs is queued (one
//   of each kind) and starts when the machine is idle, transfers first, then
//   forming, wake-up, sample, read-out: so a transfer
//   requested during a sample runs after that sample, and a sample requested
//   during a transfer runs after it; no update is lost or applied twice.
//   After every k-th completed sample (k = cfg_k_i; 0 = never) a transfer
//   starts automatically before anything else; a queued transfer command is
//   satisfied by it. samples_since_o counts completed samples since the last
//   transfer started.
//   done_o pulses when an operation ends and nothing is queued; irq_o pulses
//   when a transfer or forming run logged a failure.
//   lost_*_o: what a reset (rst_ni) now would cost (docs/programming.md,
//   "Resets"): the operation it would interrupt (0 none, 1 sample, 2 transfer,
//   3 forming, 4 read-out, 5 wake-up), its slot, and the FeCAP rows of that slot whose data
//   only the controller holds (data rows as a RowsPerSyn-bit mask, the flag
//   row): hymem_top captures them into the LOST register at a reset.

`include "hymem_defs.svh"
`include "hymem_regs_defs.svh"

`default_nettype none

module hymem_core #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int MagWidth  = 9,
  parameter int CodeBits  = 3,
  parameter int FecapRows = 128,
  parameter int AdcBits   = 8,
  parameter int XDepth    = 256,
  parameter int EDepth    = 128,
  parameter int TimeBits  = 16,
  parameter int SynPerCycle = 1,      // synapses the update engine processes per cycle
  localparam int IdxBits  = $clog2(Lines * Slots) + 1,
  localparam int RowBits  = $clog2(FecapRows),
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int Levels   = 1 << CodeBits,
  localparam int XWBits   = $clog2(XDepth / 4),
  localparam int EWBits   = $clog2(EDepth / 4),
  localparam int RowsPerSyn = (1 << CodeBits) + (MagWidth - CodeBits)
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // vector buffer writes (host)
  input  logic                      x_we_i,
  input  logic [XWBits-1:0]         x_waddr_i,
  input  logic                      e_we_i,
  input  logic [EWBits-1:0]         e_waddr_i,
  input  logic [31:0]               vec_wdata_i,
  input  logic [3:0]                vec_wstrb_i,
  // configuration
  input  logic [IdxBits-1:0]        cfg_n_in_i,
  input  logic [IdxBits-1:0]        cfg_n_out_i,
  input  logic [7:0]                cfg_lr_mult_i,
  input  logic [4:0]                cfg_lr_shift_i,
  input  logic [16:0]               cfg_p16_i,
  input  logic                      cfg_stoch_round_i,
  input  logic                      cfg_code_round_i,
  input  logic                      cfg_skip_zero_i,
  input  logic                      cfg_change_aware_i,
  input  logic [7:0]                cfg_verify_max_i,
  input  logic [Levels*AdcBits-1:0] cfg_vfy_lo_i,
  input  logic [Levels*AdcBits-1:0] cfg_vfy_hi_i,
  input  logic [AdcBits-1:0]        cfg_form_target_i,
  input  logic [7:0]                cfg_form_max_i,
  input  logic [15:0]               cfg_k_i,
  input  logic [15:0]               cfg_wake_cycles_i,
  input  logic [TimeBits-1:0]       t_fe_setup_i,
  input  logic [TimeBits-1:0]       t_fe_pulse_i,
  input  logic [TimeBits-1:0]       t_fe_sense_i,
  input  logic [TimeBits-1:0]       t_fe_hold_i,
  input  logic [TimeBits-1:0]       t_fe_gap_i,
  input  logic [TimeBits-1:0]       t_mr_reset_i,
  input  logic [TimeBits-1:0]       t_mr_set_i,
  input  logic [TimeBits-1:0]       t_mr_form_i,
  input  logic [TimeBits-1:0]       t_mr_read_i,
  input  logic [TimeBits-1:0]       t_mr_adc_i,
  input  logic [TimeBits-1:0]       t_mr_pre_i,
  input  logic [TimeBits-1:0]       t_mr_xfer_i,
  input  logic [TimeBits-1:0]       t_mr_gap_i,
  input  logic                      seed_load_i,
  input  logic [31:0]               seed_i,
  // commands (one-cycle pulses)
  input  logic                      cmd_sample_i,
  input  logic                      cmd_transfer_i,
  input  logic                      cmd_form_i,
  input  logic                      cmd_readout_i,
  input  logic [SlotBits-1:0]       readout_slot_i,
  input  logic                      readout_pol_i,
  input  logic                      cmd_wake_i,
  input  logic                      cmd_abort_i,
  // status
  output logic                      busy_o,
  output logic                      done_o,
  output logic                      upd_busy_o,
  output logic                      xfer_busy_o,
  output logic                      readout_busy_o,
  output logic                      wake_busy_o,
  output logic                      wake_done_o,      // a wake-up completed (not aborted)
  output logic                      aborted_o,        // sticky until the next command
  output logic [SlotBits-1:0]       abort_slot_o,     // first slot not done by the aborted run
  output logic [3:0]                upd_phase_o,
  output logic [SlotBits-1:0]       upd_slot_o,
  output logic [4:0]                xfer_phase_o,
  output logic [1:0]                seq_busy_o,       // {memristor, FeCAP} sequencer busy
  output logic [4:0]                queued_o,         // {wake, read-out, form, transfer, sample} queued
  output logic [15:0]               samples_since_o,
  output logic [Lines*AdcBits-1:0]  readout_o,
  output logic                      fe_pending_o,
  output logic                      seq_err_o,        // sticky: a sequencer guard fired
  input  logic                      err_clear_i,
  output logic                      irq_o,
  // counters and failure log
  input  logic                      cnt_clear_i,
  output logic [31:0]               cnt_samples_o,
  output logic [31:0]               cnt_slots_skipped_o,
  output logic [31:0]               cnt_fe_reads_o,
  output logic [31:0]               cnt_fe_writes_o,
  output logic [31:0]               cnt_transfers_o,
  output logic [31:0]               cnt_programmed_o,
  output logic [31:0]               cnt_xfer_skipped_o,
  output logic [31:0]               cnt_mr_resets_o,
  output logic [31:0]               cnt_mr_sets_o,
  output logic [31:0]               cnt_vfy_reads_o,
  output logic [31:0]               cnt_retries_o,
  output logic [31:0]               cnt_forms_o,
  output logic [31:0]               cnt_failures_o,
  output logic [31:0]               cnt_wake_cycles_o,
  input  logic                      fail_clear_i,
  output logic                      fail_any_o,
  output logic [IdxBits-1:0]        fail_first_o,
  output logic [IdxBits-1:0]        fail_last_o,
  output logic [1:0]                fail_first_kind_o,  // {forming, pol}
  output logic [1:0]                fail_last_kind_o,
  // what a reset now would cost
  output logic [2:0]                lost_op_o,
  output logic [SlotBits-1:0]       lost_slot_o,
  output logic                      lost_flag_o,
  output logic [RowsPerSyn-1:0]     lost_rows_o,
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

  // ------------------------------------------------------------ scheduler
  // states: hymem_run_e (hymem_defs.svh)
  hymem_run_e          run_q, run_d;
  logic                q_sample_q, q_xfer_q, q_form_q, q_read_q, q_wake_q;
  logic                q_sample_d, q_xfer_d, q_form_d, q_read_d, q_wake_d;
  logic [SlotBits-1:0] rd_slot_q, rd_slot_d;
  logic                rd_pol_q, rd_pol_d;
  logic [15:0]         since_q, since_d;
  logic                aborted_q, aborted_d;
  logic [SlotBits-1:0] abort_slot_q, abort_slot_d;
  logic                done_q, done_d;

  logic upd_start, upd_busy, upd_done, upd_aborted;
  logic xf_start, fm_start, xf_busy, xf_done, xf_aborted, xf_irq;
  logic rd_req_valid, rd_accept;
  logic wk_start, wk_busy, wk_fin, wk_fin_aborted;
  logic [SlotBits-1:0] wk_slot;
  logic [FecapRows-1:0] w_held;

  // Auto transfer: the k-th sample since the last transfer just completed.
  logic auto_xfer;
  assign auto_xfer = upd_done && !upd_aborted && (cfg_k_i != '0) && (since_q + 1'b1 == cfg_k_i);

  always_comb begin
    run_d      = run_q;
    q_sample_d = q_sample_q || cmd_sample_i;
    q_xfer_d   = q_xfer_q || cmd_transfer_i;
    q_form_d   = q_form_q || cmd_form_i;
    q_read_d   = q_read_q || cmd_readout_i;
    q_wake_d   = q_wake_q || cmd_wake_i;
    rd_slot_d  = cmd_readout_i ? readout_slot_i : rd_slot_q;
    rd_pol_d   = cmd_readout_i ? readout_pol_i : rd_pol_q;
    since_d    = since_q;
    aborted_d  = aborted_q;
    abort_slot_d = abort_slot_q;
    done_d     = 1'b0;
    upd_start  = 1'b0;
    xf_start   = 1'b0;
    fm_start   = 1'b0;
    wk_start   = 1'b0;

    if (cmd_sample_i || cmd_transfer_i || cmd_form_i || cmd_readout_i || cmd_wake_i) begin
      aborted_d = 1'b0;
    end
    if (upd_done && !upd_aborted) since_d = since_q + 1'b1;
    if (auto_xfer) q_xfer_d = 1'b1;

    case (run_q)
      R_IDLE: if (!cmd_abort_i) begin
        // priority: transfer, forming, wake-up, sample, read-out. A command that arrives while idle
        // starts in the cycle of its pulse (q_*_d): it is never seen as queued, so a second
        // command right behind it queues (instead of ERR 7) and a READOUT read right behind
        // CMD.READOUT waits for the read-out (instead of ERR 6).
        if (q_xfer_d) begin
          q_xfer_d = 1'b0;
          xf_start = 1'b1;
          since_d  = '0;
          run_d    = R_XFER;
        end else if (q_form_d) begin
          q_form_d = 1'b0;
          fm_start = 1'b1;
          run_d    = R_FORM;
        end else if (q_wake_d) begin
          q_wake_d = 1'b0;
          wk_start = 1'b1;
          run_d    = R_WAKE;
        end else if (q_sample_d) begin
          q_sample_d = 1'b0;
          upd_start  = 1'b1;
          run_d      = R_UPD;
        end else if (q_read_d) begin
          run_d = R_READ;
        end
      end
      R_UPD:  if (upd_done) run_d = R_IDLE;
      R_XFER, R_FORM: if (xf_done) run_d = R_IDLE;
      R_READ: if (rd_accept) begin
        q_read_d = 1'b0;
        run_d    = R_WAIT;
      end
      R_WAIT: if (mr_done) run_d = R_IDLE;
      R_WAKE: if (wk_fin) run_d = R_IDLE;
      default: run_d = R_IDLE;
    endcase

    if ((run_q != R_IDLE) && (run_d == R_IDLE) && !q_sample_d && !q_xfer_d && !q_form_d &&
        !q_read_d && !q_wake_d) begin
      done_d = 1'b1;
    end

    if (cmd_abort_i) begin
      q_sample_d = 1'b0;
      q_xfer_d   = 1'b0;
      q_form_d   = 1'b0;
      q_wake_d   = 1'b0;
      // a read-out waiting for the port keeps its request and completes; one the port takes
      // in this very cycle is in flight already (its request is not restored)
      q_read_d   = (run_q == R_READ && !rd_accept) ? q_read_q : 1'b0;
    end
    if (upd_done && upd_aborted) begin
      aborted_d    = 1'b1;
      abort_slot_d = u_abort_slot;
    end
    if (xf_done && xf_aborted) begin
      aborted_d    = 1'b1;
      abort_slot_d = x_abort_slot;
    end
    if (wk_fin_aborted) begin
      aborted_d    = 1'b1;
      abort_slot_d = wk_slot;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      run_q      <= R_IDLE;
      q_sample_q <= 1'b0;
      q_xfer_q   <= 1'b0;
      q_form_q   <= 1'b0;
      q_read_q   <= 1'b0;
      q_wake_q   <= 1'b0;
      rd_slot_q  <= '0;
      rd_pol_q   <= 1'b0;
      since_q    <= '0;
      aborted_q  <= 1'b0;
      abort_slot_q <= '0;
      done_q     <= 1'b0;
    end else begin
      run_q      <= run_d;
      q_sample_q <= q_sample_d;
      q_xfer_q   <= q_xfer_d;
      q_form_q   <= q_form_d;
      q_read_q   <= q_read_d;
      q_wake_q   <= q_wake_d;
      rd_slot_q  <= rd_slot_d;
      rd_pol_q   <= rd_pol_d;
      since_q    <= since_d;
      aborted_q  <= aborted_d;
      abort_slot_q <= abort_slot_d;
      done_q     <= done_d;
    end
  end

  // -------------------------------------------------------- vector buffers
  // one read port per synapse the update engine processes in a cycle
  // The engine's index (IdxBits: 2 * Lines * Slots values) may be narrower than a buffer is
  // deep (Lines * Slots = 2 with the smallest depth, 8): each buffer's read address is the
  // index zero-extended to address all its entries (entries the index cannot reach are
  // never read).
  localparam int XABits = ($clog2(XDepth) > IdxBits) ? $clog2(XDepth) : IdxBits;
  localparam int EABits = ($clog2(EDepth) > IdxBits) ? $clog2(EDepth) : IdxBits;
  logic                           vec_re;
  logic [SynPerCycle*IdxBits-1:0] x_raddr, e_raddr;
  logic [SynPerCycle*XABits-1:0]  x_raddr_w;
  logic [SynPerCycle*EABits-1:0]  e_raddr_w;
  logic [SynPerCycle*8-1:0]       x_rdata, e_rdata;

  for (genvar p = 0; p < SynPerCycle; p++) begin : g_raddr
    assign x_raddr_w[p*XABits +: XABits] = XABits'(x_raddr[p*IdxBits +: IdxBits]);
    assign e_raddr_w[p*EABits +: EABits] = EABits'(e_raddr[p*IdxBits +: IdxBits]);
  end

  hymem_vecbuf #(.Depth(XDepth), .AddrBits(XABits), .Ports(SynPerCycle)) u_xbuf (
    .clk_i   (clk_i),
    .we_i    (x_we_i),
    .waddr_i (x_waddr_i),
    .wdata_i (vec_wdata_i),
    .wstrb_i (vec_wstrb_i),
    .re_i    (vec_re),
    .raddr_i (x_raddr_w),
    .rdata_o (x_rdata)
  );

  hymem_vecbuf #(.Depth(EDepth), .AddrBits(EABits), .Ports(SynPerCycle)) u_ebuf (
    .clk_i   (clk_i),
    .we_i    (e_we_i),
    .waddr_i (e_waddr_i),
    .wdata_i (vec_wdata_i),
    .wstrb_i (vec_wstrb_i),
    .re_i    (vec_re),
    .raddr_i (e_raddr_w),
    .rdata_o (e_rdata)
  );

  // --------------------------------------------------------- update engine
  logic               u_fe_valid, u_fe_ready;
  logic [1:0]         u_fe_op;
  logic [RowBits-1:0] u_fe_row;
  logic [Lines-1:0]   u_fe_wdata;
  logic [SlotBits-1:0] u_abort_slot, u_slot;
  logic [3:0]         u_phase;

  hymem_update_engine #(
    .Lines(Lines), .Slots(Slots), .MagWidth(MagWidth), .CodeBits(CodeBits), .FecapRows(FecapRows),
    .SynPerCycle(SynPerCycle)
  ) u_update (
    .clk_i               (clk_i),
    .rst_ni              (rst_ni),
    .cfg_n_in_i          (cfg_n_in_i),
    .cfg_n_out_i         (cfg_n_out_i),
    .cfg_lr_mult_i       (cfg_lr_mult_i),
    .cfg_lr_shift_i      (cfg_lr_shift_i),
    .cfg_p16_i           (cfg_p16_i),
    .cfg_stoch_round_i   (cfg_stoch_round_i),
    .cfg_code_round_i    (cfg_code_round_i),
    .cfg_skip_zero_i     (cfg_skip_zero_i),
    .seed_load_i         (seed_load_i),
    .seed_i              (seed_i),
    .start_i             (upd_start),
    .abort_i             (cmd_abort_i),
    .busy_o              (upd_busy),
    .done_o              (upd_done),
    .aborted_o           (upd_aborted),
    .abort_slot_o        (u_abort_slot),
    .slot_o              (u_slot),
    .phase_o             (u_phase),
    .vec_re_o            (vec_re),
    .x_raddr_o           (x_raddr),
    .x_rdata_i           (x_rdata),
    .e_raddr_o           (e_raddr),
    .e_rdata_i           (e_rdata),
    .fe_req_valid_o      (u_fe_valid),
    .fe_req_ready_i      (u_fe_ready),
    .fe_req_op_o         (u_fe_op),
    .fe_req_row_o        (u_fe_row),
    .fe_req_wdata_o      (u_fe_wdata),
    .fe_done_i           (fe_done),
    .fe_rdata_i          (fe_rdata),
    .cnt_clear_i         (cnt_clear_i),
    .cnt_samples_o       (cnt_samples_o),
    .cnt_slots_skipped_o (cnt_slots_skipped_o)
  );

  // ------------------------------------------------------- transfer engine
  logic               x_fe_valid, x_fe_ready;
  logic [1:0]         x_fe_op;
  logic [RowBits-1:0] x_fe_row;
  logic [Lines-1:0]   x_fe_wdata;
  logic [FecapRows-1:0] pend_set;
  logic               x_mr_valid, x_mr_ready;
  logic [2:0]         x_mr_op;
  logic [SlotBits-1:0] x_mr_slot, x_abort_slot;
  logic [Lines-1:0]   x_mr_pol, x_mr_mask;
  logic [Lines*CodeBits-1:0] x_mr_code;
  logic [4:0]         x_phase;
  logic [FecapRows-1:0] x_held;
  logic [SlotBits-1:0] x_slot;

  hymem_xfer_engine #(
    .Lines(Lines), .Slots(Slots), .MagWidth(MagWidth), .CodeBits(CodeBits),
    .FecapRows(FecapRows), .AdcBits(AdcBits)
  ) u_xfer (
    .clk_i              (clk_i),
    .rst_ni             (rst_ni),
    .cfg_n_in_i         (cfg_n_in_i),
    .cfg_n_out_i        (cfg_n_out_i),
    .cfg_change_aware_i (cfg_change_aware_i),
    .cfg_code_round_i   (cfg_code_round_i),
    .cfg_verify_max_i   (cfg_verify_max_i),
    .cfg_vfy_lo_i       (cfg_vfy_lo_i),
    .cfg_vfy_hi_i       (cfg_vfy_hi_i),
    .cfg_form_target_i  (cfg_form_target_i),
    .cfg_form_max_i     (cfg_form_max_i),
    .start_xfer_i       (xf_start),
    .start_form_i       (fm_start),
    .abort_i            (cmd_abort_i),
    .busy_o             (xf_busy),
    .done_o             (xf_done),
    .aborted_o          (xf_aborted),
    .abort_slot_o       (x_abort_slot),
    .phase_o            (x_phase),
    .fe_req_valid_o     (x_fe_valid),
    .fe_req_ready_i     (x_fe_ready),
    .fe_req_op_o        (x_fe_op),
    .fe_req_row_o       (x_fe_row),
    .fe_req_wdata_o     (x_fe_wdata),
    .fe_done_i          (fe_done),
    .fe_rdata_i         (fe_rdata),
    .fe_pend_set_o      (pend_set),
    .mr_req_valid_o     (x_mr_valid),
    .mr_req_ready_i     (x_mr_ready),
    .mr_req_op_o        (x_mr_op),
    .mr_req_slot_o      (x_mr_slot),
    .mr_req_pol_o       (x_mr_pol),
    .mr_req_mask_o      (x_mr_mask),
    .mr_req_code_o      (x_mr_code),
    .mr_done_i          (mr_done),
    .mr_rdata_i         (mr_rdata),
    .mr_xfer_fired_i    (mr_fired),
    .cnt_clear_i        (cnt_clear_i),
    .cnt_transfers_o    (cnt_transfers_o),
    .cnt_programmed_o   (cnt_programmed_o),
    .cnt_skipped_o      (cnt_xfer_skipped_o),
    .cnt_resets_o       (cnt_mr_resets_o),
    .cnt_sets_o         (cnt_mr_sets_o),
    .cnt_vfy_reads_o    (cnt_vfy_reads_o),
    .cnt_retries_o      (cnt_retries_o),
    .cnt_forms_o        (cnt_forms_o),
    .cnt_failures_o     (cnt_failures_o),
    .fail_clear_i       (fail_clear_i),
    .fail_any_o         (fail_any_o),
    .fail_first_o       (fail_first_o),
    .fail_last_o        (fail_last_o),
    .fail_first_kind_o  (fail_first_kind_o),
    .fail_last_kind_o   (fail_last_kind_o),
    .fail_irq_o         (xf_irq),
    .held_rows_o        (x_held),
    .slot_o             (x_slot)
  );

  // ------------------------------------------- FeCAP sequencer (one owner)
  logic               fe_valid, fe_ready, fe_done, fe_err;
  logic [1:0]         fe_op;
  logic [RowBits-1:0] fe_row;
  logic [Lines-1:0]   fe_wdata, fe_rdata;
  logic               x_owns_fe, w_owns_fe;
  logic [FecapRows-1:0] fe_held;
  logic               w_fe_valid, w_fe_ready;
  logic [1:0]         w_fe_op;
  logic [RowBits-1:0] w_fe_row;
  logic [Lines-1:0]   w_fe_wdata;

  assign x_owns_fe  = (run_q == R_XFER);
  assign w_owns_fe  = (run_q == R_WAKE);
  assign fe_valid   = x_owns_fe ? x_fe_valid : w_owns_fe ? w_fe_valid : u_fe_valid;
  assign fe_op      = x_owns_fe ? x_fe_op    : w_owns_fe ? w_fe_op    : u_fe_op;
  assign fe_row     = x_owns_fe ? x_fe_row   : w_owns_fe ? w_fe_row   : u_fe_row;
  assign fe_wdata   = x_owns_fe ? x_fe_wdata : w_owns_fe ? w_fe_wdata : u_fe_wdata;
  assign u_fe_ready = fe_ready && !x_owns_fe && !w_owns_fe;
  assign x_fe_ready = fe_ready && x_owns_fe;
  assign w_fe_ready = fe_ready && w_owns_fe;

  // ------------------------------------------------------------ wake-up engine
  hymem_wake_engine #(
    .Lines(Lines), .Slots(Slots), .MagWidth(MagWidth), .CodeBits(CodeBits), .FecapRows(FecapRows)
  ) u_wake (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .cfg_n_in_i     (cfg_n_in_i),
    .cfg_n_out_i    (cfg_n_out_i),
    .cfg_cycles_i   (cfg_wake_cycles_i),
    .start_i        (wk_start),
    .abort_i        (cmd_abort_i),
    .busy_o         (wk_busy),
    .fin_o          (wk_fin),
    .fin_aborted_o  (wk_fin_aborted),
    .slot_o         (wk_slot),
    .held_o         (w_held),
    .fe_req_valid_o (w_fe_valid),
    .fe_req_ready_i (w_fe_ready),
    .fe_req_op_o    (w_fe_op),
    .fe_req_row_o   (w_fe_row),
    .fe_req_wdata_o (w_fe_wdata),
    .fe_done_i      (fe_done),
    .cnt_clear_i    (cnt_clear_i),
    .cnt_cycles_o   (cnt_wake_cycles_o)
  );

  hymem_fecap_seq #(.Lines(Lines), .Rows(FecapRows), .TimeBits(TimeBits)) u_fe_seq (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .t_setup_i    (t_fe_setup_i),
    .t_pulse_i    (t_fe_pulse_i),
    .t_sense_i    (t_fe_sense_i),
    .t_hold_i     (t_fe_hold_i),
    .t_gap_i      (t_fe_gap_i),
    .req_valid_i  (fe_valid),
    .req_ready_o  (fe_ready),
    .req_op_i     (fe_op),
    .req_row_i    (fe_row),
    .req_wdata_i  (fe_wdata),
    .done_o       (fe_done),
    .rdata_o      (fe_rdata),
    .busy_o       (seq_busy_o[0]),
    .pend_set_i   (pend_set),
    .pending_o    (fe_pending_o),
    .held_o       (fe_held),
    .err_o        (fe_err),
    .err_clear_i  (err_clear_i),
    .cnt_clear_i  (cnt_clear_i),
    .cnt_reads_o  (cnt_fe_reads_o),
    .cnt_writes_o (cnt_fe_writes_o),
    .fe_row_o     (fe_row_o),
    .fe_wl_o      (fe_wl_o),
    .fe_sl_o      (fe_sl_o),
    .fe_bl_o      (fe_bl_o),
    .fe_mask_o    (fe_mask_o),
    .fe_sae_o     (fe_sae_o),
    .fe_rdata_i   (fe_rdata_i)
  );

  // -------------------------------------- memristor sequencer (one owner)
  logic               mr_valid, mr_ready, mr_done, mr_fired, mr_err;
  logic [2:0]         mr_op;
  logic [SlotBits-1:0] mr_slot;
  logic [Lines-1:0]   mr_pol, mr_mask;
  logic [Lines*CodeBits-1:0] mr_code;
  logic [Lines*AdcBits-1:0]  mr_rdata;
  logic               rd_owns_mr;

  assign rd_owns_mr   = (run_q == R_READ) || (run_q == R_WAIT);
  assign rd_req_valid = (run_q == R_READ);
  assign rd_accept    = rd_req_valid && mr_ready;
  assign mr_valid     = rd_owns_mr ? rd_req_valid : x_mr_valid;
  assign mr_op        = rd_owns_mr ? MR_READ : x_mr_op;
  assign mr_slot      = rd_owns_mr ? rd_slot_q : x_mr_slot;
  assign mr_pol       = rd_owns_mr ? {Lines{rd_pol_q}} : x_mr_pol;
  assign mr_mask      = rd_owns_mr ? {Lines{1'b1}} : x_mr_mask;
  assign mr_code      = x_mr_code;
  assign x_mr_ready   = mr_ready && !rd_owns_mr;

  hymem_mr_seq #(
    .Lines(Lines), .Slots(Slots), .CodeBits(CodeBits), .AdcBits(AdcBits), .TimeBits(TimeBits)
  ) u_mr_seq (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .t_reset_i    (t_mr_reset_i),
    .t_set_i      (t_mr_set_i),
    .t_form_i     (t_mr_form_i),
    .t_read_i     (t_mr_read_i),
    .t_adc_i      (t_mr_adc_i),
    .t_pre_i      (t_mr_pre_i),
    .t_xfer_i     (t_mr_xfer_i),
    .t_gap_i      (t_mr_gap_i),
    .req_valid_i  (mr_valid),
    .req_ready_o  (mr_ready),
    .req_op_i     (mr_op),
    .req_slot_i   (mr_slot),
    .req_pol_i    (mr_pol),
    .req_mask_i   (mr_mask),
    .req_code_i   (mr_code),
    .done_o       (mr_done),
    .rdata_o      (mr_rdata),
    .xfer_fired_o (mr_fired),
    .busy_o       (seq_busy_o[1]),
    .err_o        (mr_err),
    .err_clear_i  (err_clear_i),
    .mr_slot_o    (mr_slot_o),
    .mr_pol_o     (mr_pol_o),
    .mr_mask_o    (mr_mask_o),
    .mr_code_o    (mr_code_o),
    .mr_reset_o   (mr_reset_o),
    .mr_set_o     (mr_set_o),
    .mr_form_o    (mr_form_o),
    .mr_read_o    (mr_read_o),
    .mr_adc_o     (mr_adc_o),
    .mr_rdata_i   (mr_rdata_i),
    .tl_pre_o     (tl_pre_o),
    .xfer_o       (xfer_o)
  );

  // ---------------------------------------------------------------- outputs
  assign busy_o          = (run_q != R_IDLE) || q_sample_q || q_xfer_q || q_form_q || q_read_q ||
                           q_wake_q;
  assign done_o          = done_q;
  assign upd_busy_o      = upd_busy;
  assign xfer_busy_o     = xf_busy;
  assign readout_busy_o  = rd_owns_mr;
  assign wake_busy_o     = wk_busy;
  assign wake_done_o     = wk_fin && !wk_fin_aborted;
  assign aborted_o       = aborted_q;
  assign abort_slot_o    = abort_slot_q;
  assign queued_o        = {q_wake_q, q_read_q, q_form_q, q_xfer_q, q_sample_q};
  assign upd_phase_o     = u_phase;
  assign upd_slot_o      = u_slot;
  assign xfer_phase_o    = x_phase;
  assign samples_since_o = since_q;
  assign readout_o       = mr_rdata;
  assign seq_err_o       = fe_err || mr_err;
  assign irq_o           = xf_irq;

  // ------------------------------------------------ what a reset would cost
  logic [FecapRows-1:0] held_rows;
  logic [SlotBits-1:0]  held_slot;
  assign held_rows    = fe_held | x_held | w_held;
  assign held_slot    = x_owns_fe ? x_slot : w_owns_fe ? wk_slot : u_slot;
  assign lost_slot_o  = held_slot;
  assign lost_rows_o  = RowsPerSyn'(held_rows >> (32'(held_slot) * RowsPerSyn));
  assign lost_flag_o  = held_rows[32'(Slots * RowsPerSyn) + 32'(held_slot)];
  always_comb begin
    case (run_q)
      R_UPD:          lost_op_o = LOST_OP_SAMPLE;
      R_XFER:         lost_op_o = LOST_OP_TRANSFER;
      R_FORM:         lost_op_o = LOST_OP_FORM;
      R_READ, R_WAIT: lost_op_o = LOST_OP_READOUT;
      R_WAKE:         lost_op_o = LOST_OP_WAKE;
      default:        lost_op_o = LOST_OP_NONE;
    endcase
  end

endmodule

`default_nettype wire
