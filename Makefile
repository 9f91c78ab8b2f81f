# Quick start: `make run` (search the default dataset) and `make test` (the test suite).
# Both create their own virtual environment in .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test test-all bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/.installed          ## the seven default stages on breast_cancer; ARGS="..." adds overrides
	$(BIN)/python -m pipeline $(ARGS)

test: $(BIN)/.installed         ## lint, import contracts, then the default suite (slow tests left out)
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow" -n auto --maxprocesses=4

test-all: $(BIN)/.installed     ## everything, slow end-to-end runs included
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs/* .pytest_cache
