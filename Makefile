# Two entry points for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m streamlit run app.py --server.port 8501

lint: install
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/run_all.py
