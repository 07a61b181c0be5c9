# The few commands people use. Everything sets itself up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTTP ?= 127.0.0.1:8090
DATA ?= ./kb_data

.PHONY: run test test-fast lint format bench bench-smoke bench-observability soak wrk chromium hypopg pebble dashboard screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

tests/e2e/node_modules/.installed: tests/e2e/package.json
	cd tests/e2e && npm install --no-audit --no-fund --silent
	touch $@

clients/js-sync/node_modules/.installed: clients/js-sync/package-lock.json
	cd clients/js-sync && npm ci --no-audit --no-fund --silent
	touch $@

# The admin dashboard (dashboard/ -> keelbase/dashboard/dist/), rebuilt when a source file changes.
DASHBOARD_DIST := keelbase/dashboard/dist/index.html
DASHBOARD_SRC := $(shell find dashboard/src -type f 2>/dev/null) dashboard/build.mjs dashboard/package-lock.json

dashboard/node_modules/.installed: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund --silent
	touch $@

$(DASHBOARD_DIST): $(DASHBOARD_SRC) dashboard/node_modules/.installed
	cd dashboard && node build.mjs

dashboard: $(DASHBOARD_DIST)

# make run builds the dashboard when npm is there, and serves without it otherwise.
NPM := $(shell command -v npm 2>/dev/null)
RUN_DASHBOARD := $(if $(NPM),$(DASHBOARD_DIST),)

# Debian's chromium drives the browser tests (tests/browser); installed when missing.
CHROMIUM := $(shell command -v chromium 2>/dev/null)

chromium:
ifeq ($(CHROMIUM),)
	apt-get install -y -q chromium >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)
endif

# wrk drives the benchmarks; Debian's package, installed when missing.
WRK := $(shell command -v wrk 2>/dev/null)

wrk:
ifeq ($(WRK),)
	apt-get install -y -q wrk >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null)
endif

# hypopg gives the index advisor hypothetical indexes on PostgreSQL (tests/api/test_advisor.py);
# Debian's package for the local PostgreSQL 15, installed when missing.
HYPOPG := $(wildcard /usr/share/postgresql/15/extension/hypopg.control)

hypopg:
ifeq ($(HYPOPG),)
	apt-get install -y -q postgresql-15-hypopg >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q postgresql-15-hypopg >/dev/null)
endif

# pebble, Let's Encrypt's test ACME server, issues the certificates of the automatic-HTTPS
# test (tests/e2e/test_autocert.py); Debian's package, installed when missing.
PEBBLE := $(shell command -v pebble 2>/dev/null)

pebble:
ifeq ($(PEBBLE),)
	apt-get install -y -q pebble >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q pebble >/dev/null)
endif

run: $(VENV)/.installed $(RUN_DASHBOARD)
	@test -f $(DASHBOARD_DIST) || echo "note: npm is missing, so the dashboard at /_/ is not built (install Node.js 20+ with npm)"
	$(BIN)/keelbase serve --http $(HTTP) --dir $(DATA)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(VENV)/.installed-dev tests/e2e/node_modules/.installed clients/js-sync/node_modules/.installed $(DASHBOARD_DIST) chromium wrk hypopg pebble lint
	$(BIN)/pytest

# The screenshots in docs/dashboard.md, taken by a browser test on SQLite (docs/images/dashboard/).
screenshots: $(VENV)/.installed-dev $(DASHBOARD_DIST) chromium
	KEELBASE_SCREENSHOTS=docs/images/dashboard KEELBASE_TEST_STORES=sqlite $(BIN)/pytest -q tests/browser/test_screenshots.py

# Unit, store, service and API tests on SQLite only: no browser, no npm, no wrk, no PostgreSQL.
test-fast: $(VENV)/.installed-dev
	KEELBASE_TEST_STORES=sqlite $(BIN)/pytest -m "not e2e and not postgres" tests/core tests/store tests/services tests/api tests/adapters

bench: $(VENV)/.installed-dev wrk
	$(BIN)/python -m bench
	$(BIN)/python -m bench.realtime
	$(BIN)/python -m bench.cold_start --pocketbase

bench-smoke: $(VENV)/.installed-dev wrk
	$(BIN)/python -m bench --smoke

# What observability costs (docs/observability.md): logging on vs off, log lag, the logs API
# with 1,000,000 entries, RSS over 1,000,000 requests. About 15 minutes.
bench-observability: $(VENV)/.installed-dev wrk
	$(BIN)/python -m bench.observability cost
	$(BIN)/python -m bench.observability inproc
	$(BIN)/python -m bench.observability lag
	$(BIN)/python -m bench.observability api
	$(BIN)/python -m bench.observability memory

# A real server under mixed load for SOAK_MINUTES (default 10): RSS, open files, p99 per minute.
soak: $(VENV)/.installed-dev
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) tests/e2e/node_modules dashboard/node_modules keelbase/dashboard/dist .pytest_cache .mypy_cache .ruff_cache
