// hymem_sm_sat_add: saturating sign-magnitude add for the hidden weight.
//
// Datasheet
//   Input : hidden weight (sign_i, mag_i), MagWidth-bit magnitude (published:
//           10-bit word = 1 sign + 9 magnitude), and a two's-complement
//           increment inc_i of IncWidth bits.
//   Output: (sign_o, mag_o) = clamp(value + inc, -MAG_MAX, +MAG_MAX) with
//           MAG_MAX = 2**MagWidth - 1, in sign-magnitude.
//     - Zero results are +0: -0 is accepted on input and never produced.
//     - sat_o          = 1 when the exact sum was outside +-MAG_MAX.
//     - code_changed_o = 1 when the canonical transfer code of the result
//                        (hymem_msb_extract with round_i) differs from the
//                        input's, i.e. the memristor pair would be programmed
//                        differently.
//   Purely combinational. Bit-exact model: hymem.digital.sm_sat_add.

`include "hymem_defs.svh"

`default_nettype none

module hymem_sm_sat_add #(
  parameter int MagWidth = 9,
  parameter int IncWidth = 10,
  parameter int CodeBits = 3
) (
  input  logic                       sign_i,
  input  logic [MagWidth-1:0]        mag_i,
  input  logic signed [IncWidth-1:0] inc_i,
  input  logic                       round_i,
  output logic                       sign_o,
  output logic [MagWidth-1:0]        mag_o,
  output logic                       sat_o,
  output logic                       code_changed_o
);

  // Sum width: magnitude + sign, or the increment, plus one carry bit.
  localparam int SumWidth = ((MagWidth + 1) > IncWidth ? (MagWidth + 1) : IncWidth) + 1;
  localparam logic signed [SumWidth-1:0] MAX_POS = SumWidth'((64'd1 << MagWidth) - 64'd1);
  localparam logic signed [SumWidth-1:0] MAX_NEG = -MAX_POS;

  `HYMEM_CHECK(chk_inc, IncWidth >= 2 && IncWidth <= 62,
               "hymem_sm_sat_add: parameter IncWidth must be in 2..62")
  `HYMEM_CHECK(chk_mag, MagWidth >= 2 && MagWidth <= 30,
               "hymem_sm_sat_add: parameter MagWidth must be in 2..30")

  logic signed [SumWidth-1:0] value;
  logic signed [SumWidth-1:0] sum;
  logic signed [SumWidth-1:0] clamped;

  // continuous assignments, not a process: Icarus evaluates them without a thread
  logic over, under;
  assign value   = sign_i ? -$signed({{(SumWidth - MagWidth){1'b0}}, mag_i})
                          :  $signed({{(SumWidth - MagWidth){1'b0}}, mag_i});
  assign sum     = value + SumWidth'(inc_i);
  assign over    = (sum > MAX_POS);
  assign under   = (sum < MAX_NEG);
  assign sat_o   = over || under;
  assign clamped = over ? MAX_POS : under ? MAX_NEG : sum;

  assign sign_o = clamped[SumWidth-1];
  assign mag_o  = MagWidth'(sign_o ? -clamped : clamped);

  logic                code_sign_in, code_sign_out;
  logic [CodeBits-1:0] code_mag_in, code_mag_out;

  hymem_msb_extract #(
    .MagWidth(MagWidth),
    .CodeBits(CodeBits)
  ) u_code_in (
    .sign_i      (sign_i),
    .mag_i       (mag_i),
    .round_i     (round_i),
    .code_sign_o (code_sign_in),
    .code_mag_o  (code_mag_in)
  );

  hymem_msb_extract #(
    .MagWidth(MagWidth),
    .CodeBits(CodeBits)
  ) u_code_out (
    .sign_i      (sign_o),
    .mag_i       (mag_o),
    .round_i     (round_i),
    .code_sign_o (code_sign_out),
    .code_mag_o  (code_mag_out)
  );

  assign code_changed_o = (code_sign_in != code_sign_out) || (code_mag_in != code_mag_out);

endmodule

`default_nettype wire
