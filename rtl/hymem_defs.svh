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

// The state machines' states (one type per FSM, so waves show names: tb/waves/ has a
// GTKWave translate filter for each, written by `make regs`). Encodings only: the
// numbers are the ones the FSMs always had.
// hymem_fecap_seq (state_q): one row operation, phase by phase (its datasheet)
typedef enum logic [2:0] {
  FS_IDLE  = 3'd0,  // ready for a request
  FS_SETUP = 3'd1,  // word line on, before the first pulse
  FS_P0    = 3'd2,  // SL pulse (t_pulse): the read pulse, or a write's pulse of the 0s
  FS_MID   = 3'd3,  // hold between the two pulses
  FS_P1    = 3'd4,  // BL pulse (t_pulse): the write of the 1s
  FS_HOLD  = 3'd5,  // word line on after the last pulse
  FS_GAP   = 3'd6,  // recovery, word line off
  FS_DONE  = 3'd7   // done_o for one cycle
} hymem_fe_state_e;
// hymem_mr_seq (state_q): one memristor operation
typedef enum logic [2:0] {
  MS_IDLE = 3'd0,   // ready for a request
  MS_PRE  = 3'd1,   // transfer: transfer-line precharge (t_pre)
  MS_GAP1 = 3'd2,   // transfer: gap between precharge and transfer pulse (t_gap)
  MS_MAIN = 3'd3,   // the pulse (RESET, SET, FORM, read + ADC, transfer)
  MS_GAP  = 3'd4,   // recovery
  MS_DONE = 3'd5    // done_o for one cycle
} hymem_mr_state_e;
// hymem_core (run_q): the operation the scheduler runs
typedef enum logic [2:0] {
  R_IDLE = 3'd0,    // nothing runs
  R_UPD  = 3'd1,    // a sample (update engine)
  R_XFER = 3'd2,    // a transfer (transfer engine)
  R_FORM = 3'd3,    // forming (transfer engine's forming engine)
  R_READ = 3'd4,    // read-out: request to the memristor sequencer
  R_WAIT = 3'd5,    // read-out in flight
  R_WAKE = 3'd6     // a wake-up (wake-up engine)
} hymem_run_e;
// hymem_wake_engine (st_q): the FeCAP wake-up
typedef enum logic [2:0] {
  W_IDLE = 3'd0,    // nothing runs
  W_ROW  = 3'd1,    // row start: abort?
  W_ONE  = 3'd2,    // full write of ones
  W_ZERO = 3'd3,    // full write of zeros
  W_NEXT = 3'd4     // next row, pass, or done
} hymem_wake_state_e;

`endif  // HYMEM_DEFS_SVH
