# Two commands on a fresh machine (Python >= 3.11, Java 17 and Maven on the PATH):
#   make demo   -- local Neo4j + simulated AWS account + one sync + example queries
#   make test   -- the checks (import layers, ruff, mypy), then the test suite against a real Neo4j and a moto server
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install bench fuzz clean

# The product and its dev tools (devtools/: simulated AWS account, demo, local Neo4j), both editable.
$(BIN)/lineage-collector: pyproject.toml devtools/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -c constraints.txt -e '.[test,demo]' -e ./devtools
	touch $@

install: $(BIN)/lineage-collector

demo: install
	$(BIN)/lineage-collector demo

lint: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check --quiet .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/s3_schema.py
	$(BIN)/python bench/sql.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/queries.py
	$(BIN)/python bench/api.py

# The event parsers under a longer fuzzing run than the test suite's (FUZZ_EXAMPLES per strategy).
FUZZ_EXAMPLES ?= 50000
fuzz: install
	$(BIN)/python bench/fuzz_events.py --examples $(FUZZ_EXAMPLES)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info devtools/build devtools/*.egg-info
