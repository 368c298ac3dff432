# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run socket test test-topology venv migrate bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(BIN)/presales-bot db upgrade

run: $(STAMP)
	$(BIN)/presales-bot db upgrade
	$(BIN)/presales-bot serve

# Socket Mode, for a first try without a public URL: SLACK_BOT_TOKEN and SLACK_APP_TOKEN (README).
socket: $(STAMP)
	$(BIN)/presales-bot db upgrade
	$(BIN)/presales-bot socket

# The import layers first (lint-imports, under a second), then one pytest worker per core
# (pytest-xdist); PYTEST_ARGS adds options, e.g. PYTEST_ARGS='-n 0 -x'.
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The deployment shape on this machine: 2 web (gunicorn, Procfile line) + 2 schedulers + PostgreSQL
# (127.0.0.1:5432, scratch database presales_topology) + fake Slack; about 3.5 minutes
# (.ci/run runs it after the SQLite and PostgreSQL passes).
test-topology: $(STAMP)
	$(BIN)/python -m tests.topology.run $(TOPOLOGY_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.all

clean:
	rm -rf $(VENV) *.egg-info
