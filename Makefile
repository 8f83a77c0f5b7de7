# Ishibashi: `make demo` runs the demo marketplace, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The suite runs on SQLite always, and again on PostgreSQL when DATABASE_URL names one.
PG_URL := $(filter postgres%,$(DATABASE_URL))

ifeq ($(origin PYTEST_ARGS),undefined)
PYTEST_ARGS :=
endif

.PHONY: messages-update test-deps install demo test lint typecheck test-sqlite test-postgres test-faults messages system-deps clean bench

install: $(VENV)/.installed messages

# The browser tests need Debian's chromium; installed here when running as root.
test-deps:
	bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

messages: $(VENV)/.installed
	$(BIN)/python -m ishibashi.config.compile_messages

demo: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/demo.sqlite3 $(BIN)/ishibashi demo --port $(PORT)

lint: install
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# ISHIBASHI_VAR_DIR (uploads, mail files) is per suite when scripts/run-suites.sh runs both.
test-sqlite: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-run.sqlite3 $(BIN)/ishibashi makemigrations --check --dry-run
	$(if $(ISHIBASHI_VAR_DIR),ISHIBASHI_VAR_DIR=$(ISHIBASHI_VAR_DIR)) DATABASE_URL=sqlite:///$(CURDIR)/var/test-run.sqlite3 $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	$(if $(ISHIBASHI_VAR_DIR),ISHIBASHI_VAR_DIR=$(ISHIBASHI_VAR_DIR)) DATABASE_URL=$(PG_URL) $(BIN)/pytest $(PYTEST_ARGS)

# Kills sweepers and server workers, restarts a private PostgreSQL it starts itself (never the
# shared one); runs once, whatever DATABASE_URL names. About 2 minutes.
test-faults: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-faults.sqlite3 $(BIN)/pytest -m faults tests/faults $(PYTEST_ARGS)

# The SQLite and PostgreSQL suites run side by side (scripts/run-suites.sh), after the fault run.
test: test-deps lint typecheck test-faults
	bash scripts/run-suites.sh $(if $(PG_URL),postgres,)

# Debian packages the browser tests and a bare machine need (run as root; .ci/run does).
system-deps:
	bash scripts/install-system-deps.sh

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

# Re-extract every marked string into the ja/en catalogues (needs GNU gettext).
messages-update: install
	cd src/ishibashi && ../../$(BIN)/python -m django makemessages -l ja -l en --ignore='tests/*' --no-obsolete --settings=ishibashi.config.settings
