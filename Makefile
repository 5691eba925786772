# Two entry points for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint bench

# Browser-test tools from npm (axe-core for tests/browser/test_a11y_browser.py).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m ui.guard run app.py --server.port 8501

lint: install
	$(PY) -m ruff check .

test: lint node_modules/.package-lock.json
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/run_all.py
