// hymem_vecbuf: vector buffer for the x (layer input) or e (error) vector.
//
// Datasheet
//   Depth entries of 8 bits (int8 two's complement, see docs/controller.md).
//   Write port: 32-bit words, four entries per word, entry 4w+b in byte b
//   (little endian), with per-byte strobes: the host's bus writes.
//   Read ports: Ports of them (the update engine reads SynPerCycle entries per
//   cycle), registered, one read enable for all. In a cycle with re_i = 1, port
//   p presents raddr_i[p*AddrBits +: AddrBits] = a_p; at the clock edge its byte
//   rdata_o[8p +: 8] takes
//     entry a_p   if a_p is in the window [a_0, a_0 + Ports) or a_p < Ports,
//     0           otherwise, and whenever a_p >= Depth;
//   with re_i = 0 rdata_o holds its value. A read and a write of the same entry
//   at one edge return the old byte. Ports = 1 is a plain synchronous RAM.
//   Out-of-range write words are ignored (the register block rejects them
//   with a bus error before they get here).
//   The window rule is what the update engine needs: the x indices of P
//   consecutive synapses run up from a_0 until they wrap to 0 (several times
//   when n_in < P, all then below P); the e indices never leave [a_0, a_0 + P).
// Implementation: the entries are interleaved over Ports banks (entry e in bank
//   e mod Ports); each bank reads the one row the window needs, so the read
//   multiplexers cost as much as one Depth:1 port, plus per port a Ports:1
//   choice of bank and of one of the first Ports entries (registered copies).
// Cost: Depth*8 flops + Ports*(16 + log2(Ports) + 2) flops for the read side.

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
  localparam logic PortsOk = Ports >= 1 && Ports <= Depth && (Ports & (Ports - 1)) == 0;
  `HYMEM_CHECK(chk_ports, PortsOk,
               "hymem_vecbuf: parameter Ports must be a power of two in 1..Depth")

  localparam int DBits = $clog2(Depth);
  localparam int RBits = AddrBits + 1;      // a bank's row, with room for the last one + 1

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

  if (!PortsOk) begin : gen_illegal
    // no read side: its widths would stop the elaboration before chk_ports speaks
    assign rdata_o = '0;
  end else if (Ports == 1) begin : gen_one
    // a plain synchronous RAM
    always_ff @(posedge clk_i) begin
      if (re_i) begin
        if (32'(raddr_i) < Depth) begin
          rdata_o <= mem[raddr_i[DBits-1:0]];
        end else begin
          rdata_o <= '0;
        end
      end
    end
  end else begin : gen_banked
    localparam int LBits = $clog2(Ports);

    logic [AddrBits-1:0] base;
    assign base = raddr_i[AddrBits-1:0];

    // bank b reads row row0 + (b < base mod Ports): the window's entry in bank b
    logic [RBits-1:0]        row0;
    logic [LBits-1:0]        base_lo;
    logic [Ports*DBits-1:0]  bank_idx;        // bank b's entry, if below Depth
    logic [Ports-1:0]        bank_ok;
    assign row0    = RBits'(base >> LBits);
    assign base_lo = base[LBits-1:0];

    for (genvar b = 0; b < Ports; b++) begin : gen_bank
      logic [RBits-1:0] row;
      if (b == Ports - 1) begin : gen_last      // the window never wraps past the last bank
        assign row = row0;
      end else begin : gen_row
        assign row = row0 + RBits'(LBits'(b) < base_lo);
      end
      assign bank_ok[b] = (32'(row) < Depth / Ports);
      assign bank_idx[b*DBits +: DBits] = {DBits'(row << LBits) | DBits'(b)};
    end

    logic [Ports*8-1:0]         win_q, low_q;     // bank b / entry b at [8b +: 8]
    logic [Ports*(LBits+2)-1:0] sel_d, sel_q;     // per port {in window, low, entry mod Ports}

    for (genvar p = 0; p < Ports; p++) begin : gen_sel
      logic [AddrBits-1:0] a;
      logic [AddrBits:0]   off;             // a - a_0, negative when off[AddrBits]
      assign a   = raddr_i[p*AddrBits +: AddrBits];
      assign off = {1'b0, a} - {1'b0, base};
      assign sel_d[p*(LBits+2) +: LBits+2] =
          {(32'(off) < Ports), (32'(a) < Ports), a[LBits-1:0]};
    end

    always_ff @(posedge clk_i) begin
      if (re_i) begin
        sel_q <= sel_d;
        for (int b = 0; b < Ports; b++) begin
          win_q[8*b +: 8] <= bank_ok[b] ? mem[bank_idx[b*DBits +: DBits]] : 8'd0;
          low_q[8*b +: 8] <= mem[b];
        end
      end
    end

    for (genvar p = 0; p < Ports; p++) begin : gen_out
      logic             in_win, is_low;
      logic [LBits-1:0] lo;
      assign {in_win, is_low, lo} = sel_q[p*(LBits+2) +: LBits+2];
      assign rdata_o[8*p +: 8] = in_win ? win_q[8*lo +: 8] :
                                 is_low ? low_q[8*lo +: 8] : 8'd0;
    end
  end

endmodule

`default_nettype wire
