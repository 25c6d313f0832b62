// hymem_vecbuf: vector buffer for the x (layer input) or e (error) vector.
//
// Datasheet
//   Depth entries of 8 bits (int8 two's complement, see docs/controller.md).
//   Write port: 32-bit words, four entries per word, entry 4w+b in byte b
//   (little endian), with per-byte strobes: the host's bus writes.
//   Read port: one entry, registered: rdata_o holds entry raddr_i one cycle
//   after raddr_i was presented (a synchronous RAM).
//   Out-of-range write words are ignored (the register block rejects them
//   with a bus error before they get here); reads beyond Depth return 0.

`include "hymem_defs.svh"

`default_nettype none

module hymem_vecbuf #(
  parameter int Depth     = 256,
  parameter int AddrBits  = 11,     // width of raddr_i (the engine's index width)
  localparam int WordBits = (Depth > 4) ? $clog2(Depth / 4) : 1
) (
  input  logic                clk_i,
  input  logic                we_i,
  input  logic [WordBits-1:0] waddr_i,
  input  logic [31:0]         wdata_i,
  input  logic [3:0]          wstrb_i,
  input  logic [AddrBits-1:0] raddr_i,
  output logic [7:0]          rdata_o
);

  `HYMEM_CHECK(chk_depth, Depth >= 8 && (Depth % 4) == 0 && (Depth & (Depth - 1)) == 0,
               "hymem_vecbuf: parameter Depth must be a power of two >= 8")
  `HYMEM_CHECK(chk_addr, (1 << AddrBits) >= Depth,
               "hymem_vecbuf: parameter AddrBits must address all Depth entries")

  logic [7:0] mem [0:Depth-1];

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      for (int b = 0; b < 4; b++) begin
        if (wstrb_i[b]) begin
          mem[{waddr_i, 2'(b)}] <= wdata_i[8*b +: 8];
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (32'(raddr_i) < Depth) begin
      rdata_o <= mem[raddr_i[$clog2(Depth)-1:0]];
    end else begin
      rdata_o <= '0;
    end
  end

endmodule

`default_nettype wire
