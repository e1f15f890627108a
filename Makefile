# Two commands do all the set-up on a fresh machine:
#   make notebooks   the main job: the whole notebook suite headless on the local twin
#   make test        lint, type-check and the test suite (all but the `matrix` marker); CI runs it
# Other lanes:
#   make test-fast   lint, type-check and the tests not marked slow, notebook or matrix
#   make test-matrix the heavy lane: the whole suite twice in one twin on three public data sets
#                    registered from files and on the other demo product, and twice on fresh
#                    twins for identical key outputs (CI runs it after `make test`)
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
# The exact sets pyproject.toml's ranges resolve to (`make lock` writes them): the lock for every
# lane, the lowest versions for `make test-lowest`.
LOCK := requirements/lock.txt
LOWEST := requirements/lowest.txt
PYTEST := $(BIN)/python -m pytest -q
# pytest-xdist workers for the test lanes (JOBS=0: one process). Each worker starts its own
# in-process twin; a test file stays on one worker, so the notebook suite runs beside the others.
JOBS ?= 2
XDIST := -n $(JOBS) --dist loadfile

.PHONY: setup lock notebooks test test-fast test-matrix test-lowest test-py313 golden unit lint \
	format typecheck clean labextension

setup: $(STAMP)

# The lock, exactly (`--no-deps`: it is complete), then the project itself and its Snippets
# sidebar (an editable install skips data-files); Python 3.11 to 3.13 ($(PYTHON), e.g.
# PYTHON=python3.12). In a git clone, nbstripout strips notebook outputs on `git add`
# (.gitattributes names the filter; this defines it in .git/config).
$(STAMP): pyproject.toml setup.py lib/mlaccel/monitor/_scan.c $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/mlaccel snippets install
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean "$(abspath $(BIN))/python -m nbstripout --keep-id"; \
	  git config filter.nbstripout.smudge cat; \
	  git config filter.nbstripout.required true; \
	fi
	touch $(STAMP)

# Regenerate both lock files from pyproject.toml, keeping every version that still fits
# (UPGRADE=1: the newest versions pyproject allows). The commands are in each file's header.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  -o $(LOCK) --quiet $(if $(UPGRADE),--upgrade)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.12 \
	  --resolution lowest-direct -o $(LOWEST) --quiet

# Rebuild the Snippets sidebar's frontend (lab/src → lab/labextension, committed so installs need
# no node) against this JupyterLab, and record the hash of its sources that
# tests/mlaccel/test_snippets_menu.py compares.
CORE := $(shell $(BIN)/python -c "import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging'))" 2>/dev/null)
labextension: setup
	cd lab && npm ci --no-audit --no-fund --loglevel=error && npx tsc
	rm -rf lab/labextension
	cd lab && node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path $(CORE) .
	$(BIN)/python lab/sources_hash.py --write
	$(BIN)/mlaccel snippets install

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
	$(PYTEST) -n $(JOBS) --dist load -m matrix

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

# The lowest lane: the built wheel in a fresh Python 3.12 environment with the oldest versions
# pyproject allows (pandas 2.2, numpy 1.26, the SageMaker SDK 2.253; $(LOWEST)) runs the fast
# tests that apply to an installed wheel, then the notebook suite from an empty folder on the twin
# (tests/test_installed_wheel.py). The wheel is installed with the dependencies it declares, held
# to the lowest versions, then the rest of that set (test tools, JupyterLab, the snippets
# sidebar). PY312 is pyenv's 3.12 when there is one, else python3.12 on the PATH.
LOWEST_DIR := build/lowest
PY312 ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12) \
	$(shell command -v python3.12 2>/dev/null))
LOWEST_PYTHON := $(LOWEST_DIR)/venv/bin/python

test-lowest: setup
	@"$(or $(PY312),python3.12)" -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
	  2>/dev/null || { echo "make test-lowest needs Python 3.12: pyenv install 3.12" \
	  "(or name one with PY312=/path/to/python3.12)" >&2; exit 1; }
	rm -rf $(LOWEST_DIR) build/lib build/bdist.* build/temp.*
	$(PY312) -m venv $(LOWEST_DIR)/venv
	# built by the Python it runs on: the wheel carries the drift check's compiled pass
	$(LOWEST_PYTHON) -m pip install --quiet -c $(LOWEST) setuptools
	$(LOWEST_PYTHON) -m pip wheel --quiet --no-deps --no-build-isolation -w $(LOWEST_DIR)/dist .
	$(LOWEST_PYTHON) -m pip install --quiet -c $(LOWEST) "$$(ls $(LOWEST_DIR)/dist/mlaccel-*.whl)[twin]"
	$(LOWEST_PYTHON) -m pip install --quiet --no-deps -r $(LOWEST)
	MLACCEL_LOCK=$(LOWEST) $(LOWEST_PYTHON) -m pytest -q -p no:cacheprovider $(XDIST) \
	  -m "not slow and not notebook and not matrix" tests
	MLACCEL_LOCK=$(LOWEST) $(LOWEST_PYTHON) -m pytest -q -p no:cacheprovider \
	  tests/test_installed_wheel.py

# A smoke check on Python 3.13: the built wheel with the locked set installs, and the packaging,
# drift-engine and twin-seam tests pass on it. PY313 as PY312 above.
PY313 ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13) \
	$(shell command -v python3.13 2>/dev/null))
PY313_DIR := build/py313

test-py313: setup
	@"$(or $(PY313),python3.13)" -c 'import sys; assert sys.version_info[:2] == (3, 13)' \
	  2>/dev/null || { echo "make test-py313 needs Python 3.13: pyenv install 3.13" \
	  "(or name one with PY313=/path/to/python3.13)" >&2; exit 1; }
	rm -rf $(PY313_DIR) build/lib build/bdist.* build/temp.*
	$(PY313) -m venv $(PY313_DIR)/venv
	$(PY313_DIR)/venv/bin/python -m pip install --quiet --no-deps -r $(LOCK)
	$(PY313_DIR)/venv/bin/python -m pip wheel --quiet --no-deps --no-build-isolation \
	  -w $(PY313_DIR)/dist .
	$(PY313_DIR)/venv/bin/python -m pip install --quiet --no-deps $(PY313_DIR)/dist/mlaccel-*.whl
	$(PY313_DIR)/venv/bin/python -m pytest -q -p no:cacheprovider $(XDIST) \
	  tests/test_packaging.py tests/mlaccel/monitor tests/mlaccel_twin/test_seams.py

clean:
	rm -rf $(VENV) output build .pytest_cache .mypy_cache .ruff_cache
