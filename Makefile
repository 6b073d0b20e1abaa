# Each target sets up what it needs: a virtual environment in .venv with the
# project and its test tools, and Graphviz's `dot` from Debian when missing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: verify test lint deps clean diagrams designs qemu bench-qemu

verify: $(STAMP) deps
	$(PY) -m virtio_notifier_spec verify
	$(PY) -m virtio_notifier_spec scale
	$(PY) -m virtio_notifier_spec prove --spec resolved --env qemu
	$(PY) -m virtio_notifier_spec designs
	$(PY) -m virtio_notifier_spec qemu --smoke

# The tests on TEST_JOBS workers (pytest-xdist; each test has its own folders
# and child processes, so they run side by side, and beside another clone's).
TEST_JOBS ?= auto
test: $(STAMP) deps
	$(PY) -m pytest -n $(TEST_JOBS)

# ruff, and the import contracts of pyproject.toml (import-linter).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,dask]'
	touch $(STAMP)

# Graphviz renders the diagrams; DOT and ASCII output work without it.
# Quint (tests/scale/test_quint.py) goes into tools/quint/node_modules, pinned
# by tools/quint/package-lock.json (antlr4ts 0.5.0-alpha.4: npm's own choice,
# 0.5.0-dev, breaks Quint's parser); never globally.
QUINT := tools/quint/node_modules/.bin/quint
deps: $(QUINT)
$(QUINT): tools/quint/package.json tools/quint/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null) || echo "warning: could not install node and npm"; \
	  else echo "note: npm is missing (the Quint tests skip); install it with: sudo apt-get install nodejs npm"; fi; }
	@if command -v npm >/dev/null 2>&1; then \
	  (cd tools/quint && npm ci --no-audit --no-fund --loglevel=error >/dev/null) && touch $@ \
	    || echo "warning: could not install Quint (the Quint tests skip)"; fi
deps:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz"; \
	  else echo "note: Graphviz's dot is missing; install it with: sudo apt-get install graphviz"; fi; }
	@command -v spin >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq spin >/dev/null) || echo "warning: could not install spin"; \
	  else echo "note: SPIN is missing (tests/scale/test_promela.py skips); install it with: sudo apt-get install spin"; fi; }
	@{ command -v qemu-system-x86_64 >/dev/null 2>&1 && command -v as >/dev/null 2>&1 && command -v ld >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq qemu-system-x86 binutils >/dev/null) || echo "warning: could not install qemu-system-x86 and binutils"; \
	  else echo "note: QEMU or binutils is missing (tests/qemu skip the real QEMU); install them with: sudo apt-get install qemu-system-x86 binutils"; fi; }

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis

# Every drawing under diagrams/ (DOT, SVG, PNG, ASCII), from the tables;
# tests/draw/test_diagrams*.py fail when a checked-in drawing is stale.
diagrams: $(STAMP) deps
	$(PY) -m virtio_notifier_spec draw --out diagrams --clean

# A real QEMU under KVM as the implementation under test, on every device of
# qemu/devices.py (legacy and modern virtio-blk, vhost-user-fs): writes
# designs/qemu-real.md (about 2-5 minutes). Exit 5 when QEMU crashes, hangs or
# never boots its guest; 2 when QEMU, /dev/kvm or binutils is missing (named).
qemu: $(STAMP) deps
	$(PY) -m virtio_notifier_spec qemu

# The real QEMU's speed: boot, a ten-event test, 200 tests against one
# device, the whole matrix; writes bench/qemu.md (about 5 minutes).
bench-qemu: $(STAMP) deps
	$(PY) bench/qemu.py

# The oracle's benchmark: `oracle check` throughput and peak memory at 2, 64
# and 1024 queues, `oracle drive` time and memory against the C example at 2,
# 4 and 8 queues; writes bench/oracle.md. Not part of `make test`: a few minutes.
.PHONY: bench-oracle
bench-oracle: $(STAMP)
	$(PY) bench/oracle.py

# Every mutant of the reference implementation must be caught: a table of
# each with its shortest exposing sequence; exit 1 if one survives.
.PHONY: mutants reference
mutants: $(STAMP)
	$(PY) -m virtio_notifier_spec mutants

# The reference implementation's Hypothesis runs against `resolved`, printing
# the rows they fired; REFERENCE_EXAMPLES=5000 hunts longer.
REFERENCE_EXAMPLES ?= 400
reference: $(STAMP)
	REFERENCE_EXAMPLES=$(REFERENCE_EXAMPLES) $(PY) -m pytest -s -q -p no:cacheprovider tests/reference/test_reference_stateful.py

# The engines against SPIN in one run (bench/scale.py): general, packed (1 and
# 2 threads), the C floor (bench/cfloor.c: the packed engine's step tables
# searched by plain C, built with cc) and SPIN at its best exact setting for
# 4-10 queues, orbits and support up to 1024; writes bench/results.md. Takes
# 20-60 minutes (SPIN at 10 queues), depending on the machine's load;
# BENCH_ARGS="--spin-queues 4,6,8" leaves SPIN out at 10 queues.
BENCH_ARGS ?=
.PHONY: bench
bench: $(STAMP) deps
	$(PY) bench/scale.py $(BENCH_ARGS)

# Several devices on one host (bench/systems.py): the system engine against the
# packed system engine on spec/configs/four_devices.toml (each repeated in fresh
# processes; the packed engine's build and search apart, ratios on totals), the
# ten-device configuration's time and memory, identical devices reduced, and
# Dask with 1 and 2 local workers; writes bench/systems.md. About 10-20 minutes.
.PHONY: bench-systems
bench-systems: $(STAMP)
	$(PY) bench/systems.py

# The Z3 proofs (proofs/README.md): how long the whole set takes, the verdicts
# on the probe tables of tests/proofs/probes.py, and the cross-check with the
# explorer for 1-3 queues, CPU seconds with the load of each run and, with
# valgrind installed, the instructions of the whole set (a few minutes under
# callgrind); writes bench/proofs.md (exit 1 on a wrong verdict).
.PHONY: bench-proofs crosscheck-proofs
bench-proofs: $(STAMP)
	$(PY) bench/proofs.py

# The cross-check of Z3 against the explorer for 1-4 queues (the tests do it
# too); writes its timings to bench/crosscheck.md. About 15 s.
crosscheck-proofs: $(STAMP)
	$(PY) bench/proofs.py --repeat 1 --crosscheck 4 --no-instructions --out bench/crosscheck.md

# Every command on many random valid tables (tests/tables.py): each must end
# with a verdict (exit 0, 1 or 3), never a traceback. `make test` runs two small
# fixed examples; this draws CLI_FUZZ_EXAMPLES fresh ones.
CLI_FUZZ_EXAMPLES ?= 200
.PHONY: fuzz-cli
fuzz-cli: $(STAMP)
	CLI_FUZZ_EXAMPLES=$(CLI_FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/cli/test_cli_fuzz.py

# Every command with hostile flags, files, outputs and signals (tests/hostile.py):
# zero tracebacks, zero exit codes outside README.md's table, no signal ignored.
# `make test` runs a fixed slice of 15; this draws HOSTILE_RUNS with HOSTILE_SEED.
HOSTILE_RUNS ?= 400
HOSTILE_SEED ?= 1
.PHONY: fuzz-hostile
fuzz-hostile: $(STAMP)
	$(PY) tests/hostile.py --runs $(HOSTILE_RUNS) --seed $(HOSTILE_SEED) --jobs 2

# Random valid tables (tests/tables.py) of up to a few hundred rows, damaged in
# one place: every command must refuse each with exit 2 and its file and line.
# `make test` runs 30 small ones; DAMAGE_EXAMPLES=2000 hunts longer.
DAMAGE_EXAMPLES ?= 300
.PHONY: fuzz-tables
fuzz-tables: $(STAMP)
	DAMAGE_EXAMPLES=$(DAMAGE_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/spec/test_damaged_tables.py
# Real hypervisors judged (designs/README.md): every design of designs/ in
# its environment, the verdict matrix and its replayable traces, rewritten;
# exit 1 when a verdict or a divergence is not the one the catalogue pins.
designs: $(STAMP)
	$(PY) -m virtio_notifier_spec designs

# The liveness checks beside SPIN's, both variants, 1-2 queues, and the time
# `verify` spends on liveness; writes bench/liveness.md. About a minute.
.PHONY: bench-liveness
bench-liveness: $(STAMP) deps
	$(PY) bench/liveness.py

# The differential soundness suite's long run (tests/soundness/run.py): random
# tables (liveness, fairness, environments, several devices, extends) through
# the packed engine, orbits, support, liveness reductions, the system search,
# Z3 and SPIN, each against the unreduced general search, which must agree
# wherever each claims to apply; writes the counts, time and load to
# bench/soundness.md and exits 1 on any disagreement. First the suite's own
# tests whole (random tables, the generator's shapes, SPIN's planted
# disagreement); `make test` runs only their fixed slice (a bug planted in
# each reduction, a few seconds). About 6 s a table at load 7 to 10 on 2
# cores (bench/soundness.md).
SOUNDNESS_TABLES ?= 1000
.PHONY: soundness
soundness: $(STAMP) deps
	SOUNDNESS_LONG=1 $(PY) -m pytest -n $(TEST_JOBS) tests/soundness tests/scale/test_scale_symmetry.py tests/proofs/test_proofs_crosscheck.py
	$(PY) tests/soundness/run.py --tables $(SOUNDNESS_TABLES) --out bench/soundness.md

# The Quint export of random tables (tests/tables.py): Quint typechecks each,
# and the run it shows replays on the table state by state. `make test` runs
# 3 fixed ones; this draws QUINT_FUZZ_EXAMPLES fresh ones (a few seconds each).
QUINT_FUZZ_EXAMPLES ?= 50
.PHONY: fuzz-quint
fuzz-quint: $(STAMP) deps
	QUINT_FUZZ_EXAMPLES=$(QUINT_FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/scale/test_quint.py -k random_tables
