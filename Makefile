# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	[ -x /usr/bin/chromium ] || apt-get install -y chromium >/dev/null || echo 'warning: could not install chromium (browser tests need /usr/bin/chromium)'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nbcred demo

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check grader credentials nbcred tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/grade_throughput.py

clean:
	rm -rf $(VENV) .nbcred out
