# DigitPad: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test test-fast lint lock test-system install install-dev install-web db-upgrade \
	train bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Locked requirements (every transitive pin): requirements.txt is what `make run`
# needs (web and training), requirements-web.txt a web host without TensorFlow,
# requirements-dev.txt the tests and checks. Their sources: requirements/*.in.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
# A web host only: gunicorn and the flask commands that do not train (training needs `make install`).
install-web: | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-web.txt

# Re-resolve the locked requirements from requirements/*.in (after changing one).
LOCK := $(CURDIR)/$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
lock: install-dev
	cd requirements && $(LOCK) --output-file ../requirements.txt train.in
	cd requirements && $(LOCK) -c ../requirements.txt --output-file ../requirements-web.txt web.in
	cd requirements && $(LOCK) -c ../requirements.txt --output-file ../requirements-dev.txt dev.in

db-upgrade: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed

run: db-upgrade
	@$(BIN)/flask admin-hint
	@echo "DigitPad on http://127.0.0.1:8000"
	@# The worker is kept alive: restarted a few seconds after it stops for any reason.
	(while true; do $(BIN)/flask worker; echo "worker stopped; restarting in 3 s" >&2; sleep 3; done) & \
	keeper=$$!; trap 'pkill -P $$keeper 2>/dev/null; kill $$keeper 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Debian's Chromium for the browser tests, PostgreSQL for the tests that run on both
# databases, Redis for the rate limits that several hosts share.
test-system:
	bash .ci/ensure-packages /usr/bin/chromium chromium fonts-dejavu-core
	bash .ci/ensure-packages '/usr/lib/postgresql/*/bin/initdb' postgresql
	bash .ci/ensure-packages /usr/bin/redis-server redis-server

# ruff (lint, import order, format) and mypy on app/ and trainer/: zero findings.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install-dev test-system lint
	$(BIN)/python -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)

# The edit loop: no Chromium, no PostgreSQL, no training; two processes, fewer fuzz examples.
test-fast: install-dev
	DIGITPAD_TESTS=fast $(BIN)/python -m pytest -q -n 2 --dist worksteal \
		-m "not browser and not postgresql and not training" $(PYTEST_ARGS)

train: db-upgrade
	$(BIN)/flask train --profile $(or $(PROFILE),full)

bench: install-dev test-system
	$(BIN)/python -m tests.benchmarks.stress
	$(BIN)/python -m tests.benchmarks.latency
	$(BIN)/python -m tests.benchmarks.training
	$(BIN)/python -m tests.benchmarks.online
	$(BIN)/python -m tests.benchmarks.small_datasets
	$(BIN)/python -m tests.benchmarks.pad
	$(BIN)/python -m tests.benchmarks.numbers
	$(BIN)/python -m tests.benchmarks.load
	$(BIN)/python -m tests.benchmarks.inside

# The README's pictures, refreshed on purpose (tests write theirs to test-artifacts/).
screenshots: install-dev test-system
	$(BIN)/python -m pytest -q tests/test_browser.py tests/test_browser_dashboard.py
	cp test-artifacts/screenshot.png test-artifacts/number.png test-artifacts/dashboard.png static/img/

clean:
	rm -rf $(VENV) .pytest_cache
