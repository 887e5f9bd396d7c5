PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: start the platform on the embedded default (PostgreSQL + Tansu) with a demo organisation
run: $(STAMP)
	$(BIN)/kinerja demo

## test: run the whole test suite (unit, integration, end to end)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## bench: run every benchmark in bench/ and print their figures (BENCH_SCALE=jabar: West Java's size)
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
