// hymem_prng: a ring of Lanes independent xorshift generators, Heads drawn per step.
//
// Datasheet
//   Each lane is a Marsaglia xorshift generator of Width bits (16, 32 or 64)
//   with a maximal period of 2**Width - 1. The lanes sit in a ring whose
//   positions 0 .. Heads-1 are the heads (ring position 0 is ring_q[0]):
//     rnd_o[h*Width +: Width] = xorshift(state at ring position h), h < Heads
//                       (combinational: the next value of each head lane)
//     step_i = 1     -> each head lane takes its rnd_o value and the ring
//                       rotates by Heads, so Lanes/Heads consecutive steps draw
//                       one value from each lane, lanes h, h+Heads, ... in head
//                       h, and return the ring to lane order.
//     seed_load_i=1  -> lane l := seed_i ^ (l * GOLDEN mod 2**Width); a zero
//                       result becomes ZERO_SEED (xorshift's only fixed point).
//                       Has priority over step_i. Ring returns to lane order.
//   Heads = 1 is the plain ring: one value per step, from lanes 0, 1, 2, ... in
//   turn. Heads must divide Lanes (the update engine uses Heads = its
//   SynPerCycle: one value per synapse it processes in a cycle).
//   Reset (synchronous, active low) loads DefaultSeed (32 bits, zero-extended
//   for Width 64, truncated for Width 16) as seed_load_i would.
//   Bit-exact model: hymem.digital.Prng (its `heads`; peek() is rnd_o packed).
//
// Timing: one clock per step; rnd_o is valid in the same cycle as step_i.
// Cost: Lanes*Width flops, Heads xorshift units.

`include "hymem_defs.svh"

`default_nettype none

module hymem_prng #(
  parameter int Width       = 32,
  parameter int Lanes       = 1,
  parameter int Heads       = 1,
  parameter logic [31:0] DefaultSeed = 32'd1
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   seed_load_i,
  input  logic [Width-1:0]       seed_i,
  input  logic                   step_i,
  output logic [Heads*Width-1:0] rnd_o
);

  // Shift triples (a, b, c) and constants per width; see hymem/digital.py.
  localparam int A = (Width == 16) ? 7 : 13;
  localparam int B = (Width == 16) ? 9 : (Width == 32) ? 17 : 7;
  localparam int C = (Width == 16) ? 8 : (Width == 32) ? 5 : 17;
  localparam logic [63:0] GOLDEN    = (Width == 16) ? 64'h9E37 :
                                      (Width == 32) ? 64'h9E3779B9 :
                                                      64'h9E3779B97F4A7C15;
  localparam logic [63:0] ZERO_SEED = (Width == 16) ? 64'hACE1 :
                                      (Width == 32) ? 64'h2545F491 :
                                                      64'h2545F4914F6CDD1D;

  // Parameter sanity checks stop elaboration.
  `HYMEM_CHECK(chk_width, Width == 16 || Width == 32 || Width == 64,
               "hymem_prng: parameter Width must be 16, 32 or 64")
  `HYMEM_CHECK(chk_lanes, Lanes >= 1, "hymem_prng: parameter Lanes must be >= 1")
  `HYMEM_CHECK(chk_heads, Heads >= 1 && Heads <= Lanes && (Lanes % Heads) == 0,
               "hymem_prng: parameter Heads must be in 1..Lanes and divide Lanes")
  // an illegal Lanes reaches no logic (a zero-width ring would stop elaboration before the
  // check speaks): the ring is built for LN lanes, equal to Lanes in every legal build
  localparam int LN = (Lanes >= 1) ? Lanes : 1;

  function automatic logic [Width-1:0] xorshift(input logic [Width-1:0] x);
    logic [Width-1:0] y;
    y = x ^ (x << A);
    y = y ^ (y >> B);
    y = y ^ (y << C);
    xorshift = y;
  endfunction

  // The ring is one packed vector (ring position i at [i*Width +: Width], the
  // heads at the bottom), so a rotation is a single assignment for the simulators.
  logic [LN*Width-1:0] ring_q, ring_d, seed_ring, reset_ring;

  for (genvar h = 0; h < Heads; h++) begin : gen_head
    assign rnd_o[h*Width +: Width] = xorshift(ring_q[h*Width +: Width]);
  end

  for (genvar l = 0; l < LN; l++) begin : gen_lane
    localparam logic [63:0] KEY64  = 64'(l) * GOLDEN;   // mod 2**64
    localparam logic [63:0] SEED64 = {32'd0, DefaultSeed};
    localparam logic [Width-1:0] KEY   = KEY64[Width-1:0];
    localparam logic [Width-1:0] MIXED = SEED64[Width-1:0] ^ KEY;
    logic [Width-1:0] mixed;
    assign mixed = seed_i ^ KEY;
    assign seed_ring[l*Width +: Width]  = (mixed == '0) ? ZERO_SEED[Width-1:0] : mixed;
    assign reset_ring[l*Width +: Width] = (MIXED == '0) ? ZERO_SEED[Width-1:0] : MIXED;
  end

  // Step: the heads' new states enter at the top, the ring moves down by Heads
  // (with Heads = Lanes, the new states replace the whole ring).
  localparam int RingBits = LN * Width;
  assign ring_d = seed_load_i ? seed_ring :
                  step_i      ? RingBits'({rnd_o, ring_q} >> (Heads * Width)) : ring_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ring_q <= reset_ring;
    end else begin
      ring_q <= ring_d;
    end
  end

endmodule

`default_nettype wire
