"""Shared fixtures: one local Spark session for the whole run, and a fresh lake per test."""

from __future__ import annotations

import os
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


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """A fresh, empty lake root for one test; returns its path."""
    root = tmp_path / "lake"
    monkeypatch.setenv("ITLAKE_LAKE_ROOT", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()
