// hymem_vecbuf: vector buffer for the x (layer input) or e (error) vector.
//
// Datasheet
//   Depth entries of 8 bits (int8 two's complement, see docs/controller.md).
//   Write port: 32-bit words, four entries per word, entry 4w+b in byte b
//   (little endian), with per-byte strobes: the host's bus writes.
//   Read ports: Ports of them (the update engine reads SynPerCycle entries per
//   cycle), registered, with one read enable for all: in a cycle with re_i = 1,
//   port p's rdata_o[8p +: 8] takes entry raddr_i[p*AddrBits +: AddrBits] at the
//   clock edge (a synchronous RAM); with re_i = 0 rdata_o holds its value.
//   A read and a write of the same entry at one edge return the old byte.
//   Out-of-range write words are ignored (the register block rejects them
//   with a bus error before they get here); reads beyond Depth return 0.
//   Cost: Depth*8 flops plus one Depth:1 byte multiplexer per read port (the
//   ports are independent: any Ports addresses, repeated or not, per cycle).

`include "hymem_defs.svh"

`default_nettype none

module hymem_vecbuf #(
  parameter int Depth     = 256,
  parameter int AddrBits  = 11,     // width of one read address (the engine's index width)
  parameter int Ports     = 1,
  localparam int WordBits = (Depth > 4) ? $clog2(Depth / 4) : 1
) (
  input  logic                      clk_i,
  input  logic                      we_i,
  input  logic [WordBits-1:0]       waddr_i,
  input  logic [31:0]               wdata_i,
  input  logic [3:0]                wstrb_i,
  input  logic                      re_i,
  input  logic [Ports*AddrBits-1:0] raddr_i,
  output logic [Ports*8-1:0]        rdata_o
);

  `HYMEM_CHECK(chk_depth, Depth >= 8 && (Depth % 4) == 0 && (Depth & (Depth - 1)) == 0,
               "hymem_vecbuf: parameter Depth must be a power of two >= 8")
  `HYMEM_CHECK(chk_addr, (1 << AddrBits) >= Depth,
               "hymem_vecbuf: parameter AddrBits must address all Depth entries")
  `HYMEM_CHECK(chk_ports, Ports >= 1 && Ports <= 128,
               "hymem_vecbuf: parameter Ports must be in 1..128")

  localparam int DBits = $clog2(Depth);

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
    if (re_i) begin
      for (int p = 0; p < Ports; p++) begin
        if (32'(raddr_i[p*AddrBits +: AddrBits]) < Depth) begin
          rdata_o[p*8 +: 8] <= mem[raddr_i[p*AddrBits +: DBits]];
        end else begin
          rdata_o[p*8 +: 8] <= '0;
        end
      end
    end
  end

endmodule

`default_nettype wire
