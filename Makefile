# One venv, made on first use; every target installs what it needs itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test lint typecheck unit demo bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

lint: $(BIN)/.installed
	$(BIN)/ruff check judge tests bench examples calibration
	$(BIN)/ruff format --check judge tests bench examples calibration
	$(BIN)/judge lint

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed
	$(BIN)/pytest -q -m "not e2e"

test: lint typecheck unit

demo: $(BIN)/.installed
	$(BIN)/python examples/demo.py

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_batch.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
