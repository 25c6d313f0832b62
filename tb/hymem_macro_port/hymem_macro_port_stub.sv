// hymem_macro_port_stub: testbench-only stand-in for the controller's macro port.
//
// Every signal of docs/macro_port.md is an input here: the cocotb test drives the
// controller-side signals (a Python "fake controller") and the macro model
// (hymem.sim.macro_port.MacroPortModel) drives fe_rdata_i / mr_rdata_i, which the fake
// controller reads back. Names and widths are the controller's port names.
// Not synthesized, not in rtl/.
`default_nettype none

module hymem_macro_port_stub #(
  parameter int Lines    = 128,
  parameter int RowBits  = 7,
  parameter int SlotBits = 3,
  parameter int CodeBits = 3,
  parameter int AdcBits  = 8
) (
  // FeCAP port
  input logic [RowBits-1:0]       fe_row_o,
  input logic                     fe_wl_o,
  input logic                     fe_sl_o,
  input logic                     fe_bl_o,
  input logic [Lines-1:0]         fe_mask_o,
  input logic                     fe_sae_o,
  input logic [Lines-1:0]         fe_rdata_i,
  // memristor port
  input logic [SlotBits-1:0]      mr_slot_o,
  input logic [Lines-1:0]         mr_pol_o,
  input logic [Lines-1:0]         mr_mask_o,
  input logic [CodeBits*Lines-1:0] mr_code_o,
  input logic                     mr_reset_o,
  input logic                     mr_set_o,
  input logic                     mr_form_o,
  input logic                     mr_read_o,
  input logic                     mr_adc_o,
  input logic [AdcBits*Lines-1:0] mr_rdata_i,
  input logic                     tl_pre_o,
  input logic                     xfer_o
);

  // The 11 controls, the FeCAP row address and mask in one vector for the Python macro model
  // (hymem.sim.macro_port.MacroPortModel watches it instead of 13 pins; order: hymem.analog.port
  // .CONTROLS, then fe_row_o, fe_mask_o). Testbench-only.
  wire [11+RowBits+Lines-1:0] macro_port_mon = {fe_wl_o, fe_sl_o, fe_bl_o, fe_sae_o, mr_reset_o,
      mr_set_o, mr_form_o, mr_read_o, mr_adc_o, tl_pre_o, xfer_o, fe_row_o, fe_mask_o};

endmodule

`default_nettype wire
