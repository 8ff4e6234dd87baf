# sectag: `make serve` and `make test` are the whole quick start.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
REGISTRY ?= registry
STAMP := $(VENV)/.installed

.PHONY: install serve test model bench soak clean

# The virtual environment is rebuilt only when the package definition changes.
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(STAMP)

# Train and promote the default model only when the registry has no current version.
model: $(STAMP)
	@test -f $(REGISTRY)/current.json || $(BIN)/sectag train --registry $(REGISTRY) --promote

serve: model
	$(BIN)/sectag predict --registry $(REGISTRY) \
		"Egypt will train Libyan police cadres in combating terrorism."

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(REGISTRY) reports .pytest_cache .hypothesis
