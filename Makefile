# Two commands do all the set-up on a fresh machine:
#   make notebooks   the main job: the whole notebook suite headless on the local twin
#   make test        lint, type-check and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUTPUT ?= output/notebooks
STAMP := $(VENV)/.installed

.PHONY: setup notebooks test lint format typecheck unit clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

notebooks: setup
	$(BIN)/mlaccel notebooks run --output $(OUTPUT)

lint: setup
	$(BIN)/ruff check lib seedcode snippets tests bench notebooks
	$(BIN)/ruff format --check lib seedcode snippets tests bench notebooks
	$(BIN)/python -m mlaccel.nbclean --check notebooks

format: setup
	$(BIN)/ruff check --fix lib seedcode snippets tests bench notebooks
	$(BIN)/ruff format lib seedcode snippets tests bench notebooks
	$(BIN)/python -m mlaccel.nbclean notebooks

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) output .pytest_cache .mypy_cache .ruff_cache
