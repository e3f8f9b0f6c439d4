# One task runner for the dev loop (plain make; see CONTRIBUTING.md). Run inside the virtual
# environment that `python -m pip install -e '.[test]'` set up.
PYTHON ?= python

.PHONY: test unit contract golden-update lint types layers bench ci

## The whole suite: unit, golden, contract, wire, emulator, workflow and CLI end-to-end tests.
test:
	$(PYTHON) -m pytest

## Pure core only: plain values, no I/O, a few seconds.
unit:
	$(PYTHON) -m pytest tests/unit

## The contract suite over sandbox, Graph emulator and EWS emulator.
contract:
	$(PYTHON) -m pytest tests/contract

## Rewrite the golden plans (tests/golden); review the diff before committing it.
golden-update:
	$(PYTHON) -m pytest tests/golden --update-golden

lint:
	ruff check reconciler tests
	ruff format --check reconciler tests

types:
	mypy

## The layer contracts of import-linter ([tool.importlinter] in pyproject.toml).
layers:
	lint-imports

bench:
	$(PYTHON) -m tests.benchmarks.bench

## Exactly what .ci/run does once its virtual environment is set up and the project installed.
ci:
	$(PYTHON) -m pytest
	ruff check reconciler tests
	mypy
	lint-imports
