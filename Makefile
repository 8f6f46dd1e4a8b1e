# Two commands do all set-up on a fresh machine:
#   make demo   installs into .venv (once) and trains the anomaly detector on the embedded default data
#   make test   installs into .venv (once) and runs the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean

demo: $(STAMP)
	$(PY) scripts/train_anomaly.py

test: $(STAMP)
	$(PY) -m pytest -q tests

install: $(STAMP)

# Reinstalls only when the package metadata changes.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
