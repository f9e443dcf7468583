# Set-up is part of every target: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test lint format bench clean system-packages

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)  ## start the dashboard on the embedded simulator
	$(BIN)/streamlit run streamlit_app.py

system-packages:  ## Debian's Chromium for the browser test, installed when missing
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

test: $(STAMP) system-packages  ## lint, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

bench: $(STAMP)  ## engine benchmarks against kiteconnect's parser
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_replay.py --minutes 30

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
