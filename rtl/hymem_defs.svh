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

`endif  // HYMEM_DEFS_SVH
