// Co-simulation harness: NArrays independent hymem_top controllers on one clock.
//
// Each array k lives in gen_array[k]. Its APB slave inputs (apb_psel, apb_penable,
// apb_pwrite, apb_paddr, apb_pwdata, apb_pstrb, apb_pprot) and its macro inputs
// (fe_rdata_i, mr_rdata_i) are variables of that scope that only the Python side
// drives (one APB master and one macro model per array); its outputs are the nets
// of the same scope. Testbench-only: not part of rtl/.
//
// Built without Verilator's --public-flat-rw (hymem.simrun, public_all=False): only the
// signals marked public_flat_rw here are visible to Python, which keeps Verilator fast.
// With HYMEM_HDL_CLOCK defined the clock is generated here (ClkPeriodNs), else cocotb drives
// clk_i: hymem.cosim.hdl_clock picks the faster per simulator (Icarus: here; Verilator:
// cocotb, since an HDL clock needs --timing, whose coroutines cost more than the callback).

`default_nettype none

module tb_hymem_cosim #(
  parameter int NArrays = 2,
  parameter int ClkPeriodNs = 1000     // hymem.firmware.COSIM_TIMING's clock (1 MHz)
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
    // driven from Python
    logic        apb_psel /*verilator public_flat_rw*/;
    logic        apb_penable /*verilator public_flat_rw*/;
    logic        apb_pwrite /*verilator public_flat_rw*/;
    logic [11:0] apb_paddr /*verilator public_flat_rw*/;
    logic [31:0] apb_pwdata /*verilator public_flat_rw*/;
    logic [3:0]  apb_pstrb /*verilator public_flat_rw*/;
    logic [2:0]  apb_pprot /*verilator public_flat_rw*/;
    logic [Lines-1:0]   fe_rdata_i /*verilator public_flat_rw*/;
    logic [Lines*8-1:0] mr_rdata_i /*verilator public_flat_rw*/;
    // driven by the controller
    logic [31:0]        apb_prdata /*verilator public_flat_rw*/;
    logic               apb_pready /*verilator public_flat_rw*/;
    logic               apb_pslverr /*verilator public_flat_rw*/;
    logic               irq /*verilator public_flat_rw*/;
    logic [6:0]         fe_row_o /*verilator public_flat_rw*/;
    logic               fe_wl_o /*verilator public_flat_rw*/;
    logic               fe_sl_o /*verilator public_flat_rw*/;
    logic               fe_bl_o /*verilator public_flat_rw*/;
    logic               fe_sae_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   fe_mask_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   mr_pol_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   mr_mask_o /*verilator public_flat_rw*/;
    logic [2:0]         mr_slot_o /*verilator public_flat_rw*/;
    logic [Lines*3-1:0] mr_code_o /*verilator public_flat_rw*/;
    logic               mr_reset_o /*verilator public_flat_rw*/;
    logic               mr_set_o /*verilator public_flat_rw*/;
    logic               mr_form_o /*verilator public_flat_rw*/;
    logic               mr_read_o /*verilator public_flat_rw*/;
    logic               mr_adc_o /*verilator public_flat_rw*/;
    logic               tl_pre_o /*verilator public_flat_rw*/;
    logic               xfer_o /*verilator public_flat_rw*/;

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

    // the 11 controls, the FeCAP row address and mask in one vector for the Python macro
    // model (hymem.macro_port.MacroPortModel watches it instead of 13 pins; order:
    // hymem.macro.CONTROLS, then fe_row_o, fe_mask_o)
    logic [11+7+Lines-1:0] macro_port_mon /*verilator public_flat_rw*/;
    assign macro_port_mon = {fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o, mr_reset_o, mr_set_o,
                             mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o, fe_row_o, fe_mask_o};
  end

endmodule

`default_nettype wire
