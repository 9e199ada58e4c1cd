# mlgov — the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install system-packages services lint test fuzz demo bench up down clean

help:
	@echo "make demo   set everything up and run the demo at http://127.0.0.1:8000"
	@echo "make test   install test dependencies, lint, run the test suite"
	@echo "make lint   ruff, mypy, bandit, dependency audit, migrations check, system checks, OpenAPI validation"
	@echo "make fuzz   random schemathesis draws against the API (FUZZ_EXAMPLES=25)"
	@echo "make bench  run the benchmarks (ratios against a same-run baseline)"
	@echo "make up     docker compose up (production-like stack)"

$(STAMP): requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip sync --python $(BIN)/python requirements/dev.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP) system-packages

system-packages:
	@scripts/ensure_system_packages.sh

services:
	@scripts/ensure_services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/bandit -q -c pyproject.toml -r config governance registry_sync policies assessments reports -ll
	BIN=$(BIN) scripts/dependency_audit.sh
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	MLGOV_ENV=production SECRET_KEY=lint-only-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
		ALLOWED_HOSTS=mlgov.example.org DATABASE_URL=sqlite:///tmp/unused.sqlite3 \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

test: install services lint
	$(BIN)/pytest

# Explore the API with random schemathesis draws (make test replays a fixed draw); FUZZ_EXAMPLES=n for more.
fuzz: install services
	MLGOV_FUZZ_RANDOM=1 MLGOV_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-25} $(BIN)/pytest tests/security/test_api_fuzz.py

demo: install
	$(BIN)/python manage.py demo

bench: install services
	@scripts/ensure_system_packages.sh wrk
	$(BIN)/python benchmarks/sync_bench.py
	$(BIN)/python benchmarks/gate_bench.py
	$(BIN)/python benchmarks/report_bench.py
	$(BIN)/python benchmarks/queue_bench.py

up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf $(VENV) .data .demo .pytest_cache .mypy_cache .ruff_cache
