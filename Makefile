# hymem: hybrid FeCAP + memristor learning-memory controller.
# `make help` lists the targets. `make sim` and `make test` set themselves up.

SHELL     := /bin/bash
PYTHON    ?= python3
VENV      ?= .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.hymem-installed

SIM       ?= all#        all | icarus | verilator
SEED      ?=#            random seed of the constrained-random runs (default: random, printed)
FULL      ?= 0#          1: make test runs the random seed on every simulator (default: Verilator only)
JOBS      ?= auto#       pytest-xdist workers
TESTS     ?= tb#         what pytest runs: a directory, a file, or file::test[id]
WAVES     ?= 0#          1 = dump waves (FST on Icarus, VCD on Verilator) in the test's run dir
PYTEST_ARGS ?=#          extra pytest arguments, e.g. PYTEST_ARGS='-k prng'
BENCH_ARGS ?=#           extra `hymem bench` arguments, e.g. BENCH_ARGS=--quick
SIM_ARGS  ?=#            extra `hymem cosim` arguments for `make sim`, e.g. SIM_ARGS='--k 20 --skip-unchanged'
COSIM_BENCH_ARGS ?=#     extra bench/bench_cosim.py arguments, e.g. COSIM_BENCH_ARGS='--parts update --sims verilator'
SYNTH_ARGS ?=#           extra scripts/rtl_check.py synth arguments, e.g. SYNTH_ARGS='--param SynPerCycle=4'
TRANSFER_BENCH_ARGS ?=#  extra bench/bench_transfer.py arguments, e.g. TRANSFER_BENCH_ARGS='--quick --out build/transfer'
MINIBATCH_BENCH_ARGS ?=# extra bench/bench_minibatch.py arguments, e.g. '--seeds 1 --epochs 2 --out build/mb'
RETENTION_BENCH_ARGS ?=# extra bench/bench_retention.py arguments, e.g. '--seeds 1 --epochs 1 --out build/ret'
LANES_BENCH_ARGS ?=#     extra bench/bench_lanes.py arguments, e.g. LANES_BENCH_ARGS='--lanes 1,8 --parts cycles'
SPEC      ?= examples/sweep.toml#  make sweep: the sweep spec
SWEEP_ARGS ?=#           extra `hymem sweep` arguments, e.g. SWEEP_ARGS='--scheduler tcp://host:8786'

export WAVES

.DEFAULT_GOAL := help
.PHONY: help venv sim demo test coverage lint synth regs waves bench bench-cosim bench-lanes bench-transfer bench-minibatch bench-retention sweep clean distclean

help: ## list the targets
	@echo "hymem make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 14
	@echo "variables: SIM=all|icarus|verilator SEED=N FULL=1 BUDGET=s EPOCHS=N SAMPLES=N SIM_ARGS=... JOBS=N"
	@echo "           TESTS=path WAVES=1"
	@echo "           PYTEST_ARGS=... BENCH_ARGS=... COSIM_BENCH_ARGS=... SYNTH_ARGS=... LANES_BENCH_ARGS=... TRANSFER_BENCH_ARGS=..."
	@echo "           SPEC=file.toml SWEEP_ARGS=..."

$(STAMP): pyproject.toml
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create $(VENV); install python3-venv"; exit 1; }
	$(VPY) -m pip install --quiet --disable-pip-version-check -e '.[cluster]'
	@touch $@

venv: $(STAMP) ## create .venv and install hymem with its dependencies

SIM_ONE   = $(if $(filter all,$(SIM)),verilator,$(SIM))
SAMPLES   ?=#            make sim: train exactly N samples (default: whole epochs)
EPOCHS    ?=#            make sim: train N epochs (default: as many as fit in BUDGET)
BUDGET    ?= 300#        make sim: wall-time budget in seconds (default 5 minutes)

sim: $(STAMP) ## the main job: train digits 64-16-10 through the RTL (hymem cosim) on SIM (default verilator) for BUDGET s, beside float and the emulated host
	$(VENV)/bin/hymem cosim --sim $(SIM_ONE) --time-budget $(BUDGET) \
	  $(if $(SAMPLES),--samples $(SAMPLES)) $(if $(EPOCHS),--epochs $(EPOCHS)) \
	  $(if $(SEED),--seed $(SEED)) $(if $(filter 1,$(WAVES)),--waves) \
	  --json build/cosim-$(SIM_ONE).json $(SIM_ARGS)

demo: $(STAMP) ## the RTL primitives' demo (PRNG, MSB extraction, saturating adder) on SIM
	$(VENV)/bin/hymem demo --sim $(SIM_ONE) $(if $(SEED),--seed $(SEED))

test: $(STAMP) ## the regression on every simulator (SIM=icarus|verilator for one)
	$(VPY) -m pytest -n $(JOBS) --sim $(SIM) $(if $(SEED),--seed $(SEED)) $(if $(filter 1,$(FULL)),--full) $(PYTEST_ARGS) $(TESTS)

COV_DIR   := build/coverage
COVERAGE_ENFORCE ?= 1#   0 = make coverage reports a miss of the goals without failing
COVERAGE_ALL ?= 0#       1 = make coverage runs the runs graded out too (tb/conftest.py COVERAGE_GRADED_OUT)

coverage: $(STAMP) ## code coverage: the Verilator regression in coverage builds, merged; HTML report, table per block; fails below the goals
	rm -rf $(COV_DIR)
	HYMEM_COVERAGE=1 HYMEM_COVERAGE_DIR=$(abspath $(COV_DIR))/dat HYMEM_COVERAGE_ALL=$(COVERAGE_ALL) \
	  $(VPY) -m pytest -n $(JOBS) \
	  --sim verilator $(if $(SEED),--seed $(SEED)) $(PYTEST_ARGS) $(TESTS)
	$(VPY) scripts/coverage.py --dat-dir $(COV_DIR)/dat --out $(COV_DIR) $(if $(filter 0,$(COVERAGE_ENFORCE)),--report-only)

waves: $(STAMP) ## one test with waves: make waves TESTS='tb/hymem_prng/test_hymem_prng.py::test_hymem_prng[icarus-seed_fixed-w32_l4]'
	WAVES=1 $(VPY) -m pytest -n 0 -s --sim $(SIM) $(if $(SEED),--seed $(SEED)) $(PYTEST_ARGS) $(TESTS)

lint: $(STAMP) ## verilator --lint-only -Wall on every RTL module (zero warnings)
	$(VPY) scripts/rtl_check.py lint

synth: $(STAMP) ## Yosys synthesis of every RTL module; fails on latches/unmapped logic; cell table
	$(VPY) scripts/rtl_check.py synth $(SYNTH_ARGS)

regs: $(STAMP) ## regenerate the register block, C header and docs from rtl/hymem_regs.rdl
	$(VPY) scripts/regmap.py

bench: $(STAMP) ## learning-reference benchmark: scheme table + k sweep -> docs/bench/ (~35 min; BENCH_ARGS=--quick -> build/bench-quick/)
	$(VENV)/bin/hymem bench --out $(if $(findstring --quick,$(BENCH_ARGS)),build/bench-quick,docs/bench) $(BENCH_ARGS)

bench-cosim: $(STAMP) ## co-simulation benchmark: RTL + macro model, tables as in docs/bench/cosim.md (~10 min; COSIM_BENCH_ARGS=--quick ~3 min)
	@mkdir -p build
	$(VPY) bench/bench_cosim.py --json build/bench_cosim.json $(COSIM_BENCH_ARGS)

bench-lanes: $(STAMP) ## update engine SynPerCycle PPA: cells, flops, cycles/sample, simulation speed (~40 min)
	@mkdir -p build
	$(VPY) bench/bench_lanes.py --json build/bench_lanes.json $(LANES_BENCH_ARGS)

bench-transfer: $(STAMP) ## last-layer transfer learning: reference (3 seeds x 2 scenarios) and one scenario through the RTL -> docs/bench/transfer.md (~25 min)
	$(VPY) bench/bench_transfer.py $(TRANSFER_BENCH_ARGS)

bench-minibatch: $(STAMP) ## online vs mini-batch 10 on mnist5k (paper Fig. 5f) -> docs/bench/minibatch.md/.png (~40 min)
	$(VPY) bench/bench_minibatch.py $(MINIBATCH_BENCH_ARGS)

bench-retention: $(STAMP) ## accuracy against time with memristor drift, with and without refresh -> docs/bench/retention.md/.png (~30 min)
	$(VPY) bench/bench_retention.py $(RETENTION_BENCH_ARGS)

sweep: $(STAMP) ## a sweep of train/cosim runs on Dask (SPEC=examples/sweep.toml: 24 jobs, ~1 min) -> build/sweep/NAME/
	$(VENV)/bin/hymem sweep $(SPEC) $(SWEEP_ARGS)

clean: ## remove simulation builds, results and caches
	rm -rf sim_build .pytest_cache results.xml
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean ## also remove .venv
	rm -rf $(VENV) models/*.egg-info
