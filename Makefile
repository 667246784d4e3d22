# Quick start: `make claims` and `make test`. Both create .venv when missing and install into it.
PYTHON     ?= python3
VENV       ?= .venv
# The CPU wheel; override (e.g. TORCH_SPEC="torch>=2.1") for a CUDA machine.
TORCH_SPEC ?= torch==2.13.0
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.reluthe-installed
ARGS       ?=

.PHONY: install claims test test-all figures bench lint docs docs-check clean

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
	$(PY) -m pip install --quiet -e ".[dev,docs,ray]"  # the slow tests include Ray's
	$(PY) -m pytest -q --runslow $(ARGS)

figures: $(STAMP)
	$(PY) -m reluthe.check_claims --figures-only $(ARGS)

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b $(BENCH_ARGS) || exit 1; done

lint: $(STAMP)
	$(PY) -m ruff check reluthe tests proofs benchmarks examples

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# Builds the site into site/ and checks it in headless chromium (docs/check_site.py says what);
# installs Debian's chromium first when missing. Screenshots of the report go to build/docs-check/.
docs-check: $(STAMP)
	@command -v chromium >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "docs-check: chromium is missing and this machine has no apt-get: install chromium (or Chrome as 'chromium' on PATH) and rerun" >&2; exit 1; }; \
	  test "$$(id -u)" = 0 || { echo "docs-check: chromium is missing: run 'apt-get install -y chromium' as root, then rerun" >&2; exit 1; }; \
	  echo "docs-check: installing chromium (apt-get install -y chromium)"; \
	  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } || { \
	    echo "docs-check: apt-get could not install chromium" >&2; exit 1; }; }
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict
	$(PY) docs/check_site.py site --screenshots build/docs-check

clean:
	rm -rf $(VENV) site .pytest_cache
