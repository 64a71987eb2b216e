PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/formrelay dev --demo

test: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_delivery_load.py

check: $(STAMP)
	$(BIN)/ruff check formrelay handlers projections tests contract_tests bench
	$(BIN)/mypy formrelay
	$(BIN)/lint-imports
	$(BIN)/cfn-lint infra/template.yaml

clean:
	rm -rf $(VENV) .formrelay
