# The two commands a fresh machine needs (see README): `make render` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: render test lint pytest system-deps

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

## Render every project in projects/ into generated/.
render: $(STAMP)
	$(VENV)/bin/pipedsl render

## Lint, type-check, check the import layers and run the whole test suite.
test: system-deps lint pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

pytest: $(STAMP) system-deps
	$(VENV)/bin/pytest -n auto -p no:cacheprovider

## Real Groovy (to compile rendered Jenkinsfiles) and nginx from Debian's packages, when missing.
system-deps:
	@.ci/install-system-deps
