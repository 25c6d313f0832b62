// hymem_defs.svh: project-wide macros, included by every RTL file.
`ifndef HYMEM_DEFS_SVH
`define HYMEM_DEFS_SVH

// HYMEM_CHECK(NAME, COND, MSG): parameter sanity check.
// Stops elaboration in Verilator and Yosys (generate-block $fatal). Icarus 11
// has no elaboration-time system tasks, so there it stops the simulation at
// time 0 instead. NAME labels the block; MSG names the parameter and its range.
`ifdef __ICARUS__
`define HYMEM_CHECK(NAME, COND, MSG) \
  initial begin : NAME \
    if (!(COND)) $fatal(1, MSG); \
  end
`else
`define HYMEM_CHECK(NAME, COND, MSG) \
  if (!(COND)) begin : NAME \
    $fatal(1, MSG); \
  end
`endif

`endif  // HYMEM_DEFS_SVH
