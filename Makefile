# Two commands do everything on a fresh machine:
#   make demo   - install into .venv, then train every task briefly on synthetic data and score it
#   make test   - install into .venv, then lint, type-check and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_out
PYTEST_ARGS ?=

.PHONY: install demo test lint typecheck pytest bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements/cpu.txt -e ".[tasks,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/baselines demo --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=15 $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	for script in scripts/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(DEMO_OUT) outputs .pytest_cache .mypy_cache .ruff_cache
