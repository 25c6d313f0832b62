// hymem_msb_extract: hidden weight -> transfer code (sign + CodeBits MSBs).
//
// Datasheet
//   Input : Lanes sign-magnitude hidden weights (sign_i, mag_i), MagWidth bits
//           of magnitude (published: 9), and round_i (shared by all lanes).
//   Output: their transfer codes (code_sign_o, code_mag_o), CodeBits bits of
//           magnitude (published: 3), i.e. the levels -7..+7.
//     round_i = 0  truncation, as published:  code_mag = mag >> SHIFT
//     round_i = 1  round to nearest, half up, saturating at 2**CodeBits - 1:
//                  code_mag = min((mag + 2**(SHIFT-1)) >> SHIFT, CODE_MAX)
//     with SHIFT = MagWidth - CodeBits.
//   The code is canonical: code_sign_o = sign_i & (code_mag_o != 0), so the two
//   sign-magnitude zeros (and every small weight of either sign) give the same
//   code 0, and comparing codes compares the conductance pairs they program.
//   Port layout: bit-sliced ("bit planes"). Bit b of lane l of mag_i is
//   mag_i[b*Lanes + l], bit b of lane l of code_mag_o is code_mag_o[b*Lanes + l];
//   with Lanes = 1 (the default) that is the ordinary binary number. Every
//   operation below acts on a whole Lanes-bit plane at once (the rounding add
//   is a ripple of CodeBits plane-wide half adders), so Lanes weights cost
//   about CodeBits * 3 vector operations, not Lanes copies of the logic.
//   Purely combinational. Bit-exact model: hymem.digital.msb_extract.

`include "hymem_defs.svh"

`default_nettype none

module hymem_msb_extract #(
  parameter int MagWidth = 9,
  parameter int CodeBits = 3,
  parameter int Lanes    = 1
) (
  input  logic [Lanes-1:0]          sign_i,
  input  logic [MagWidth*Lanes-1:0] mag_i,
  input  logic                      round_i,
  output logic [Lanes-1:0]          code_sign_o,
  output logic [CodeBits*Lanes-1:0] code_mag_o
);

  localparam logic WidthsOk = CodeBits >= 1 && CodeBits < MagWidth;
  `HYMEM_CHECK(chk_widths, WidthsOk,
               "hymem_msb_extract: parameter CodeBits must be in 1..MagWidth-1")
  `HYMEM_CHECK(chk_lanes, Lanes >= 1,
               "hymem_msb_extract: parameter Lanes must be at least 1")
  // an illegal value reaches no logic (whose widths it would break before the check speaks):
  // the logic below is built for CB, LN (equal to CodeBits, Lanes in every legal build)
  localparam int CB    = WidthsOk ? CodeBits : 1;
  localparam int LN    = (Lanes >= 1) ? Lanes : 1;
  localparam int SHIFT = WidthsOk ? MagWidth - CodeBits : 1;

  // Rounding: code = trunc + (round_i & mag bit SHIFT-1), as a ripple of plane-wide half
  // adders; gen_bit[b].cin is the carry into code bit b. Each stage has its own signals
  // (a vector feeding its own bits is a combinational loop to Verilator).
  logic [LN-1:0] sat, nonzero;

  for (genvar b = 0; b < CB; b++) begin : gen_bit
    logic [LN-1:0] cin, cout, trunc, sum, code, nz;
    if (b == 0) begin : gen_first
      assign cin = {LN{round_i}} & mag_i[(SHIFT-1)*LN +: LN];
    end else begin : gen_next
      assign cin = gen_bit[b-1].cout;
    end
    assign trunc = mag_i[(SHIFT+b)*LN +: LN];
    assign sum   = trunc ^ cin;
    assign cout  = trunc & cin;
    // an overflow of the rounding add saturates every bit to 1
    assign code  = sum | sat;
    if (WidthsOk) begin : gen_out   // (an illegal CodeBits can make code_mag_o narrower)
      assign code_mag_o[b*LN +: LN] = code;
    end
    // nz: some code bit at or below b is 1
    if (b == 0) begin : gen_nz_first
      assign nz = code;
    end else begin : gen_nz_next
      assign nz = gen_bit[b-1].nz | code;
    end
  end

  assign sat         = gen_bit[CB-1].cout;
  assign nonzero     = gen_bit[CB-1].nz;
  assign code_sign_o = sign_i & nonzero;

  // the bits below the half step never reach the code
  if (SHIFT > 1) begin : gen_unused
    logic unused_low;
    assign unused_low = ^mag_i[0 +: (SHIFT-1)*LN];
  end

endmodule

`default_nettype wire
