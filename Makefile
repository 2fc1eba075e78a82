# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make quickstart   install, run the quickstart job, print where the report went
#   make test         install, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --constraint constraints.txt
STAMP  := $(VENV)/.installed

.PHONY: quickstart test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) --quiet -e '.[test,dask,asv,scipy]'
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/python examples/course_notes.py results

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-only -p no:randomly \
	    --benchmark-autosave --benchmark-storage=.benchmarks $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
