# The README's commands. Each target sets up what it needs: a virtual environment
# in .venv with the project and its dev dependencies; the broker's jars are
# resolved by `newsmon broker start` (and the test fixture) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test compose-test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newsmon needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

## Run the monitor on the seed articles with the embedded broker.
demo: $(STAMP)
	$(BIN)/newsmon demo

## Lint, type-check and run the whole test suite (starts its own broker).
test: $(STAMP)
	$(BIN)/ruff check streams agents tests
	$(BIN)/ruff format --check streams agents tests
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## docker-compose.yml and the Dockerfile built and run for real (tests/compose/run.py): installs or
## starts a Docker engine when missing, builds local base images once (cached in ~/.cache/newsmon/docker),
## runs the stack, reads the seed alerts from the host, restarts and scales the worker, then `down -v`.
compose-test: $(STAMP)
	$(BIN)/python tests/compose/run.py

lint: $(STAMP)
	$(BIN)/ruff check streams agents tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .newsmon .pytest_cache .mypy_cache .ruff_cache
