# Quick start: `make run` (search the default dataset) and `make test` (the test suite).
# Both create their own virtual environment in .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test test-components test-all bench docs clean

# -qq: errors only. An install says one line of its own, not pip's notes on package indexes nor setuptools' build log.
PIP := $(BIN)/python -m pip install -qq -c constraints.txt

$(BIN)/python:
	@echo "creating the virtual environment $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade pip

$(BIN)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python   ## the runtime dependencies only
	@echo "installing the project and its dependencies into $(VENV) (the first time takes a few minutes)"
	@$(PIP) -e .
	@touch $@

$(BIN)/.installed: pyproject.toml constraints.txt | $(BIN)/python       ## runtime + dev (tests, lint, MLflow, Dask)
	@echo "installing the project with its test tools into $(VENV) (the first time takes a few minutes)"
	@$(PIP) -e ".[dev]"
	@touch $@ $(BIN)/.installed-run

run: $(BIN)/.installed-run      ## the seven default stages on breast_cancer; ARGS="..." adds overrides
	@$(BIN)/python -m pipeline $(ARGS)

COMPONENTS := dask or mlflow or signals or tensorflow or multirun or user_paths or workers or packaging or notebook or calibration
PYTEST     := $(BIN)/python -m pytest -q -n auto --maxprocesses=4 --durations=20

test: $(BIN)/.installed         ## lint, import contracts, types, then the default suite (about 15 minutes on 2 cores, measured)
	$(BIN)/ruff check pipeline tests benchmarks staged_search.py
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(PYTEST) -m "not slow and not ($(COMPONENTS))"

test-components: $(BIN)/.installed  ## the tests of real components: Dask cluster, MLflow, signals, TensorFlow, multiruns, user paths
	$(PYTEST) -m "not slow and ($(COMPONENTS))"

test-all: $(BIN)/.installed     ## everything, slow end-to-end runs included
	$(BIN)/ruff check pipeline tests benchmarks staged_search.py
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(PYTEST)

$(BIN)/.installed-docs: pyproject.toml constraints.txt | $(BIN)/python  ## the documentation site's generator
	@echo "installing the documentation tools into $(VENV)"
	@$(PIP) -e ".[docs]"
	@touch $@

docs: $(BIN)/.installed-docs    ## the documentation site into site/, strictly: a broken link or anchor fails
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs/* .pytest_cache site
