# AHA Desk: `make run` starts the whole system, `make test` runs the whole suite.
# Both install what they need first (`make install`).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: install run test lint format clean mutation

$(UV):
	PYTHON="$(PYTHON)" UV_VERSION="$(UV_VERSION)" scripts/bootstrap-uv.sh

## Create .venv with the locked dependencies (uv.lock).
install: $(UV)
	$(UV) sync --frozen --python "$(PYTHON)"

## Migrate, seed demo data, then Redis, web, Celery worker and beat until Ctrl-C.
## The web server listens on HOST:PORT (make run HOST=0.0.0.0 PORT=8080; 127.0.0.1:8000).
run: install
	HOST="$(HOST)" PORT="$(PORT)" .venv/bin/python scripts/run.py

## ruff, then pytest on SQLite, then pytest on PostgreSQL and Redis started for the run.
test: install
	scripts/test.sh

lint: install
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: install
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

## Mutation testing (mutmut) of the pure rule modules: the score per module, each survivor.
## Not part of `make test` (slow). Settings and equivalent mutants: mutation/.
mutation: install
	.venv/bin/python mutation/run.py

clean:
	rm -rf .venv .tools var
