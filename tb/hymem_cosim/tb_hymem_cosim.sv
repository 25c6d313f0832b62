// Co-simulation harness: NArrays independent hymem_top controllers on one clock.
//
// Each array k lives in gen_array[k], with two testbench transactors (tb/hdl/) on its ports,
// so that Python wakes per batch of work instead of per pin edge (docs/bench/cosim.md):
//   u_bm   hymem_apb_burst: an APB4 master that runs a list of accesses written by the
//          firmware (hymem.host.apb.ApbBurstMaster), including "wait for the interrupt";
//   u_tlm  hymem_macro_tlm: the macro port's transaction-level monitor, behind which the
//          Python macro model (hymem.sim.macro_tlm.MacroTlmModel) applies row operations in
//          batches and which answers FeCAP reads from its read cache.
// Testbench-only: not part of rtl/.
//
// Built without Verilator's --public-flat-rw (hymem.sim.simrun, public_all=False): only the
// signals marked public_flat_rw (here and in the transactors) are visible to Python, which
// keeps Verilator fast. With HYMEM_HDL_CLOCK defined the clock is generated here
// (ClkPeriodNs), else cocotb drives clk_i (its GPI clock): hymem.sim.cosim.hdl_clock picks the
// faster per simulator.

`default_nettype none

module tb_hymem_cosim #(
  parameter int NArrays = 2,
  parameter int ClkPeriodNs = 1000     // hymem.host.firmware.COSIM_TIMING's clock (1 MHz)
) (
`ifndef HYMEM_HDL_CLOCK
  input  logic               clk_i /*verilator public_flat_rw*/,
`endif
  input  logic               rst_ni /*verilator public_flat_rw*/,
  output logic [NArrays-1:0] irq_o /*verilator public_flat_rw*/
);

  localparam int Lines = 128;

`ifdef HYMEM_HDL_CLOCK
  logic clk_i /*verilator public_flat_rw*/;
  initial begin
    clk_i = 1'b0;
    forever #(ClkPeriodNs * 500ps) clk_i = ~clk_i;
  end
`endif

  for (genvar k = 0; k < NArrays; k++) begin : gen_array
    // the APB port, driven by the burst master
    logic        apb_psel, apb_penable, apb_pwrite;
    logic [11:0] apb_paddr;
    logic [31:0] apb_pwdata;
    logic [3:0]  apb_pstrb;
    logic [2:0]  apb_pprot;
    logic [31:0] apb_prdata;
    logic        apb_pready;
    logic        apb_pslverr /*verilator public_flat_rw*/;
    logic        irq /*verilator public_flat_rw*/;
    // the macro port
    logic [Lines-1:0]   fe_rdata_i;
    logic [Lines*8-1:0] mr_rdata_i;
    logic [6:0]         fe_row_o;
    logic               fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o;
    logic [Lines-1:0]   fe_mask_o;
    logic [Lines-1:0]   mr_pol_o, mr_mask_o;
    logic [2:0]         mr_slot_o;
    logic [Lines*3-1:0] mr_code_o;
    logic               mr_reset_o, mr_set_o, mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o;

    hymem_top u_top (
      .clk_i, .rst_ni, .por_ni (rst_ni),   // no separate power-on reset: LOST reads 0 after a reset
      .psel_i (apb_psel), .penable_i (apb_penable), .pwrite_i (apb_pwrite),
      .paddr_i (apb_paddr), .pwdata_i (apb_pwdata), .pstrb_i (apb_pstrb), .pprot_i (apb_pprot),
      .prdata_o (apb_prdata), .pready_o (apb_pready), .pslverr_o (apb_pslverr), .irq_o (irq),
      .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i,
      .mr_slot_o, .mr_pol_o, .mr_mask_o, .mr_code_o, .mr_reset_o, .mr_set_o, .mr_form_o,
      .mr_read_o, .mr_adc_o, .mr_rdata_i, .tl_pre_o, .xfer_o
    );

    assign irq_o[k] = irq;

    hymem_apb_burst u_bm (
      .clk_i, .rst_ni,
      .psel_o (apb_psel), .penable_o (apb_penable), .pwrite_o (apb_pwrite),
      .paddr_o (apb_paddr), .pwdata_o (apb_pwdata), .pstrb_o (apb_pstrb), .pprot_o (apb_pprot),
      .prdata_i (apb_prdata), .pready_i (apb_pready), .pslverr_i (apb_pslverr), .irq_i (irq)
    );

    hymem_macro_tlm #(.Lines(Lines)) u_tlm (
      .clk_i,
      .fe_row_i (fe_row_o), .fe_wl_i (fe_wl_o), .fe_sl_i (fe_sl_o), .fe_bl_i (fe_bl_o),
      .fe_mask_i (fe_mask_o), .fe_sae_i (fe_sae_o), .fe_rdata_o (fe_rdata_i),
      .mr_slot_i (mr_slot_o), .mr_pol_i (mr_pol_o), .mr_mask_i (mr_mask_o),
      .mr_code_i (mr_code_o), .mr_reset_i (mr_reset_o), .mr_set_i (mr_set_o),
      .mr_form_i (mr_form_o), .mr_read_i (mr_read_o), .mr_adc_i (mr_adc_o),
      .tl_pre_i (tl_pre_o), .xfer_i (xfer_o), .mr_rdata_o (mr_rdata_i)
    );
  end

endmodule

`default_nettype wire
