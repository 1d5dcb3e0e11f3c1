# The two commands: `make run` runs the whole system, `make test` passes the tests.
# Both create .venv and install requirements.txt; with DATABASE_URL / REDIS_URL unset they start
# private PostgreSQL and Redis servers (from pip packages) under .data/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) scripts/dev.py run

test: $(VENV)/.installed
	$(PY) scripts/dev.py test $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf .data
