// hymem_apb_burst: an APB4 master that runs a list of accesses written by Python.
//
// Testbench-only (not in rtl/). The co-simulation's firmware (hymem.host.firmware.Hymem over
// hymem.host.apb.ApbBurstMaster) writes up to Depth operations into ops_v, their number into
// n_ops, and increments go; the master then runs them back to back on the APB port (one
// setup cycle, then the access phase until PREADY, the next setup right after, as AMBA
// APB4 allows) and increments done_q when the last has finished, or at the first PSLVERR
// (err_q = 1, err_idx_q = its index; the rest is not run) or timeout (tout_q = 1).
// Python wakes once per list (on done_q) instead of about four times per access.
//
// One operation, OP_W bits at [i*OP_W +: OP_W] of ops_v:
//   [0]       write (1) or read (0)
//   [1]       wait for irq_i to be high (the other fields are ignored): a sample's
//             command followed by this op returns when the controller is done
//   [13:2]    PADDR
//   [45:14]   PWDATA
//   [49:46]   PSTRB
// Read data: rdata_v[i*32 +: 32] (0 for writes); rdata_last_q: the last read's data (a list
// with one read needs only that).
`default_nettype none

module hymem_apb_burst #(
  parameter int Depth    = 640,
  parameter int AddrBits = 12,
  parameter int Timeout  = 10_000_000,   // cycles an access or an irq wait may take
  localparam int OpW     = 50,
  localparam int IdxBits = $clog2(Depth + 1)
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  output logic                psel_o,
  output logic                penable_o,
  output logic                pwrite_o,
  output logic [AddrBits-1:0] paddr_o,
  output logic [31:0]         pwdata_o,
  output logic [3:0]          pstrb_o,
  output logic [2:0]          pprot_o,
  input  wire  [31:0]         prdata_i,
  input  wire                 pready_i,
  input  wire                 pslverr_i,
  input  wire                 irq_i
);

  // written by Python (deposits)
  logic [Depth*OpW-1:0] ops_v  /*verilator public_flat_rw*/;
  logic [IdxBits-1:0]   n_ops  /*verilator public_flat_rw*/;
  logic [7:0]           go     /*verilator public_flat_rw*/;
  // read by Python
  logic [Depth*32-1:0]  rdata_v   /*verilator public_flat_rw*/;
  logic [31:0]          rdata_last_q /*verilator public_flat_rw*/;
  logic [31:0]          done_q    /*verilator public_flat_rw*/;
  logic                 err_q     /*verilator public_flat_rw*/;
  logic                 tout_q    /*verilator public_flat_rw*/;
  logic [IdxBits-1:0]   err_idx_q /*verilator public_flat_rw*/;

  typedef enum logic [1:0] {S_IDLE, S_ACCESS, S_WAIT} state_e;
  state_e             state_q;
  logic [7:0]         go_q;
  logic [IdxBits-1:0] idx_q;
  logic [31:0]        cnt_q;

  logic [OpW-1:0] nop;             // the operation after idx_q
  assign nop = ops_v[(32'(idx_q) + 32'd1) * OpW +: OpW];

  assign pprot_o = 3'b000;

  // the setup phase of operation o (a read or a write); PSEL stays high between accesses
  // verilator lint_off UNUSEDSIGNAL
  task automatic present(input logic [OpW-1:0] o);
    psel_o    <= 1'b1;
    penable_o <= 1'b0;
    pwrite_o  <= o[0];
    paddr_o   <= o[2 +: AddrBits];
    pwdata_o  <= o[0] ? o[14 +: 32] : 32'd0;
    pstrb_o   <= o[0] ? o[46 +: 4] : 4'd0;
  endtask
  // verilator lint_on UNUSEDSIGNAL

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q   <= S_IDLE;
      go_q      <= go;
      idx_q     <= '0;
      cnt_q     <= '0;
      psel_o    <= 1'b0;
      penable_o <= 1'b0;
      pwrite_o  <= 1'b0;
      paddr_o   <= '0;
      pwdata_o  <= '0;
      pstrb_o   <= '0;
    end else begin
      case (state_q)
        S_IDLE: begin
          cnt_q <= '0;
          if (go !== go_q) begin    // (!==: go may be X before Python first writes it)
            go_q   <= go;
            idx_q  <= '0;
            err_q  <= 1'b0;
            tout_q <= 1'b0;
            if (n_ops == '0) begin
              done_q <= done_q + 1'b1;
            end else if (ops_v[1]) begin
              state_q <= S_WAIT;
            end else begin
              present(ops_v[OpW-1:0]);
              state_q <= S_ACCESS;
            end
          end
        end
        S_ACCESS: begin
          if (!penable_o) begin
            penable_o <= 1'b1;         // the access phase
          end else if (pready_i) begin
            rdata_v[idx_q * 32 +: 32] <= pwrite_o ? 32'd0 : prdata_i;
            if (!pwrite_o) rdata_last_q <= prdata_i;
            cnt_q <= '0;
            if (pslverr_i || idx_q + 1'b1 == n_ops) begin
              psel_o    <= 1'b0;
              penable_o <= 1'b0;
              err_q     <= pslverr_i;
              err_idx_q <= idx_q;
              done_q    <= done_q + 1'b1;
              state_q   <= S_IDLE;
            end else begin
              idx_q <= idx_q + 1'b1;
              if (nop[1]) begin
                psel_o    <= 1'b0;
                penable_o <= 1'b0;
                state_q   <= S_WAIT;
              end else begin
                present(nop);          // back to back
              end
            end
          end else if (cnt_q == 32'(Timeout)) begin
            psel_o    <= 1'b0;
            penable_o <= 1'b0;
            tout_q    <= 1'b1;
            err_idx_q <= idx_q;
            done_q    <= done_q + 1'b1;
            state_q   <= S_IDLE;
          end else begin
            cnt_q <= cnt_q + 1'b1;
          end
        end
        S_WAIT: begin
          if (irq_i) begin
            rdata_v[idx_q * 32 +: 32] <= 32'd0;
            cnt_q <= '0;
            if (idx_q + 1'b1 == n_ops) begin
              done_q  <= done_q + 1'b1;
              state_q <= S_IDLE;
            end else begin
              idx_q <= idx_q + 1'b1;
              if (nop[1]) begin
                state_q <= S_WAIT;
              end else begin
                present(nop);
                state_q <= S_ACCESS;
              end
            end
          end else if (cnt_q == 32'(Timeout)) begin
            tout_q    <= 1'b1;
            err_idx_q <= idx_q;
            done_q    <= done_q + 1'b1;
            state_q   <= S_IDLE;
          end else begin
            cnt_q <= cnt_q + 1'b1;
          end
        end
        default: state_q <= S_IDLE;
      endcase
    end
  end

  initial begin
    done_q    = '0;
    err_q     = 1'b0;
    tout_q    = 1'b0;
    err_idx_q = '0;
  end

endmodule

`default_nettype wire
