# Three commands: `make demo`, `make serve` and `make test` (plus `make docs`). Each creates .venv and
# installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test pytest lint docs chromium bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	NBCRED_HOME=$${NBCRED_HOME:-.nbcred} $(BIN)/nbcred demo

serve: $(STAMP)
	NBCRED_HOME=$${NBCRED_HOME:-.nbcred} $(BIN)/nbcred serve --sample-accounts

# lint, the docs and the test suite are independent: `make -j2 test` runs them side by side.
test: lint docs pytest

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
	$(BIN)/ruff check grader credentials nbcred tests bench docs
	$(BIN)/mypy

# The documentation site, warnings as errors (nitpicky); the settings, CLI and HTTP API pages are
# generated from the code by docs/_ext/nbcred_reference.py. Output: docs/_build/html/index.html.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python bench/grade_throughput.py

clean:
	rm -rf $(VENV) .nbcred out docs/_build docs/_generated
