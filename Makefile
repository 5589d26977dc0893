# Three commands: `make demo`, `make serve` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test pytest lint chromium bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	NBCRED_HOME=$${NBCRED_HOME:-.nbcred} $(BIN)/nbcred demo

serve: $(STAMP)
	NBCRED_HOME=$${NBCRED_HOME:-.nbcred} $(BIN)/nbcred serve --sample-accounts

# lint and the test suite are independent: `make -j2 test` runs them side by side.
test: lint pytest

# Test files run in parallel processes (pytest-xdist), a file's tests together in one process
# (tests/conftest.py groups them); the suite mostly waits on kernels, services and browsers.
PYTEST_ARGS ?= -n 3 --dist loadgroup

pytest: $(STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive the distribution's Chromium (never a downloaded one).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "installing chromium for the browser tests"; \
	    apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } || \
	    echo "chromium could not be installed: browser tests will skip (and fail with CI=true)"; }

lint: $(STAMP)
	$(BIN)/ruff check grader credentials nbcred tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/grade_throughput.py

clean:
	rm -rf $(VENV) .nbcred out
