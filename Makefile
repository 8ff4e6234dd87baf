# sectag: `make serve` and `make test` are the whole quick start.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
REGISTRY ?= registry
STAMP := $(VENV)/.installed

.PHONY: install serve test model browser postgresql wrk bench bench-trends soak clean

# The virtual environment is rebuilt only when the package definition changes.
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

install: $(STAMP)

# Train and promote the default model only when the registry has no current version.
model: $(STAMP)
	@test -f $(REGISTRY)/current.json || $(BIN)/sectag train --registry $(REGISTRY) --promote

serve: model
	$(BIN)/sectag serve --registry $(REGISTRY) --host 127.0.0.1 --port 8000 --workers 2

# The browser test drives Debian's Chromium: install it where we can (root with apt-get).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium could not be installed: the browser test will be skipped"

# The review store's tests start a real PostgreSQL 15 from Debian's binaries: install them
# the same way (the tests start and stop a server of their own in a temporary folder).
postgresql:
	@test -x /usr/lib/postgresql/15/bin/initdb || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
		echo "postgresql could not be installed: the PostgreSQL store tests will be skipped"

test: $(STAMP) browser postgresql
	$(BIN)/python -m pytest

# wrk (load generator) and GNU time (peak memory) come from Debian packages.
wrk:
	@{ command -v wrk && test -x /usr/bin/time; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		command -v apt-get >/dev/null && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk time >/dev/null; }

bench: model wrk
	$(BIN)/python bench/run.py --registry $(REGISTRY)

# sectag batch --unit article --keep date, then sectag trends (both engines), 100,000 articles.
bench-trends: model wrk
	$(BIN)/python bench/trends.py --articles 100000 --registry $(REGISTRY)

soak: model wrk
	$(BIN)/python bench/soak.py --registry $(REGISTRY)

clean:
	rm -rf $(VENV) $(REGISTRY) reports .pytest_cache .hypothesis
