# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    the main job (on the built-in Mailkit simulator when no credentials are set):
#               fetch into the cache, summarise, render reports/error-overview_<time>.html
#   make test   the test suite (what CI runs through .ci/run)
# and, once the cache is filled:
#   make lab    JupyterLab on notebooks/, on loopback (as root too: Docker containers, CI)
#   make report the overview report again (ARGS="--since 2026-11-01 --notebook 03" ...)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# JupyterLab listens on loopback only unless LAB_IP says otherwise (LAB_IP=0.0.0.0 inside a
# container whose port you publish). It refuses to start as root without --allow-root, and a
# normal user should not pass it: decided here from the effective uid. LAB_ARGS adds flags,
# e.g. LAB_ARGS="--no-browser --port 8890".
LAB_IP ?= 127.0.0.1
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

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

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=$(LAB_IP) --ServerApp.root_dir=notebooks $(LAB_ROOT_FLAG) $(LAB_ARGS)

# Naive way vs the toolkit, measured in one run (BENCH_ARGS="--quick" for a short one); then the
# three reports on 1M and 10M generated rows, time and peak memory of the largest process
# (WINDOW_ARGS="--rows 1000000 --baseline DIR" to compare with another version's source tree).
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/window.py $(WINDOW_ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache
