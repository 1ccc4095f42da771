# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    the main job (on the built-in Mailkit simulator when no credentials are set):
#               fetch into the cache, summarise, render reports/error-overview_<time>.html
#   make test   the test suite (what CI runs through .ci/run)
# and, once the cache is filled:
#   make lab    JupyterLab on notebooks/ (installs the [lab] extra the first time)
#   make report the overview report again (ARGS="--since 2026-11-01 --notebook 03" ...)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LAB_STAMP := $(VENV)/.lab-installed

.PHONY: run test venv lab report bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mailkit-analysis)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/mailkit-analysis demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

report: $(STAMP)
	$(BIN)/mailkit-analysis report $(ARGS)

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	touch $(LAB_STAMP)

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab notebooks/

# Naive way vs the toolkit, measured in one run (BENCH_ARGS="--quick" for a short one).
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache
