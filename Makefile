# quizsession: `make serve` runs the service with a demo quiz; `make test` runs
# every check. Both set up what they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8002

.PHONY: install system-deps serve test lint typecheck layers unit bench bench-quick clean openapi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[server,dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	./scripts/ensure-system-deps.sh

serve: install
	$(BIN)/quizsession serve --demo --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench testsupport
	$(BIN)/ruff format --check src tests bench testsupport

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

test: install system-deps lint typecheck layers
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit tests/contract/test_store.py -q

# Every scenario in turn (saves, live, spike, deadline, coldstart, postgres); each
# prints a table and a JSON line; the summary goes to test-artifacts/bench-results.json.
bench: install system-deps
	$(BIN)/python -m bench

bench-quick: install system-deps
	$(BIN)/python -m bench --quick

openapi: install
	$(BIN)/python scripts/dump_openapi.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
