# mathsqrt — every set-up step lives here, so `make lab` and `make test` work on a fresh machine.
#
#   make lab      create .venv if missing, install the package with its notebook extras, open JupyterLab
#   make test     the same set-up, then the whole test suite
#   make bench    speed/error benchmark (python -m mathsqrt.bench)
#   make figures  regenerate every figure in figures/ (python -m mathsqrt.figures)
#
# The torch requirement can be overridden, e.g. `make test TORCH=torch==2.13.0` for a CPU-only build.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch>=2.2
PORT   ?= 8888
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mathsqrt-installed

.PHONY: setup lab test bench figures clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install when the requirements or the torch pin change.
$(STAMP): pyproject.toml Makefile | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[notebooks,test]"
	@echo "$(TORCH)" > $@

setup: $(STAMP)
	@grep -qxF '$(TORCH)' $(STAMP) || { rm -f $(STAMP); $(MAKE) --no-print-directory $(STAMP) TORCH='$(TORCH)'; }

lab: setup
	@echo "JupyterLab will serve notebooks/ at http://127.0.0.1:$(PORT)/lab (Ctrl-C to stop)"
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(PORT) \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m mathsqrt.bench

figures: setup
	$(PY) -m mathsqrt.figures

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis results build *.egg-info
