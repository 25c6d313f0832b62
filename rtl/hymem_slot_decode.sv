// hymem_slot_decode: the FeCAP rows of one slot -> hidden weights and transfer codes.
//
// Datasheet (the row layout and the copy rule are docs/controller.md, "Array
// organisation"; bit-exact model: hymem.digital.engine.slot_code)
//   Input : the RowsPerSyn = 2**CodeBits + (MagWidth - CodeBits) data rows of one
//           slot as read from the array, for Lanes transfer lines (or synapses):
//             row 0                  sign
//             rows 1 .. 2**CodeBits-1 the MSBs: magnitude bit MagWidth-1-g in
//                                    2**(CodeBits-1-g) copies (4:2:1 for 3 bits)
//             rows 2**CodeBits ..     the LSBs, bit MagWidth-CodeBits-1 first
//           and round_i (the code's rounding mode).
//   Output: sign_o and mag_o, the hidden weight of every lane (a bit held in c
//           copies reads 1 when at least c/2 of them read 1: ties resolve to 1),
//           and code_sign_o / code_mag_o, its canonical transfer code by
//           hymem_msb_extract (truncation, or round-to-nearest with round_i).
//   Port layout: bit-sliced. Row k is rows_i[k*Lanes +: Lanes] (lane l at bit l,
//   the way a FeCAP row operation delivers it); bit b of the magnitude of lane l
//   is mag_o[b*Lanes + l], bit b of its code code_mag_o[b*Lanes + l]. All the
//   logic is whole-plane operations: a group of c copies is decided by a unary
//   count of the copies (c/2 planes, updated once per copy), so a slot of 128
//   lines is some 20 vector operations, not 128 copies of a per-line decoder.
//   Users: hymem_xfer_engine (Lanes = Lines, sign and MSB rows, plus the row
//   below the code in round mode); the update engine's per-column decode is
//   the same function with Lanes = 1 (or the synapses it processes per cycle).
//   Purely combinational.

`include "hymem_defs.svh"

`default_nettype none

module hymem_slot_decode #(
  parameter int Lanes    = 128,
  parameter int MagWidth = 9,
  parameter int CodeBits = 3,
  localparam int NCode      = 1 << CodeBits,               // sign row + MSB copy rows
  localparam int RowsPerSyn = NCode + (MagWidth - CodeBits)
) (
  input  logic [RowsPerSyn*Lanes-1:0] rows_i,
  input  logic                        round_i,
  output logic [Lanes-1:0]            sign_o,
  output logic [MagWidth*Lanes-1:0]   mag_o,
  output logic [Lanes-1:0]            code_sign_o,
  output logic [CodeBits*Lanes-1:0]   code_mag_o
);

  `HYMEM_CHECK(chk_widths, CodeBits >= 1 && CodeBits < MagWidth && MagWidth <= 30,
               "hymem_slot_decode: need MagWidth in 2..30 and CodeBits in 1..MagWidth-1")
  `HYMEM_CHECK(chk_lanes, Lanes >= 1, "hymem_slot_decode: parameter Lanes must be at least 1")
  // an illegal Lanes reaches no logic (zero-width selects would stop elaboration before the
  // check speaks): the planes below are LN lanes wide, LN = Lanes in every legal build
  localparam int LN = (Lanes >= 1) ? Lanes : 1;

  assign sign_o = rows_i[0 +: LN];

  // MSB group g: magnitude bit MagWidth-1-g, C copies from row R0. Copy c updates the
  // unary count of the ones seen so far: plane k of gen_copy[c].at is "at least k+1
  // of copies 0..c read 1", kept up to the threshold K = C/2 (1 for a single copy).
  for (genvar g = 0; g < CodeBits; g++) begin : gen_grp
    localparam int C  = 1 << (CodeBits - 1 - g);
    localparam int K  = (C > 1) ? C / 2 : 1;
    localparam int R0 = 1 + NCode - (1 << (CodeBits - g));
    for (genvar c = 0; c < C; c++) begin : gen_copy
      logic [K*LN-1:0] at;
      logic [LN-1:0]   x;
      assign x = rows_i[(R0 + c)*LN +: LN];
      for (genvar k = 0; k < K; k++) begin : gen_k
        if (c == 0) begin : gen_first
          assign at[k*LN +: LN] = (k == 0) ? x : '0;
        end else if (k == 0) begin : gen_one
          assign at[0 +: LN] = gen_copy[c-1].at[0 +: LN] | x;
        end else begin : gen_more
          assign at[k*LN +: LN] = gen_copy[c-1].at[k*LN +: LN] |
                                  (gen_copy[c-1].at[(k-1)*LN +: LN] & x);
        end
      end
    end
    assign mag_o[(MagWidth-1-g)*LN +: LN] = gen_copy[C-1].at[(K-1)*LN +: LN];
    if (K > 1) begin : gen_unused
      logic unused_below;   // the lower counts of the last copy are not needed
      assign unused_below = ^gen_copy[C-1].at[(K-1)*LN-1:0];
    end
  end

  // LSB rows: one copy each, the most significant first
  for (genvar b = 0; b < MagWidth - CodeBits; b++) begin : gen_lsb
    assign mag_o[(MagWidth-CodeBits-1-b)*LN +: LN] = rows_i[(NCode + b)*LN +: LN];
  end

  hymem_msb_extract #(
    .MagWidth (MagWidth),
    .CodeBits (CodeBits),
    .Lanes    (Lanes)
  ) u_code (
    .sign_i      (sign_o),
    .mag_i       (mag_o),
    .round_i     (round_i),
    .code_sign_o (code_sign_o),
    .code_mag_o  (code_mag_o)
  );

endmodule

`default_nettype wire
