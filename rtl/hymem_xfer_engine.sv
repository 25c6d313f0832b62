// hymem_xfer_engine: reprogram (transfer) engine and forming loop.
//
// Datasheet (the algorithm is docs/controller.md, "Transfer (reprogram)
// engine"; bit-exact with hymem.engine.EngineState.transfer for everything
// digital)
//   start_xfer_i: one transfer of the whole array, slot by slot:
//     used lines U (synapse a = s*Lines + l < n_in*n_out); candidates C = U,
//     or U & flags (change-aware: flag row read and restored); sign + MSB rows
//     (+ bit 5 in round mode) read, decoded (copies by majority), written back
//     with the code to transfer in the MSB rows; RESET G+ and G- of C;
//     DAC-free transfer pulse on C & (code != 0) with pol = code sign, then the
//     MSB rows rewritten with their true bits; optional verify (read G+ and
//     G-, nearest-level windows, retries by RESET + digital-code SET up to
//     verify_max); failures logged; flags of programmed synapses cleared.
//   start_form_i: forming of every memristor (all slots, G+ then G-, all
//     lines): read, lines below form_target get a forming pulse, repeat up to
//     form_max pulses; lines that never reach it are failures.
//   abort_i: the run stops at the next slot boundary (transfer) or row
//     boundary (forming); the slot or row in flight completes, so every
//     FeCAP row read is written back.
//   Verify and forming checks scan the lines serially (Lines cycles per scan)
//   with one set of comparators.
//   Failure log: fail_count / first / last synapse address, with what failed
//   (verify or forming) and, for forming, the device (pol), sticky until
//   fail_clear_i; fail_irq_o pulses once per run that logged a failure.
//   held_rows_o: the slot's MSB rows while the transfer pulse reads them
//   destructively and, in a round-to-nearest transfer, from the write of the
//   rounded code until their true bits are restored (a reset in between would
//   leave the rounded code in the hidden weights); slot_o: the slot the engine
//   works on.

`include "hymem_defs.svh"

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
  `HYMEM_CHECK(chk_widths, CodeBits >= 1 && CodeBits < MagWidth && AdcBits >= 2 && AdcBits <= 16,
               "hymem_xfer_engine: need CodeBits in 1..MagWidth-1 and AdcBits in 2..16")

  localparam logic [1:0] FE_READ       = 2'd0;
  localparam logic [1:0] FE_WRITE_BACK = 2'd1;
  localparam logic [1:0] FE_WRITE      = 2'd2;
  localparam logic [2:0] MR_RESET = 3'd0;
  localparam logic [2:0] MR_SET   = 3'd1;
  localparam logic [2:0] MR_FORM  = 3'd2;
  localparam logic [2:0] MR_READ  = 3'd3;
  localparam logic [2:0] MR_XFER  = 3'd4;

  // phases (phase_o)
  localparam logic [4:0] X_IDLE    = 5'd0;
  localparam logic [4:0] X_SLOT    = 5'd1;   // slot start: abort? used lines?
  localparam logic [4:0] X_FRD     = 5'd2;   // flag row read
  localparam logic [4:0] X_FWB     = 5'd3;   // flag row restore
  localparam logic [4:0] X_CAND    = 5'd4;   // candidates known: count, skip?
  localparam logic [4:0] X_CRD     = 5'd5;   // code rows read
  localparam logic [4:0] X_CWB     = 5'd6;   // code rows written (code to transfer)
  localparam logic [4:0] X_RST0    = 5'd7;
  localparam logic [4:0] X_RST1    = 5'd8;
  localparam logic [4:0] X_XFER    = 5'd9;
  localparam logic [4:0] X_RESTORE = 5'd10;  // MSB rows rewritten after the pulse
  localparam logic [4:0] X_VRDP    = 5'd11;  // verify: read G+
  localparam logic [4:0] X_VCHKP   = 5'd12;
  localparam logic [4:0] X_VRDN    = 5'd13;  // verify: read G-
  localparam logic [4:0] X_VCHKN   = 5'd14;
  localparam logic [4:0] X_VDEC    = 5'd15;
  localparam logic [4:0] X_VR0     = 5'd16;  // retry: RESET G+, G-, code SET
  localparam logic [4:0] X_VR1     = 5'd17;
  localparam logic [4:0] X_VSET    = 5'd18;
  localparam logic [4:0] X_FLAG    = 5'd19;  // flag row written
  localparam logic [4:0] X_NEXT    = 5'd20;
  localparam logic [4:0] X_DONE    = 5'd21;
  localparam logic [4:0] F_ROW     = 5'd22;  // forming: row start
  localparam logic [4:0] F_RD      = 5'd23;
  localparam logic [4:0] F_CHK     = 5'd24;
  localparam logic [4:0] F_DEC     = 5'd25;
  localparam logic [4:0] F_PULSE   = 5'd26;

  localparam int LaneBits = $clog2(Lines);
  localparam int KBits    = $clog2(NCode + 2);

  // ------------------------------------------------------------------ state
  logic [4:0]          ph_q, ph_d;
  logic [SlotBits-1:0] slot_q, slot_d;
  logic                pol_q, pol_d;          // forming: which device of the pair
  logic [KBits-1:0]    k_q, k_d;
  logic [LaneBits-1:0] lane_q, lane_d;
  logic                issued_q, issued_d;
  logic                abort_q, abort_d;
  logic                aborted_q, aborted_d;
  logic [SlotBits-1:0] abort_slot_q, abort_slot_d;
  logic [7:0]          tries_q, tries_d;
  logic                logged_q, logged_d;    // this run logged a failure
  logic [Lines-1:0]    cand_q, cand_d;        // C
  logic [Lines-1:0]    todo_q, todo_d;        // T: still to verify / to form
  logic [Lines-1:0]    ok_q, ok_d;            // programmed and verified
  logic [Lines-1:0]    pass_q, pass_d;        // scan result, lane order after a scan
  logic [Lines-1:0]    flags_q, flags_d;
  logic [Lines-1:0]    rowbuf_q [0:NCode];    // sign, MSB copies, bit below the code
  logic                rowbuf_we;

  // latched configuration
  logic [2*IdxBits-1:0] n_used_q;
  logic                 change_aware_q, code_round_q;
  logic [7:0]           verify_max_q, form_max_q;
  logic [AdcBits-1:0]   form_target_q;
  logic [Levels*AdcBits-1:0] lo_q, hi_q;

  // --------------------------------------------------- per-line decode
  logic [Lines-1:0]          sign_l;                 // stored sign
  logic [Lines-1:0]          msb_l   [0:CodeBits-1]; // stored MSB k (k = 0: top bit)
  logic [Lines-1:0]          cbit_l  [0:CodeBits-1]; // bit k of the code to transfer
  logic [Lines-1:0]          cnz_l;                  // code magnitude != 0
  logic [Lines-1:0]          csign_l;                // canonical code sign
  logic [Lines*CodeBits-1:0] code_vec;               // code magnitude, line l at [l*CodeBits +: CodeBits]

  assign sign_l = rowbuf_q[0];

  for (genvar g = 0; g < CodeBits; g++) begin : gen_msb
    localparam int C  = 1 << (CodeBits - 1 - g);
    localparam int R0 = 1 + NCode - (1 << (CodeBits - g));
    for (genvar l = 0; l < Lines; l++) begin : gen_line
      logic [C-1:0]           copies;
      logic [$clog2(C+1)-1:0] ones;
      for (genvar c = 0; c < C; c++) begin : gen_copy
        assign copies[c] = rowbuf_q[R0 + c][l];
      end
      assign ones = $clog2(C+1)'($countones(copies));
      assign msb_l[g][l] = ({1'b0, ones} << 1) >= ($clog2(C+1)+1)'(C);
    end
  end

  for (genvar l = 0; l < Lines; l++) begin : gen_code
    logic [CodeBits-1:0] trunc, code;
    logic [CodeBits:0]   rounded;
    for (genvar g = 0; g < CodeBits; g++) begin : gen_bit
      assign trunc[CodeBits-1-g] = msb_l[g][l];
      assign cbit_l[g][l]        = code[CodeBits-1-g];
    end
    assign rounded = {1'b0, trunc} + (CodeBits+1)'(rowbuf_q[NCode][l]);
    assign code    = !code_round_q ? trunc :
                     rounded[CodeBits] ? {CodeBits{1'b1}} : rounded[CodeBits-1:0];
    assign cnz_l[l]   = (code != '0);
    assign csign_l[l] = sign_l[l] && (code != '0);
    assign code_vec[l*CodeBits +: CodeBits] = code;
  end

  // used lines of the current slot: a = slot*Lines + l < n_used
  logic [2*IdxBits:0] slot_base;
  logic [Lines-1:0]   used_l;
  assign slot_base = (2*IdxBits+1)'(slot_q) * (2*IdxBits+1)'(Lines);
  for (genvar l = 0; l < Lines; l++) begin : gen_used
    assign used_l[l] = (slot_base + (2*IdxBits+1)'(l)) < {1'b0, n_used_q};
  end

  // ----------------------------------------------------------- popcounts
  // $countones rather than a loop: Icarus runs a loop as a thread on every change
  function automatic logic [LaneBits:0] popcount(input logic [Lines-1:0] v);
    popcount = (LaneBits+1)'($countones(v));
  endfunction

  // ------------------------------------------------------------ serial scan
  logic [AdcBits-1:0]  adc_lane, lo_m, hi_m, lo_0, hi_0;
  logic [CodeBits-1:0] cm_lane;
  logic                cs_lane, in_target, in_zero, scan_bit, todo_lane, scan_fail;
  logic                final_round;

  assign adc_lane  = mr_rdata_i[lane_q*AdcBits +: AdcBits];
  assign cm_lane   = code_vec[lane_q*CodeBits +: CodeBits];
  assign cs_lane   = csign_l[lane_q];
  assign todo_lane = todo_q[lane_q];
  assign lo_m      = lo_q[cm_lane*AdcBits +: AdcBits];
  assign hi_m      = hi_q[cm_lane*AdcBits +: AdcBits];
  assign lo_0      = lo_q[AdcBits-1:0];
  assign hi_0      = hi_q[AdcBits-1:0];
  assign in_target = (adc_lane >= lo_m) && (adc_lane <= hi_m);
  assign in_zero   = (adc_lane >= lo_0) && (adc_lane <= hi_0);

  logic             pass_head;
  logic [Lines-1:0] pass_shifted;
  assign pass_head    = pass_q[0];
  assign pass_shifted = {scan_bit, pass_q[Lines-1:1]};

  always_comb begin
    case (ph_q)
      // G+ is the target of a positive code, G- of a negative one
      X_VCHKP: scan_bit = cs_lane ? in_zero : in_target;
      X_VCHKN: scan_bit = pass_head && (cs_lane ? in_target : in_zero);
      F_CHK:   scan_bit = (adc_lane >= form_target_q);
      default: scan_bit = 1'b0;
    endcase
  end
  assign final_round = (ph_q == X_VCHKN) ? (tries_q == verify_max_q) :
                       (ph_q == F_CHK)   ? (tries_q == form_max_q) : 1'b0;
  assign scan_fail   = final_round && todo_lane && !scan_bit;

  // ------------------------------------------------------- request outputs
  logic               in_fe, in_mr, fe_accept, mr_accept;
  logic [RowBits-1:0] base_row;
  logic [Lines-1:0]   set_mask, vset_mask;

  assign base_row  = RowBits'(slot_q * RowsPerSyn);
  assign set_mask  = cand_q & cnz_l;
  assign vset_mask = todo_q & cnz_l;

  logic flag_write;   // change-aware and some candidate programmed: flags to clear
  assign flag_write = change_aware_q && ((flags_q & ok_q) != '0);
  assign in_fe = (ph_q == X_FRD) || (ph_q == X_FWB) || (ph_q == X_CRD) || (ph_q == X_CWB) ||
                 (ph_q == X_RESTORE) || (ph_q == X_FLAG && flag_write);
  assign in_mr = (ph_q == X_RST0) || (ph_q == X_RST1) || (ph_q == X_XFER) || (ph_q == X_VRDP) ||
                 (ph_q == X_VRDN) || (ph_q == X_VR0) || (ph_q == X_VR1) || (ph_q == X_VSET) ||
                 (ph_q == F_RD) || (ph_q == F_PULSE);
  assign fe_req_valid_o = in_fe && !issued_q;
  assign mr_req_valid_o = in_mr && !issued_q;
  assign fe_accept      = fe_req_valid_o && fe_req_ready_i;
  assign mr_accept      = mr_req_valid_o && mr_req_ready_i;

  always_comb begin
    fe_req_op_o    = FE_WRITE_BACK;
    fe_req_row_o   = base_row + RowBits'(k_q);
    fe_req_wdata_o = '0;
    case (ph_q)
      X_FRD: begin
        fe_req_op_o  = FE_READ;
        fe_req_row_o = RowBits'(Slots * RowsPerSyn) + RowBits'(slot_q);
      end
      X_FWB: begin
        fe_req_row_o   = RowBits'(Slots * RowsPerSyn) + RowBits'(slot_q);
        fe_req_wdata_o = flags_q;
      end
      X_CRD: fe_req_op_o = FE_READ;
      X_CWB, X_RESTORE: begin
        if (k_q == '0 || k_q == KBits'(NCode)) begin
          fe_req_wdata_o = rowbuf_q[k_q];
        end
        for (int g = 0; g < CodeBits; g++) begin
          if (32'(k_q) >= 1 + NCode - (1 << (CodeBits - g)) &&
              32'(k_q) < 1 + NCode - (1 << (CodeBits - g)) + (1 << (CodeBits - 1 - g))) begin
            // the code to transfer goes to candidate lines only: the others keep
            // their true bits, so a slot whose candidates all have code 0 (no
            // transfer pulse, no restore) leaves every hidden weight intact
            fe_req_wdata_o = (ph_q == X_CWB) ? ((cbit_l[g] & cand_q) | (msb_l[g] & ~cand_q))
                                             : msb_l[g];
          end
        end
      end
      X_FLAG: begin
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
    mr_req_code_o = code_vec;
    case (ph_q)
      X_RST0:  mr_req_mask_o = cand_q;
      X_RST1:  begin mr_req_pol_o = '1; mr_req_mask_o = cand_q; end
      X_XFER:  begin mr_req_op_o = MR_XFER; mr_req_pol_o = csign_l; mr_req_mask_o = set_mask; end
      X_VRDP:  begin mr_req_op_o = MR_READ; mr_req_mask_o = todo_q; end
      X_VRDN:  begin mr_req_op_o = MR_READ; mr_req_pol_o = '1; mr_req_mask_o = todo_q; end
      X_VR0:   mr_req_mask_o = todo_q;
      X_VR1:   begin mr_req_pol_o = '1; mr_req_mask_o = todo_q; end
      X_VSET:  begin mr_req_op_o = MR_SET; mr_req_pol_o = csign_l; mr_req_mask_o = vset_mask; end
      F_RD:    begin mr_req_op_o = MR_READ; mr_req_pol_o = {Lines{pol_q}}; mr_req_mask_o = todo_q; end
      F_PULSE: begin mr_req_op_o = MR_FORM; mr_req_pol_o = {Lines{pol_q}}; mr_req_mask_o = todo_q; end
      default: ;
    endcase
  end

  // MSB rows of the slot are pending write-back once the transfer pulse fired.
  localparam logic [FecapRows-1:0] MSB_ROWS = ((FecapRows'(1) << (NCode - 1)) - 1'b1) << 1;
  assign fe_pend_set_o = mr_xfer_fired_i ? (MSB_ROWS << base_row) : '0;

  // --------------------------------------------------------------- control
  logic last_slot;
  logic [KBits-1:0] ncode_rows;
  assign last_slot  = (slot_q == SlotBits'(Slots - 1));
  assign ncode_rows = code_round_q ? KBits'(NCode + 1) : KBits'(NCode);

  always_comb begin
    ph_d         = ph_q;
    slot_d       = slot_q;
    pol_d        = pol_q;
    k_d          = k_q;
    lane_d       = lane_q;
    issued_d     = issued_q;
    abort_d      = abort_q || abort_i;
    aborted_d    = aborted_q;
    abort_slot_d = abort_slot_q;
    tries_d      = tries_q;
    logged_d     = logged_q;
    cand_d       = cand_q;
    todo_d       = todo_q;
    ok_d         = ok_q;
    pass_d       = pass_q;
    flags_d      = flags_q;
    rowbuf_we    = 1'b0;

    if (fe_accept || mr_accept) issued_d = 1'b1;

    case (ph_q)
      X_IDLE: begin
        abort_d = 1'b0;
        slot_d  = '0;
        pol_d   = 1'b0;
        if (start_xfer_i) begin
          ph_d      = X_SLOT;
          aborted_d = 1'b0;
          logged_d  = 1'b0;
        end else if (start_form_i) begin
          ph_d      = F_ROW;
          aborted_d = 1'b0;
          logged_d  = 1'b0;
        end
      end
      // ---------------------------------------------------------- transfer
      X_SLOT: begin
        issued_d = 1'b0;
        k_d      = '0;
        if (abort_q) begin
          aborted_d    = 1'b1;
          abort_slot_d = slot_q;
          ph_d         = X_DONE;
        end else if (used_l == '0) begin
          ph_d = X_NEXT;
        end else if (change_aware_q) begin
          ph_d = X_FRD;
        end else begin
          cand_d = used_l;
          ph_d   = X_CAND;
        end
      end
      X_FRD: if (fe_done_i) begin
        issued_d = 1'b0;
        flags_d  = fe_rdata_i;
        ph_d     = X_FWB;
      end
      X_FWB: if (fe_done_i) begin
        issued_d = 1'b0;
        cand_d   = used_l & flags_q;
        ph_d     = X_CAND;
      end
      X_CAND: begin
        k_d  = '0;
        ph_d = (cand_q == '0) ? X_NEXT : X_CRD;
      end
      X_CRD: if (fe_done_i) begin
        issued_d  = 1'b0;
        rowbuf_we = 1'b1;
        k_d       = k_q + 1'b1;
        if (k_q == ncode_rows - 1'b1) begin
          k_d  = '0;
          ph_d = X_CWB;
        end
      end
      X_CWB: if (fe_done_i) begin
        issued_d = 1'b0;
        k_d      = k_q + 1'b1;
        if (k_q == ncode_rows - 1'b1) ph_d = X_RST0;
      end
      X_RST0: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = X_RST1;
      end
      X_RST1: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = (set_mask != '0) ? X_XFER : X_VRDP;
        ok_d     = cand_q;
        todo_d   = cand_q;
        tries_d  = '0;
        if (set_mask == '0 && verify_max_q == '0) ph_d = X_FLAG;
      end
      X_XFER: if (mr_done_i) begin
        issued_d = 1'b0;
        k_d      = KBits'(1);
        ph_d     = X_RESTORE;
      end
      X_RESTORE: if (fe_done_i) begin
        issued_d = 1'b0;
        k_d      = k_q + 1'b1;
        if (k_q == KBits'(NCode - 1)) begin
          ph_d = (verify_max_q == '0) ? X_FLAG : X_VRDP;
        end
      end
      X_VRDP: if (mr_done_i) begin
        issued_d = 1'b0;
        ok_d     = ok_q & ~todo_q;   // re-earned by passing
        lane_d   = '0;
        ph_d     = X_VCHKP;
      end
      X_VCHKP: begin
        pass_d = pass_shifted;
        lane_d = lane_q + 1'b1;
        if (lane_q == LaneBits'(Lines - 1)) ph_d = X_VRDN;
      end
      X_VRDN: if (mr_done_i) begin
        issued_d = 1'b0;
        lane_d   = '0;
        ph_d     = X_VCHKN;
      end
      X_VCHKN: begin
        pass_d = pass_shifted;
        lane_d = lane_q + 1'b1;
        if (scan_fail) logged_d = 1'b1;
        if (lane_q == LaneBits'(Lines - 1)) ph_d = X_VDEC;
      end
      X_VDEC: begin
        ok_d   = ok_q | (todo_q & pass_q);
        todo_d = todo_q & ~pass_q;
        if ((todo_q & ~pass_q) == '0 || tries_q == verify_max_q) begin
          ph_d = X_FLAG;
        end else begin
          tries_d = tries_q + 1'b1;
          ph_d    = X_VR0;
        end
      end
      X_VR0: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = X_VR1;
      end
      X_VR1: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = (vset_mask != '0) ? X_VSET : X_VRDP;
      end
      X_VSET: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = X_VRDP;
      end
      X_FLAG: begin
        if (!flag_write) begin
          ph_d = X_NEXT;
        end else if (fe_done_i) begin
          issued_d = 1'b0;
          ph_d     = X_NEXT;
        end
      end
      X_NEXT: begin
        issued_d = 1'b0;
        if (last_slot) begin
          ph_d = X_DONE;
        end else begin
          slot_d = slot_q + 1'b1;
          ph_d   = X_SLOT;
        end
      end
      X_DONE: ph_d = X_IDLE;
      // ----------------------------------------------------------- forming
      F_ROW: begin
        issued_d = 1'b0;
        tries_d  = '0;
        todo_d   = '1;
        if (abort_q) begin
          aborted_d    = 1'b1;
          abort_slot_d = slot_q;
          ph_d         = X_DONE;
        end else begin
          ph_d = F_RD;
        end
      end
      F_RD: if (mr_done_i) begin
        issued_d = 1'b0;
        lane_d   = '0;
        ph_d     = F_CHK;
      end
      F_CHK: begin
        pass_d = pass_shifted;
        lane_d = lane_q + 1'b1;
        if (scan_fail) logged_d = 1'b1;
        if (lane_q == LaneBits'(Lines - 1)) ph_d = F_DEC;
      end
      F_DEC: begin
        todo_d = todo_q & ~pass_q;
        if ((todo_q & ~pass_q) == '0 || tries_q == form_max_q) begin
          // row done: next device of the pair, then next slot
          pol_d = !pol_q;
          if (pol_q) begin
            slot_d = slot_q + 1'b1;
            ph_d   = last_slot ? X_DONE : F_ROW;
          end else begin
            ph_d = F_ROW;
          end
        end else begin
          tries_d = tries_q + 1'b1;
          ph_d    = F_PULSE;
        end
      end
      F_PULSE: if (mr_done_i) begin
        issued_d = 1'b0;
        ph_d     = F_RD;
      end
      default: ph_d = X_IDLE;
    endcase
  end

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ph_q           <= X_IDLE;
      slot_q         <= '0;
      pol_q          <= 1'b0;
      k_q            <= '0;
      lane_q         <= '0;
      issued_q       <= 1'b0;
      abort_q        <= 1'b0;
      aborted_q      <= 1'b0;
      abort_slot_q   <= '0;
      tries_q        <= '0;
      logged_q       <= 1'b0;
      cand_q         <= '0;
      todo_q         <= '0;
      ok_q           <= '0;
      pass_q         <= '0;
      flags_q        <= '0;
      n_used_q       <= '0;
      change_aware_q <= 1'b0;
      code_round_q   <= 1'b0;
      verify_max_q   <= '0;
      form_max_q     <= '0;
      form_target_q  <= '0;
      lo_q           <= '0;
      hi_q           <= '0;
    end else begin
      ph_q         <= ph_d;
      slot_q       <= slot_d;
      pol_q        <= pol_d;
      k_q          <= k_d;
      lane_q       <= lane_d;
      issued_q     <= issued_d;
      abort_q      <= abort_d;
      aborted_q    <= aborted_d;
      abort_slot_q <= abort_slot_d;
      tries_q      <= tries_d;
      logged_q     <= logged_d;
      cand_q       <= cand_d;
      todo_q       <= todo_d;
      ok_q         <= ok_d;
      pass_q       <= pass_d;
      flags_q      <= flags_d;
      if (ph_q == X_IDLE && (start_xfer_i || start_form_i)) begin
        n_used_q       <= (2*IdxBits)'(cfg_n_in_i) * (2*IdxBits)'(cfg_n_out_i);
        change_aware_q <= cfg_change_aware_i;
        code_round_q   <= cfg_code_round_i;
        verify_max_q   <= cfg_verify_max_i;
        form_max_q     <= cfg_form_max_i;
        form_target_q  <= cfg_form_target_i;
        lo_q           <= cfg_vfy_lo_i;
        hi_q           <= cfg_vfy_hi_i;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (rowbuf_we) rowbuf_q[k_q] <= fe_rdata_i;
  end

  // --------------------------------------------------------------- counters
  logic [31:0] c_xfers_q, c_prog_q, c_skip_q, c_rst_q, c_set_q, c_vrd_q, c_retry_q, c_form_q,
               c_fail_q;
  logic [LaneBits:0] pc_mask, pc_cand, pc_skip;
  assign pc_mask = popcount(mr_req_mask_o);
  assign pc_cand = popcount(cand_q);
  assign pc_skip = popcount(used_l & ~cand_q);

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
      if (ph_q == X_IDLE && start_xfer_i) c_xfers_q <= c_xfers_q + 1'b1;
      if (ph_q == X_CAND) begin
        c_prog_q <= c_prog_q + 32'(pc_cand);
        c_skip_q <= c_skip_q + 32'(pc_skip);
      end
      if (mr_accept) begin
        case (mr_req_op_o)
          MR_RESET: c_rst_q <= c_rst_q + 32'(pc_mask);
          MR_SET, MR_XFER: c_set_q <= c_set_q + 32'(pc_mask);
          MR_FORM: c_form_q <= c_form_q + 32'(pc_mask);
          MR_READ: if (ph_q != F_RD) c_vrd_q <= c_vrd_q + 32'(pc_mask);
          default: ;
        endcase
        if (ph_q == X_VR0) c_retry_q <= c_retry_q + 32'(pc_mask);
      end
      if ((ph_q == X_VCHKN || ph_q == F_CHK) && scan_fail) c_fail_q <= c_fail_q + 1'b1;
    end
  end

  // failure log
  logic               fail_any_q, irq_q;
  logic [IdxBits-1:0] fail_first_q, fail_last_q, fail_addr;
  logic [1:0]         fail_first_kind_q, fail_last_kind_q, fail_kind;
  assign fail_addr = IdxBits'(slot_q) * IdxBits'(Lines) + IdxBits'(lane_q);
  assign fail_kind = (ph_q == F_CHK) ? {1'b1, pol_q} : 2'b00;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || fail_clear_i) begin
      fail_any_q        <= 1'b0;
      fail_first_q      <= '0;
      fail_last_q       <= '0;
      fail_first_kind_q <= '0;
      fail_last_kind_q  <= '0;
    end else if ((ph_q == X_VCHKN || ph_q == F_CHK) && scan_fail) begin
      fail_any_q       <= 1'b1;
      fail_last_q      <= fail_addr;
      fail_last_kind_q <= fail_kind;
      if (!fail_any_q) begin
        fail_first_q      <= fail_addr;
        fail_first_kind_q <= fail_kind;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) irq_q <= 1'b0;
    else         irq_q <= (ph_q == X_DONE) && logged_q;
  end

  // ---------------------------------------------------------------- outputs
  assign busy_o           = (ph_q != X_IDLE);
  assign done_o           = (ph_q == X_DONE);
  assign aborted_o        = (ph_q == X_DONE) && aborted_q;
  assign abort_slot_o     = abort_slot_q;
  assign phase_o          = ph_q;
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
  assign slot_o           = slot_q;
  // The MSB rows' true bits are only in the controller while the transfer pulse reads them
  // destructively (X_XFER: the sequencer marks them pending only when the pulse ends) and,
  // in round mode, from the write of the rounded code (X_CWB) until X_RESTORE ends.
  assign held_rows_o = ((ph_q == X_XFER) ||
                        (code_round_q && ((ph_q == X_CWB) || (ph_q == X_RST0) ||
                                          (ph_q == X_RST1) || (ph_q == X_RESTORE))))
                       ? (MSB_ROWS << base_row) : '0;
  assign fail_irq_o       = irq_q;

endmodule

`default_nettype wire
