# Quick start: `make claims` and `make test`. Both create .venv when missing and install into it.
PYTHON     ?= python3
VENV       ?= .venv
# The CPU wheel; override (e.g. TORCH_SPEC="torch>=2.1") for a CUDA machine.
TORCH_SPEC ?= torch==2.13.0
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.reluthe-installed
ARGS       ?=

.PHONY: install claims test test-all figures bench lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	@touch $(STAMP)

claims: $(STAMP)
	$(PY) -m reluthe.check_claims $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q --runslow $(ARGS)

figures: $(STAMP)
	$(PY) -m reluthe.check_claims --figures-only $(ARGS)

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b $(BENCH_ARGS) || exit 1; done

lint: $(STAMP)
	$(PY) -m ruff check reluthe tests proofs benchmarks examples

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) site .pytest_cache
