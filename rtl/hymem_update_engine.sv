// hymem_update_engine: applies one training sample to the hidden weights.
//
// Datasheet (the algorithm is docs/controller.md, "Update engine"; this block
// is its hardware, bit-exact with hymem.digital.engine.EngineState.apply_sample)
//   P = SynPerCycle synapses are processed per cycle (a power of two dividing
//   Lines; P = 1 is the one-synapse-per-cycle engine). G = Lines/P groups.
//   For each slot s = 0 .. Slots-1:
//     INC    G+1 cycles: group g presents lanes l = gP .. gP+P-1 to the
//            vector buffers (P read ports each: synapse a = s*Lines + l,
//            j = a mod n_in, i = a div n_in, walked with a base counter and
//            per-lane offsets, so a group may wrap n_in several times), then
//            draws those P PRNG lanes (P ring heads), computes the P masked,
//            rounded increments and shifts them into a Lines-deep increment
//            register. Each lane still draws one number per slot for its line.
//     CHECK  abort pending -> stop (slot s not applied); skip_zero and all
//            increments zero -> slot done without touching the array.
//     READ   the slot's RowsPerSyn data rows, destructive, into the row buffer.
//     ADD    G cycles: the row buffer rotates by P columns per cycle; the
//            columns at positions 0 .. P-1 (P synapses, all their FeCAP bits)
//            are decoded (copies by majority, ties to 1), added to their
//            increments with saturation (P hymem_sm_sat_add) and re-encoded at
//            the top.
//     WRITE  write the data rows back (bit-line pulses: the rows are all '0').
//     FLAG   if any code changed: read the slot's flag row, write it back OR-ed
//            with the changed bits.
//   The FeCAP operations and their order do not depend on P.
//   Configuration is latched at start_i. done_o pulses at the end of every run;
//   aborted_o with it when the run stopped on an abort (abort_slot_o = first
//   slot not applied). The FeCAP operations go through hymem_fecap_seq.
//
// Latency, start_i to done_o (cycles), with F = one FeCAP row operation
//   through hymem_fecap_seq (t_setup + t_pulse + t_hold + t_gap + 1; phase
//   widths of 0 count as 1), R = RowsPerSyn:
//     per slot:  (2*Lines/P + 3) + 2*R*F (+ 2*F if a code changed)
//     skipped slot (skip_zero, all increments 0): Lines/P + 3
//     per sample: the sum over the slots + 1.
//   P = 8 at the default geometry (Lines 128, R 14) and the co-simulation
//   timing (F = 6): 35 + 168 (+ 12) cycles per slot, against 259 + 168 (+ 12)
//   for P = 1.
// Cost: P x and P e read ports, P increment units (two multipliers each), P
//   decoders and adders; registers as for P = 1 plus the walker's offsets.

`include "hymem_defs.svh"
`include "hymem_regs_defs.svh"

`default_nettype none

module hymem_update_engine #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int MagWidth  = 9,
  parameter int CodeBits  = 3,
  parameter int FecapRows = 128,
  parameter int SynPerCycle = 1,
  localparam int IdxBits    = $clog2(Lines * Slots) + 1,
  localparam int RowBits    = $clog2(FecapRows),
  localparam int SlotBits   = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int RowsPerSyn = 1 + ((1 << CodeBits) - 1) + (MagWidth - CodeBits),
  localparam int IncWidth   = MagWidth + 1
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // configuration, latched at start_i
  input  logic [IdxBits-1:0]   cfg_n_in_i,
  input  logic [IdxBits-1:0]   cfg_n_out_i,
  input  logic [7:0]           cfg_lr_mult_i,
  input  logic [4:0]           cfg_lr_shift_i,
  input  logic [16:0]          cfg_p16_i,
  input  logic                 cfg_stoch_round_i,
  input  logic                 cfg_code_round_i,
  input  logic                 cfg_skip_zero_i,
  // PRNG seeding (while idle)
  input  logic                 seed_load_i,
  input  logic [31:0]          seed_i,
  // control
  input  logic                 start_i,
  input  logic                 abort_i,
  output logic                 busy_o,
  output logic                 done_o,
  output logic                 aborted_o,
  output logic [SlotBits-1:0]  abort_slot_o,
  output logic [SlotBits-1:0]  slot_o,
  output logic [3:0]           phase_o,
  // vector buffers (SynPerCycle read ports each, synchronous read, one cycle;
  // lane k's address at [k*IdxBits +: IdxBits], its data at [8k +: 8])
  output logic                 vec_re_o,
  output logic [SynPerCycle*IdxBits-1:0] x_raddr_o,
  input  logic [SynPerCycle*8-1:0]       x_rdata_i,
  output logic [SynPerCycle*IdxBits-1:0] e_raddr_o,
  input  logic [SynPerCycle*8-1:0]       e_rdata_i,
  // FeCAP sequencer
  output logic                 fe_req_valid_o,
  input  logic                 fe_req_ready_i,
  output logic [1:0]           fe_req_op_o,
  output logic [RowBits-1:0]   fe_req_row_o,
  output logic [Lines-1:0]     fe_req_wdata_o,
  input  logic                 fe_done_i,
  input  logic [Lines-1:0]     fe_rdata_i,
  // counters
  input  logic                 cnt_clear_i,
  output logic [31:0]          cnt_samples_o,
  output logic [31:0]          cnt_slots_skipped_o
);

  `HYMEM_CHECK(chk_geom, Lines >= 2 && Slots >= 1 && Slots * (RowsPerSyn + 1) <= FecapRows,
               "hymem_update_engine: need Lines >= 2, Slots >= 1, Slots*(RowsPerSyn+1) <= FecapRows")
  `HYMEM_CHECK(chk_widths, MagWidth >= 4 && MagWidth <= 16 && CodeBits >= 1 && CodeBits < MagWidth,
               "hymem_update_engine: need MagWidth in 4..16 and CodeBits in 1..MagWidth-1")
  localparam logic LanesOk = SynPerCycle >= 1 && SynPerCycle <= Lines &&
                             (SynPerCycle & (SynPerCycle - 1)) == 0 && (Lines % SynPerCycle) == 0;
  `HYMEM_CHECK(chk_lanes, LanesOk,
               "hymem_update_engine: parameter SynPerCycle must be a power of two in 1..Lines that divides Lines")


  // phases (phase_o): hymem_upd_phase_e (rtl/hymem_regs.rdl, STATUS.UPD_PHASE)

  // an illegal SynPerCycle reaches no logic (whose widths it would break before the check)
  localparam int P        = LanesOk ? SynPerCycle : 1;
  localparam int Groups   = Lines / P;
  localparam int LaneBits = $clog2(Groups + 1);
  localparam int KBits    = $clog2(RowsPerSyn + 1);
  localparam int OffBits  = $clog2(P + 1);      // k div n_in, k mod n_in for k <= P

  // ------------------------------------------------------------------ state
  hymem_upd_phase_e     phase_q, phase_d;
  logic [SlotBits-1:0]  slot_q, slot_d;
  logic [LaneBits-1:0]  lane_q, lane_d;      // group counter of INC and ADD
  logic [KBits-1:0]     k_q, k_d;
  logic                 issued_q, issued_d;
  logic                 abort_q, abort_d;
  logic                 any_nz_q, any_nz_d;
  logic                 any_chg_q, any_chg_d;
  logic                 aborted_q, aborted_d;
  logic [SlotBits-1:0]  abort_slot_q, abort_slot_d;
  logic [IdxBits-1:0]   i_q, i_d, j_q, j_d;  // walker: (i, j) of the group's lane 0
  logic                 vb_q, vb_d;          // stage B valid
  logic [P-1:0]         used_b_q, used_b_d;

  // latched configuration
  logic [IdxBits-1:0]   n_in_q, n_out_q;
  logic [7:0]           lr_mult_q;
  logic [4:0]           lr_shift_q;
  logic [16:0]          p16_q;
  logic                 stoch_q, code_round_q, skip_zero_q;

  logic [Lines-1:0]     rowbuf_q [0:RowsPerSyn-1];
  logic [Lines*IncWidth-1:0] incbuf_q;    // lane l at [l*IncWidth +: IncWidth]
  logic [Lines-1:0]     chg_q;
  logic [Lines-1:0]     flagbuf_q;

  logic [31:0]          cnt_samples_q, cnt_skipped_q;

  // --------------------------------------------------------------- PRNG ring
  logic            prng_step;
  logic [P*32-1:0] rnd;                   // lane k of the group at [32k +: 32]

  hymem_prng #(
    .Width (32),
    .Lanes (Lines),
    .Heads (P)
  ) u_prng (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .seed_load_i (seed_load_i && (phase_q == UPD_IDLE)),
    .seed_i      (seed_i),
    .step_i      (prng_step),
    .rnd_o       (rnd)
  );

  assign prng_step = (phase_q == UPD_INC) && vb_q;

  // ------------------------------------------------------- walker (stage A)
  // Lane k of a group is synapse a0 + k, where a0 = i_q*n_in + j_q is the
  // group's lane 0. Its (i, j) = (i_q, j_q) + (k div n_in, k mod n_in) with one
  // carry of j into i; the walker moves by (P div n_in, P mod n_in) the same
  // way. The offsets come from P steps of +1 on cfg_n_in_i, latched at
  // start_i (entry k: k's offset; entry P: the walker's step).
  logic [P*2*OffBits-1:0]     chain, off_q;   // entry k at [(k-1)*2*OffBits]: {k div n_in, k mod n_in}
  logic                       stage_a;

  function automatic logic [P*2*OffBits-1:0] offsets(input logic [IdxBits-1:0] n);
    logic [OffBits-1:0] q, r;
    q = '0;
    r = '0;
    offsets = '0;
    for (int k = 1; k <= P; k++) begin
      if (IdxBits'(r) + 1'b1 == n) begin
        q = q + 1'b1;
        r = '0;
      end else begin
        r = r + 1'b1;
      end
      offsets[(k-1)*2*OffBits +: 2*OffBits] = {q, r};
    end
  endfunction

  // evaluated only when cfg_n_in_i changes (a loop of P steps)
  assign chain = offsets(cfg_n_in_i);

  assign stage_a = (phase_q == UPD_INC) && (lane_q < LaneBits'(Groups));

  // walked[k] = (i_q, j_q) + off_q[k] for k = 1 .. P (entry P: the walker's
  // next position); dr < n_in, so at most one carry from j into i.
  logic [(P+1)*2*IdxBits-1:0] walked;     // entry k: {i, j}
  assign walked[0 +: 2*IdxBits] = {i_q, j_q};
  for (genvar k = 1; k <= P; k++) begin : gen_walk
    logic [OffBits-1:0] dq, dr;
    logic [IdxBits:0]   js;
    logic               carry;
    assign dq    = off_q[(k-1)*2*OffBits + OffBits +: OffBits];
    assign dr    = off_q[(k-1)*2*OffBits +: OffBits];
    assign js    = {1'b0, j_q} + (IdxBits+1)'(dr);
    assign carry = (js >= {1'b0, n_in_q});
    assign walked[k*2*IdxBits +: 2*IdxBits] =
        {i_q + IdxBits'(dq) + IdxBits'(carry),
         carry ? IdxBits'(js - {1'b0, n_in_q}) : js[IdxBits-1:0]};
  end

  logic [P-1:0] used_a;
  for (genvar k = 0; k < P; k++) begin : gen_addr
    if (LanesOk) begin : gen_port   // (an illegal SynPerCycle can make the ports narrower)
      assign x_raddr_o[k*IdxBits +: IdxBits] = walked[k*2*IdxBits +: IdxBits];
      assign e_raddr_o[k*IdxBits +: IdxBits] = walked[k*2*IdxBits + IdxBits +: IdxBits];
    end
    assign used_a[k] = (walked[k*2*IdxBits + IdxBits +: IdxBits] < n_out_q);
  end

  logic [IdxBits-1:0] i_next, j_next;
  assign {i_next, j_next} = walked[P*2*IdxBits +: 2*IdxBits];

  // ---------------------------------------------------- increment (stage B)
  localparam logic signed [25:0] INC_MAX = 26'sd1 <<< MagWidth;

  logic [P*IncWidth-1:0] inc_new;         // lane k at [k*IncWidth +: IncWidth]

  // round-half-up offset: shared by the lanes
  logic signed [25:0] r_det;
  assign r_det = (lr_shift_q == 5'd0) ? 26'sd0 : (26'sd1 <<< (lr_shift_q - 5'd1));

  for (genvar k = 0; k < P; k++) begin : gen_inc
    logic signed [7:0]  xv, ev;
    logic signed [15:0] xe;
    logic signed [25:0] prod, r_used, sum, q;
    logic        [23:0] r_stoch;
    logic        [31:0] rk;
    logic               mask_ok;
    assign xv      = x_rdata_i[8*k +: 8];
    assign ev      = e_rdata_i[8*k +: 8];
    assign rk      = rnd[32*k +: 32];
    assign xe      = xv * ev;
    assign prod    = xe * $signed({1'b0, lr_mult_q});
    assign r_stoch = 24'(({24'd0, rk[31:16]} << lr_shift_q) >> 16);
    assign r_used  = stoch_q ? $signed({2'b00, r_stoch}) : r_det;
    assign sum     = prod + r_used;
    assign q       = sum >>> lr_shift_q;
    assign mask_ok = ({1'b0, rk[15:0]} < p16_q);
    assign inc_new[k*IncWidth +: IncWidth] =
        (!mask_ok || !used_b_q[k]) ? IncWidth'(0) :
        (q > INC_MAX - 26'sd1)     ? IncWidth'(INC_MAX - 26'sd1) :
        (q < -INC_MAX)             ? IncWidth'(-INC_MAX) : IncWidth'(q);
  end

  // ------------------------------------------- add (columns 0 .. P-1 of rows)
  // newrows: the re-encoded columns, row r's P bits at [r*P +: P]
  logic [RowsPerSyn*P-1:0] newrows;
  logic [P-1:0]            changed;

  for (genvar c = 0; c < P; c++) begin : gen_add
    logic [RowsPerSyn-1:0] col, newcol;
    logic                  sign_in, sign_out, sat_unused;
    logic [MagWidth-1:0]   mag_in, mag_out;

    for (genvar r = 0; r < RowsPerSyn; r++) begin : gen_row
      assign col[r] = rowbuf_q[r][c];
      assign newrows[r*P + c] = newcol[r];
    end

    // sign row
    assign sign_in   = col[0];
    assign newcol[0] = sign_out;
    // MSB groups: group g holds magnitude bit MagWidth-1-g in 2**(CodeBits-1-g) copies
    for (genvar g = 0; g < CodeBits; g++) begin : gen_msb
      localparam int C  = 1 << (CodeBits - 1 - g);
      localparam int R0 = 1 + (1 << CodeBits) - (1 << (CodeBits - g));
      logic [C-1:0]           copies;
      logic [$clog2(C+1)-1:0] ones;
      assign copies = col[R0 +: C];
      assign ones = $clog2(C+1)'($countones(copies));
      // at least half the copies read 1 (ties resolve to 1)
      assign mag_in[MagWidth-1-g] = ({1'b0, ones} << 1) >= ($clog2(C+1)+1)'(C);
      assign newcol[R0 +: C] = {C{mag_out[MagWidth-1-g]}};
    end
    // LSB rows: one bit each, MSB first
    for (genvar b = 0; b < MagWidth - CodeBits; b++) begin : gen_lsb
      localparam int R = (1 << CodeBits) + b;
      assign mag_in[MagWidth-CodeBits-1-b] = col[R];
      assign newcol[R] = mag_out[MagWidth-CodeBits-1-b];
    end

    hymem_sm_sat_add #(
      .MagWidth (MagWidth),
      .IncWidth (IncWidth),
      .CodeBits (CodeBits)
    ) u_add (
      .sign_i         (sign_in),
      .mag_i          (mag_in),
      .inc_i          (incbuf_q[c*IncWidth +: IncWidth]),
      .round_i        (code_round_q),
      .sign_o         (sign_out),
      .mag_o          (mag_out),
      .sat_o          (sat_unused),
      .code_changed_o (changed[c])
    );
  end

  // ----------------------------------------------------------- FeCAP requests
  logic in_fe_phase;
  logic fe_accept;
  logic [RowBits-1:0] data_row, flag_row;

  assign data_row  = RowBits'(slot_q * RowsPerSyn + k_q);
  assign flag_row  = RowBits'(Slots * RowsPerSyn + slot_q);
  assign in_fe_phase = (phase_q == UPD_READ) || (phase_q == UPD_WRITE) ||
                       (phase_q == UPD_FLAG_RD) || (phase_q == UPD_FLAG_WR);
  assign fe_req_valid_o = in_fe_phase && !issued_q;
  assign fe_accept      = fe_req_valid_o && fe_req_ready_i;
  assign fe_req_op_o    = ((phase_q == UPD_READ) || (phase_q == UPD_FLAG_RD)) ? FE_READ : FE_WRITE_BACK;
  assign fe_req_row_o   = ((phase_q == UPD_FLAG_RD) || (phase_q == UPD_FLAG_WR)) ? flag_row : data_row;
  assign fe_req_wdata_o = (phase_q == UPD_FLAG_WR) ? (flagbuf_q | chg_q) :
                          (phase_q == UPD_WRITE)   ? rowbuf_q[k_q] : '0;

  // --------------------------------------------------------------- control
  always_comb begin
    phase_d      = phase_q;
    slot_d       = slot_q;
    lane_d       = lane_q;
    k_d          = k_q;
    issued_d     = issued_q;
    abort_d      = abort_q || abort_i;
    any_nz_d     = any_nz_q;
    any_chg_d    = any_chg_q;
    aborted_d    = aborted_q;
    abort_slot_d = abort_slot_q;
    i_d          = i_q;
    j_d          = j_q;
    vb_d         = 1'b0;
    used_b_d     = used_b_q;

    if (fe_accept) issued_d = 1'b1;

    case (phase_q)
      UPD_IDLE: begin
        abort_d = 1'b0;
        if (start_i) begin
          phase_d   = UPD_INC;
          slot_d    = '0;
          lane_d    = '0;
          i_d       = '0;
          j_d       = '0;
          any_nz_d  = 1'b0;
          aborted_d = 1'b0;
        end
      end
      UPD_INC: begin
        // stage A: present group `lane_q` (while lane_q < Groups)
        if (stage_a) begin
          vb_d     = 1'b1;
          used_b_d = used_a;
          i_d      = i_next;
          j_d      = j_next;
        end
        // stage B: accumulate
        if (vb_q && (inc_new != '0)) any_nz_d = 1'b1;
        lane_d = lane_q + 1'b1;
        if (lane_q == LaneBits'(Groups)) phase_d = UPD_CHECK;
      end
      UPD_CHECK: begin
        k_d       = '0;
        issued_d  = 1'b0;
        any_chg_d = 1'b0;
        if (abort_q) begin
          aborted_d    = 1'b1;
          abort_slot_d = slot_q;
          phase_d      = UPD_DONE;
        end else if (skip_zero_q && !any_nz_q) begin
          phase_d = UPD_NEXT;
        end else begin
          phase_d = UPD_READ;
        end
      end
      UPD_READ: if (fe_done_i) begin
        issued_d = 1'b0;
        k_d      = k_q + 1'b1;
        if (k_q == KBits'(RowsPerSyn - 1)) begin
          phase_d = UPD_ADD;
          lane_d  = '0;
        end
      end
      UPD_ADD: begin
        if (changed != '0) any_chg_d = 1'b1;
        lane_d = lane_q + 1'b1;
        if (lane_q == LaneBits'(Groups - 1)) begin
          phase_d = UPD_WRITE;
          k_d     = '0;
        end
      end
      UPD_WRITE: if (fe_done_i) begin
        issued_d = 1'b0;
        k_d      = k_q + 1'b1;
        if (k_q == KBits'(RowsPerSyn - 1)) begin
          if (any_chg_q) phase_d = UPD_FLAG_RD;
          else           phase_d = UPD_NEXT;
        end
      end
      UPD_FLAG_RD: if (fe_done_i) begin
        issued_d = 1'b0;
        phase_d  = UPD_FLAG_WR;
      end
      UPD_FLAG_WR: if (fe_done_i) begin
        issued_d = 1'b0;
        phase_d  = UPD_NEXT;
      end
      UPD_NEXT: begin
        any_nz_d = 1'b0;
        lane_d   = '0;
        if (slot_q == SlotBits'(Slots - 1)) begin
          phase_d = UPD_DONE;
        end else begin
          slot_d  = slot_q + 1'b1;
          phase_d = UPD_INC;
        end
      end
      UPD_DONE: phase_d = UPD_IDLE;
      default: phase_d = UPD_IDLE;
    endcase
  end

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      phase_q      <= UPD_IDLE;
      slot_q       <= '0;
      lane_q       <= '0;
      k_q          <= '0;
      issued_q     <= 1'b0;
      abort_q      <= 1'b0;
      any_nz_q     <= 1'b0;
      any_chg_q    <= 1'b0;
      aborted_q    <= 1'b0;
      abort_slot_q <= '0;
      i_q          <= '0;
      j_q          <= '0;
      vb_q         <= 1'b0;
      used_b_q     <= '0;
      off_q        <= '0;
      n_in_q       <= IdxBits'(1);
      n_out_q      <= IdxBits'(1);
      lr_mult_q    <= '0;
      lr_shift_q   <= '0;
      p16_q        <= '0;
      stoch_q      <= 1'b0;
      code_round_q <= 1'b0;
      skip_zero_q  <= 1'b0;
    end else begin
      phase_q      <= phase_d;
      slot_q       <= slot_d;
      lane_q       <= lane_d;
      k_q          <= k_d;
      issued_q     <= issued_d;
      abort_q      <= abort_d;
      any_nz_q     <= any_nz_d;
      any_chg_q    <= any_chg_d;
      aborted_q    <= aborted_d;
      abort_slot_q <= abort_slot_d;
      i_q          <= i_d;
      j_q          <= j_d;
      vb_q         <= vb_d;
      used_b_q     <= used_b_d;
      if (phase_q == UPD_IDLE && start_i) begin
        off_q        <= chain;
        n_in_q       <= cfg_n_in_i;
        n_out_q      <= cfg_n_out_i;
        lr_mult_q    <= cfg_lr_mult_i;
        lr_shift_q   <= cfg_lr_shift_i;
        p16_q        <= cfg_p16_i;
        stoch_q      <= cfg_stoch_round_i;
        code_round_q <= cfg_code_round_i;
        skip_zero_q  <= cfg_skip_zero_i;
      end
    end
  end

  // Data registers: no reset needed (qualified by the phase).
  always_ff @(posedge clk_i) begin
    // increment register: shifts in P lanes per cycle during INC stage B, out
    // during ADD (with P = Lines the new group replaces it: the shifts below)
    if ((phase_q == UPD_INC && vb_q) || phase_q == UPD_ADD) begin
      incbuf_q <= (Lines*IncWidth)'({((phase_q == UPD_INC) ? inc_new : (P*IncWidth)'(0)), incbuf_q}
                                    >> (P*IncWidth));
    end
    // row buffer: loaded by READ, rotated by P columns per cycle by ADD
    if (phase_q == UPD_READ && fe_done_i) begin
      rowbuf_q[k_q] <= fe_rdata_i;
    end
    if (phase_q == UPD_ADD) begin
      for (int r = 0; r < RowsPerSyn; r++) begin
        rowbuf_q[r] <= Lines'({newrows[r*P +: P], rowbuf_q[r]} >> P);
      end
      chg_q <= Lines'({changed, chg_q} >> P);
    end
    if (phase_q == UPD_FLAG_RD && fe_done_i) begin
      flagbuf_q <= fe_rdata_i;
    end
  end

  // --------------------------------------------------------------- counters
  always_ff @(posedge clk_i) begin
    if (!rst_ni || cnt_clear_i) begin
      cnt_samples_q <= '0;
      cnt_skipped_q <= '0;
    end else begin
      if (phase_q == UPD_NEXT && slot_q == SlotBits'(Slots - 1)) begin
        cnt_samples_q <= cnt_samples_q + 1'b1;
      end
      if (phase_q == UPD_CHECK && !abort_q && skip_zero_q && !any_nz_q) begin
        cnt_skipped_q <= cnt_skipped_q + 1'b1;
      end
    end
  end

  // ---------------------------------------------------------------- outputs
  assign vec_re_o            = stage_a;
  assign busy_o              = (phase_q != UPD_IDLE);
  assign done_o              = (phase_q == UPD_DONE);
  assign aborted_o           = (phase_q == UPD_DONE) && aborted_q;
  assign abort_slot_o        = abort_slot_q;
  assign slot_o              = slot_q;
  assign phase_o             = phase_q;
  assign cnt_samples_o       = cnt_samples_q;
  assign cnt_slots_skipped_o = cnt_skipped_q;

endmodule

`default_nettype wire
