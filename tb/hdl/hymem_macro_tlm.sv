// hymem_macro_tlm: transaction-level capture of the macro port, for the Python macro model.
//
// Testbench-only (not in rtl/). It sits on a synchronous controller's macro port
// (docs/macro_port.md) and turns pin activity into transactions, so that the Python model
// (hymem.sim.macro_tlm.MacroTlmModel) wakes once per batch of row operations instead of on
// every pin edge (docs/bench/cosim.md):
//
//   * it samples the port at every falling clock edge; the controller's outputs change
//     only at rising edges, so each change is seen once, half a cycle after it happened,
//     and is dated at the rising edge that made it (t_rise_q, in ps);
//   * each FeCAP word-line window (fe_wl_o up .. down, at most two pulses) becomes one
//     record of the FeCAP log, each memristor-port pulse one record of the MR log; both
//     carry a shared sequence number, so Python applies them in port order;
//   * reads are answered here when it can: the FeCAP read cache holds, per row, the data
//     Python predicted for the row's next read, valid while the row's generation counter
//     (gen_q, +1 at every pulse end on the row and at every transfer pulse on its slot's
//     MSB rows) equals the generation the prediction was made for (cache_gen). A read of a
//     row without a valid prediction, every ADC strobe, a log about to fill and every
//     protocol error raise a request (req_q + 1); Python's value-change callback on req_q
//     runs in the same time step, applies the logs and drives fe_rdata_o / mr_rdata_o
//     itself (a deposit), well before the controller samples them at the next rising edge;
//   * the rules between operations that a transaction cannot show (docs/macro_port.md:
//     fe.1, fe.2 pulse without word line or word line falling under a pulse, fe.3, fe.4
//     strobe outside a read pulse or twice, mr.1, mr.2, X/Z on a pin) are checked here and
//     reported as an error code in the record; the timing rules (setup, hold, widths,
//     sense and ADC delays) and the device rules are checked by Python on the record's times.
//
// What is exact and what is not: a synchronous controller (every port output a flop of
// clk_i) is captured exactly, with the times of its edges; a change between two falling
// edges that is undone before the second is not seen, so the pin-level model
// (hymem.sim.macro_port.MacroPortModel) stays the reference for anything else, and a test
// proves the two give the same results on the same controller (tb/hymem_macro_tlm).
//
// Record layouts and error codes: hymem_macro_tlm_layout.svh, generated from
// hymem.sim.macro_tlm (FE_FIELDS, MR_FIELDS, TLM_ERRORS), which decodes them.
`default_nettype none

module hymem_macro_tlm #(
  parameter int Lines      = 128,
  parameter int FecapRows  = 128,
  parameter int Slots      = 8,
  parameter int CodeBits   = 3,
  parameter int AdcBits    = 8,
  parameter int RowsPerSyn = 14,
  parameter int FeBanks    = 16,     // FeCAP log: FeBanks packed vectors of BankRecs records
  parameter int BankRecs   = 16,
  parameter int MrRecs     = 16,     // MR log depth
  parameter int GenBits    = 8,
  localparam int RowBits   = $clog2(FecapRows),
  localparam int SlotBits  = (Slots > 1) ? $clog2(Slots) : 1,
  localparam int MsbUnits  = (1 << CodeBits) - 1
) (
  input  wire                        clk_i,
  // FeCAP port
  input  wire  [RowBits-1:0]         fe_row_i,
  input  wire                        fe_wl_i,
  input  wire                        fe_sl_i,
  input  wire                        fe_bl_i,
  input  wire  [Lines-1:0]           fe_mask_i,
  input  wire                        fe_sae_i,
  output logic [Lines-1:0]           fe_rdata_o /*verilator public_flat_rw*/,
  // memristor port
  input  wire  [SlotBits-1:0]        mr_slot_i,
  input  wire  [Lines-1:0]           mr_pol_i,
  input  wire  [Lines-1:0]           mr_mask_i,
  input  wire  [Lines*CodeBits-1:0]  mr_code_i,
  input  wire                        mr_reset_i,
  input  wire                        mr_set_i,
  input  wire                        mr_form_i,
  input  wire                        mr_read_i,
  input  wire                        mr_adc_i,
  input  wire                        tl_pre_i,
  input  wire                        xfer_i,
  output logic [Lines*AdcBits-1:0]   mr_rdata_o /*verilator public_flat_rw*/
);

  // record layouts and error codes (generated from hymem.sim.macro_tlm)
`include "hymem_macro_tlm_layout.svh"

  localparam int FeCap = FeBanks * BankRecs;

  // ------------------------------------------------------------ Python's side
  // written by Python (deposits): the read cache, its generations, the drain pointers,
  // the minimum sense delay for which the cache's prediction holds (ps)
  logic [FecapRows*Lines-1:0]   cache_v     /*verilator public_flat_rw*/;
  logic [FecapRows*GenBits-1:0] cache_gen_v /*verilator public_flat_rw*/;
  logic [31:0]                  fe_rd_ptr   /*verilator public_flat_rw*/;
  logic [31:0]                  mr_rd_ptr   /*verilator public_flat_rw*/;
  logic [FecapRows*32-1:0]      cert_v      /*verilator public_flat_rw*/;  // per row, ps
  logic                         enable      /*verilator public_flat_rw*/;
  // read by Python
  logic [BankRecs*FE_W-1:0]     fe_log [0:FeBanks-1] /*verilator public_flat_rw*/;
  logic [MrRecs*MR_W-1:0]       mr_log      /*verilator public_flat_rw*/;
  logic [31:0]                  fe_wr_q     /*verilator public_flat_rw*/;
  logic [31:0]                  mr_wr_q     /*verilator public_flat_rw*/;
  logic [31:0]                  req_q       /*verilator public_flat_rw*/;
  logic                         overflow_q  /*verilator public_flat_rw*/;  // sticky
  logic [3:0]                   req_why_q   /*verilator public_flat_rw*/;  // 1 fe miss, 2 adc, 4 full, 8 error
  logic [FecapRows*GenBits-1:0] gen_q       /*verilator public_flat_rw*/;
  logic [FE_W-1:0]              fe_cur_q    /*verilator public_flat_rw*/;  // the open FeCAP record
  logic [MR_W-1:0]              mr_cur_q    /*verilator public_flat_rw*/;  // the open MR record

  // ------------------------------------------------------------ time
  logic [63:0] t_rise_q;        // ps of the last rising edge: when the outputs changed
  always @(posedge clk_i) t_rise_q <= 64'(longint'($realtime * 1000.0));

  // ------------------------------------------------------------ sampling state
  logic [RowBits-1:0]        row_p;
  logic                      wl_p, sl_p, bl_p, sae_p, adc_p;
  logic [Lines-1:0]          mask_p;
  logic [5:0]                mrp_p;          // reset, set, form, read, pre, xfer
  logic [SlotBits-1:0]       slot_p;
  logic [Lines-1:0]          pol_p, mmask_p;
  logic [Lines*CodeBits-1:0] code_p;
  logic [31:0]               seq_q;
  logic                      fe_open_q, mr_open_q;
  logic                      fe_pulse_q;     // a FeCAP pulse is on (in the open record)

  wire [5:0] mrp = {xfer_i, tl_pre_i, mr_read_i, mr_form_i, mr_set_i, mr_reset_i};

  function automatic logic [2:0] mr_kind(input logic [5:0] p);
    mr_kind = p[0] ? 3'd1 : p[1] ? 3'd2 : p[2] ? 3'd3 : p[3] ? 3'd4 : p[4] ? 3'd5 :
              p[5] ? 3'd6 : 3'd0;
  endfunction

  function automatic logic [31:0] off(input logic [63:0] t, input logic [63:0] t0);
    off = (t - t0 > 64'hFFFF_FFFF) ? 32'hFFFF_FFFF : 32'(t - t0);
  endfunction

  // the controls (X/Z tracked per pin on 4-state simulators)
  wire [10:0] ctl = {fe_wl_i, fe_sl_i, fe_bl_i, fe_sae_i, mrp, mr_adc_i};
  logic [10:0] ctl_def_q;

  // every input, and its value at the previous falling edge: a cycle without a change
  // costs one comparison
  wire [RowBits+Lines+SlotBits+(2+CodeBits)*Lines+11-1:0] pins =
      {fe_row_i, fe_wl_i, fe_sl_i, fe_bl_i, fe_sae_i, fe_mask_i, mr_slot_i, mr_pol_i,
       mr_mask_i, mr_code_i, mrp, mr_adc_i};
  logic [RowBits+Lines+SlotBits+(2+CodeBits)*Lines+11-1:0] pins_p;

  // The open records and the counters the sampling process and its tasks work on: module
  // variables, not task arguments or block locals, because Verilator copies a wide task
  // argument into temporaries that it clears on every clock edge at every call site (most
  // of this monitor's cost per cycle before), whether the task runs or not.
  logic [FE_W-1:0] fe;
  logic [MR_W-1:0] mr;
  logic [31:0]     seq, fwr, mwr;

  // one process: the port's changes of this cycle, in the order docs/macro_port.md gives
  // (pulse ends, then address / mask / data changes, then pulse starts and strobes)
  always @(negedge clk_i) if (pins !== pins_p) begin : sample
    logic [63:0] t;
    logic        req;
    logic [3:0]  why;
    int          p;
    logic        wl_c, sl_c, bl_c, sae_c, adc_c, err_xz;
    logic [5:0]  mrp_c;
    logic [10:0] ctl_known;
    ctl_known = ~'0;
`ifndef VERILATOR
    for (int i = 0; i < 11; i++) ctl_known[i] = !$isunknown(ctl[i]);
`endif
    {wl_c, sl_c, bl_c, sae_c, mrp_c, adc_c} = ctl & ctl_known;   // X/Z counts as 0
    err_xz = 1'b0;
    t   = t_rise_q;
    seq = seq_q;
    fwr = fe_wr_q;
    mwr = mr_wr_q;
    req = 1'b0;
    why = '0;
    fe  = fe_cur_q;
    mr  = mr_cur_q;
    if (enable) begin
      // X/Z: a control that has been 0/1 (since enable) must stay so; before, it counts as
      // idle. Address and data vectors matter where a record captures them.
`ifndef VERILATOR
      if ($isunknown(ctl) && (ctl_def_q & ~ctl_known) != 0) begin
        err_xz = 1'b1;
      end
`endif
      begin
        ctl_def_q <= ctl_def_q | ctl_known;
        // ---------------------------------------------------- memristor-port ends
        if (mr_open_q && (mrp_c & mrp_p) != mrp_p) begin
          mr[MR_TE +: 32] = off(t, mr[MR_TS +: 64]);
          if (mr[MR_KIND +: 3] == 3'd6) xfer_gens(mr[MR_SLOT +: 8]);
          mr_push();
        end
        // ---------------------------------------------------- FeCAP ends
        if (fe_pulse_q && ((sl_p && !sl_c) || (bl_p && !bl_c))) begin
          p = int'(fe[FE_NP +: 2]) - 1;
          fe[(p == 0 ? FE_TE0 : FE_TE1) +: 32] = off(t, fe[FE_TWL +: 64]);
          gen_q[fe[FE_ROW +: RowBits] * GenBits +: GenBits] <=
              gen_q[fe[FE_ROW +: RowBits] * GenBits +: GenBits] + 1'b1;
          fe_pulse_q <= 1'b0;
        end
        if (wl_p && !wl_c && fe_open_q) begin
          if ((sl_p && sl_c) || (bl_p && bl_c)) begin
            err_fe(ERR_FE2_WLOFF, t);
          end
          fe[FE_TFALL +: 32] = off(t, fe[FE_TWL +: 64]);
          fe_push();
          fe_open_q <= 1'b0;
        end
        // ---------------------------------------------------- vector changes
        if (fe_row_i != row_p && wl_p && wl_c && fe_open_q) err_fe(ERR_FE1_ROW, t);
        else if ((fe_row_i != row_p || fe_mask_i != mask_p) && fe_open_q &&
                 ((sl_p && sl_c) || (bl_p && bl_c))) err_fe(ERR_FE1_VEC, t);
        if ((mr_slot_i != slot_p || mr_pol_i != pol_p || mr_mask_i != mmask_p ||
             mr_code_i != code_p) && mr_open_q && (mrp_c & mrp_p) != 0) begin
          if (mr[MR_ERR +: 8] == 0) begin
            mr[MR_ERR +: 8] = 8'(ERR_MR2_VEC);
            mr[MR_TERR +: 32] = off(t, mr[MR_TS +: 64]);
          end
        end
        // ---------------------------------------------------- starts and strobes
        if (wl_c && !wl_p) begin
          fe = '0;
          fe[FE_ROW +: 8] = 8'(fe_row_i);
          fe[FE_TWL +: 64] = t;
          fe_open_q <= 1'b1;
          if (mrp_c != 0) err_fe(ERR_MR1_WL, t);
        end
        if ((sl_c && !sl_p) || (bl_c && !bl_p)) begin
          if (!wl_c) begin
            // a pulse without word line: a record of its own (the pulse is dropped)
            fe = '0;
            fe[FE_ROW +: 8] = 8'(fe_row_i);
            fe[FE_TWL +: 64] = t;
            fe[FE_ERR +: 8] = 8'(ERR_FE2_NOWL);
            fe_push();
          end else if (sl_c && bl_c) begin
            err_fe(ERR_FE3_BOTH, t);
          end else if (mrp_c != 0) begin
            err_fe(ERR_FE3_MR, t);
          end else if (fe[FE_NP +: 2] == 2'd2) begin
            err_fe(ERR_MANY, t);
          end else begin
            p = int'(fe[FE_NP +: 2]);
            fe[FE_NP +: 2] = 2'(p + 1);
            fe[(p == 0 ? FE_BL0 : FE_BL1)] = bl_c;
            fe[(p == 0 ? FE_TS0 : FE_TS1) +: 32] = off(t, fe[FE_TWL +: 64]);
            fe[(p == 0 ? FE_MASK0 : FE_MASK1) +: Lines] = fe_mask_i;
            fe_pulse_q <= 1'b1;
          end
        end
        if (sae_c && !sae_p) begin
          p = int'(fe[FE_NP +: 2]) - 1;
          if (!sl_c || !fe_open_q || p < 0 || fe[(p == 0 ? FE_BL0 : FE_BL1)]) begin
            if (fe_open_q) err_fe(ERR_FE4_SAE, t);
            else begin
              fe = '0;
              fe[FE_TWL +: 64] = t;
              fe[FE_ERR +: 8] = 8'(ERR_FE4_SAE);
              fe_push();
            end
          end else if (fe[(p == 0 ? FE_SNS0 : FE_SNS1)]) begin
            err_fe(ERR_FE4_TWICE, t);
          end else begin
            fe[(p == 0 ? FE_SNS0 : FE_SNS1)] = 1'b1;
            fe[(p == 0 ? FE_TA0 : FE_TA1) +: 32] = off(t, fe[FE_TWL +: 64]);
            if (cache_gen_v[fe_row_i * GenBits +: GenBits] == gen_q[fe_row_i * GenBits +: GenBits]
                && (t - (fe[FE_TWL +: 64] + 64'(fe[(p == 0 ? FE_TS0 : FE_TS1) +: 32])))
                   >= 64'(cert_v[fe_row_i * 32 +: 32])) begin
              fe[(p == 0 ? FE_SRV0 : FE_SRV1)] = 1'b1;
              fe[FE_RDATA +: Lines] = cache_v[fe_row_i * Lines +: Lines] & fe_mask_i;
              fe_rdata_o <= cache_v[fe_row_i * Lines +: Lines] & fe_mask_i;
            end else begin
              why = why | 4'd1;        // Python reads fe_cur_q, drives fe_rdata_o and
              req = 1'b1;              // puts the data into the record (FE_RDATA)
            end
          end
        end
        if (mrp_c != 0 && (mrp_c & mrp_p) != mrp_c) begin       // a memristor-port pulse starts
          mr = '0;
          mr[MR_KIND +: 3] = mr_kind(mrp_c & ~mrp_p);
          mr[MR_SLOT +: 8] = 8'(mr_slot_i);
          mr[MR_TS +: 64] = t;
          mr[MR_POL +: Lines] = mr_pol_i;
          mr[MR_MASK +: Lines] = mr_mask_i;
          mr[MR_CODE +: Lines*CodeBits] = mr_code_i;
          if ($countones(mrp_c) > 1) begin
            mr[MR_ERR +: 8] = 8'(ERR_MR1_TWO);
          end else if (wl_c || sl_c || bl_c) begin
            mr[MR_ERR +: 8] = 8'(ERR_MR1_FE);
          end
          if (mr[MR_ERR +: 8] != 0) begin
            why = why | 4'd8;
            req = 1'b1;
          end
          mr_open_q <= 1'b1;
        end
        if (adc_c && !adc_p) begin
          if (!mrp_c[3] || !mr_open_q && (mrp_c & mrp_p) == 0 && mr_kind(mrp_c) != 3'd4) begin
            mr = '0;
            mr[MR_TS +: 64] = t;
            mr[MR_ERR +: 8] = 8'(ERR_MR4_ADC);
            mr_push();
            why = why | 4'd8;
            req = 1'b1;
          end else begin
            mr[MR_ADC] = 1'b1;
            mr[MR_TA +: 32] = off(t, mr[MR_TS +: 64]);
            why = why | 4'd2;          // Python drives mr_rdata_o
            req = 1'b1;
          end
        end
        if (fe[FE_ERR +: 8] != 0 && fe_cur_q[FE_ERR +: 8] == 0) begin
          why = why | 4'd8;
          req = 1'b1;
        end
      end
      if (err_xz) begin
        if (fe_open_q) err_fe(ERR_XZ, t);
        else begin
          fe = '0;
          fe[FE_TWL +: 64] = t;
          fe[FE_ERR +: 8] = 8'(ERR_XZ);
          fe_push();
        end
        why = why | 4'd8;
        req = 1'b1;
      end
      if (fwr - fe_rd_ptr > 32'(FeCap) || mwr - mr_rd_ptr > 32'(MrRecs)) begin
        overflow_q <= 1'b1;            // records were overwritten before Python read them
        why = why | 4'd8;
        req = 1'b1;
      end else if (fwr - fe_rd_ptr >= 32'(FeCap - 4) || mwr - mr_rd_ptr >= 32'(MrRecs - 2)) begin
        why = why | 4'd4;
        req = 1'b1;
      end
    end
    fe_cur_q <= fe;
    mr_cur_q <= mr;
    seq_q <= seq;
    fe_wr_q <= fwr;
    mr_wr_q <= mwr;
    row_p <= fe_row_i;  wl_p <= wl_c;  sl_p <= sl_c;  bl_p <= bl_c;
    sae_p <= sae_c;  mask_p <= fe_mask_i;  adc_p <= adc_c;  mrp_p <= mrp_c;
    slot_p <= mr_slot_i;  pol_p <= mr_pol_i;  mmask_p <= mr_mask_i;  code_p <= mr_code_i;
    pins_p <= pins;
    if (req) begin
      req_why_q <= why;
      req_q <= req_q + 1'b1;
    end
  end

  // helpers of the sampling process: they work on the open records fe / mr and the counters
  // seq / fwr / mwr (above)
  task err_fe(input int code, input logic [63:0] t);   // the record's first error only
    if (fe[FE_ERR +: 8] == 0) begin
      fe[FE_ERR +: 8] = 8'(code);
      fe[FE_TERR +: 32] = off(t, fe[FE_TWL +: 64]);
    end
  endtask

  // A record is numbered when it is complete (the logs are in port order by FE_SEQ /
  // MR_SEQ), written into its log and closed. The logs are written with blocking
  // assignments (only Python reads them, through VPI, after the time step): no delayed
  // copy of a log bank.
  task fe_push;
    int b, k;
    fe[FE_SEQ +: 32] = seq;
    b = int'((fwr / 32'(BankRecs)) % 32'(FeBanks));
    k = int'(fwr % 32'(BankRecs));
    fe_log[b][k * FE_W +: FE_W] = fe;
    fwr = fwr + 1;
    seq = seq + 1;
    fe = '0;
  endtask

  task mr_push;
    int k;
    mr[MR_SEQ +: 32] = seq;
    k = int'(mwr % 32'(MrRecs));
    mr_log[k * MR_W +: MR_W] = mr;
    mwr = mwr + 1;
    seq = seq + 1;
    mr = '0;
  endtask

  task automatic xfer_gens(input logic [7:0] slot);
    int r0;
    r0 = int'(slot) * RowsPerSyn + 1;
    for (int u = 0; u < MsbUnits; u++) begin
      gen_q[(r0 + u) * GenBits +: GenBits] <= gen_q[(r0 + u) * GenBits +: GenBits] + 1'b1;
    end
  endtask

  // (the signals Python writes are left alone here: Python may write them at time 0,
  // before initial blocks run, and an X enable means off)
  initial begin
    // the pins as idle (0) before anything is driven: a 4-state simulator starts them at X
    pins_p = '0;
    {row_p, wl_p, sl_p, bl_p, sae_p, mask_p, adc_p, mrp_p, slot_p, pol_p, mmask_p, code_p} = '0;
    ctl_def_q = '0;
    seq_q = '0;
    fe_wr_q = '0;
    mr_wr_q = '0;
    req_q = '0;
    overflow_q = 1'b0;
    req_why_q = '0;
    fe_open_q = 1'b0;
    mr_open_q = 1'b0;
    fe_pulse_q = 1'b0;
    gen_q = '0;
    fe_cur_q = '0;
    mr_cur_q = '0;
    fe_rdata_o = '0;
    mr_rdata_o = '0;
  end

endmodule

`default_nettype wire
