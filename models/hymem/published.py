"""Published figures the models default to, each with its source.

Source unless noted: M. Martemucci et al., "A ferroelectric-memristor memory for
both training and inference", Nature Electronics 8, 921-933 (2025),
doi:10.1038/s41928-025-01454-7 (main text and figures; the supplementary notes
with exact programming conditions are not public).

Everything here is a number someone measured. Model parameters that the paper
does not give (and that we therefore chose) live with the model that uses them
and say so.
"""

from __future__ import annotations

# --- memristor (1T1R), after forming ---------------------------------------------------
#: Mean conductance of the 8 levels programmed by the DAC-free transfer, code magnitude 0..7 (uS).
MEMRISTOR_LEVEL_MEAN_US = (1.4, 11.9, 36.5, 58.3, 73.9, 85.5, 95.9, 103.9)
#: Average spread of a level after transfer (uS), about 0.6 of one 4-bit weight step.
MEMRISTOR_LEVEL_SIGMA_US = 8.7
#: SET compliance current range spanned by the transfer (uA).
SET_COMPLIANCE_RANGE_UA = (25.8, 66.6)
#: SET/RESET cycles before failure.
MEMRISTOR_ENDURANCE_CYCLES = 1e5
#: Retention: stable for about one month (s).
MEMRISTOR_RETENTION_S = 30 * 24 * 3600.0
#: Forming: adaptive 6 V, 300 us pulses until the device reaches 50 kOhm.
FORMING_V = 6.0
FORMING_PULSE_S = 300e-6
FORMING_TARGET_OHM = 50e3
#: Read pulse amplitude (V).
MEMRISTOR_READ_V = 0.4

# --- FeCAP (1T1C), never formed --------------------------------------------------------
#: Program / read pulse: 3 V, 2 us.
FECAP_PULSE_V = 3.0
FECAP_PULSE_S = 2e-6
#: Memory window over 16,384 devices: median and worst case (V).
FECAP_WINDOW_MEDIAN_V = 0.360
FECAP_WINDOW_WORST_V = 0.120
FECAP_POPULATION = 16384
#: Device and bit-line capacitance (F), in E = MW * (C_D + C_BL) * Vprog.
FECAP_C_D_F = 9.5e-15
FECAP_C_BL_F = 188e-15
#: Switching energy below 200 fJ/bit.
FECAP_SWITCH_ENERGY_MAX_J = 200e-15
#: Wake-up: the window opens over about 1,000 cycles; median window still positive beyond 1e7.
FECAP_WAKEUP_CYCLES = 1e3
FECAP_ENDURANCE_CYCLES = 1e7

# --- transfer --------------------------------------------------------------------------
#: Transfer-line voltage range from the MSB FeCAP charge (V).
TRANSFER_LINE_V_RANGE = (0.5, 1.5)
#: Transfer pulse: FeCAP source lines 3.5 V for 10 us (word lines 4.8 V, bit line floating);
#: memristor source line 2.3 V for 10 us with its bit line at -0.9 V; transfer line precharged to 0 V.
TRANSFER_FECAP_SL_V = 3.5
TRANSFER_WL_V = 4.8
TRANSFER_MEMRISTOR_SL_V = 2.3
TRANSFER_MEMRISTOR_BL_V = -0.9
TRANSFER_PULSE_S = 10e-6

# --- array -----------------------------------------------------------------------------
TRANSFER_LINES = 128
FECAPS_PER_LINE = 128
MEMRISTORS_PER_LINE = 16
SYNAPSES_PER_LINE = 8

# --- system-level energy used in the paper's estimates -----------------------------------
ENERGY_MEMRISTOR_WRITE_J = 1e-12
ENERGY_FECAP_WRITE_J = 100e-15

# --- learning results (figure values) ----------------------------------------------------
#: MNIST online (batch 1), 784-200-100-10, layer norm, ReLU, softmax, lr 0.1, 10 epochs, k=100, p=0.2.
MNIST_ONLINE_ACCURACY = {"float": 0.972, "hybrid_no_var": 0.967, "hybrid_var": 0.952}
MNIST_BATCH10_ACCURACY = {"float": 0.981, "hybrid_no_var": 0.980, "hybrid_var": 0.973}
ECG_ACCURACY = {"float": 0.944, "hybrid_no_var": 0.935, "hybrid_var": 0.925}
FASHION_ACCURACY = {"float": 0.864, "hybrid_no_var": 0.844, "hybrid_var": 0.831}
#: Bernoulli update-mask probability: 0.2 for MNIST and ECG, 0.1 for Fashion-MNIST.
MASK_P = {"mnist": 0.2, "ecg": 0.2, "fashion": 0.1}
#: Transfer period for MNIST.
TRANSFER_K_MNIST = 100
#: At k = 100 on MNIST: about 38 nJ of programming energy, 38x less than k = 1.
MNIST_K100_PROGRAMMING_ENERGY_J = 38e-9
