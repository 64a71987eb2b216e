PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# aws-sam-cli (the [deploy] extra) has a venv of its own: it pins boto3, click and
# pydantic below what the dev tools use, and weighs 340 MB that only a build needs.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
# Where `make build` leaves the functions and the layer for AWS (python3.12, arm64),
# and where `make build-host` leaves the same layout for this machine's python.
BUILD_DIR ?= .aws-sam/build
HOST_BUILD_DIR ?= .aws-sam/host

.PHONY: run test check bench clean build build-host deploy lint-sam browser browser

# uv resolves and installs in seconds what pip takes minutes over (both venvs are made
# inside the test run's time); pip stays in each venv (`python -m venv` puts it there)
# for infra/Makefile, which builds the layer with it.
UV := $(BIN)/uv

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv

$(STAMP): pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

$(SAM_STAMP): pyproject.toml | $(UV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python -e '.[deploy]'
	touch $(SAM_STAMP)

# The demo tenant, with a submission in each state a delivery ends in (see the README).
run: $(STAMP)
	$(BIN)/formrelay dev --demo --demo-submissions

# tests/packaging runs `make build` and `make build-host`, which make .venv-sam on first
# use: inside the test run, beside the other tests, rather than before them. Each module
# runs whole on one worker (its local stack starts once), longest first (conftest.py).
test: $(STAMP) browser
	$(BIN)/pytest -q -n 2 --dist loadgroup --no-loadscope-reorder

# tests/browser drives Debian's headless chromium with its chromedriver. As root (CI, on a
# fresh machine) they are installed when missing; anyone else is told what to install.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends chromium chromium-driver fonts-liberation; \
		else \
			echo "tests/browser needs $(CHROMIUM) and $(CHROMEDRIVER):" \
				"apt-get install chromium chromium-driver (as root), then make test again" >&2; \
			exit 1; \
		fi; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

check: $(STAMP)
	$(BIN)/ruff check formrelay handlers projections tests contract_tests bench infra
	$(BIN)/mypy formrelay handlers projections
	$(BIN)/lint-imports
	$(BIN)/cfn-lint infra/template.yaml
# every event schema version compatible with its predecessors under the manifest's mode
	$(BIN)/formrelay schemas check

# SAM's own validation with cfn-lint over the transformed template: offline, no account
# (tests/packaging runs it with no AWS credentials at all).
lint-sam: $(SAM_STAMP)
	$(SAM) validate --lint --template infra/template.yaml

# sam runs infra/Makefile's targets in the source tree (samconfig.toml); no docker.
build: $(SAM_STAMP)
	PYTHON=$(abspath $(SAM_VENV)/bin/python) $(SAM) build --build-dir $(BUILD_DIR)

# The same build for this machine's python (`formrelay dev --build-dir`, the packaging test).
build-host: $(STAMP) $(SAM_STAMP)
	PLATFORM=host PYTHON=$(abspath $(BIN)/python) $(SAM) build --build-dir $(HOST_BUILD_DIR)

deploy: build
	$(SAM) deploy --guided --template-file $(BUILD_DIR)/template.yaml

clean:
	rm -rf $(VENV) $(SAM_VENV) .formrelay .aws-sam
