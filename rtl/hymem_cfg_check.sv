// hymem_cfg_check: validates writes to checked registers and commands.
//
// Datasheet
//   Combinational. For the write in its APB access phase (chk_addr_i, with the
//   value the register would take in chk_wdata_i) it answers ok_o, or the
//   ERR code in code_o (docs/registers.md):
//     6 busy     a configuration register written while an operation runs or
//                is queued (the engines latch configuration at start, but a
//                queued command would start with the new one); SEED_LOAD
//                while busy
//     5 illegal  LAYER: 1 <= N_IN <= XDepth, 1 <= N_OUT <= EDepth,
//                N_IN * N_OUT <= Lines * Slots; LR.SHIFT <= 23; MASK_P.P16 <=
//                65536; READOUT_SEL.SLOT < Slots; every pulse width >= 1,
//                1 <= T_FE.SENSE < T_FE.PULSE, 1 <= T_MR.ADC < T_MR.READ
//                (cross-register limits use the other register's current
//                value)
//     7 queued   SAMPLE / TRANSFER / FORM / READOUT already queued
//     9 build    MODE.VERIFY_MAX > VerifyLimit
//   Registers not listed (CMD maintenance bits, K, SEED, FORM, VFY_*) accept
//   any value when idle.

`include "hymem_defs.svh"
`include "hymem_regs_defs.svh"

`default_nettype none

module hymem_cfg_check #(
  parameter int Lines       = 128,
  parameter int Slots       = 8,
  parameter int XDepth      = 256,
  parameter int EDepth      = 128,
  parameter int VerifyLimit = 15
) (
  input  logic [11:0] chk_addr_i,
  input  logic [31:0] chk_wdata_i,
  input  logic        busy_i,         // an operation runs or is queued
  input  logic [3:0]  queued_i,       // {read-out, form, transfer, sample}
  input  logic [15:0] t_fe_pulse_i,   // current values for cross-register checks
  input  logic [15:0] t_fe_sense_i,
  input  logic [15:0] t_mr_read_i,
  input  logic [15:0] t_mr_adc_i,
  output logic        ok_o,
  output logic [7:0]  code_o
);

  localparam logic [7:0] E_ILLEGAL = 8'd5;
  localparam logic [7:0] E_BUSY    = 8'd6;
  localparam logic [7:0] E_QUEUED  = 8'd7;
  localparam logic [7:0] E_BUILD   = 8'd9;

  `HYMEM_CHECK(chk_limit, VerifyLimit >= 0 && VerifyLimit <= 255,
               "hymem_cfg_check: parameter VerifyLimit must be in 0..255")

  logic [10:0] n_in, n_out;
  logic [21:0] n_syn;
  assign n_in  = `HYMEM_LAYER_N_IN(chk_wdata_i);
  assign n_out = `HYMEM_LAYER_N_OUT(chk_wdata_i);
  assign n_syn = 22'(n_in) * 22'(n_out);

  // each timing register's two 16-bit fields
  logic [15:0] fe_setup, fe_pulse, fe_sense, fe_hold, fe_gap, mr_reset, mr_set, mr_form, mr_read,
               mr_adc, mr_pre, mr_xfer, mr_gap;
  assign fe_setup = `HYMEM_T_FE0_SETUP(chk_wdata_i);
  assign fe_pulse = `HYMEM_T_FE0_PULSE(chk_wdata_i);
  assign fe_sense = `HYMEM_T_FE1_SENSE(chk_wdata_i);
  assign fe_hold  = `HYMEM_T_FE1_HOLD(chk_wdata_i);
  assign fe_gap   = `HYMEM_T_FE2_GAP(chk_wdata_i);
  assign mr_reset = `HYMEM_T_MR0_RESET(chk_wdata_i);
  assign mr_set   = `HYMEM_T_MR0_SET(chk_wdata_i);
  assign mr_form  = `HYMEM_T_MR1_FORM(chk_wdata_i);
  assign mr_read  = `HYMEM_T_MR1_READ(chk_wdata_i);
  assign mr_adc   = `HYMEM_T_MR2_ADC(chk_wdata_i);
  assign mr_pre   = `HYMEM_T_MR2_PRE(chk_wdata_i);
  assign mr_xfer  = `HYMEM_T_MR3_XFER(chk_wdata_i);
  assign mr_gap   = `HYMEM_T_MR3_GAP(chk_wdata_i);

  logic cmd_sample, cmd_transfer, cmd_form, cmd_readout, cmd_seed;
  assign cmd_sample   = `HYMEM_CMD_SAMPLE(chk_wdata_i);
  assign cmd_transfer = `HYMEM_CMD_TRANSFER(chk_wdata_i);
  assign cmd_form     = `HYMEM_CMD_FORM(chk_wdata_i);
  assign cmd_readout  = `HYMEM_CMD_READOUT(chk_wdata_i);
  assign cmd_seed     = `HYMEM_CMD_SEED_LOAD(chk_wdata_i);

  logic [4:0]  lr_shift;
  logic [16:0] p16;
  logic [7:0]  verify_max;
  logic [2:0]  ro_slot;
  assign lr_shift   = `HYMEM_LR_SHIFT(chk_wdata_i);
  assign p16        = `HYMEM_MASK_P_P16(chk_wdata_i);
  assign verify_max = `HYMEM_MODE_VERIFY_MAX(chk_wdata_i);
  assign ro_slot    = `HYMEM_READOUT_SEL_SLOT(chk_wdata_i);

  logic requeue;  // a command whose queue slot is taken
  assign requeue = (cmd_sample && queued_i[0]) || (cmd_transfer && queued_i[1]) ||
                   (cmd_form && queued_i[2]) || (cmd_readout && queued_i[3]);

  always_comb begin
    code_o = 8'd0;
    if (chk_addr_i == `HYMEM_ADDR_CMD) begin
      if (requeue) begin
        code_o = E_QUEUED;
      end else if (cmd_seed && busy_i) begin
        code_o = E_BUSY;
      end
    end else if (busy_i) begin
      code_o = E_BUSY;
    end else begin
      case (chk_addr_i)
        `HYMEM_ADDR_LAYER:
          if (n_in == '0 || n_out == '0 || 32'(n_in) > XDepth || 32'(n_out) > EDepth ||
              32'(n_syn) > Lines * Slots) code_o = E_ILLEGAL;
        `HYMEM_ADDR_LR:          if (lr_shift > 5'd23) code_o = E_ILLEGAL;
        `HYMEM_ADDR_MASK_P:      if (p16 > 17'd65536) code_o = E_ILLEGAL;
        `HYMEM_ADDR_MODE:        if (32'(verify_max) > VerifyLimit) code_o = E_BUILD;
        `HYMEM_ADDR_READOUT_SEL: if (32'(ro_slot) >= Slots) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_FE0:
          if (fe_setup == '0 || fe_pulse < 16'd2 || t_fe_sense_i >= fe_pulse) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_FE1:
          if (fe_sense == '0 || fe_sense >= t_fe_pulse_i || fe_hold == '0) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_FE2:       if (fe_gap == '0) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_MR0:       if (mr_reset == '0 || mr_set == '0) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_MR1:
          if (mr_form == '0 || mr_read < 16'd2 || t_mr_adc_i >= mr_read) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_MR2:
          if (mr_adc == '0 || mr_adc >= t_mr_read_i || mr_pre == '0) code_o = E_ILLEGAL;
        `HYMEM_ADDR_T_MR3:       if (mr_xfer == '0 || mr_gap == '0) code_o = E_ILLEGAL;
        default: ;
      endcase
    end
  end

  assign ok_o = (code_o == 8'd0);

endmodule

`default_nettype wire
