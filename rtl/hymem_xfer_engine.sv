// hymem_xfer_engine: reprogram (transfer) engine, and the home of forming.
//
// Datasheet (the algorithm is docs/controller.md, "Transfer (reprogram)
// engine"; bit-exact with hymem.digital.engine.EngineState.transfer for everything
// digital, and with EngineState.form for forming)
//   start_xfer_i: one transfer of the whole array, slot by slot:
//     used lines U (synapse a = s*Lines + l < n_in*n_out); candidates C = U,
//     or U & flags (change-aware: flag row read and restored); sign + MSB rows
//     (+ bit 5 in round mode) read, decoded (copies by majority), written back
//     with the code to transfer in the MSB rows; RESET G+ and G- of C;
//     DAC-free transfer pulse on C & (code != 0) with pol = code sign, then the
//     MSB rows rewritten with their true bits; optional verify (read G+ and
//     G-, nearest-level windows, retries by RESET + digital-code SET up to
//     verify_max); failures logged; flags of programmed synapses cleared.
//   start_form_i: forming of every memristor (hymem_form_engine; this block
//     lends it the memristor port and the verify scan).
//   abort_i: the run stops at the next slot boundary (transfer) or row
//     boundary (forming); the slot or row in flight completes, so every
//     FeCAP row read is written back.
//   Blocks: hymem_slot_decode (rows -> decoded MSBs and codes, bit-sliced over
//     the lines), hymem_verify_scan (verify and forming checks, one lane per
//     cycle, with the retry bookkeeping), hymem_form_engine (forming run),
//     hymem_xfer_log (counters, failure log: fail_count / first / last synapse
//     address, sticky until fail_clear_i; fail_irq_o pulses once per run that
//     logged a failure). This module is the transfer sequence itself and the
//     port multiplexing. Per-line logic is whole-vector (one operation for all
//     lines); the per-line packed code for the memristor port is registered
//     (refreshed the cycle after the rows or the rounding mode change), so an
//     idle engine evaluates only a few vector operations per cycle.
//   Failure log entries say what failed (fail_*_kind_o = {forming, pol}: a
//   verify failure names the synapse, a forming failure the device).
//   Phases (phase_o, STATUS.XFER_PHASE), per slot: SLOT (abort taken here: DONE);
//     a slot without used lines: NEXT; else change-aware: FRD, FWB; CAND (no
//     candidate: NEXT); CRD, CWB, RST0, RST1; XFER, RESTORE if some candidate has a
//     code != 0; with verify, per round VRDP, VCHKP, VRDN, VCHKN, VDEC and, for a
//     retry, VR0, VR1 and VSET (if some line left has a code != 0); FLAG, NEXT. Then
//     DONE, IDLE. SLOT, CAND, VDEC, NEXT and DONE last one cycle; slot_o is the slot
//     from its SLOT to its NEXT (0 in IDLE after a cycle). Forming shows the forming
//     engine's phases and slot, then DONE, IDLE at slot 0. Reference:
//     EngineState.last_phases.
//   held_rows_o: the slot's MSB rows while the transfer pulse reads them
//   destructively and, in a round-to-nearest transfer, from the write of the
//   rounded code until their true bits are restored (a reset in between would
//   leave the rounded code in the hidden weights); slot_o: the slot the engine
//   works on.

`include "hymem_defs.svh"
`include "hymem_regs_defs.svh"

`default_nettype none

module hymem_xfer_engine #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int MagWidth  = 9,
  parameter int CodeBits  = 3,
  parameter int FecapRows = 128,
  parameter int AdcBits   = 8,
  localparam int IdxBits    = $clog2(Lines * Slots) + 1,
  localparam int RowBits    = $clog2(FecapRows),
  localparam int SlotBits   = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int NCode      = 1 << CodeBits,              // sign row + MSB copy rows
  localparam int RowsPerSyn = NCode + (MagWidth - CodeBits),
  localparam int Levels     = 1 << CodeBits
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // configuration, latched at start
  input  logic [IdxBits-1:0]        cfg_n_in_i,
  input  logic [IdxBits-1:0]        cfg_n_out_i,
  input  logic                      cfg_change_aware_i,
  input  logic                      cfg_code_round_i,
  input  logic [7:0]                cfg_verify_max_i,
  input  logic [Levels*AdcBits-1:0] cfg_vfy_lo_i,     // window of level m at [m*AdcBits +: AdcBits]
  input  logic [Levels*AdcBits-1:0] cfg_vfy_hi_i,
  input  logic [AdcBits-1:0]        cfg_form_target_i,
  input  logic [7:0]                cfg_form_max_i,
  // control
  input  logic                      start_xfer_i,
  input  logic                      start_form_i,
  input  logic                      abort_i,
  output logic                      busy_o,
  output logic                      done_o,
  output logic                      aborted_o,
  output logic [SlotBits-1:0]       abort_slot_o,
  output logic [4:0]                phase_o,
  // FeCAP sequencer
  output logic                      fe_req_valid_o,
  input  logic                      fe_req_ready_i,
  output logic [1:0]                fe_req_op_o,
  output logic [RowBits-1:0]        fe_req_row_o,
  output logic [Lines-1:0]          fe_req_wdata_o,
  input  logic                      fe_done_i,
  input  logic [Lines-1:0]          fe_rdata_i,
  output logic [FecapRows-1:0]      fe_pend_set_o,
  // memristor sequencer
  output logic                      mr_req_valid_o,
  input  logic                      mr_req_ready_i,
  output logic [2:0]                mr_req_op_o,
  output logic [SlotBits-1:0]       mr_req_slot_o,
  output logic [Lines-1:0]          mr_req_pol_o,
  output logic [Lines-1:0]          mr_req_mask_o,
  output logic [Lines*CodeBits-1:0] mr_req_code_o,
  input  logic                      mr_done_i,
  input  logic [Lines*AdcBits-1:0]  mr_rdata_i,
  input  logic                      mr_xfer_fired_i,
  // counters and failure log
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
  input  logic                      fail_clear_i,
  output logic                      fail_any_o,
  output logic [IdxBits-1:0]        fail_first_o,
  output logic [IdxBits-1:0]        fail_last_o,
  output logic [1:0]                fail_first_kind_o,  // {forming, pol}
  output logic [1:0]                fail_last_kind_o,
  output logic                      fail_irq_o,
  // what a reset now would cost
  output logic [FecapRows-1:0]      held_rows_o,
  output logic [SlotBits-1:0]       slot_o
);

  `HYMEM_CHECK(chk_geom, Lines >= 2 && Slots >= 1 && Slots * (RowsPerSyn + 1) <= FecapRows,
               "hymem_xfer_engine: need Lines >= 2, Slots >= 1, Slots*(RowsPerSyn+1) <= FecapRows")
  localparam logic WidthsOk = CodeBits >= 1 && CodeBits < MagWidth && AdcBits >= 2 && AdcBits <= 16;
  `HYMEM_CHECK(chk_widths, WidthsOk,
               "hymem_xfer_engine: need CodeBits in 1..MagWidth-1 and AdcBits in 2..16")


  // phases (phase_o): hymem_xfer_phase_e (rtl/hymem_regs.rdl, STATUS.XFER_PHASE); forming
  // shows hymem_form_engine's phases (XFER_FORM_*) instead of XFER_FORMING

  localparam int LaneBits = $clog2(Lines);
  localparam int KBits    = $clog2(NCode + 2);
  localparam int BufRows  = NCode + 1;                      // sign, MSB copies, bit below the code

  // ------------------------------------------------------------------ state
  hymem_xfer_phase_e        ph_q, ph_d;
  logic [SlotBits-1:0]      slot_q, slot_d;
  logic [KBits-1:0]         k_q, k_d;
  logic                     issued_q, issued_d;
  logic                     abort_q, abort_d;
  logic                     aborted_q, aborted_d;
  logic [SlotBits-1:0]      abort_slot_q, abort_slot_d;
  logic [Lines-1:0]         cand_q, cand_d;        // C
  logic [Lines-1:0]         ok_q, ok_d;            // programmed and verified
  logic [Lines-1:0]         flags_q, flags_d;
  logic [BufRows*Lines-1:0] rowbuf_q;              // row k at [k*Lines +: Lines]
  logic                     rowbuf_we;
  logic [Lines*CodeBits-1:0] code_vec_q;           // code magnitude, line l at [l*CodeBits +: CodeBits]
  logic                     code_dirty_q;          // rows or rounding mode changed last cycle

  // latched configuration
  logic [2*IdxBits-1:0] n_used_q;
  logic                 change_aware_q, code_round_q;
  logic [7:0]           verify_max_q;

  // run start (the configuration is latched)
  logic run_start;
  assign run_start = (ph_q == XFER_IDLE) && (start_xfer_i || start_form_i);

  // ------------------------------------------------------- slot decoding
  logic [RowsPerSyn*Lines-1:0] dec_rows;
  logic [Lines-1:0]            dec_sign_unused;
  logic [MagWidth*Lines-1:0]   dec_mag;              // bit b of line l at [b*Lines + l]
  logic [Lines-1:0]            csign_l;              // canonical code sign
  logic [CodeBits*Lines-1:0]   code_mag;             // code bit b of line l at [b*Lines + l]
  logic [Lines-1:0]            cnz_l;                // code magnitude != 0

  // only the sign, MSB and (in round mode) bit-below rows are read: the LSBs decode as 0
  if (RowsPerSyn > BufRows) begin : gen_rows_pad
    assign dec_rows = {{((RowsPerSyn - BufRows) * Lines){1'b0}}, rowbuf_q};
  end else begin : gen_rows
    assign dec_rows = rowbuf_q;
  end

  hymem_slot_decode #(
    .Lanes    (Lines),
    .MagWidth (MagWidth),
    .CodeBits (CodeBits)
  ) u_decode (
    .rows_i      (dec_rows),
    .round_i     (code_round_q),
    .sign_o      (dec_sign_unused),
    .mag_o       (dec_mag),
    .code_sign_o (csign_l),
    .code_mag_o  (code_mag)
  );

  // the magnitude bits below the MSBs are only the padding and the bit below the code
  // (an illegal CodeBits >= MagWidth leaves none: a zero-width select would stop the
  // elaboration before chk_widths speaks)
  localparam int LowBits = WidthsOk ? (MagWidth - CodeBits) * Lines : 1;
  logic unused_dec;
  assign unused_dec = ^{dec_sign_unused, dec_mag[0 +: LowBits]};

  function automatic logic [Lines-1:0] any_plane(input logic [CodeBits*Lines-1:0] planes);
    any_plane = '0;
    for (int b = 0; b < CodeBits; b++) any_plane = any_plane | planes[b*Lines +: Lines];
  endfunction
  assign cnz_l = any_plane(code_mag);

  // what the rows of MSB group g get back: the decoded bit, or (XFER_CWB, candidate lines)
  // the bit of the code to transfer
  logic [Lines-1:0] msb_row  [0:CodeBits-1];
  logic [Lines-1:0] xfer_row [0:CodeBits-1];
  logic [Lines-1:0] sign_row, below_row;
  for (genvar g = 0; g < CodeBits; g++) begin : gen_grp
    assign msb_row[g]  = dec_mag[(MagWidth-1-g)*Lines +: Lines];
    // the code to transfer goes to candidate lines only: the others keep their true
    // bits, so a slot whose candidates all have code 0 (no transfer pulse, no
    // restore) leaves every hidden weight intact
    assign xfer_row[g] = (code_mag[(CodeBits-1-g)*Lines +: Lines] & cand_q) |
                         (msb_row[g] & ~cand_q);
  end
  assign sign_row  = rowbuf_q[0 +: Lines];
  assign below_row = rowbuf_q[NCode*Lines +: Lines];

  // used lines of the current slot: a = slot*Lines + l < n_used, a thermometer of
  // used_count = clamp(n_used - slot*Lines, 0, Lines)
  logic [2*IdxBits:0] slot_base, used_rem;
  logic [LaneBits:0]  used_count;
  logic [Lines-1:0]   used_l;
  assign slot_base  = (2*IdxBits+1)'(slot_q) * (2*IdxBits+1)'(Lines);
  assign used_rem   = {1'b0, n_used_q} - slot_base;
  assign used_count = used_rem[2*IdxBits]                            ? '0 :
                      (used_rem >= (2*IdxBits+1)'(Lines))            ? (LaneBits+1)'(Lines) :
                                                                       used_rem[LaneBits:0];
  assign used_l     = ~({Lines{1'b1}} << used_count);

  // ------------------------------------------------------------ verify scan
  logic                scan_load, scan_decide, scan_again, scan_last, scan_fail;
  logic                scan_plus, scan_minus, scan_form;
  logic [Lines-1:0]    scan_load_mask, todo_l, pass_l;
  logic [7:0]          scan_max;
  logic [LaneBits-1:0] scan_lane;

  // ---------------------------------------------------------- forming engine
  logic [4:0]          form_phase;
  logic                form_start, form_fin, form_fin_aborted, form_req_valid, form_req_form;
  logic                form_req_pol, form_scan_load, form_scan, form_decide;
  logic [SlotBits-1:0] form_slot;
  logic [7:0]          form_max;

  // ------------------------------------------------------- request outputs
  logic               in_fe, in_mr, fe_accept, mr_accept;
  logic [RowBits-1:0] base_row;
  logic [Lines-1:0]   set_mask, vset_mask;

  assign base_row  = RowBits'(slot_q * RowsPerSyn);
  assign set_mask  = cand_q & cnz_l;
  assign vset_mask = todo_l & cnz_l;

  logic flag_write;   // change-aware and some candidate programmed: flags to clear
  assign flag_write = change_aware_q && ((flags_q & ok_q) != '0);
  assign in_fe = (ph_q == XFER_FRD) || (ph_q == XFER_FWB) || (ph_q == XFER_CRD) || (ph_q == XFER_CWB) ||
                 (ph_q == XFER_RESTORE) || (ph_q == XFER_FLAG && flag_write);
  assign in_mr = (ph_q == XFER_RST0) || (ph_q == XFER_RST1) || (ph_q == XFER_XFER) || (ph_q == XFER_VRDP) ||
                 (ph_q == XFER_VRDN) || (ph_q == XFER_VR0) || (ph_q == XFER_VR1) || (ph_q == XFER_VSET);
  assign fe_req_valid_o = in_fe && !issued_q;
  assign mr_req_valid_o = (in_mr && !issued_q) || (ph_q == XFER_FORMING && form_req_valid);
  assign fe_accept      = fe_req_valid_o && fe_req_ready_i;
  assign mr_accept      = mr_req_valid_o && mr_req_ready_i;

  always_comb begin
    fe_req_op_o    = FE_WRITE_BACK;
    fe_req_row_o   = base_row + RowBits'(k_q);
    fe_req_wdata_o = '0;
    case (ph_q)
      XFER_FRD: begin
        fe_req_op_o  = FE_READ;
        fe_req_row_o = RowBits'(Slots * RowsPerSyn) + RowBits'(slot_q);
      end
      XFER_FWB: begin
        fe_req_row_o   = RowBits'(Slots * RowsPerSyn) + RowBits'(slot_q);
        fe_req_wdata_o = flags_q;
      end
      XFER_CRD: fe_req_op_o = FE_READ;
      XFER_CWB, XFER_RESTORE: begin
        if (k_q == '0)                fe_req_wdata_o = sign_row;
        if (k_q == KBits'(NCode))     fe_req_wdata_o = below_row;
        for (int g = 0; g < CodeBits; g++) begin
          if (32'(k_q) >= 1 + NCode - (1 << (CodeBits - g)) &&
              32'(k_q) < 1 + NCode - (1 << (CodeBits - g)) + (1 << (CodeBits - 1 - g))) begin
            fe_req_wdata_o = (ph_q == XFER_CWB) ? xfer_row[g] : msb_row[g];
          end
        end
      end
      XFER_FLAG: begin
        fe_req_op_o    = FE_WRITE;
        fe_req_row_o   = RowBits'(Slots * RowsPerSyn) + RowBits'(slot_q);
        fe_req_wdata_o = flags_q & ~ok_q;
      end
      default: ;
    endcase
  end

  always_comb begin
    mr_req_op_o   = MR_RESET;
    mr_req_slot_o = slot_q;
    mr_req_pol_o  = '0;
    mr_req_mask_o = '0;
    case (ph_q)
      XFER_RST0:  mr_req_mask_o = cand_q;
      XFER_RST1:  begin mr_req_pol_o = '1; mr_req_mask_o = cand_q; end
      XFER_XFER:  begin mr_req_op_o = MR_XFER; mr_req_pol_o = csign_l; mr_req_mask_o = set_mask; end
      XFER_VRDP:  begin mr_req_op_o = MR_READ; mr_req_mask_o = todo_l; end
      XFER_VRDN:  begin mr_req_op_o = MR_READ; mr_req_pol_o = '1; mr_req_mask_o = todo_l; end
      XFER_VR0:   mr_req_mask_o = todo_l;
      XFER_VR1:   begin mr_req_pol_o = '1; mr_req_mask_o = todo_l; end
      XFER_VSET:  begin mr_req_op_o = MR_SET; mr_req_pol_o = csign_l; mr_req_mask_o = vset_mask; end
      XFER_FORMING:  begin
        mr_req_op_o   = form_req_form ? MR_FORM : MR_READ;
        mr_req_slot_o = form_slot;
        mr_req_pol_o  = {Lines{form_req_pol}};
        mr_req_mask_o = todo_l;
      end
      default: ;
    endcase
  end
  assign mr_req_code_o = code_vec_q;

  // MSB rows of the slot are pending write-back once the transfer pulse fired.
  localparam logic [FecapRows-1:0] MSB_ROWS = ((FecapRows'(1) << (NCode - 1)) - 1'b1) << 1;
  assign fe_pend_set_o = mr_xfer_fired_i ? (MSB_ROWS << base_row) : '0;

  // ------------------------------------------------------------- sub-blocks
  assign scan_load      = (ph_q == XFER_RST1 && mr_done_i) || form_scan_load;
  assign scan_load_mask = (ph_q == XFER_FORMING) ? {Lines{1'b1}} : cand_q;
  assign scan_max       = (ph_q == XFER_FORMING) ? form_max : verify_max_q;
  assign scan_decide    = (ph_q == XFER_VDEC) || form_decide;
  assign scan_plus      = (ph_q == XFER_VCHKP);
  assign scan_minus     = (ph_q == XFER_VCHKN);
  assign scan_form      = form_scan;

  hymem_verify_scan #(
    .Lines    (Lines),
    .CodeBits (CodeBits),
    .AdcBits  (AdcBits)
  ) u_scan (
    .clk_i             (clk_i),
    .rst_ni            (rst_ni),
    .cfg_load_i        (run_start),
    .cfg_vfy_lo_i      (cfg_vfy_lo_i),
    .cfg_vfy_hi_i      (cfg_vfy_hi_i),
    .cfg_form_target_i (cfg_form_target_i),
    .load_i            (scan_load),
    .load_mask_i       (scan_load_mask),
    .max_i             (scan_max),
    .decide_i          (scan_decide),
    .todo_o            (todo_l),
    .again_o           (scan_again),
    .scan_plus_i       (scan_plus),
    .scan_minus_i      (scan_minus),
    .scan_form_i       (scan_form),
    .adc_i             (mr_rdata_i),
    .code_sign_i       (csign_l),
    .code_mag_i        (code_mag),
    .lane_o            (scan_lane),
    .last_o            (scan_last),
    .pass_o            (pass_l),
    .fail_o            (scan_fail)
  );

  assign form_start = (ph_q == XFER_IDLE) && start_form_i && !start_xfer_i;

  hymem_form_engine #(
    .Slots (Slots)
  ) u_form (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .cfg_form_max_i (cfg_form_max_i),
    .start_i        (form_start),
    .abort_i        (abort_q),
    .phase_o        (form_phase),
    .fin_o          (form_fin),
    .fin_aborted_o  (form_fin_aborted),
    .slot_o         (form_slot),
    .req_valid_o    (form_req_valid),
    .req_ready_i    (mr_req_ready_i),
    .req_form_o     (form_req_form),
    .req_pol_o      (form_req_pol),
    .mr_done_i      (mr_done_i),
    .scan_load_o    (form_scan_load),
    .scan_o         (form_scan),
    .scan_last_i    (scan_last),
    .decide_o       (form_decide),
    .again_i        (scan_again),
    .max_o          (form_max)
  );

  // --------------------------------------------------------------- control
  logic last_slot;
  logic [KBits-1:0] ncode_rows;
  assign last_slot  = (slot_q == SlotBits'(Slots - 1));
  assign ncode_rows = code_round_q ? KBits'(NCode + 1) : KBits'(NCode);

  always_comb begin
    ph_d         = ph_q;
    slot_d       = slot_q;
    k_d          = k_q;
    issued_d     = issued_q;
    abort_d      = abort_q || abort_i;
    aborted_d    = aborted_q;
    abort_slot_d = abort_slot_q;
    cand_d       = cand_q;
    ok_d         = ok_q;
    flags_d      = flags_q;
    rowbuf_we    = 1'b0;

    if (fe_accept || (mr_accept && ph_q != XFER_FORMING)) issued_d = 1'b1;

    case (ph_q)
      XFER_IDLE: begin
        abort_d = 1'b0;
        slot_d  = '0;
        if (start_xfer_i) begin
          ph_d      = XFER_SLOT;
          aborted_d = 1'b0;
        end else if (start_form_i) begin
          ph_d      = XFER_FORMING;
          aborted_d = 1'b0;
        end
      end
      // ---------------------------------------------------------- transfer
      XFER_SLOT: begin
        issued_d = 1'b0;
        k_d      = '0;
        if (abort_q) begin
          aborted_d    = 1'b1;
          abort_slot_d = slot_q;
          ph_d         = XFER_DONE;
        end else if (used_count == '0) begin
          ph_d = XFER_NEXT;
        end else if (change_aware_q) begin
          ph_d = XFER_FRD;
        end else begin
          cand_d = used_l;
          ph_d   = XFER_CAND;
        end
      end
      XFER_FRD: if (fe_done_i) begin
        issued_d = 1'b0;
        flags_d  = fe_rdata_i;
        ph_d     = XFER_FWB;
      end
      XFER_FWB: if (fe_done_i) begin
        issued_d = 1'b0;
        cand_d   = used_l & flags_q;
        ph_d     = XFER_CAND;
      end
      XFER_CAND: begin
        k_d  = '0;
        if (cand_q == '0) ph_d = XFER_NEXT;
        else              ph_d = XFER_CRD;
      end
      XFER_CRD: if (fe_done_i) begin
        issued_d  = 1'b0;
        rowbuf_we = 1'b1;
        k_d       = k_q + 1'b1;
        if (k_q == ncode_rows - 1'b1) begin
          k_d  = '0;
          ph_d = XFER_CWB;
        end
      end
      XFER_CWB: if (fe_done_i) begin
        issued_d = 1'b0;
        k_d      = k_q + 1'b1;
        if (k_q == ncode_rows - 1'b1) ph_d = XFER_RST0;
      end
      XFER_RST0: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = XFER_RST1;
      end
      XFER_RST1: if (mr_done_i) begin      // the scan loads todo = C, tries = 0
        issued_d = 1'b0;
        if (set_mask != '0) ph_d = XFER_XFER;
        else                ph_d = XFER_VRDP;
        ok_d     = cand_q;
        if (set_mask == '0 && verify_max_q == '0) ph_d = XFER_FLAG;
      end
      XFER_XFER: if (mr_done_i) begin
        issued_d = 1'b0;
        k_d      = KBits'(1);
        ph_d     = XFER_RESTORE;
      end
      XFER_RESTORE: if (fe_done_i) begin
        issued_d = 1'b0;
        k_d      = k_q + 1'b1;
        if (k_q == KBits'(NCode - 1)) begin
          if (verify_max_q == '0) ph_d = XFER_FLAG;
          else                    ph_d = XFER_VRDP;
        end
      end
      XFER_VRDP: if (mr_done_i) begin
        issued_d = 1'b0;
        ok_d     = ok_q & ~todo_l;   // re-earned by passing
        ph_d     = XFER_VCHKP;
      end
      XFER_VCHKP: if (scan_last) ph_d = XFER_VRDN;
      XFER_VRDN: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = XFER_VCHKN;
      end
      XFER_VCHKN: if (scan_last) ph_d = XFER_VDEC;
      XFER_VDEC: begin                     // the scan drops the passed lines, counts the retry
        ok_d = ok_q | (todo_l & pass_l);
        if (scan_again) ph_d = XFER_VR0;
        else            ph_d = XFER_FLAG;
      end
      XFER_VR0: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = XFER_VR1;
      end
      XFER_VR1: if (mr_done_i) begin
        issued_d = 1'b0;
        if (vset_mask != '0) ph_d = XFER_VSET;
        else                 ph_d = XFER_VRDP;
      end
      XFER_VSET: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = XFER_VRDP;
      end
      XFER_FLAG: begin
        if (!flag_write) begin
          ph_d = XFER_NEXT;
        end else if (fe_done_i) begin
          issued_d = 1'b0;
          ph_d     = XFER_NEXT;
        end
      end
      XFER_NEXT: begin
        issued_d = 1'b0;
        if (last_slot) begin
          ph_d = XFER_DONE;
        end else begin
          slot_d = slot_q + 1'b1;
          ph_d   = XFER_SLOT;
        end
      end
      XFER_DONE: ph_d = XFER_IDLE;
      // ----------------------------------------------------------- forming
      XFER_FORMING: if (form_fin) begin
        ph_d = XFER_DONE;
        if (form_fin_aborted) begin
          aborted_d    = 1'b1;
          abort_slot_d = form_slot;
        end
      end
      default: ph_d = XFER_IDLE;
    endcase
  end

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ph_q           <= XFER_IDLE;
      slot_q         <= '0;
      k_q            <= '0;
      issued_q       <= 1'b0;
      abort_q        <= 1'b0;
      aborted_q      <= 1'b0;
      abort_slot_q   <= '0;
      cand_q         <= '0;
      ok_q           <= '0;
      flags_q        <= '0;
      n_used_q       <= '0;
      change_aware_q <= 1'b0;
      code_round_q   <= 1'b0;
      verify_max_q   <= '0;
      code_dirty_q   <= 1'b1;
    end else begin
      ph_q         <= ph_d;
      slot_q       <= slot_d;
      k_q          <= k_d;
      issued_q     <= issued_d;
      abort_q      <= abort_d;
      aborted_q    <= aborted_d;
      abort_slot_q <= abort_slot_d;
      cand_q       <= cand_d;
      ok_q         <= ok_d;
      flags_q      <= flags_d;
      code_dirty_q <= rowbuf_we || run_start;
      if (run_start) begin
        n_used_q       <= (2*IdxBits)'(cfg_n_in_i) * (2*IdxBits)'(cfg_n_out_i);
        change_aware_q <= cfg_change_aware_i;
        code_round_q   <= cfg_code_round_i;
        verify_max_q   <= cfg_verify_max_i;
      end
    end
  end

  // the rows read (reset, so that the code on the memristor port is defined before the
  // first transfer), and the per-line packed code for the memristor port, refreshed the
  // cycle after the rows or the rounding mode changed.
  // Each row is written under its own decoded enable (k_q == r, a constant slice): a write
  // to a variable slice of the packed vector (rowbuf_q[k_q*Lines +: Lines] <= ...) is a shift
  // of the data and of a mask across all BufRows*Lines bits to Yosys, about 7,000 cells at
  // the default geometry (docs/architecture.md, "Rules for area"). One process; its loop
  // runs only on a write.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rowbuf_q <= '0;
    end else if (rowbuf_we) begin
      for (int r = 0; r < BufRows; r++) begin
        if (k_q == KBits'(r)) rowbuf_q[r*Lines +: Lines] <= fe_rdata_i;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (code_dirty_q) begin
      for (int l = 0; l < Lines; l++) begin
        for (int b = 0; b < CodeBits; b++) begin
          code_vec_q[l*CodeBits + b] <= code_mag[b*Lines + l];
        end
      end
    end
  end

  // ------------------------------------------------- counters, failure log
  logic [Lines-1:0] log_mask;
  assign log_mask = (ph_q == XFER_CAND) ? cand_q : mr_req_mask_o;

  hymem_xfer_log #(
    .Lines (Lines),
    .Slots (Slots)
  ) u_log (
    .clk_i            (clk_i),
    .rst_ni           (rst_ni),
    .cnt_clear_i      (cnt_clear_i),
    .fail_clear_i     (fail_clear_i),
    .run_start_i      (run_start),
    .run_done_i       (ph_q == XFER_DONE),
    .xfer_start_i     (ph_q == XFER_IDLE && start_xfer_i),
    .cand_i           (ph_q == XFER_CAND),
    .used_count_i     (used_count),
    .mr_reset_i       (mr_accept && mr_req_op_o == MR_RESET),
    .mr_set_i         (mr_accept && (mr_req_op_o == MR_SET || mr_req_op_o == MR_XFER)),
    .mr_form_i        (mr_accept && mr_req_op_o == MR_FORM),
    .mr_vread_i       (mr_accept && mr_req_op_o == MR_READ && ph_q != XFER_FORMING),
    .mr_retry_i       (mr_accept && ph_q == XFER_VR0),
    .mask_i           (log_mask),
    .fail_i           (scan_fail),
    .fail_slot_i      ((ph_q == XFER_FORMING) ? form_slot : slot_q),
    .fail_lane_i      (scan_lane),
    .fail_kind_i      ((ph_q == XFER_FORMING) ? {1'b1, form_req_pol} : 2'b00),
    .cnt_transfers_o  (cnt_transfers_o),
    .cnt_programmed_o (cnt_programmed_o),
    .cnt_skipped_o    (cnt_skipped_o),
    .cnt_resets_o     (cnt_resets_o),
    .cnt_sets_o       (cnt_sets_o),
    .cnt_vfy_reads_o  (cnt_vfy_reads_o),
    .cnt_retries_o    (cnt_retries_o),
    .cnt_forms_o      (cnt_forms_o),
    .cnt_failures_o   (cnt_failures_o),
    .fail_any_o       (fail_any_o),
    .fail_first_o     (fail_first_o),
    .fail_last_o      (fail_last_o),
    .fail_first_kind_o (fail_first_kind_o),
    .fail_last_kind_o  (fail_last_kind_o),
    .fail_irq_o       (fail_irq_o)
  );

  // ---------------------------------------------------------------- outputs
  assign busy_o       = (ph_q != XFER_IDLE);
  assign done_o       = (ph_q == XFER_DONE);
  assign aborted_o    = (ph_q == XFER_DONE) && aborted_q;
  assign abort_slot_o = abort_slot_q;
  assign phase_o      = (ph_q == XFER_FORMING) ? form_phase : ph_q;
  assign slot_o       = (ph_q == XFER_FORMING) ? form_slot : slot_q;
  // The MSB rows' true bits are only in the controller while the transfer pulse reads them
  // destructively (XFER_XFER: the sequencer marks them pending only when the pulse ends) and,
  // in round mode, from the write of the rounded code (XFER_CWB) until XFER_RESTORE ends.
  assign held_rows_o = ((ph_q == XFER_XFER) ||
                        (code_round_q && ((ph_q == XFER_CWB) || (ph_q == XFER_RST0) ||
                                          (ph_q == XFER_RST1) || (ph_q == XFER_RESTORE))))
                       ? (MSB_ROWS << base_row) : '0;

endmodule

`default_nettype wire
