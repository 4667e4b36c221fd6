# Developer entry points. Everything runs from the project virtual environment in $(VENV).
#
# Install path (do not change without reading CONTRIBUTING.md): torch is pinned and installed
# first, then the project in editable mode with its test extra. pip, never `poetry install`.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
POETRY_SPEC ?= poetry==2.5.1

BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip
# Re-made whenever pyproject.toml is newer than the last install.
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint docs lock check-lock bench validation clean distclean

help:
	@echo "make venv        create $(VENV) (torch first, then -e .[test]); idempotent"
	@echo "make test        run the test suite"
	@echo "make lint        ruff check"
	@echo "make demo        evaluate the example predictions shipped in the package"
	@echo "make bench       run the benchmarks (ratios against named peers)"
	@echo "make docs        build the documentation site into build/docs (mkdocs build --strict)"
	@echo "make validation  simulation study of every interval and test -> docs/validation.md (a few minutes)"
	@echo "make lock        regenerate poetry.lock (after changing dependencies)"
	@echo "make check-lock  check that poetry.lock matches pyproject.toml"
	@echo "make clean       remove caches and build outputs (distclean: also $(VENV))"

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install $(TORCH_SPEC)
	$(PIP) install -e ".[test]"
	@touch $@

demo: venv
	$(PY) -m clinicadl.demo

test: venv
	$(PY) -m pytest

lint: venv
	$(BIN)/ruff check .

docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/docs

lock:
	VENV=$(VENV) PYTHON=$(PYTHON) POETRY_SPEC=$(POETRY_SPEC) scripts/lock.sh

check-lock: | $(PY)
	@test -x $(BIN)/poetry || $(PIP) install $(POETRY_SPEC)
	$(BIN)/poetry check --lock

bench: venv
	$(PY) benchmarks/run_all.py

validation: venv
	$(PY) scripts/validation.py --n_jobs 2

clean:
	rm -rf build dist .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
