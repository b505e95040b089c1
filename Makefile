# Two commands on a fresh machine with Python 3.11+:
#   make run    start the app at http://localhost:8501 (creates .venv and installs on first use)
#   make test   run the whole test suite (same)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# setuptools prints a warning box for every editable install; it says nothing a user can act on.
PIP := PYTHONWARNINGS=ignore $(BIN)/python -m pip

.PHONY: run run-api test fuzz lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.app

run: $(VENV)/.app
	SDS_ALLOW_PROCESSES=$${SDS_ALLOW_PROCESSES:-1} $(BIN)/streamlit run app.py

run-api: $(VENV)/.app
	$(BIN)/uvicorn examples.example_api:app --port 8000 --no-proxy-headers

test: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

fuzz: $(VENV)/.test  # the long version of the suite's fuzzing (derandomized, more examples)
	FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest tests/fuzz -q

bench: $(VENV)/.test
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
