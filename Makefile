# trftrain developer and user entry points. Everything installs into .venv; nothing needs the network at run time.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where the public corpora are copied from; leave empty to download them (see corpora/manifest.json).
SOURCE ?= ../shared/corpora
# The CPU build: a bare `torch` would pull several GB of CUDA packages. CUDA users: TORCH="torch" (see README).
TORCH ?= torch==2.13.0

.PHONY: setup demo test test-all bench corpora lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test,demo,ray,serve]"
	touch $@

corpora: setup
	$(BIN)/python corpora/prepare.py $(if $(SOURCE),--source $(SOURCE))

# Train on real data with the real all-MiniLM-L6-v2 encoder, evaluate, package, install the wheel in a
# scratch environment and load it there, offline.
demo: setup
	$(BIN)/python corpora/prepare.py $(if $(SOURCE),--source $(SOURCE)) --only ud-en-ewt
	HF_HUB_OFFLINE=1 $(BIN)/trftrain train configs/quick-demo.cfg --output training/demo
	HF_HUB_OFFLINE=1 $(BIN)/trftrain evaluate training/demo/model-best corpora/converted/ewt-dev.spacy --output training/demo/scores.json
	$(BIN)/trftrain package training/demo/model-best training/demo/dist --name en_trftrain_demo --version 0.1.0
	$(BIN)/python scripts/check_wheel.py training/demo/dist/en_trftrain_demo-0.1.0-py3-none-any.whl en_trftrain_demo training/demo/model-best --scratch training/demo/scratch-env

# The default suite: CPU, offline, tiny random encoders. Slow tests (wheel install) are included; the converter
# fuzzing runs a small fixed sample here and thousands of inputs in test-all.
# Two pytest workers, one torch thread each: the tiny test models keep one core busy with Python, so a second
# worker nearly halves the run; with torch's default threads per worker the two oversubscribe the cores (4x slower).
TEST_WORKERS ?= 2

test: setup
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not gpu and not real_encoder and not long and not fuzz"

# Everything, including tests that use the real MiniLM weights, (where a GPU exists) CUDA, and the converter fuzzing.
test-all: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: setup corpora
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run.py --quick

lint: setup
	$(BIN)/python -m pip install -q ruff
	$(BIN)/ruff check src tests bench scripts corpora

clean:
	rm -rf training corpora/converted corpora/downloads
