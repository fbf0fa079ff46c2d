# Developer entry points. The two README commands are `make serve` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The interpreter .venv is created with: PYTHON=... if given, else the newest supported one on the
# PATH (python3.13, python3.12, python3.11, then python3 if it is one of them; scripts/find_python.sh).
PYTHON ?=
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
GRPC_PORT ?= 8001
PIP    := $(BIN)/python -m pip --disable-pip-version-check
PYTEST_ARGS ?=
TRAIN_ARGS  ?=
BENCH_ARGS  ?=
GPU_CHECK_ARGS ?=
SOAK_ARGS ?=

RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.PHONY: help serve test lint format train train-smoke bench soak chaos fuzz compose-smoke compose-reload-check gpu-check requirements venv clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@py=$$(scripts/find_python.sh "$(PYTHON)") && "$$py" -m venv $(VENV)

# Re-installs only when the pins change; a second `make serve` / `make test` starts at once.
$(RUNTIME_STAMP): pyproject.toml requirements/runtime.txt | $(BIN)/python
	$(PIP) install -q -r requirements/runtime.txt
	$(PIP) install -q --no-deps -e .
	@touch $@

$(DEV_STAMP): pyproject.toml requirements/dev.txt $(RUNTIME_STAMP)
	$(PIP) install -q -r requirements/dev.txt
	@touch $@

venv: $(DEV_STAMP) ## create .venv with runtime + training + dev dependencies

serve: $(RUNTIME_STAMP) ## serve the committed model on http://$(HOST):$(PORT) (V2 gRPC on $(GRPC_PORT))
	GRPC_HOST=$(HOST) GRPC_PORT=$(GRPC_PORT) $(BIN)/python -m app.serve --host $(HOST) --port $(PORT)  # flags: app/serve.py

test: $(DEV_STAMP) ## run the test suite (IMDB_DATA=... enables the full-dataset tests)
	$(BIN)/python -m pytest -m "not compose" $(PYTEST_ARGS)

lint: $(DEV_STAMP) ## ruff check, ruff format --check, mypy, pinned requirements up to date
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python scripts/freeze_runtime.py --check

format: $(DEV_STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: $(DEV_STAMP) ## train a new model version (IMDB_DATA=path/to/aclImdb_v1.tar.gz)
	$(BIN)/python -m training.train $(TRAIN_ARGS)

SAMPLE := tests/data/aclImdb_sample.tar.gz
SAMPLE_EXTRA := tests/data/aclImdb_sample_extra.tar.gz
train-smoke: $(DEV_STAMP) ## the whole training recipe on the committed sample (unlabelled + movie split), ~1 min
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	  $(BIN)/python -m training.train --quick --no-baselines --teacher nblr-self --data $(SAMPLE) \
	    --unsup $(SAMPLE_EXTRA) --movies $(SAMPLE_EXTRA) --model-dir "$$out" && \
	  grep -q '"test_copies": 4' "$$out"/1/metrics.json && echo "train-smoke: ok ($$out/1)"

bench: $(DEV_STAMP) ## run the benchmarks (results under bench/results/)
	$(BIN)/python -m bench $(BENCH_ARGS)

soak: $(DEV_STAMP) ## 30 min of mixed load, hot swaps, slow clients, bad bodies (SOAK_ARGS="--minutes 120")
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

chaos: $(DEV_STAMP) ## compose under load: kill -9, a failing and a wedged model call, full queue in a swap, corrupt version
	PYTHON=$(BIN)/python scripts/chaos.sh

fuzz: $(DEV_STAMP) ## schemathesis --checks all on every POST route of a local server (FUZZ_EXAMPLES=200)
	BIN=$(BIN) scripts/fuzz.sh

compose-smoke: ## build + start the compose stack, check predictions and Prometheus, tear down
	scripts/compose_smoke.sh

gpu-check: ## on an NVIDIA GPU: cuDNN kernel runs, equals the CPU path, throughput (else: skipped)
	VENV=$(VENV) scripts/gpu_check.sh $(GPU_CHECK_ARGS)

compose-reload-check: ## models on a mounted volume: a new version switches the running container
	scripts/compose_reload_check.sh

requirements: ## regenerate requirements/*.txt from the installed venv after changing a pin
	$(BIN)/python scripts/freeze_runtime.py

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
