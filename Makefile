# mathsqrt — every set-up step lives here, so `make lab` and `make test` work on a fresh machine.
#
#   make lab      create .venv if missing, install the package with its notebook extras, open JupyterLab
#   make test     the same set-up, then the linter and the whole test suite (what CI runs)
#   make test-fast  the inner loop: the suite without the slow tests (notebooks, browser, make lab, ...)
#   make lint     ruff check + ruff format --check
#   make bench    speed/error benchmark (python -m mathsqrt.paper.bench); options via BENCH_ARGS,
#                 e.g. make bench BENCH_ARGS="--device cuda" or BENCH_ARGS="--quick --sweeps batch"
#   make figures  regenerate every figure in figures/ (python -m mathsqrt.paper.figures)
#   make docs     build the documentation site into docs/_build/html (warnings are errors; the
#                 notebooks are executed in fast mode, MATHSQRT_FAST=1)
#
# The torch requirement can be overridden, e.g. `make test TORCH=torch==2.13.0` for a CPU-only build.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch>=2.2
PORT   ?= 8888
BENCH_ARGS ?=
DOCS_OUT ?= docs/_build/html
SPHINXOPTS ?= -W --keep-going -n
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mathsqrt-installed

.PHONY: setup lab lint test test-fast bench figures docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install when the requirements or the torch pin change.
$(STAMP): pyproject.toml Makefile | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[notebooks,test,docs]"
	@echo "$(TORCH)" > $@

setup: $(STAMP)
	@grep -qxF '$(TORCH)' $(STAMP) || { rm -f $(STAMP); $(MAKE) --no-print-directory $(STAMP) TORCH='$(TORCH)'; }

# JupyterLab settings for this project (site-wide in the venv, overridable per user): no news or
# update-check toasts covering the notebooks. Rewritten when this Makefile changes.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB_ARGS     ?=

$(LAB_SETTINGS): Makefile | $(STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

# Serve notebooks/ on 127.0.0.1:$(PORT); --allow-root only when run as root. Extra flags: LAB_ARGS=--no-browser.
lab: setup $(LAB_SETTINGS)
	@echo "Starting JupyterLab on notebooks/ at http://127.0.0.1:$(PORT)/lab"
	@echo "Open the http://127.0.0.1:$(PORT)/lab?token=... URL that Jupyter prints below (Ctrl-C to stop)."
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --ip=127.0.0.1 --port=$(PORT) \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

lint: setup
	$(VENV)/bin/ruff check mathsqrt tests
	$(VENV)/bin/ruff format --check mathsqrt tests

test: lint
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser" -q

bench: setup
	$(PY) -m mathsqrt.paper.bench $(BENCH_ARGS)

figures: setup
	$(PY) -m mathsqrt.paper.figures

# The static site: landing page, executed notebooks, API reference, gallery, errata, comparison.
# Strict: -W (warnings are errors), --keep-going (report them all), -n (every reference resolves).
docs: setup
	$(PY) -m sphinx -b html $(SPHINXOPTS) -d docs/_build/doctrees docs $(DOCS_OUT)
	@echo "Open $(DOCS_OUT)/index.html"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis results build dist *.egg-info docs/_build docs/notebooks
