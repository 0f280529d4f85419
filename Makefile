# STIX ground pipeline — developer entry points. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/plugins

.PHONY: venv preflight demo up test test-fast lint bench lock clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

## preflight: the system packages demo/up need (rsync, openssh-client, git, python3-venv): installed with
## apt-get (root, or sudo without password), else one line naming them and the install command.
## STIX_PREFLIGHT_INSTALL=0: check only.
preflight:
	$(PYTHON) -m stix_ops.preflight

## demo: the whole pipeline on a local Airflow (SQLite, LocalExecutor) with demo telemetry; prints a summary
demo: preflight venv
	$(BIN)/python -m stix_ops.dev.demo run

## up: the Airflow UI over the demo data (login printed); Ctrl-C stops it
up: preflight venv
	$(BIN)/python -m stix_ops.dev.demo up

## test: ruff + mypy + the full test suite in random order (pytest-randomly). The seed is printed first;
## `make test SEED=<n>` replays an order. pytest's exit 5 ("no tests collected", e.g. a -k filter that
## matches nothing) is reported loudly and not treated as a failure; every other code is passed on.
ifeq ($(origin SEED),undefined)
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
test: venv
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy
	@echo "test order: random, seed $(SEED) (replay: make test SEED=$(SEED))"
	$(BIN)/python -m pytest --randomly-seed=$(SEED) $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "WARNING: pytest collected no tests (exit 5)"; rc=0; fi; \
	  echo "test order seed was $(SEED)"; exit $$rc

## test-fast: the unit tests only (tests/unit, no real service), random order, seed printed, on FAST_WORKERS
## pytest-xdist workers (each with its own AIRFLOW_HOME and temp root; FAST_WORKERS=0 runs serially);
## about 2.5 min on 2 cores
FAST_WORKERS ?= 2
test-fast: venv
	@echo "test order: random, seed $(SEED) (replay: make test-fast SEED=$(SEED))"
	$(BIN)/python -m pytest tests/unit -m "not integration" -n $(FAST_WORKERS) --randomly-seed=$(SEED) $(PYTEST_ARGS)

## lint: ruff, then mypy over stix_lib, plugins/stix_ops and dags (configured in pyproject.toml)
lint: venv
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy

## bench: run the benchmarks and rewrite benchmarks/RESULTS.md
bench: venv
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

## lock: regenerate requirements.txt from a clean venv (top-level packages listed in its header)
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet --upgrade pip
	build/lock-venv/bin/pip install --quiet $$(sed -n 's/^# top-level: //p' requirements.txt)
	build/lock-venv/bin/pip check
	{ sed -n '/^#/p' requirements.txt; build/lock-venv/bin/pip freeze; } > requirements.txt.new
	mv requirements.txt.new requirements.txt

clean:
	rm -rf build
