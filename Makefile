# itlake: the commands a user runs. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
# OpenLineage events of every task, inputs and outputs named by catalogue code (itlake/orchestration/lineage.py).
export AIRFLOW__OPENLINEAGE__TRANSPORT ?= {"type": "file", "log_file_path": "$(AIRFLOW_HOME)/openlineage.json", "append": true}
export AIRFLOW__OPENLINEAGE__EXTRACTORS ?= itlake.orchestration.lineage.ItlakeTaskExtractor
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo test test-fast lint lock clean bench docs

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@echo "==> creating $(VENV) and installing the locked requirements"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	@$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/itlake demo run

# Two workers (pytest-xdist), one per core; a test file stays on one worker, so its module-scoped
# lakes are built once; the files with slow tests are handed out first, then those with the most
# tests (tests/conftest.py).
# PYTEST_WORKERS=0 runs the tests in this process, one after another.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q --durations=15 -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	@$(BIN)/ruff check .
	@$(PYTEST) tests

# The quick lane for developers: every test but those marked slow (the real scheduler, the Spark
# cluster, PostgreSQL, the engine's server, the wheel in a clean venv, the benchmarks).
test-fast: $(STAMP)
	@$(BIN)/ruff check .
	@$(PYTEST) -m "not slow" tests

# The documentation site into site/; --strict fails on any warning (a broken link, an
# ITLAKE_* variable that docs/reference/settings.yaml does not describe).
docs: $(STAMP)
	@NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP)
	@$(BIN)/python -m bench.run

# The bad-input corpus (tests/fixtures/bad/cases.yaml) in a fresh temporary lake: one line per case,
# then cases tried, cases passed and rows lost; exits 1 unless every case passed and none was lost.
.PHONY: reliability
reliability: $(STAMP)
	@$(BIN)/python -m tools.reliability

# S3Proxy, the S3-compatible server tests/test_s3_lake.py starts on loopback (from Maven Central,
# cached in ~/.cache/itlake/s3proxy).
.PHONY: s3proxy
s3proxy:
	@.ci/install-s3proxy

lint: $(STAMP)
	@$(BIN)/ruff check .

lock:
	@test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet uv==0.13.9)
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --no-header -o requirements.lock

clean:
	rm -rf lake demo-city .airflow site
