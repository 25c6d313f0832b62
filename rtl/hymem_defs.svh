// hymem_defs.svh: project-wide macros, included by every RTL file.
`ifndef HYMEM_DEFS_SVH
`define HYMEM_DEFS_SVH

// HYMEM_CHECK(NAME, COND, MSG): parameter sanity check.
// Stops elaboration in Verilator and Yosys (generate-block $fatal; $error in
// Yosys 0.23, whose $fatal(1, MSG) prints "FATAL: ." without the message).
// Icarus 11 has no elaboration-time system tasks, so there it stops the
// simulation at time 0 instead. NAME labels the block; MSG names the parameter
// and its range. tb/test_param_checks.py builds every limit illegally on each tool.
`ifdef __ICARUS__
`define HYMEM_CHECK(NAME, COND, MSG) \
  initial begin : NAME \
    if (!(COND)) $fatal(1, MSG); \
  end
`elsif YOSYS
`define HYMEM_CHECK(NAME, COND, MSG) \
  if (!(COND)) begin : NAME \
    $error(MSG); \
  end
`else
`define HYMEM_CHECK(NAME, COND, MSG) \
  if (!(COND)) begin : NAME \
    $fatal(1, MSG); \
  end
`endif

// Operation codes between the engines and the pulse sequencers (one definition for every
// block; the sequencers' datasheets say what each does).
// hymem_fecap_seq (req_op_i)
typedef enum logic [1:0] {
  FE_READ       = 2'd0,  // destructive read (sense; the row awaits its write-back)
  FE_WRITE_BACK = 2'd1,  // the write after a read: BL pulse on the lines whose bit is 1
  FE_WRITE      = 2'd2   // full write: both pulses
} hymem_fe_op_e;
// hymem_mr_seq (req_op_i)
typedef enum logic [2:0] {
  MR_RESET = 3'd0,  // RESET pulse
  MR_SET   = 3'd1,  // digital-code SET
  MR_FORM  = 3'd2,  // forming pulse
  MR_READ  = 3'd3,  // read + ADC
  MR_XFER  = 3'd4   // DAC-free transfer (precharge, gap, transfer pulse)
} hymem_mr_op_e;

`endif  // HYMEM_DEFS_SVH
