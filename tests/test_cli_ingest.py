"""`itlake ingest`: a refused file is one line and its ledger or notices, the others still ingest.

Runs the command in-process on the tests' Spark session, on real fixtures: the GBFS 3.0 documents
found through their gbfs.json, a GTFS zip without stops.txt (refused by the validator) and a
document cut off after 200 characters.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from itlake.cli import app

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = "2026-11-27"


def _run(*args: str):
    return CliRunner().invoke(app, ["ingest", *args, "--logical-date", DAY], env={"COLUMNS": "200"})


def test_one_refused_file_does_not_stop_the_others(spark, lake, tmp_path):
    cut = tmp_path / "sz_station_status.json"
    cut.write_text((FIXTURES / "gbfs" / "v3.0" / "station_status.json").read_text()[:200], encoding="utf-8")
    result = _run("gbfs_station_status", str(cut), str(FIXTURES / "gbfs" / "v3.0" / "gbfs.json"), "--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["refused"] == 1
    refused, ingested = out["files"]
    assert (refused["file"], refused["status"]) == (str(cut), "refused")
    assert refused["reason"].startswith("sz_station_status.json: not a valid JSON document (")
    [row] = refused["ledger"]
    assert (row["status"], row["source_file"]) == ("refused", "sz_station_status.json")
    # The gbfs.json stood for the station_status.json beside it, named for its system.
    assert Path(ingested["file"]).name == "example_london_station_status.json"
    assert ingested["status"] == "ingested"
    [row] = ingested["ledger"]
    assert (row["rows_read"], row["rows_promoted"], row["status"]) == (1, 1, "promoted")


def test_a_gtfs_refused_by_its_notices_prints_one_line_and_the_notices(spark, lake):
    zip_path = FIXTURES / "bad" / "gtfs_no_stops.zip"
    result = _run("gtfs", str(zip_path))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"✗ {zip_path}: gtfs_no_stops.zip: missing_required_file: stops.txt")
    assert "Traceback" not in result.output
    assert "ingest ledger" in result.output and "feed notices" in result.output
    assert any("missing_required_file" in line and "ERROR" in line for line in lines[1:])


def test_an_unknown_resource_is_one_line(lake):
    result = _run("no_such_thing", str(FIXTURES / "taxi_gps_tiny.csv"))
    assert result.exit_code == 2
    assert result.output.startswith("error: no catalogue entry 'no_such_thing'")
    assert len(result.output.strip().splitlines()) == 1
