# `make` lists the targets; each `## text` line documents the target below it.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## List the targets
help:
	@awk '/^## /{doc=substr($$0,4)} /^[a-z-]+:/{if(doc){sub(":.*","",$$1); printf "  %-20s %s\n",$$1,doc; doc=""}}' $(MAKEFILE_LIST)

$(BIN)/pytest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,boosting]"
	touch $@

## Create .venv with mlgate and its dependencies
install: $(BIN)/pytest

## Install Prometheus and promtool (Debian/Ubuntu), for the monitoring tests
prometheus:
	command -v promtool >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y prometheus)

## Run the quality gates on the configured dataset (promotes only on a full green run)
gates: install
	$(BIN)/pytest gates/

## Run the harness's own test suite
test: install prometheus
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest tests/ --durations=15

## Compare mlgate's server with `mlflow models serve` on fresh champions: breast cancer, then wine one-hot
bench-serving: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/serving.py --fresh-champion breast_cancer
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/serving.py --fresh-champion wine_categorical

## Count the perf gates' false alarms: 10 gate sessions per dataset, a gate-session loop beside them
bench-false-alarms: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/false_alarms.py --sessions 10

## Time a cold `pytest gates/` against a bare training script
bench-gates: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/gate_session.py

## Serve the current champion on 127.0.0.1:8080 with /metrics
serve: install
	$(BIN)/python -m model serve

.PHONY: help install prometheus gates test bench-serving bench-false-alarms bench-gates serve
