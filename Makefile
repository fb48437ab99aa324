# quizsession: `make serve` runs the service with a demo quiz; `make test` runs
# every check. Both set up what they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8002

.PHONY: install system-deps serve test lint typecheck layers unit js js-checks bench bench-quick clean openapi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[server,dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	./scripts/ensure-system-deps.sh

serve: install
	@$(BIN)/quizsession serve --demo --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench testsupport
	$(BIN)/ruff format --check src tests bench testsupport

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

test: install system-deps lint typecheck layers js
	$(BIN)/pytest

# The pages' JavaScript: ESLint and the unit tests (Node's own test runner). The
# dev tools come from package-lock.json (`npm ci`, again whenever it changes).
# Without node/npm this is skipped with a message, except on CI (CI=true), where
# it fails.
NODE_STAMP := node_modules/.installed-stamp

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

js:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$CI" = "true" ]; then \
	    echo "CI=true but node/npm are missing: run make system-deps (Debian's nodejs, npm)" >&2; \
	    exit 1; \
	  fi; \
	  echo "node/npm are missing: the JavaScript checks are skipped (make system-deps installs them)"; \
	else \
	  $(MAKE) --no-print-directory js-checks; \
	fi

js-checks: $(NODE_STAMP)
	npx --no-install eslint
	node --test tests/js/*.test.js

unit: install
	$(BIN)/pytest tests/unit tests/contract/test_store.py -q

# Every scenario in turn (saves, live, live-redis, spike, deadline, coldstart,
# coldstart-postgres, reports, postgres); each
# prints a table and a JSON line; the summary goes to test-artifacts/bench-results.json.
bench: install system-deps
	$(BIN)/python -m bench

bench-quick: install system-deps
	$(BIN)/python -m bench --quick

openapi: install
	$(BIN)/python scripts/dump_openapi.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis node_modules
