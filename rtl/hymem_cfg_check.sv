// hymem_cfg_check: validates writes to checked registers and commands.
//
// Datasheet
//   Combinational. For the write in its APB access phase (chk_addr_i, with the
//   value the register would take in chk_wdata_i) it answers ok_o, or the
//   ERR code in code_o (docs/registers.md):
//     7 queued   CMD: SAMPLE / TRANSFER / FORM / READOUT / WAKE already queued
//    10 not woken CMD: SAMPLE or TRANSFER while the array is not woken
//                (woken_i: STATUS.WOKEN)
//     6 busy     CMD.SEED_LOAD while busy; any other checked register written
//                while an operation runs or is queued (the engines latch
//                configuration at start, but a queued command would start with
//                the new one; READOUT_SEL likewise, for a queued read-out)
//     5 / 9      otherwise, when idle: the value's legality, from
//                hymem_regs_legal, generated from the RDL's legal ranges
//                (hymem_min / hymem_max / hymem_below / hymem_rule; 9 where
//                hymem_err = BUILD): LAYER, LR.SHIFT, MASK_P.P16,
//                MODE.VERIFY_MAX, READOUT_SEL.SLOT, every timing field, the
//                strobe < pulse rules (against the other register's current
//                value, t_*_i)
//   Checked registers without legal ranges (K, SEED, FORM, VFY_*) accept any
//   value when idle.

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
  input  logic [4:0]  queued_i,       // {wake, read-out, form, transfer, sample}
  input  logic        woken_i,        // STATUS.WOKEN
  input  logic [15:0] t_fe_pulse_i,   // current values for cross-register checks
  input  logic [15:0] t_fe_sense_i,
  input  logic [15:0] t_mr_read_i,
  input  logic [15:0] t_mr_adc_i,
  output logic        ok_o,
  output logic [7:0]  code_o
);


  `HYMEM_CHECK(chk_limit, VerifyLimit >= 0 && VerifyLimit <= 255,
               "hymem_cfg_check: parameter VerifyLimit must be in 0..255")

  logic [7:0] legal_code;

  hymem_regs_legal #(
    .Lines(Lines), .Slots(Slots), .XDepth(XDepth), .EDepth(EDepth), .VerifyLimit(VerifyLimit)
  ) u_legal (
    .addr_i            (chk_addr_i),
    .wdata_i           (chk_wdata_i),
    .cur_t_fe1_sense_i (t_fe_sense_i),
    .cur_t_fe0_pulse_i (t_fe_pulse_i),
    .cur_t_mr2_adc_i   (t_mr_adc_i),
    .cur_t_mr1_read_i  (t_mr_read_i),
    .code_o            (legal_code)
  );

  logic cmd_sample, cmd_transfer, cmd_form, cmd_readout, cmd_seed, cmd_wake;
  assign cmd_sample   = `HYMEM_CMD_SAMPLE(chk_wdata_i);
  assign cmd_transfer = `HYMEM_CMD_TRANSFER(chk_wdata_i);
  assign cmd_form     = `HYMEM_CMD_FORM(chk_wdata_i);
  assign cmd_readout  = `HYMEM_CMD_READOUT(chk_wdata_i);
  assign cmd_seed     = `HYMEM_CMD_SEED_LOAD(chk_wdata_i);
  assign cmd_wake     = `HYMEM_CMD_WAKE(chk_wdata_i);

  logic requeue;  // a command whose queue slot is taken
  assign requeue = (cmd_sample && queued_i[0]) || (cmd_transfer && queued_i[1]) ||
                   (cmd_form && queued_i[2]) || (cmd_readout && queued_i[3]) ||
                   (cmd_wake && queued_i[4]);

  always_comb begin
    code_o = 8'd0;
    if (chk_addr_i == `HYMEM_ADDR_CMD) begin
      if (requeue) begin
        code_o = `HYMEM_ERR_QUEUED;
      end else if (cmd_seed && busy_i) begin
        code_o = `HYMEM_ERR_BUSY;
      end else if ((cmd_sample || cmd_transfer) && !woken_i) begin
        code_o = `HYMEM_ERR_NOT_WOKEN;
      end
    end else if (busy_i) begin
      code_o = `HYMEM_ERR_BUSY;
    end else begin
      code_o = legal_code;
    end
  end

  assign ok_o = (code_o == 8'd0);

endmodule

`default_nettype wire
