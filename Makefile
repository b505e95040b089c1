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
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

fuzz: $(VENV)/.test  # the long version of the suite's fuzzing (derandomized, more examples)
	FUZZ_EXAMPLES=2000 FUZZ_PAGE_EXAMPLES=40 $(BIN)/python -m pytest tests/fuzz -q

bench: $(VENV)/.test
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# A classroom (see "For teachers" in the README): R app replicas behind nginx with sticky sessions.
#   make classroom [R=2] [PORT=8080] [ADDRESS=127.0.0.1]    the class address is http://ADDRESS:PORT/
#   make classroom-check URL=http://127.0.0.1:8080          a short load test; prints the capacity
#   make handouts [URL=http://...]                          one printable page per topic (HTML + PDF)
.PHONY: classroom classroom-check handouts
R ?= 2
PORT ?= 8080
ADDRESS ?= 127.0.0.1
URL ?= http://127.0.0.1:$(PORT)

classroom: $(VENV)/.app
	$(BIN)/python classroom/run.py --replicas $(R) --port $(PORT) --address $(ADDRESS)

classroom-check: $(VENV)/.test
	$(BIN)/python benchmarks/loadtest.py --url $(URL) --sessions 5 --duration 40 --think 1 3 --ramp 3 \
		--timeout 30 --capacity

handouts: $(VENV)/.test
	$(BIN)/python benchmarks/handouts_pdf.py --out handouts $(if $(filter command line,$(origin URL)),--url $(URL))
