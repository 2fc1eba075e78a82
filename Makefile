# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make quickstart   install, run the quickstart job, print where the report went
#   make test         install, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --constraint constraints.txt
STAMP  := $(VENV)/.installed

.PHONY: quickstart test bench asv wheelhouse install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) --quiet -e '.[test,dask,asv,scipy]'
	# bytecode ahead of time: each worker process imports these modules, and where
	# PYTHONDONTWRITEBYTECODE is set every process would compile them again
	$(BIN)/python -m compileall -q optbench plugins
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/optbench run suites/quickstart.toml --out results --jobs 2
	@echo "report: $$($(BIN)/optbench report latest --out results)"

test: $(STAMP)
	sh scripts/system-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-only \
	    --benchmark-autosave --benchmark-storage=.benchmarks $(PYTEST_ARGS)

# asv, offline: benchmark the installed optbench at HEAD, then publish the HTML report.
asv: $(STAMP)
	$(BIN)/asv machine --yes
	$(BIN)/asv run -E existing:$(CURDIR)/$(BIN)/python --set-commit-hash $$(git rev-parse HEAD) $(ASV_ARGS)
	$(BIN)/asv publish

# Wheels for `asv continuous --config asv.continuous.conf.json` (builds each commit offline).
wheelhouse: $(STAMP)
	$(BIN)/python -m pip download --constraint constraints.txt -d .wheelhouse \
	    setuptools wheel numpy pandas pluggy torch==2.13.0 array-api-compat matplotlib

clean:
	rm -rf $(VENV) build *.egg-info
