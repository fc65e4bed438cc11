# `make` lists the targets; each `## text` line documents the target below it.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# apt-get with no questions asked (tzdata, which postgresql pulls in, would ask for a time zone).
APT_INSTALL = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends
# The team server's state folder and ports: `make team-server TEAM_PORT=5050`.
TEAM_DIR ?= .team
TEAM_PORT ?= 5000
TEAM_POSTGRES_PORT ?= 5433
# Row counts `make bench-scale` times: `make bench-scale ROWS="10000 100000 1000000 5000000"`.
ROWS ?= 10000 100000 1000000
TEAM_ARGS = --folder $(TEAM_DIR) --port $(TEAM_PORT) --postgres-port $(TEAM_POSTGRES_PORT)

## List the targets
help:
	@awk '/^## /{doc=substr($$0,4)} /^[a-z-]+:/{if(doc){sub(":.*","",$$1); printf "  %-20s %s\n",$$1,doc; doc=""}}' $(MAKEFILE_LIST)

# The package's own tables of pyproject.toml, rewritten only when they change: editing
# [tool.mlgate] (a team's settings) must not reinstall anything.
$(VENV)/package.json: FORCE
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import json, tomllib; t = tomllib.load(open("pyproject.toml", "rb")); print(json.dumps([t["project"], t["build-system"]], sort_keys=True))' > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

# What a gate session needs: mlgate and its runtime dependencies, nothing else.
$(VENV)/.gates: $(VENV)/package.json
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The harness's own suite: the boosting and team extras and the dev tools too.
$(VENV)/.dev: $(VENV)/package.json
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.gates

## Create .venv with mlgate and what a gate session needs
install: $(VENV)/.gates

## Create .venv with mlgate, its extras and the dev tools, for the harness's own suite
install-dev: $(VENV)/.dev

## Install Prometheus and promtool (Debian/Ubuntu), for the monitoring tests
prometheus:
	command -v promtool >/dev/null || ($(SUDO) apt-get update && $(APT_INSTALL) prometheus)

## Install PostgreSQL (Debian/Ubuntu), for team mode and its tests
postgresql:
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ($(SUDO) apt-get update && $(APT_INSTALL) postgresql)

## Install Java 17 (Debian/Ubuntu), for the Spark tests (pyspark runs on a JVM)
java:
	command -v java >/dev/null || ($(SUDO) apt-get update && $(APT_INSTALL) openjdk-17-jre-headless)

## Start the team's tracking server: PostgreSQL + `mlflow server` on 127.0.0.1:5000, state in .team/
team-server: install-dev postgresql
	$(BIN)/mlgate team start $(TEAM_ARGS)

## Stop the team's tracking server (its registry and artifacts stay in .team/)
team-server-stop: install-dev
	$(BIN)/mlgate team stop $(TEAM_ARGS)

## Run the quality gates on the configured dataset (promotes only on a full green run)
gates: install
	$(BIN)/pytest gates/

## Run the harness's own suite (two workers, then the `alone` tests that judge timings, one at a time) and build the docs; installs Prometheus, PostgreSQL, Java
test: install-dev prometheus postgresql java docs
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest tests/ -m "not alone" -n 2 --dist loadfile --durations=15
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest tests/ -m alone --durations=15

## Build the docs site into site/ with mkdocs (strict: a broken link or a stale nav fails)
docs: install-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## Rewrite the generated reference pages in docs/reference/ from the code (settings, CLI, tags, metrics, gates)
reference: install-dev
	$(BIN)/python -m mlgate.reference docs/reference

## Compare mlgate's server with `mlflow models serve` on fresh champions: breast cancer, wine one-hot, diabetes regression
bench-serving: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/serving.py --fresh-champion breast_cancer
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/serving.py --fresh-champion wine_categorical
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/serving.py --fresh-champion diabetes

## Count the perf gates' false alarms: 10 gate sessions per dataset, a gate-session loop beside them
bench-false-alarms: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/false_alarms.py --sessions 10

## Count the model gates' refusals: 40 trials per dataset of equal (refresh, reseed) and clearly worse candidates
bench-false-refusals: install-dev
	PYTHONPATH=. $(BIN)/python benchmarks/false_refusals.py --trials 40

## Time a cold `pytest gates/` against a bare training script
bench-gates: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/gate_session.py

## Start 4 gate sessions at once on a fresh store, 5 rounds; time opening one store from 4 processes
bench-concurrent: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/concurrent_sessions.py --rounds 5 --sessions 4

## Time a full `pytest gates/` against a bare script at 10k / 100k / 1M rows (5M: ROWS="... 5000000")
bench-scale: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/scale.py --rows $(ROWS)

## Report every registered version (crowned or refused, scores, latency, trends) into history/
history: install
	$(BIN)/mlgate history --out history

## Time `mlgate history` on 1,000 synthetic versions, SQLite and a real mlflow server
bench-history: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/history.py --server

## Time drift tracking: folding a request's rows, and the /metrics render with and without the drift gauges
bench-drift: install
	$(BIN)/python benchmarks/drift.py

## Time `mlgate score` against `mlflow models predict` on one 1M-row CSV: rows/s, same labels, peak memory
bench-score: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/scoring.py --rows 1000000

## Serve the current champion on 127.0.0.1:8080 with /metrics
serve: install
	$(BIN)/mlgate serve

.PHONY: FORCE help install install-dev prometheus postgresql java team-server team-server-stop gates test docs reference history bench-serving bench-false-alarms bench-false-refusals bench-gates bench-concurrent bench-history bench-drift bench-score bench-scale serve
