# Two commands: `make run` serves the demo, `make test` runs the tests. Both set up
# everything they need first (virtual environment, packages, database, catalogs).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app intake
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_RESPONSES ?= 40

# The demo and the tests run in development mode: a secret is generated into
# instance/ and cookies work over plain http://127.0.0.1.
export INTAKE_ENVIRONMENT ?= development

.PHONY: run test setup lint catalogs migrate clean demo-passwords

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed catalogs

catalogs: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d translations

migrate: setup
	$(FLASK) db upgrade

run: migrate
	$(FLASK) seed-demo --if-empty --responses $(DEMO_RESPONSES)
	@echo ""
	@echo "Intake runs on http://$(HOST):$(PORT)  (back office: http://$(HOST):$(PORT)/admin/)"
	@echo "Demo logins were printed above when the database was first seeded;"
	@echo "'make demo-passwords' sets and prints new ones."
	$(FLASK) run --host $(HOST) --port $(PORT)

demo-passwords: migrate
	$(FLASK) seed-demo --reset-passwords

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite runs on SQLite, then again on PostgreSQL when one answers at
# PG_TEST_URL (CI and the development machines have it; elsewhere it is skipped, saying so),
# there without the Chromium tests: they drive the pages through the storage code that the
# HTTP tests cover on PostgreSQL too, and half the run's time is theirs (15-minute budget).
# Each run spreads the tests over TEST_WORKERS processes (pytest-xdist, one per core here)
# and prints the 25 slowest; a test over 60 s fails unless marked slow (tests/timelimit.py).
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1/test
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=25

test: setup lint
	$(PYTEST)
	@if $(BIN)/python -c "import sqlalchemy as sa; sa.create_engine('$(PG_TEST_URL)').connect().close()" 2>/dev/null; then \
	  echo "== the same tests on PostgreSQL ($(PG_TEST_URL)) =="; \
	  INTAKE_TEST_DATABASE_URL='$(PG_TEST_URL)' $(PYTEST) --ignore=tests/browser; \
	else \
	  echo "PostgreSQL does not answer at $(PG_TEST_URL): the PostgreSQL run is skipped."; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
