// hymem_verify_scan: checks a memristor row read lane by lane, and keeps the
// retry bookkeeping of program-and-verify and of forming.
//
// Datasheet (the rules are docs/controller.md, transfer step 5 and "Forming";
// bit-exact models: hymem.digital.engine.verify_pass, formed and RetryLoop)
//   Lines under test: load_i sets todo := load_mask_i and tries := 0.
//   Scans: while scan_plus_i, scan_minus_i or scan_form_i is on, one lane per
//     cycle is checked, lane 0 first (lane_o; last_o in the cycle of lane
//     Lines-1; scans may follow each other without a gap); the result is shifted into pass (pass_o holds every lane's
//     result, in lane order, after a whole scan):
//       scan_plus_i   the G+ read of a verify: pass = the G+ device reads in its
//                     window: window[code] if the code is positive, window[0] if
//                     it is negative;
//       scan_minus_i  the G- read: pass = (the lane's G+ result) and the G-
//                     device in its window (window[code] if negative, else
//                     window[0]); a scan_plus_i scan must come first;
//       scan_form_i   a forming read: pass = ADC code >= form target.
//     window[m] = [vfy_lo[m], vfy_hi[m]] (ADC codes, inclusive); code and sign
//     come per lane from code_mag_i (bit planes) and code_sign_i. In the final
//     round (tries == max_i) of a G- or forming scan, fail_o flags every lane
//     of todo that does not pass, in the cycle it is checked.
//   decide_i: todo := todo & ~pass; again_o (valid in that cycle) = some line
//     is left and tries != max_i, and then tries := tries + 1.
//   Configuration (windows, form target) is latched at cfg_load_i.
//   One set of comparators for all lanes: a scan takes Lines cycles.

`include "hymem_defs.svh"

`default_nettype none

module hymem_verify_scan #(
  parameter int Lines    = 128,
  parameter int CodeBits = 3,
  parameter int AdcBits  = 8,
  localparam int Levels   = 1 << CodeBits,
  localparam int LaneBits = $clog2(Lines)
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // configuration, latched at cfg_load_i
  input  logic                      cfg_load_i,
  input  logic [Levels*AdcBits-1:0] cfg_vfy_lo_i,      // window of level m at [m*AdcBits +: AdcBits]
  input  logic [Levels*AdcBits-1:0] cfg_vfy_hi_i,
  input  logic [AdcBits-1:0]        cfg_form_target_i,
  // lines under test and retries
  input  logic                      load_i,
  input  logic [Lines-1:0]          load_mask_i,
  input  logic [7:0]                max_i,
  input  logic                      decide_i,
  output logic [Lines-1:0]          todo_o,
  output logic                      again_o,
  // scans
  input  logic                      scan_plus_i,
  input  logic                      scan_minus_i,
  input  logic                      scan_form_i,
  input  logic [Lines*AdcBits-1:0]  adc_i,             // lane l at [l*AdcBits +: AdcBits]
  input  logic [Lines-1:0]          code_sign_i,
  input  logic [CodeBits*Lines-1:0] code_mag_i,        // bit b of lane l at [b*Lines + l]
  output logic [LaneBits-1:0]       lane_o,
  output logic                      last_o,
  output logic [Lines-1:0]          pass_o,
  output logic                      fail_o
);

  `HYMEM_CHECK(chk_params, Lines >= 2 && CodeBits >= 1 && CodeBits <= 8 && AdcBits >= 2 &&
               AdcBits <= 16,
               "hymem_verify_scan: need Lines >= 2, CodeBits in 1..8, AdcBits in 2..16")
  // an illegal Lines reaches no logic (a one-lane shift register and a zero-width lane count
  // would stop the elaboration before the check speaks): LN = Lines in every legal build
  localparam int LN = (Lines >= 2) ? Lines : 2;
  localparam int LB = $clog2(LN);

  // ------------------------------------------------------------------ state
  logic [Levels*AdcBits-1:0] lo_q, hi_q;
  logic [AdcBits-1:0]        target_q;
  logic [LN-1:0]             todo_q, pass_q;
  logic [LB-1:0]             lane_q;
  logic [7:0]                tries_q;

  // ------------------------------------------------------- the lane in hand
  logic                scanning, scan_bit, final_round;
  logic [AdcBits-1:0]  adc_lane, lo_m, hi_m, lo_0, hi_0;
  logic [CodeBits-1:0] cm_lane;
  logic                cs_lane, in_target, in_zero, pass_head;
  logic [LN-1:0]       pass_shifted;

  assign scanning = scan_plus_i || scan_minus_i || scan_form_i;
  assign adc_lane = adc_i[lane_q*AdcBits +: AdcBits];
  for (genvar b = 0; b < CodeBits; b++) begin : gen_cm
    assign cm_lane[b] = code_mag_i[b*LN + 32'(lane_q)];
  end
  assign cs_lane   = code_sign_i[lane_q];
  assign lo_m      = lo_q[cm_lane*AdcBits +: AdcBits];
  assign hi_m      = hi_q[cm_lane*AdcBits +: AdcBits];
  assign lo_0      = lo_q[AdcBits-1:0];
  assign hi_0      = hi_q[AdcBits-1:0];
  assign in_target = (adc_lane >= lo_m) && (adc_lane <= hi_m);
  assign in_zero   = (adc_lane >= lo_0) && (adc_lane <= hi_0);
  // the pass register shifts one lane per scan cycle: after Lines cycles, lane l's result
  // is at bit l again, and during a G- scan bit 0 is the lane's G+ result
  assign pass_head    = pass_q[0];
  assign pass_shifted = {scan_bit, pass_q[LN-1:1]};

  always_comb begin
    scan_bit = 1'b0;
    if (scan_plus_i)  scan_bit = cs_lane ? in_zero : in_target;
    if (scan_minus_i) scan_bit = pass_head && (cs_lane ? in_target : in_zero);
    if (scan_form_i)  scan_bit = (adc_lane >= target_q);
  end

  assign final_round = (tries_q == max_i);
  assign fail_o      = (scan_minus_i || scan_form_i) && final_round && todo_q[lane_q] && !scan_bit;
  assign last_o      = scanning && (lane_q == LB'(LN - 1));
  assign again_o     = ((todo_q & ~pass_q) != '0) && !final_round;

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      lo_q     <= '0;
      hi_q     <= '0;
      target_q <= '0;
      todo_q   <= '0;
      pass_q   <= '0;
      lane_q   <= '0;
      tries_q  <= '0;
    end else begin
      if (cfg_load_i) begin
        lo_q     <= cfg_vfy_lo_i;
        hi_q     <= cfg_vfy_hi_i;
        target_q <= cfg_form_target_i;
      end
      if (scanning) begin
        lane_q <= last_o ? '0 : lane_q + 1'b1;   // back-to-back scans start at lane 0
        pass_q <= pass_shifted;
      end else begin
        lane_q <= '0;
      end
      if (load_i) begin
        todo_q  <= load_mask_i;
        tries_q <= '0;
      end else if (decide_i) begin
        todo_q <= todo_q & ~pass_q;
        if (again_o) tries_q <= tries_q + 1'b1;
      end
    end
  end

  assign todo_o = todo_q;
  assign pass_o = pass_q;
  assign lane_o = lane_q;

endmodule

`default_nettype wire
