# Every command a newcomer needs. Python 3.11+ is the only thing the machine must have.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install run test lint typecheck pytest fuzz migrate db-stop bench clean

help:
	@echo "make run        start the whole platform on http://127.0.0.1:8000 (Ctrl-C stops it)"
	@echo "make test       lint, type-check and run the test suite"
	@echo "make fuzz       fuzz every API operation from its OpenAPI schema, 200 examples each"
	@echo "make migrate    migrate the database to head"
	@echo "make db-stop    stop the embedded Postgres left running by 'serve run'"
	@echo "make bench      run the benchmarks in benchmarks/"
	@echo "make clean      remove the virtual environment (data in .fluently/ is kept)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
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

# The model tests run twice: with the CPU's own CTranslate2 kernels, then with another
# instruction set's (tests/other_isa.py), so no test rests on one machine's decoding quirks.
pytest: install
	$(BIN)/pytest -q -rs
	CT2_FORCE_CPU_ISA=$$($(BIN)/python tests/other_isa.py) $(BIN)/pytest -q -rs -m model

test: lint typecheck pytest

# The suite's fuzz test (tests/test_fuzz.py, 30 examples per operation) with FUZZ_EXAMPLES
# per operation; prints what it sent and got back (README "Fuzzing").
FUZZ_EXAMPLES ?= 200
fuzz: install
	FLUENTLY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/test_fuzz.py

bench: install
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV)
