# Set-up is part of every target: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test lint format bench clean system-packages

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)  ## start the dashboard on the embedded simulator
	$(BIN)/streamlit run streamlit_app.py

# Debian's Chromium (browser test) and PostgreSQL (database tests), installed when missing.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The tests run against SQLite always and against a local PostgreSQL server started here
# (and stopped again at the end, pass or fail, when it was this run that started it).
test: $(STAMP) system-packages  ## lint, then the whole test suite
	$(BIN)/ruff check .
	@url="$${TEST_DATABASE_URL:-}"; own=""; \
	if [ -z "$$url" ]; then url="$$(bash scripts/test-postgres.sh start)" || exit 1; own=1; fi; \
	echo "TEST_DATABASE_URL=$$url"; \
	TEST_DATABASE_URL="$$url" $(BIN)/python -m pytest; status=$$?; \
	if [ -n "$$own" ]; then bash scripts/test-postgres.sh stop; fi; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

bench: $(STAMP)  ## engine (against kiteconnect's parser), replay, database and detection benchmarks
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_instruments.py
	$(BIN)/python benchmarks/bench_replay.py --minutes 30
	$(BIN)/python benchmarks/bench_backtest.py
	$(BIN)/python benchmarks/bench_database.py
	$(BIN)/python benchmarks/bench_detection.py --seeds 101-140,241-280

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
