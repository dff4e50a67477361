# Beacon: every target bootstraps .venv itself, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# The UI listens on loopback only; `make dev DEV_HOST=0.0.0.0` exposes it (put auth in front).
DEV_HOST ?= 127.0.0.1
DEV_PORT ?= 3000

.PHONY: install audit serve test dev bench lint clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Beacon needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)

# Constraints pin every transitive version, so two installs give the same environment.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

audit: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/beacon audit $(ARGS)

# Keeps Dagster loaded for this instance: `make audit` started meanwhile skips its start-up.
serve: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/beacon serve

lint: install
	$(BIN)/ruff check .

test: lint
	@# CI renders report.html in headless Chromium (Debian's package); the test fails there without it.
	@if [ -n "$$CI" ] && [ ! -x /usr/bin/chromium ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y chromium; fi
	$(BIN)/python -m pytest

# Benchmarks (simulated backend, fresh temp instances; a few minutes): name=value figures on stdout.
bench: install
	$(BIN)/python benchmarks/run.py $(ARGS)

dev: install $(DAGSTER_HOME)/dagster.yaml
	@# dg finds the project by pyproject.toml ([tool.dg]) and runs it with this .venv.
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev --host $(DEV_HOST) --port $(DEV_PORT)

clean:
	rm -rf $(VENV) .dagster_home reports .pytest_cache .ruff_cache
