// Equivalence harness of the transaction-level macro model (testbench only).
//
// Two hymem_top controllers receive the same APB traffic (one hymem_apb_burst master drives
// both; their responses must be equal every cycle, else mismatch_q is set). Controller A's
// macro port is in the scope `pin`, where the pin-level Python model
// (hymem.sim.macro_port.MacroPortModel) watches its pins and drives fe_rdata_i / mr_rdata_i;
// controller B's port has the transaction-level monitor u_tlm, behind which
// hymem.sim.macro_tlm.MacroTlmModel runs. Both arrays are keyed alike, so the two models must
// leave them in the same state (tb/hymem_macro_tlm/test_hymem_macro_tlm.py).
`default_nettype none

module tb_hymem_macro_tlm #(
  parameter int Lines       = 128,
  parameter int Slots       = 8,
  parameter int FecapRows   = 128,
  parameter int XDepth      = 256,
  parameter int EDepth      = 128,
  parameter int VerifyLimit = 15,
  localparam int RowBits    = $clog2(FecapRows),
  localparam int SlotBits   = (Slots > 1) ? $clog2(Slots) : 1
) (
  input  logic clk_i /*verilator public_flat_rw*/,
  input  logic rst_ni /*verilator public_flat_rw*/
);

  logic        psel, penable, pwrite;
  logic [11:0] paddr;
  logic [31:0] pwdata;
  logic [3:0]  pstrb;
  logic [2:0]  pprot;
  logic [31:0] prdata_a, prdata_b;
  logic        pready_a, pready_b, pslverr_a, pslverr_b, irq_a, irq_b;
  logic        mismatch_q /*verilator public_flat_rw*/;

  hymem_apb_burst u_bm (
    .clk_i, .rst_ni, .psel_o (psel), .penable_o (penable), .pwrite_o (pwrite), .paddr_o (paddr),
    .pwdata_o (pwdata), .pstrb_o (pstrb), .pprot_o (pprot), .prdata_i (prdata_b),
    .pready_i (pready_b), .pslverr_i (pslverr_b), .irq_i (irq_b)
  );

  // ------------------------------------------------------------ A: pin-level model
  if (1) begin : pin
    logic [RowBits-1:0] fe_row_o /*verilator public_flat_rw*/;
    logic               fe_wl_o /*verilator public_flat_rw*/;
    logic               fe_sl_o /*verilator public_flat_rw*/;
    logic               fe_bl_o /*verilator public_flat_rw*/;
    logic               fe_sae_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   fe_mask_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   fe_rdata_i /*verilator public_flat_rw*/;
    logic [SlotBits-1:0] mr_slot_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   mr_pol_o /*verilator public_flat_rw*/;
    logic [Lines-1:0]   mr_mask_o /*verilator public_flat_rw*/;
    logic [Lines*3-1:0] mr_code_o /*verilator public_flat_rw*/;
    logic               mr_reset_o /*verilator public_flat_rw*/;
    logic               mr_set_o /*verilator public_flat_rw*/;
    logic               mr_form_o /*verilator public_flat_rw*/;
    logic               mr_read_o /*verilator public_flat_rw*/;
    logic               mr_adc_o /*verilator public_flat_rw*/;
    logic [Lines*8-1:0] mr_rdata_i /*verilator public_flat_rw*/;
    logic               tl_pre_o /*verilator public_flat_rw*/;
    logic               xfer_o /*verilator public_flat_rw*/;
    logic [11+RowBits+Lines-1:0] macro_port_mon /*verilator public_flat_rw*/;
    assign macro_port_mon = {fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o, mr_reset_o, mr_set_o,
                             mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o, fe_row_o, fe_mask_o};

    hymem_top #(.Lines(Lines), .Slots(Slots), .FecapRows(FecapRows), .XDepth(XDepth),
                .EDepth(EDepth), .VerifyLimit(VerifyLimit)) u_top (
      .clk_i, .rst_ni, .por_ni (rst_ni), .psel_i (psel), .penable_i (penable), .pwrite_i (pwrite),
      .paddr_i (paddr), .pwdata_i (pwdata), .pstrb_i (pstrb), .pprot_i (pprot),
      .prdata_o (prdata_a), .pready_o (pready_a), .pslverr_o (pslverr_a), .irq_o (irq_a),
      .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i,
      .mr_slot_o, .mr_pol_o, .mr_mask_o, .mr_code_o, .mr_reset_o, .mr_set_o, .mr_form_o,
      .mr_read_o, .mr_adc_o, .mr_rdata_i, .tl_pre_o, .xfer_o
    );
  end

  // ------------------------------------------------------------ B: transaction-level model
  if (1) begin : tlm
    logic [Lines-1:0]   fe_rdata_i;
    logic [Lines*8-1:0] mr_rdata_i;
    logic [RowBits-1:0] fe_row_o;
    logic               fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o;
    logic [Lines-1:0]   fe_mask_o, mr_pol_o, mr_mask_o;
    logic [SlotBits-1:0] mr_slot_o;
    logic [Lines*3-1:0] mr_code_o;
    logic               mr_reset_o, mr_set_o, mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o;

    hymem_top #(.Lines(Lines), .Slots(Slots), .FecapRows(FecapRows), .XDepth(XDepth),
                .EDepth(EDepth), .VerifyLimit(VerifyLimit)) u_top (
      .clk_i, .rst_ni, .por_ni (rst_ni), .psel_i (psel), .penable_i (penable), .pwrite_i (pwrite),
      .paddr_i (paddr), .pwdata_i (pwdata), .pstrb_i (pstrb), .pprot_i (pprot),
      .prdata_o (prdata_b), .pready_o (pready_b), .pslverr_o (pslverr_b), .irq_o (irq_b),
      .fe_row_o, .fe_wl_o, .fe_sl_o, .fe_bl_o, .fe_mask_o, .fe_sae_o, .fe_rdata_i,
      .mr_slot_o, .mr_pol_o, .mr_mask_o, .mr_code_o, .mr_reset_o, .mr_set_o, .mr_form_o,
      .mr_read_o, .mr_adc_o, .mr_rdata_i, .tl_pre_o, .xfer_o
    );

    hymem_macro_tlm #(.Lines(Lines), .Slots(Slots), .FecapRows(FecapRows)) u_tlm (
      .clk_i,
      .fe_row_i (fe_row_o), .fe_wl_i (fe_wl_o), .fe_sl_i (fe_sl_o), .fe_bl_i (fe_bl_o),
      .fe_mask_i (fe_mask_o), .fe_sae_i (fe_sae_o), .fe_rdata_o (fe_rdata_i),
      .mr_slot_i (mr_slot_o), .mr_pol_i (mr_pol_o), .mr_mask_i (mr_mask_o),
      .mr_code_i (mr_code_o), .mr_reset_i (mr_reset_o), .mr_set_i (mr_set_o),
      .mr_form_i (mr_form_o), .mr_read_i (mr_read_o), .mr_adc_i (mr_adc_o),
      .tl_pre_i (tl_pre_o), .xfer_i (xfer_o), .mr_rdata_o (mr_rdata_i)
    );
  end

  // the two controllers answer the bus alike
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      mismatch_q <= 1'b0;
    end else if (pready_a !== pready_b || pslverr_a !== pslverr_b || irq_a !== irq_b ||
                 (psel && penable && pready_b && !pwrite && prdata_a !== prdata_b)) begin
      mismatch_q <= 1'b1;
    end
  end

endmodule

`default_nettype wire
