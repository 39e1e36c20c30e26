"""`itlake publish DATASET`: the name is checked before Spark starts; a release prints what was
released and withheld, and a second run of the same day finds it unchanged."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from itlake.cli import app
from itlake.config import get_settings


def publish(*args: str):
    return CliRunner().invoke(app, ["publish", *args], env={"COLUMNS": "200"})


def test_a_wrong_name_is_a_usage_error_before_spark():
    wrong = publish("od_taxi_hourli", "--date", "2026-11-27")
    assert wrong.exit_code == 2
    assert "did you mean od_taxi_hourly" in wrong.output
    feed = publish("taxi_gps", "--date", "2026-11-27")
    assert feed.exit_code == 2
    assert "03.02.001 taxi_gps is not an open dataset" in feed.output


def test_publish_releases_then_finds_the_same_day_unchanged(spark, lake, monkeypatch):
    from itlake.catalog.contracts import load_contract
    from itlake.lake.delta import append
    from itlake.lake.paths import table_path
    from tests.test_publish import trip_rows

    monkeypatch.setenv("ITLAKE_K_ANONYMITY", "3")
    get_settings.cache_clear()
    contract = load_contract("taxi_trip")
    append(
        spark.createDataFrame(trip_rows(), contract.spark_schema()),
        table_path(contract.layer, "taxi_trip"),
        partition_by=contract.partition_by or None,
    )

    first = publish("od_taxi_hourly", "--date", "2026-11-27", "--json")
    assert first.exit_code == 0, first.output
    released = json.loads(first.output)
    # Six trips: three Futian -> Nanshan at 01:00 are released; two cells of one and two trips withheld.
    assert (released["status"], released["version"], released["rows"]) == ("released", 1, 1)
    assert (released["suppressed_cells"], released["suppressed_trips"]) == (2, 3)

    again = publish("od_taxi_hourly", "--date", "2026-11-27")
    assert again.exit_code == 0, again.output
    assert "05.01.001 od_taxi_hourly v1 unchanged: 1 rows; 2 cells (3) under k withheld" in again.output
