# wise-al: `make demo` and `make test` work from a fresh clone; everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The suite runs against the real servers of this machine.
export WISE_AL_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export WISE_AL_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help setup system assets services demo up test test-fast api-check compose-test slurm-test screenshots lint format clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

system:  ## Debian packages (cp2k, packmol, docker-compose to validate the compose file)
	@scripts/ensure-system.sh

services:  ## PostgreSQL and Redis running on 127.0.0.1
	@scripts/ensure-services.sh

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --find-links /opt/wheels -e '.[api,worker,test]'
	@touch $@

# The dashboard's browser libraries come from the npm registry (pinned by the lock file) and
# are served by the app itself: the browser never reaches a CDN.
ASSETS := services/api/dashboard
$(ASSETS)/node_modules/.package-lock.json: $(ASSETS)/package.json $(ASSETS)/package-lock.json
	cd $(ASSETS) && npm ci --no-audit --no-fund --loglevel=error

assets: $(ASSETS)/node_modules/.package-lock.json  ## the dashboard's JS libraries from npm

setup: system $(STAMP) assets  ## system packages, .venv with the project, dashboard assets

demo: setup  ## embedded mode running the example campaign; API left up at :8000
	WISE_AL_HOME=$${WISE_AL_HOME:-$(CURDIR)/.wise-al} $(BIN)/wise-al demo

up: setup  ## embedded mode: the API and a worker for every queue (SQLite, no servers)
	WISE_AL_HOME=$${WISE_AL_HOME:-$(CURDIR)/.wise-al} $(BIN)/wise-al up

# Three workers on two cores: a worker waiting on CP2K, a subprocess or a poll leaves its
# core to the others; one thread each (OMP_NUM_THREADS=1) so that torch and CP2K do not
# oversubscribe the cores. Tests sharing a module fixture, a Redis database or Docker run on
# one worker (xdist_group marks), in the order tests/conftest.py gives: slow first, cheap
# last. Things built once per run are shared by all workers (tests/support/once.py).
PYTEST := OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest \
	-n $${WISE_AL_TEST_WORKERS:-3} --dist loadgroup --no-loadscope-reorder

test: setup services  ## the whole suite (lint and the API-only check first: a minute)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory api-check
	$(PYTEST) --durations=30

test-fast: setup services  ## the suite without slow, process and compose tests (minutes)
	$(PYTEST) -m "not slow and not processes and not compose" --durations=10

# The API image installs only `.[api]`: this venv holds exactly that (no torch, no mace),
# and the API must start in it and serve its pages.
API_VENV := .venv-api
$(API_VENV)/.installed-stamp: pyproject.toml constraints.txt
	@test -x $(API_VENV)/bin/python || $(PYTHON) -m venv $(API_VENV)
	$(API_VENV)/bin/pip install -q --find-links /opt/wheels -e '.[api]'
	@touch $@

api-check: assets $(API_VENV)/.installed-stamp  ## start the API from a venv holding only .[api]
	$(API_VENV)/bin/python scripts/check-api-only.py

compose-test: setup  ## docker compose for real: build, run a campaign, kill workers (root)
	$(BIN)/python -m pytest -q tests/compose

slurm-test: setup  ## CP2K labels through a local one-node Slurm cluster (root)
	$(BIN)/python -m pytest -q tests/integration/test_slurm_labels.py

screenshots: setup services  ## the browser tests, then their screenshots into docs/ (README)
	$(BIN)/python -m pytest -q tests/e2e/test_dashboard_browser.py tests/e2e/test_study_browser.py
	cp tests/artifacts/screenshots/*.png docs/screenshots/

lint:  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format:  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:  ## remove the venv and local state
	rm -rf $(VENV) $(API_VENV) .wise-al .pytest_cache .mypy_cache .ruff_cache $(ASSETS)/node_modules
