# The two commands: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install lint typecheck migrations-check test-sqlite test-postgres system-deps \
        messages lock bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/biobank migrate --noinput
	$(BIN)/biobank demo
	@echo "biobank: http://127.0.0.1:8000/ (sign in with a demo user above; Ctrl-C stops)"
	$(BIN)/biobank runserver 127.0.0.1:8000

test: lint typecheck migrations-check system-deps test-sqlite test-postgres

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src

migrations-check: $(STAMP)
	BIOBANK_DATA_DIR=$$(mktemp -d) $(BIN)/biobank makemigrations --check --dry-run

system-deps:
	scripts/system-deps.sh

test-sqlite: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider

test-postgres: $(STAMP)
	scripts/with-postgres.sh $(BIN)/pytest -p no:cacheprovider -m "not e2e"

# Refresh the zh-Hant catalogue from the source, then compile it (translate new entries between).
messages: $(STAMP)
	cd src/biobank && BIOBANK_DATA_DIR=$$(mktemp -d) ../../$(BIN)/biobank makemessages -l zh_Hant --no-location --no-obsolete --ignore "migrations/*"
	cd src/biobank && BIOBANK_DATA_DIR=$$(mktemp -d) ../../$(BIN)/biobank compilemessages

# Re-pin every dependency after changing pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^biobank' > requirements.lock

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
