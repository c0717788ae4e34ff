# CueCard: `make run` starts the product on the embedded defaults, `make test` passes the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
export OPENBLAS_NUM_THREADS ?= 1
export HF_HUB_OFFLINE ?= 1

.PHONY: setup run test test-fast bench browser lint clean

setup: $(VENV)/.installed

# torch first and pinned: an unpinned resolve would pull a several-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# Debian's chromium drives the page tests (never `playwright install`); skipped with a reason if absent.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
	      || echo "warning: could not install chromium; page tests will be skipped"; \
	  else echo "note: chromium is not installed; page tests will be skipped"; fi; }

run: setup
	$(VENV)/bin/cuecard serve

test: setup browser
	$(VENV)/bin/pytest

test-fast: setup
	$(VENV)/bin/pytest -m "not slow and not browser"

bench: setup
	$(PY) bench/embedder.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf var .pytest_cache
