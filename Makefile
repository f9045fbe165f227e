# IRPM — two commands: `make run` (set up everything and serve) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-sqlite test-postgres lint bench setup db clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

db: setup  ## migrate the database (SQLite instance/irpm.db by default), deploy bpmn/, demo city
	$(BIN)/irpm db upgrade
	$(BIN)/irpm deploy --by setup
	$(BIN)/irpm demo load --if-empty --start-campaign

run: db
	$(BIN)/irpm serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check engine web scheduler tests bench migrations
	$(BIN)/mypy

test-sqlite: setup
	@echo "== test suite on SQLite =="
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-postgres: setup
	@echo "== test suite on PostgreSQL (throwaway cluster) =="
	$(BIN)/python tests/pgtmp.py -- $(BIN)/python -m pytest -q -p no:cacheprovider

test: lint test-sqlite test-postgres

bench: setup
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info
