"""Production mode without the pseudonym key stops every entry point at its start, saying why.

The entry points: `itlake ingest` and `itlake demo run` (the CLI), and a job under jobs/ as
spark-submit runs it (itlake/orchestration/runner.py). None may start Spark, copy a file or generate anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itlake.config import get_settings

REPO = Path(__file__).resolve().parents[1]
MESSAGE = "ITLAKE_PSEUDONYM_KEY is not set: production mode needs the HMAC key for pseudonyms"


@pytest.fixture
def production(tmp_path, monkeypatch):
    """Production mode with no pseudonym key, a fresh lake, and Spark forbidden to start."""

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started although the run should have stopped at its start")

    monkeypatch.setenv("ITLAKE_MODE", "production")
    monkeypatch.delenv("ITLAKE_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("ITLAKE_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setattr("itlake.lake.session.get_spark", no_spark)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_ingest_stops_at_start(production):
    from itlake.cli import app

    received = REPO / "tests" / "fixtures" / "taxi_gps_tiny.csv"
    result = CliRunner().invoke(app, ["ingest", "taxi_gps", str(received)], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"✗ stopped at start: {MESSAGE}")
    assert not (production / "lake").exists()


def test_cli_demo_run_stops_before_generating_the_city(production):
    from itlake.cli import app

    city = production / "demo-city"
    result = CliRunner().invoke(app, ["demo", "run", "--out", str(city)], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert f"✗ stopped at start: {MESSAGE}" in result.output
    assert not city.exists()


def test_a_job_stops_before_building_its_session(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ITLAKE_PSEUDONYM_KEY"}
    env.update(ITLAKE_MODE="production", ITLAKE_LAKE_ROOT=str(tmp_path / "lake"), PYTHONPATH=str(REPO))
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "jobs" / "ingest.py"),
            "--code",
            "taxi_gps",
            "--logical-date",
            "2026-11-27",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ITLAKE_RESULT ")
    result = json.loads(last.removeprefix("ITLAKE_RESULT "))
    assert result["job"] == "ingest" and result["ok"] is False
    assert result["error"].startswith(f"stopped at start: {MESSAGE}")
    assert "ingest stopped at start" in done.stderr
    assert "SparkContext" not in done.stderr and "Ivy" not in done.stderr  # no session was built
    assert not (tmp_path / "lake").exists()


def test_production_with_the_key_passes_the_check(monkeypatch):
    monkeypatch.setenv("ITLAKE_MODE", "production")
    monkeypatch.setenv("ITLAKE_PSEUDONYM_KEY", "a-real-key-from-the-secret-store")
    get_settings.cache_clear()
    try:
        get_settings().check_secrets()
        assert get_settings().pseudonym_key() == b"a-real-key-from-the-secret-store"
    finally:
        get_settings.cache_clear()
