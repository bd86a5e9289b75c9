# Every target installs what is missing first (compose/local/setup.sh is idempotent).
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo test lint typecheck unit integration compose up down status bench fuzz clean \
	images compose-up compose-down

setup:
	@bash compose/local/setup.sh

up: setup
	$(BIN)/stenograph up

down:
	@if [ -x $(BIN)/stenograph ]; then $(BIN)/stenograph down; fi

status:
	$(BIN)/stenograph status

demo: setup
	$(BIN)/stenograph up
	$(BIN)/stenograph demo tests/data/jfk.flac

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q -ra --durations=25

# The container deployment (compose/): images built here from a debootstrap base, no registry.
images: setup
	@bash compose/images.sh

compose-up: images
	@bash compose/compose.sh up

compose-down:
	@bash compose/compose.sh down

compose: images
	$(BIN)/pytest -q -ra -m compose tests/compose

bench: setup
	$(BIN)/python -m tests.bench.run

# the pure parsers under atheris, FUZZ_SECONDS each; what breaks one is kept in tests/fuzz/regressions
FUZZ_SECONDS ?= 60
fuzz: setup
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS)

clean: down
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
