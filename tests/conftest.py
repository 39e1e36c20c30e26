"""Shared fixtures: one local Spark session for the whole run, and a fresh lake per test."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A session-scoped local[2] Spark session with Delta, UI off."""
    from itlake.lake.session import get_spark

    os.environ.setdefault("ITLAKE_LAKE_ROOT", str(tmp_path_factory.mktemp("lake")))
    get_settings.cache_clear()
    session = get_spark("itlake-tests")
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
