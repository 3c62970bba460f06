# tiersync: `make run` runs the main job (the demo when no credentials are set); `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run demo dev test lint bench bench-scenario clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/tiersync run

demo: install
	$(BIN)/tiersync demo

dev: install
	bash scripts/dev

test: install
	bash scripts/ensure-redis
	$(BIN)/ruff check worker tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check worker tests bench
	$(BIN)/mypy

# make bench ARGS="--accounts 10000 100000 --change-rate 0 1 10 --naive" (options: bench/scale_bench.py --help)
bench: install
	$(BIN)/python bench/scale_bench.py $(ARGS)

bench-scenario: install
	$(BIN)/python bench/sync_bench.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tiersync
