# Kehu: `make run` to try it, `make test` to test it, `make help` for the rest.
# Needs only Python 3.11+ and make; everything else goes into .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
KEHU   := $(BIN)/kehu
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Extra arguments for pytest, e.g. make test ARGS="-k org_unit -x"
ARGS   ?=
# Data folder (embedded database, generated secret key, task queue). Kept by `make clean`.
export KEHU_DATA_DIR ?= $(CURDIR)/data

RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
DEPS      := pyproject.toml requirements.lock

.DEFAULT_GOAL := help
.PHONY: help run serve migrate demo test lint fmt migrations-check messages worker shell \
        venv venv-dev clean clean-data

help: ## List the targets
	@echo "Kehu — make targets (variables: HOST=$(HOST) PORT=$(PORT) ARGS=\"pytest args\")"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-17s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"Kehu needs Python 3.11 or newer; this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): $(VENV)/bin/python $(DEPS)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	@touch $@

$(DEV_STAMP): $(VENV)/bin/python $(DEPS)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@ $(RUN_STAMP)

venv: $(RUN_STAMP) ## Create .venv and install the pinned runtime dependencies
venv-dev: $(DEV_STAMP) ## Create .venv with the runtime and development dependencies

run: $(RUN_STAMP) ## Migrate, create the demo company once and serve on http://HOST:PORT
	$(KEHU) migrate --noinput
	$(KEHU) demo
	$(KEHU) serve --host $(HOST) --port $(PORT)

serve: $(RUN_STAMP) ## Serve with auto-reload for development (no migrate, no demo)
	$(KEHU) serve --host $(HOST) --port $(PORT) --reload

migrate: $(RUN_STAMP) ## Apply database migrations
	$(KEHU) migrate --noinput

demo: $(RUN_STAMP) ## Create the demo company (once) and print its accounts
	$(KEHU) demo

test: $(DEV_STAMP) ## Run the whole suite on SQLite and on PostgreSQL when reachable (side by side)
	$(BIN)/python scripts/test.py $(ARGS)

# Examples per API operation and persona for `make fuzz` (the suite itself uses 6).
FUZZ_EXAMPLES ?= 50
FUZZ_SEED     ?= 0
.PHONY: fuzz
fuzz: $(DEV_STAMP) ## Fuzz every API operation from the OpenAPI spec (FUZZ_EXAMPLES=50 FUZZ_SEED=0)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/fuzz $(ARGS)

lint: $(DEV_STAMP) ## Check the code: ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy kehu

fmt: $(DEV_STAMP) ## Fix what ruff can fix safely: import order, modern syntax, unused imports
	$(BIN)/ruff check --fix .

migrations-check: $(DEV_STAMP) ## Fail if models changed without a migration
	$(KEHU) makemigrations --check --dry-run

messages: $(DEV_STAMP) ## Update the zh_Hans translation catalogue and compile all catalogues
	cd kehu && ../$(KEHU) makemessages --locale zh_Hans --no-obsolete \
		--ignore 'static/*'
	cd kehu && ../$(KEHU) compilemessages

worker: $(RUN_STAMP) ## Run the task consumer on its own (make run already runs one)
	$(KEHU) worker

shell: $(RUN_STAMP) ## Open a Django shell with Kehu loaded
	$(KEHU) shell

# Benchmark scale for `make bench`: S (10,000 customers, about a minute) or M (1,000,000;
# generating takes a quarter of an hour or more).
SCALE ?= S
.PHONY: bench
bench: $(RUN_STAMP) ## Benchmark on a separate database (SCALE=S|M): results in bench/results
	$(KEHU) bench generate --scale $(SCALE) --seed 1
	$(KEHU) bench run --scale $(SCALE) --output bench/results

clean: ## Remove .venv and caches; keeps the data folder (see clean-data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find kehu tests scripts -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true

clean-data: ## Delete the data folder: database, secret key, task queue (asks first)
	@printf 'Delete %s with its database and secret key? [y/N] ' "$(KEHU_DATA_DIR)"; \
		read answer; [ "$$answer" = y ] && rm -rf "$(KEHU_DATA_DIR)" && echo Deleted. || echo Kept.
