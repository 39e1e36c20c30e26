"""Shared fixtures: one local Spark session for the whole run, and a fresh lake per test.

The suite also runs in parallel (`pytest -n 2 --dist loadfile`, as `make test` does): each worker
is a process of its own with its own Spark session, temporary folders and lake root, and a test
file stays on one worker, so its module-scoped lakes are built once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from pathlib import Path

import pytest

from itlake.config import get_settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

os.environ.setdefault("ITLAKE_SPARK_MASTER", "local[2]")
os.environ.setdefault("ITLAKE_SHUFFLE_PARTITIONS", "2")
os.environ.setdefault("ITLAKE_DRIVER_MEMORY", "2g")

# Settings of the tests' in-process session only (jobs, the engine and the DAGs keep Spark's own).
# The tests' tables hold a few to a few thousand rows, where compiling each query's Java code
# costs more than running it. Interpreted expressions, without whole-stage code generation, took
# the GTFS sample ingested and then a changed version merged on top from 98-113 s of CPU (driver,
# JVM and Python workers) to 59-64 s. Spark's own test suites run every expression both ways; the
# DAGs, the engine and tests/_key_leak_probe.py (a process of its own) still generate code.
TEST_SESSION_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@contextlib.contextmanager
def _first_download_alone():
    """Hold a lock in the Ivy folder while a session starts, until one start has filled the cache:
    two parallel workers must not download Delta's jars into one cache at the same time."""
    from itlake.lake.session import delta_package

    ivy = get_settings().ivy_dir
    ivy.mkdir(parents=True, exist_ok=True)
    filled = ivy / f".filled-{delta_package().replace(':', '_')}"
    if filled.exists():
        yield
        return
    with (ivy / ".tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
            filled.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A session-scoped local[2] Spark session with Delta, UI off."""
    from itlake.lake.session import get_spark

    os.environ.setdefault("ITLAKE_LAKE_ROOT", str(tmp_path_factory.mktemp("lake")))
    get_settings.cache_clear()
    with _first_download_alone():
        session = get_spark("itlake-tests")
    for key, value in TEST_SESSION_CONF.items():
        session.conf.set(key, value)
    yield session
    session.stop()
    # py4j says goodbye at interpreter exit, after pytest has closed the streams it logs to.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """A fresh, empty lake root for one test; returns its path."""
    root = tmp_path / "lake"
    monkeypatch.setenv("ITLAKE_LAKE_ROOT", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.fixture
def lenient_taxi_contract(tmp_path, monkeypatch):
    """The contracts, with taxi_gps allowed to quarantine half a batch (the fixture has 1 bad row in 10)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "taxi_gps.yaml"
    contract.write_text(
        contract.read_text(encoding="utf-8").replace(
            "quarantine_threshold: 0.05", "quarantine_threshold: 0.5"
        )
    )
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()
