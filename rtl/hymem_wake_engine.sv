// hymem_wake_engine: FeCAP wake-up, every used FeCAP row cycled `cycles` times.
//
// Datasheet (docs/controller.md, "Wake-up"; bit-exact model:
// hymem.engine.EngineState.wake)
//   Fresh HfO2 FeCAPs need about 1,000 switching cycles before their memory
//   window opens (published); until then a read can lose a '1'. start_i runs
//   cfg_cycles_i passes (latched at start, at least 1; 0 runs one pass); each
//   pass visits the used FeCAP rows: the RowsPerSyn data rows of every used
//   slot (slot s is used when s * Lines < n_in * n_out), in row order, then
//   the change-flag rows of the used slots (row Slots * RowsPerSyn + s). Each
//   row gets two full writes through the FeCAP sequencer: all ones (a bit-line
//   pulse on every line), then all zeros (a source-line pulse on every line),
//   one switching cycle of every cell. The rows end all '0': the hidden weights
//   and change flags of the used slots are erased (0); rows of unused slots,
//   the spare rows and the memristors are not touched.
//   abort_i (a pulse): remembered, taken at the next row start (the row in
//   flight completes both its writes, so every row holds its old value or 0).
//   fin_o pulses in the last cycle of a run, with fin_aborted_o when it stopped
//   on an abort; slot_o: the slot of the row being cycled, data or flag row
//   (the core's LOST and ABORT_SLOT); held_o: the row's data is gone (its
//   first write was issued, its second has not completed), one bit per row,
//   for the core's LOST (a reset between the two writes leaves it all ones).
//   cnt_cycles_o counts
//   completed passes (CNT_WAKE_CYCLES), cleared by cnt_clear_i.

`include "hymem_defs.svh"

`default_nettype none

module hymem_wake_engine #(
  parameter int Lines     = 128,
  parameter int Slots     = 8,
  parameter int MagWidth  = 9,
  parameter int CodeBits  = 3,
  parameter int FecapRows = 128,
  localparam int IdxBits  = $clog2(Lines * Slots) + 1,
  localparam int RowBits  = $clog2(FecapRows),
  localparam int SlotBits = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int RowsPerSyn = (1 << CodeBits) + (MagWidth - CodeBits)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic [IdxBits-1:0]  cfg_n_in_i,
  input  logic [IdxBits-1:0]  cfg_n_out_i,
  input  logic [15:0]         cfg_cycles_i,
  // control
  input  logic                start_i,
  input  logic                abort_i,
  output logic                busy_o,
  output logic                fin_o,
  output logic                fin_aborted_o,
  output logic [SlotBits-1:0] slot_o,
  output logic [FecapRows-1:0] held_o,
  // FeCAP sequencer: full row writes
  output logic                fe_req_valid_o,
  input  logic                fe_req_ready_i,
  output logic [1:0]          fe_req_op_o,
  output logic [RowBits-1:0]  fe_req_row_o,
  output logic [Lines-1:0]    fe_req_wdata_o,
  input  logic                fe_done_i,
  // counter
  input  logic                cnt_clear_i,
  output logic [31:0]         cnt_cycles_o
);

  `HYMEM_CHECK(chk_geom, Lines >= 1 && Slots >= 1 && CodeBits >= 1 && CodeBits < MagWidth &&
               FecapRows >= Slots * (RowsPerSyn + 1),
               "hymem_wake_engine: need Lines, Slots >= 1, CodeBits in 1..MagWidth-1, FecapRows >= Slots * (RowsPerSyn + 1)")

  localparam int KBits = $clog2(RowsPerSyn);

  // states: hymem_wake_state_e (hymem_defs.svh)
  hymem_wake_state_e    st_q, st_d;
  logic [SlotBits-1:0]  slot_q, slot_d;
  logic [KBits-1:0]     k_q, k_d;          // data row of the slot
  logic                 flag_q, flag_d;    // the flag rows' part of the pass
  logic [RowBits-1:0]   row_q, row_d;
  logic [15:0]          left_q, left_d;    // passes left after this one
  logic                 issued_q, issued_d;
  logic                 abort_q, abort_d;
  logic [2*IdxBits-1:0] n_used_q;
  logic [31:0]          cnt_q;

  // the next slot is used (and exists): (slot + 1) * Lines < n_in * n_out
  logic [2*IdxBits:0] next_base;
  logic               next_used;
  assign next_base = (2*IdxBits+1)'(slot_q + 1'b1) * (2*IdxBits+1)'(Lines);
  assign next_used = (32'(slot_q) + 1 < Slots) && (next_base < {1'b0, n_used_q});

  logic pass_end;
  assign pass_end = (st_q == W_NEXT) && flag_q && !next_used;

  always_comb begin
    st_d     = st_q;
    slot_d   = slot_q;
    k_d      = k_q;
    flag_d   = flag_q;
    row_d    = row_q;
    left_d   = left_q;
    issued_d = issued_q || (fe_req_valid_o && fe_req_ready_i);
    abort_d  = abort_q || abort_i;
    case (st_q)
      W_IDLE: begin
        abort_d = 1'b0;
        slot_d  = '0;
        k_d     = '0;
        flag_d  = 1'b0;
        row_d   = '0;
        if (start_i) begin
          left_d = (cfg_cycles_i == '0) ? '0 : cfg_cycles_i - 1'b1;
          st_d   = W_ROW;
        end
      end
      W_ROW: begin
        issued_d = 1'b0;
        if (abort_q) st_d = W_IDLE;
        else         st_d = W_ONE;
      end
      W_ONE: if (fe_done_i) begin
        issued_d = 1'b0;
        st_d     = W_ZERO;
      end
      W_ZERO: if (fe_done_i) st_d = W_NEXT;
      W_NEXT: begin
        st_d = W_ROW;
        if (!flag_q) begin
          if (32'(k_q) + 1 < RowsPerSyn) begin
            k_d   = k_q + 1'b1;
            row_d = row_q + 1'b1;
          end else if (next_used) begin
            k_d    = '0;
            slot_d = slot_q + 1'b1;
            row_d  = row_q + 1'b1;
          end else begin                  // data rows done: the flag rows of the used slots
            flag_d = 1'b1;
            slot_d = '0;
            row_d  = RowBits'(Slots * RowsPerSyn);
          end
        end else if (next_used) begin
          slot_d = slot_q + 1'b1;
          row_d  = row_q + 1'b1;
        end else begin                    // pass done
          flag_d = 1'b0;
          slot_d = '0;
          k_d    = '0;
          row_d  = '0;
          if (left_q == '0) begin
            st_d = W_IDLE;
          end else begin
            left_d = left_q - 1'b1;
          end
        end
      end
      default: st_d = W_IDLE;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q     <= W_IDLE;
      slot_q   <= '0;
      k_q      <= '0;
      flag_q   <= 1'b0;
      row_q    <= '0;
      left_q   <= '0;
      issued_q <= 1'b0;
      abort_q  <= 1'b0;
      n_used_q <= '0;
      cnt_q    <= '0;
    end else begin
      st_q     <= st_d;
      slot_q   <= slot_d;
      k_q      <= k_d;
      flag_q   <= flag_d;
      row_q    <= row_d;
      left_q   <= left_d;
      issued_q <= issued_d;
      abort_q  <= abort_d;
      if (st_q == W_IDLE && start_i) n_used_q <= cfg_n_in_i * cfg_n_out_i;
      if (cnt_clear_i)   cnt_q <= '0;
      else if (pass_end) cnt_q <= cnt_q + 1'b1;
    end
  end

  assign busy_o         = (st_q != W_IDLE);
  assign fin_aborted_o  = (st_q == W_ROW) && abort_q;
  assign fin_o          = fin_aborted_o || (pass_end && (left_q == '0));
  assign slot_o         = slot_q;
  assign held_o         = ((st_q == W_ZERO) || ((st_q == W_ONE) && issued_q)) ?
                          (FecapRows'(1) << row_q) : '0;
  assign fe_req_valid_o = ((st_q == W_ONE) || (st_q == W_ZERO)) && !issued_q;
  assign fe_req_op_o    = FE_WRITE;
  assign fe_req_row_o   = row_q;
  assign fe_req_wdata_o = {Lines{st_q == W_ONE}};
  assign cnt_cycles_o   = cnt_q;

endmodule

`default_nettype wire
