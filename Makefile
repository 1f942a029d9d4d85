# Tandem's commands. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint format schema migrate seed bench-seed bench-import bench-reports bench-sessions \
	bench-load bench-matching messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m matching.flow
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## axe-core for the browser tests' accessibility checks (npm; reinstalled when the lock changes).
NPM_STAMP := node_modules/axe-core/.installed
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## Web server on http://127.0.0.1:8000 with a Celery worker and beat, on an embedded SQLite
## database and a broker in files under var/ unless DATABASE_URL / REDIS_URL are set.
run: seed
	$(BIN)/honcho start -f Procfile.dev

## The whole test suite (SQLite in memory unless DATABASE_URL is set): everything, then the API
## fuzzing on two processes (TANDEM_FUZZ_EXAMPLES examples per operation and role, 10 by default;
## CI asks for 100).
FUZZ_WORKERS ?= 2
test: install $(NPM_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS) --ignore=tests/test_fuzz_api.py
	$(BIN)/pytest $(PYTEST_ARGS) -n $(FUZZ_WORKERS) tests/test_fuzz_api.py

## Updates the six interface catalogues (locale/) from the code and templates and compiles
## them (needs GNU gettext: apt-get install gettext); translate what it leaves empty or fuzzy.
I18N_IGNORE := --ignore=.venv --ignore=staticfiles --ignore=var --ignore=tests --ignore=node_modules
messages: install
	mkdir -p locale
	$(BIN)/python manage.py makemessages --no-obsolete --no-wrap $(I18N_IGNORE) \
		-l en -l nl -l hu -l pt -l ro -l es
	$(BIN)/python -m config.catalogues prepare
	$(BIN)/python manage.py compilemessages $(I18N_IGNORE)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

## Builds the large benchmark data set (use with DATABASE_URL pointing at PostgreSQL).
bench-seed: migrate
	$(BIN)/python manage.py seed_demo --reset --mentors 10000 --mentees 20000 --sessions 1000000

## Imports 10,000 generated mentors from CSV (dry run, then commit) and prints the times.
bench-import: migrate
	$(BIN)/python -m mentoring.bench_import --rows 10000

## Times a participation snapshot (in process, against its floor queries, through 1 and 2
## worker processes) and the dashboard page served from it; needs `make bench-seed` first.
bench-reports: migrate
	$(BIN)/python -m reports.bench

## 50 clients posting session logs to gunicorn for 20 s each, against Tandem's endpoint and a bare
## insert; prints throughput, p50/p95 and Tandem ÷ bare (needs DATABASE_URL pointing at PostgreSQL).
bench-sessions: migrate
	$(BIN)/python -m sessions.bench

## 50 concurrent mentors and coordinators (4 to 1, no think time) on gunicorn for 120 s: logs
## (10 % retried with the same idempotency key) and their reads; prints throughput, p50/p95 and
## errors per request kind, then the reconciliation (stored rows = 201 answers, one row per retried
## key, an audit row per log). A PostgreSQL database of its own (tandem_load_bench on 127.0.0.1,
## created and migrated if missing); BENCH_ARGS="--duration 30" for a shorter run.
bench-load: install
	$(BIN)/python -m sessions.bench_load $(BENCH_ARGS)

## Batch matching on synthetic programmes of 1,000 × 500, 5,000 × 2,500 and 20,000 × 10,000
## (Tandem, greedy, the dual bound, an exact solver) and suggestion latency through gunicorn, in a
## PostgreSQL database of its own (tandem_matching_bench on 127.0.0.1, built once and reused;
## BENCH_ARGS="--rebuild" builds it again, "--sizes 1000x500 --skip-api" for a quick run).
bench-matching: install
	$(BIN)/python -m matching.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles
