# The two commands: `make run` runs the whole system, `make test` passes the tests.
# Both create .venv and install requirements.txt; with DATABASE_URL / REDIS_URL unset they start
# private PostgreSQL and Redis servers (from pip packages) under .data/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Bytecode goes under .data/ too: the two commands leave the checkout as it was (apart from .venv/, .data/).
PYCACHE := $(CURDIR)/.data/pycache

.PHONY: run test lint audit clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	PYTHONPYCACHEPREFIX=$(PYCACHE) $(PY) scripts/dev.py run

# Two pytest workers: most tests wait on real processes and sockets, so two overlap well on two cores.
# No retries: a test that fails only sometimes is a bug to fix.
PYTEST_ARGS ?= -n 2
test: $(VENV)/.installed
	PYTHONPYCACHEPREFIX=$(PYCACHE) $(PY) scripts/dev.py test $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --cache-dir .data/ruff .
	$(VENV)/bin/lint-imports --cache-dir .data/import-linter

# Needs the PyPI/OSV advisory service (not reachable from the development sandbox).
audit: $(VENV)/.installed
	REQUESTS_CA_BUNDLE=$${REQUESTS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} \
		$(VENV)/bin/pip-audit -r requirements.txt --no-deps --disable-pip

clean:
	rm -rf .data
