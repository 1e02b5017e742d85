# Two commands do all set-up on a fresh machine:
#   make demo   - create .venv, install fastsplit with every extra, run `fastsplit demo`
#   make test   - create .venv, install, then lint, type-check and run the test suite
# (and the fit tests again against the nlsq 0.7.x line in .venv-nlsq07).
PYTHON ?= python3
VENV ?= .venv
VENV07 ?= .venv-nlsq07
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAMP07 := $(VENV07)/.installed

.PHONY: demo test lint typecheck pytest pytest-nlsq07 bench asv-check asv-quick docs clean

$(STAMP): pyproject.toml ci/constraints-nlsq06.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12) and "fastsplit needs Python >= 3.12 (see .python-version)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c ci/constraints-nlsq06.txt -e ".[all,test]"
	touch $@

$(STAMP07): pyproject.toml ci/constraints-nlsq07.txt
	$(PYTHON) -m venv $(VENV07)
	$(VENV07)/bin/python -m pip install -q --upgrade pip
	$(VENV07)/bin/python -m pip install -q -c ci/constraints-nlsq07.txt -e ".[fit,test]"
	touch $@

# warmup --fit compiles the fit passes once into JAX's on-disk cache, so that this
# demo and every later `fastsplit demo --small` or fit start warm.
demo: $(STAMP)
	$(BIN)/fastsplit warmup --fit static
	$(BIN)/fastsplit demo --force

test: lint typecheck pytest pytest-nlsq07 asv-check

lint: $(STAMP)
	$(BIN)/ruff check src tests asv_benchmarks benchmarks
	$(BIN)/ruff format --check src tests asv_benchmarks benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

# nlsq 0.7.x chunks differently (it shuffles); run the fit tests against it too.
pytest-nlsq07: $(STAMP07)
	$(VENV07)/bin/python -m pytest -q -m nlsq tests

# Every benchmark once against the installed package (asv exits non-zero if one fails).
asv-check: $(STAMP)
	$(BIN)/asv machine --yes > /dev/null
	$(BIN)/asv check --python=same
	$(BIN)/asv run --quick --python=same --dry-run --show-stderr

# Every target of docs/benchmarks.md at 3M and 23M points, MET or MISSED (~10 min);
# the harness lives in benchmarks/, outside the package. A subset, e.g.:
#   .venv/bin/python -m benchmarks.bench --sizes 3e6 --targets first-call fit
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench --all-targets

clean:
	rm -rf $(VENV) $(VENV07) .asv build *.egg-info
