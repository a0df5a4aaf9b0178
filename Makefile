# Village Agent Academy — the two commands of the README.
#   make run   install into .venv, migrate the SQLite database, load content and demo data, serve
#   make test  install dev dependencies, lint, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app academy
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev lint serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) init-db
	$(FLASK) content sync
	$(FLASK) seed-demo
	$(FLASK) run --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/waitress-serve --host $(HOST) --port $(PORT) --threads 8 --call academy:create_app

lint: install-dev
	$(BIN)/ruff check academy tests
	$(BIN)/ruff format --check academy tests

test: install-dev lint
	$(BIN)/python -m pytest -n auto -q

bench: install-dev
	$(BIN)/python -m pytest tests/bench -q -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
