// hymem_msb_extract: hidden weight -> transfer code (sign + CodeBits MSBs).
//
// Datasheet
//   Input : a sign-magnitude hidden weight (sign_i, mag_i), MagWidth bits of
//           magnitude (published: 9), and round_i.
//   Output: the transfer code (code_sign_o, code_mag_o), CodeBits bits of
//           magnitude (published: 3), i.e. the levels -7..+7.
//     round_i = 0  truncation, as published:  code_mag = mag >> SHIFT
//     round_i = 1  round to nearest, half up, saturating at 2**CodeBits - 1:
//                  code_mag = min((mag + 2**(SHIFT-1)) >> SHIFT, CODE_MAX)
//     with SHIFT = MagWidth - CodeBits.
//   The code is canonical: code_sign_o = sign_i & (code_mag_o != 0), so the two
//   sign-magnitude zeros (and every small weight of either sign) give the same
//   code 0, and comparing codes compares the conductance pairs they program.
//   Purely combinational. Bit-exact model: hymem.digital.msb_extract.

`include "hymem_defs.svh"

`default_nettype none

module hymem_msb_extract #(
  parameter int MagWidth = 9,
  parameter int CodeBits = 3
) (
  input  logic                sign_i,
  input  logic [MagWidth-1:0] mag_i,
  input  logic                round_i,
  output logic                code_sign_o,
  output logic [CodeBits-1:0] code_mag_o
);

  localparam int SHIFT = MagWidth - CodeBits;
  localparam logic [CodeBits-1:0] CODE_MAX = '1;

  `HYMEM_CHECK(chk_widths, CodeBits >= 1 && CodeBits < MagWidth,
               "hymem_msb_extract: parameter CodeBits must be in 1..MagWidth-1")

  localparam logic [MagWidth:0] HALF = (MagWidth + 1)'(1) << (SHIFT - 1);

  // code_rounded has one extra bit for the carry of the rounding add.
  logic [CodeBits:0]   code_rounded;
  logic [CodeBits-1:0] code_trunc;

  assign code_trunc   = mag_i[MagWidth-1:SHIFT];
  assign code_rounded = (CodeBits + 1)'(({1'b0, mag_i} + HALF) >> SHIFT);

  logic                round_carry;
  logic [CodeBits-1:0] code_round_low;

  assign round_carry    = code_rounded[CodeBits];
  assign code_round_low = code_rounded[CodeBits-1:0];
  assign code_mag_o     = !round_i    ? code_trunc :
                          round_carry ? CODE_MAX   : code_round_low;
  assign code_sign_o    = sign_i && (code_mag_o != '0);

endmodule

`default_nettype wire
