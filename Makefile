# Two commands do all the set-up on a fresh machine:
#   make notebooks   the main job: the whole notebook suite headless on the local twin
#   make test        lint, type-check and the test suite (all but the `matrix` marker); CI runs it
# Other lanes:
#   make test-fast   lint, type-check and the tests not marked slow, notebook or matrix
#   make test-matrix the notebooks again for the other data product (CI runs it after `make test`)
#   make golden      re-export the reviewed workflow definitions into seedcode/workflows/
# Each pytest run also runs the library's doctests (pyproject's [tool.pytest.ini_options]).
# Tests refuse connections outside 127.0.0.1 in every Python process they start. Tests that need
# chromium, shellcheck or git skip without them, listed at the end of the run; with CI set
# (CI=true, as CI services set it) any such skip fails the run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUTPUT ?= output/notebooks
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest -q
# pytest-xdist workers for the test lanes (JOBS=0: one process). Each worker starts its own
# in-process twin; a test file stays on one worker, so the notebook suite runs beside the others.
JOBS ?= 2
XDIST := -n $(JOBS) --dist loadfile

.PHONY: setup notebooks test test-fast test-matrix golden unit lint format typecheck clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

notebooks: setup
	$(BIN)/mlaccel notebooks run --output $(OUTPUT)

lint: setup
	$(BIN)/ruff check conftest.py lib seedcode snippets tests bench notebooks
	$(BIN)/ruff format --check conftest.py lib seedcode snippets tests bench notebooks
	$(BIN)/python -m mlaccel.nbclean --check notebooks
	PYTHONPATH=. $(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix conftest.py lib seedcode snippets tests bench notebooks
	$(BIN)/ruff format conftest.py lib seedcode snippets tests bench notebooks
	$(BIN)/python -m mlaccel.nbclean notebooks

typecheck: setup
	$(BIN)/mypy

test-fast: lint typecheck
	$(PYTEST) $(XDIST) -m "not slow and not notebook and not matrix"

# `unit` is pytest alone, as the seedcode CI templates call it (they run `make notebooks` next).
unit: setup
	$(PYTEST) $(XDIST) -m "not matrix"

test: lint typecheck unit

test-matrix: setup
	$(PYTEST) -m matrix

# The reviewed workflow definitions in seedcode/workflows/ change only here: notebook 04 exports
# them for each demo data product into the folder (tests compare a fresh export with them).
golden: setup
	for product in used_cars credit_risk; do \
	  mkdir -p $(OUTPUT)/golden-$$product && \
	  printf 'defaults: {data_product: %s}\n04_author_pipelines: {export_dir: "%s"}\n' \
	    $$product "$(CURDIR)/seedcode/workflows" > $(OUTPUT)/golden-$$product/params.yaml && \
	  $(BIN)/mlaccel notebooks run --only 04_author_pipelines \
	    --params $(OUTPUT)/golden-$$product/params.yaml --output $(OUTPUT)/golden-$$product \
	    || exit 1; \
	done

clean:
	rm -rf $(VENV) output .pytest_cache .mypy_cache .ruff_cache
