# Two commands do all set-up on a fresh machine:
#   make demo   installs into .venv (once) and trains the anomaly detector on the embedded default data
#   make test   installs into .venv (once), lints (ruff) and runs the test suite (the fast tier: tests marked
#               slow left out)
#   make test-all  the same with the slow tier too (every vision family end to end, multi-trial sweeps)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint install clean

demo: $(STAMP)
	$(PY) scripts/train_anomaly.py

test: lint
	$(PY) -m pytest -q tests

# pycodestyle, pyflakes and import order over the whole tree (settings in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .

# setup.cfg's addopts leave the slow tier out (-m "not slow"); the last -m wins.
test-all: lint
	$(PY) -m pytest -q -m "slow or not slow" tests

install: $(STAMP)

# Reinstalls only when the package metadata changes.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
