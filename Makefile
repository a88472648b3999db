# Every command a newcomer needs. Python 3.11+ is the only thing the machine must have.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install lock web web-test run test lint typecheck pytest fuzz migrate db-stop bench clean

help:
	@echo "make run        build the web console if it changed, start the whole platform on http://127.0.0.1:8000 (Ctrl-C stops it)"
	@echo "make test       lint, type-check, the console's component tests and the test suite"
	@echo "make web        build the web console (web/dist) if its sources changed"
	@echo "make fuzz       fuzz every API operation from its OpenAPI schema, 200 examples each"
	@echo "make migrate    migrate the database to head"
	@echo "make db-stop    stop the embedded Postgres left running by 'serve run'"
	@echo "make bench      run the benchmarks in benchmarks/"
	@echo "make lock       re-pin constraints.txt to the newest releases pyproject.toml allows"
	@echo "make clean      remove the virtual environment (data in .fluently/ is kept)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every dependency to the versions the suite last passed with, so a fresh
# clone (and the image) installs what was tested; `make lock` moves them to the newest releases
# pyproject.toml allows.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --upgrade -o constraints.txt

# The web console (web/): dependencies again when package-lock.json changes, a build when any
# source does. Needs Node 20+ and npm; the built files (web/dist) are not committed.
WEB_DEPS := web/node_modules/.installed
WEB_BUILD := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/package.json

$(WEB_DEPS): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web: $(WEB_BUILD)

web-test: $(WEB_DEPS)
	cd web && npm test

run: install web
	$(BIN)/fluently up

migrate: install
	$(BIN)/fluently migrate

db-stop: install
	$(BIN)/fluently db stop

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Two streams at once, since most tests are one-thread Python that leaves the second core idle
# (the CPU was 30-50 % idle through the tests that do not decode with the model):
# - the tests that do not depend on the model's decoding, then tests/test_two_nodes.py in a
#   process of its own (its moto S3 server keeps its objects in moto's process-wide state, which
#   the rest of the suite's S3 tests also use); their output is shown as they run;
# - the model tests, twice: with the CPU's own CTranslate2 kernels, then with the instruction
#   set one step below (tests/other_isa.py; RERUN_ISA=GENERIC, AVX, AVX2 or AVX512 picks one), so
#   no test rests on one machine's decoding quirks. Their output goes to MODEL_LOG, shown at the
#   end. The model tests' results do not depend on what runs beside them (no wall-clock limit in
#   the pipeline; each comparison is decoded in seeded processes of its own). They keep their
#   temporary files under a directory of their own: a pytest starting with the default one
#   takes everyone else's access to /tmp/pytest-of-<user> away, and the other stream's embedded
#   Postgres, which runs as a user of its own under it, stopped ("could not open file
#   .../global/pg_control: Permission denied") when the rerun started.
# tests/test_console_e2e.py drives the built console in Debian's Chromium (/usr/bin/chromium).
MODEL_LOG := test-artifacts/model-tests.log
pytest: install web
	@mkdir -p $(dir $(MODEL_LOG))
	@isa=$${RERUN_ISA:-$$($(BIN)/python tests/other_isa.py)}; \
	echo "The model tests run alongside, natively then under CT2_FORCE_CPU_ISA=$$isa: $(MODEL_LOG)"; \
	temp=$$(mktemp -d); \
	( $(BIN)/pytest -q -rs --durations=10 -m model --basetemp=$$temp/native; native=$$?; \
	  CT2_FORCE_CPU_ISA=$$isa $(BIN)/pytest -q -rs --durations=10 -m model --basetemp=$$temp/forced; \
	  forced=$$?; rm -rf $$temp; exit $$(( native || forced )) ) > $(MODEL_LOG) 2>&1 & models=$$!; \
	$(BIN)/pytest -q -rs --durations=20 -m "not model" --ignore=tests/test_two_nodes.py; rest=$$?; \
	$(BIN)/pytest -q -rs --durations=5 tests/test_two_nodes.py; nodes=$$?; \
	echo "Waiting for the model tests ($(MODEL_LOG))..."; wait $$models; model=$$?; \
	cat $(MODEL_LOG); \
	exit $$(( rest || nodes || model ))

test: lint typecheck web-test pytest

# The suite's fuzz test (tests/test_fuzz.py, 30 examples per operation) with FUZZ_EXAMPLES
# per operation; prints what it sent and got back (README "Fuzzing").
FUZZ_EXAMPLES ?= 200
fuzz: install
	FLUENTLY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/test_fuzz.py

bench: install
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV)
