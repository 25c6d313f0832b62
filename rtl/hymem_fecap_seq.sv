// hymem_fecap_seq: FeCAP pulse sequencer, one row operation at a time.
//
// Datasheet
//   Executes row operations on the FeCAP port of the macro (docs/macro_port.md)
//   with pulse timings in clock cycles from configuration inputs:
//     FE_READ        destructive read: WL up, SL pulse on every line, sense
//                    strobe t_sense cycles into the pulse, data captured at the
//                    end of the pulse (rdata_o). The row is then all '0' and
//                    pending write-back.
//     FE_WRITE_BACK  BL pulse on the lines whose wdata bit is 1: the write after
//                    a destructive read (the row already holds all '0').
//     FE_WRITE       full write: SL pulse on the lines whose wdata bit is 0, a
//                    t_hold gap, then BL pulse on the lines whose wdata bit is 1.
//   Sequence of one operation (cycles; every phase lasts at least 1 cycle):
//     SETUP t_setup (WL up) | P0 t_pulse (SL) | MID t_hold | P1 t_pulse (BL) |
//     HOLD t_hold (WL up) | GAP t_gap (WL down)
//   READ skips MID and P1, WRITE_BACK skips P0 and MID.
//   Handshake: req_valid_i/req_ready_o (accepted when both are 1, only in idle);
//   done_o pulses for one cycle when the operation has finished (after GAP).
//   Every port output is a flop.
//
//   Write-back guard: the sequencer keeps one pending bit per row: set when a
//   READ completes (or through pend_set_i, for rows a transfer pulse read
//   destructively), cleared by a WRITE_BACK or WRITE of that row. A READ of a
//   row that is already pending would destroy the only copy of its data: it is
//   not executed, err_o is set (sticky until err_clear_i) and done_o still
//   pulses. pending_o tells whether any row awaits its write-back. held_o:
//   the rows whose data only the controller holds, so a reset now would lose
//   them: the pending rows and, from its first pulse on, the row of the
//   operation in flight (a read destroys it, a write changes it).
//   cnt_reads_o / cnt_writes_o count executed READs and WRITE_BACK/WRITEs.
//
//   Timing constraints (the register block rejects configurations that break
//   them): 1 <= t_sense < t_pulse, so the strobe falls inside the pulse and
//   fe_rdata_i (valid one cycle after the strobe) is captured at its end.

`include "hymem_defs.svh"

`default_nettype none

module hymem_fecap_seq #(
  parameter int Lines    = 128,
  parameter int Rows     = 128,
  parameter int TimeBits = 16,
  localparam int RowBits = $clog2(Rows)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  // timing, in clock cycles
  input  logic [TimeBits-1:0] t_setup_i,
  input  logic [TimeBits-1:0] t_pulse_i,
  input  logic [TimeBits-1:0] t_sense_i,
  input  logic [TimeBits-1:0] t_hold_i,
  input  logic [TimeBits-1:0] t_gap_i,
  // request
  input  logic                req_valid_i,
  output logic                req_ready_o,
  input  logic [1:0]          req_op_i,
  input  logic [RowBits-1:0]  req_row_i,
  input  logic [Lines-1:0]    req_wdata_i,
  output logic                done_o,
  output logic [Lines-1:0]    rdata_o,
  output logic                busy_o,
  // write-back guard
  input  logic [Rows-1:0]     pend_set_i,
  output logic                pending_o,
  output logic [Rows-1:0]     held_o,
  output logic                err_o,
  input  logic                err_clear_i,
  // counters of executed row operations (docs/controller.md)
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
  input  logic [Lines-1:0]    fe_rdata_i
);


  `HYMEM_CHECK(chk_lines, Lines >= 1, "hymem_fecap_seq: parameter Lines must be >= 1")
  `HYMEM_CHECK(chk_rows, Rows >= 2, "hymem_fecap_seq: parameter Rows must be >= 2")
  `HYMEM_CHECK(chk_time, TimeBits >= 2 && TimeBits <= 32,
               "hymem_fecap_seq: parameter TimeBits must be in 2..32")

  // states: hymem_fe_state_e (hymem_defs.svh)
  hymem_fe_state_e     state_q, state_d;
  logic [TimeBits-1:0] cnt_q, cnt_d;
  hymem_fe_op_e        op_q, op_d;       // typed: waves show the operation's name
  logic [RowBits-1:0]  row_q, row_d;
  logic [Lines-1:0]    wdata_q, wdata_d;
  logic [Lines-1:0]    rdata_q, rdata_d;
  logic [Rows-1:0]     pend_q, pend_d;
  logic                err_q, err_d;
  logic                wl_q, sl_q, bl_q, sae_q;
  logic                wl_d, sl_d, bl_d, sae_d;
  logic [Lines-1:0]    mask_q, mask_d;

  // Length of a phase: at least one cycle.
  function automatic logic [TimeBits-1:0] len(input logic [TimeBits-1:0] t);
    len = (t == '0) ? TimeBits'(1) : t;
  endfunction

  logic last;     // the current phase ends this cycle
  logic accept;
  logic blocked;  // a READ of a pending row

  assign req_ready_o = (state_q == FS_IDLE);
  assign accept      = req_valid_i && req_ready_o;
  assign blocked     = (req_op_i == FE_READ) && pend_q[req_row_i];

  always_comb begin
    case (state_q)
      FS_SETUP: last = (cnt_q == len(t_setup_i) - 1'b1);
      FS_P0:    last = (cnt_q == len(t_pulse_i) - 1'b1);
      FS_MID:   last = (cnt_q == len(t_hold_i) - 1'b1);
      FS_P1:    last = (cnt_q == len(t_pulse_i) - 1'b1);
      FS_HOLD:  last = (cnt_q == len(t_hold_i) - 1'b1);
      FS_GAP:   last = (cnt_q == len(t_gap_i) - 1'b1);
      default: last = 1'b1;
    endcase
  end

  always_comb begin
    state_d = state_q;
    cnt_d   = last ? '0 : cnt_q + 1'b1;
    op_d    = op_q;
    row_d   = row_q;
    wdata_d = wdata_q;
    rdata_d = rdata_q;
    pend_d  = pend_q | pend_set_i;
    err_d   = err_q && !err_clear_i;

    case (state_q)
      FS_IDLE: begin
        cnt_d = '0;
        if (accept) begin
          // (Icarus 11 has no enum casts: each code named; an unknown code is refused
          // below and never reaches a pulse)
          case (req_op_i)
            2'd0:    op_d = FE_READ;
            2'd1:    op_d = FE_WRITE_BACK;
            default: op_d = FE_WRITE;
          endcase
          row_d   = req_row_i;
          wdata_d = req_wdata_i;
          if (blocked || !(req_op_i == FE_READ || req_op_i == FE_WRITE_BACK ||
                           req_op_i == FE_WRITE)) begin
            err_d   = 1'b1;
            state_d = FS_DONE;
          end else begin
            state_d = FS_SETUP;
          end
        end
      end
      FS_SETUP: if (last) begin
        if (op_q == FE_WRITE_BACK) state_d = FS_P1;
        else                       state_d = FS_P0;
      end
      FS_P0: if (last) begin
        if (op_q == FE_READ) begin
          rdata_d = fe_rdata_i;
          state_d = FS_HOLD;
        end else begin
          state_d = FS_MID;
        end
      end
      FS_MID:  if (last) state_d = FS_P1;
      FS_P1:   if (last) state_d = FS_HOLD;
      FS_HOLD: if (last) state_d = FS_GAP;
      FS_GAP:  if (last) begin
        state_d = FS_DONE;
        if (op_q == FE_READ) begin
          pend_d[row_q] = 1'b1;
        end else begin
          pend_d[row_q] = pend_set_i[row_q];
        end
      end
      FS_DONE: state_d = FS_IDLE;
      default: state_d = FS_IDLE;
    endcase

    // Port outputs for the next cycle (registered).
    wl_d   = (state_d == FS_SETUP) || (state_d == FS_P0) || (state_d == FS_MID) ||
             (state_d == FS_P1) || (state_d == FS_HOLD);
    sl_d   = (state_d == FS_P0);
    bl_d   = (state_d == FS_P1);
    sae_d  = (state_d == FS_P0) && (op_d == FE_READ) && (cnt_d >= t_sense_i);
    mask_d = (state_d == FS_P0) ? ((op_d == FE_READ) ? '1 : ~wdata_d) :
             (state_d == FS_P1) ? wdata_d : '0;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q <= FS_IDLE;
      cnt_q   <= '0;
      op_q    <= FE_READ;
      row_q   <= '0;
      wdata_q <= '0;
      rdata_q <= '0;
      pend_q  <= '0;
      err_q   <= 1'b0;
      wl_q    <= 1'b0;
      sl_q    <= 1'b0;
      bl_q    <= 1'b0;
      sae_q   <= 1'b0;
      mask_q  <= '0;
    end else begin
      state_q <= state_d;
      cnt_q   <= cnt_d;
      op_q    <= op_d;
      row_q   <= row_d;
      wdata_q <= wdata_d;
      rdata_q <= rdata_d;
      pend_q  <= pend_d;
      err_q   <= err_d;
      wl_q    <= wl_d;
      sl_q    <= sl_d;
      bl_q    <= bl_d;
      sae_q   <= sae_d;
      mask_q  <= mask_d;
    end
  end

  logic [31:0] cnt_reads_q, cnt_writes_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || cnt_clear_i) begin
      cnt_reads_q  <= '0;
      cnt_writes_q <= '0;
    end else if (state_q == FS_GAP && last) begin
      if (op_q == FE_READ) begin
        cnt_reads_q <= cnt_reads_q + 1'b1;
      end else begin
        cnt_writes_q <= cnt_writes_q + 1'b1;
      end
    end
  end

  assign cnt_reads_o  = cnt_reads_q;
  assign cnt_writes_o = cnt_writes_q;
  assign done_o    = (state_q == FS_DONE);
  assign busy_o    = (state_q != FS_IDLE);
  assign rdata_o   = rdata_q;
  assign pending_o = |pend_q;

  logic inflight;   // the operation in flight has pulsed its row
  assign inflight = (state_q == FS_P0) || (state_q == FS_MID) || (state_q == FS_P1) ||
                    (state_q == FS_HOLD) || (state_q == FS_GAP);
  assign held_o   = pend_q | (inflight ? (Rows'(1) << row_q) : '0);
  assign err_o     = err_q;
  assign fe_row_o  = row_q;
  assign fe_wl_o   = wl_q;
  assign fe_sl_o   = sl_q;
  assign fe_bl_o   = bl_q;
  assign fe_mask_o = mask_q;
  assign fe_sae_o  = sae_q;

endmodule

`default_nettype wire
