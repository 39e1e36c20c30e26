"""Suites held to their contracts, domain expectations, foreign keys, and planted failures end to end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from typer.testing import CliRunner

from itlake.catalog.contracts import load_contract
from itlake.catalog.resources import load_catalog
from itlake.cli import app
from itlake.ingest.flow import BatchRefusedError, ingest_file
from itlake.lake.delta import merge_by_key, read_table
from itlake.lake.paths import table_path
from itlake.lake.system import read_system
from itlake.quality.checks import data_docs_dir
from itlake.quality.foreign_keys import foreign_key_results, with_foreign_key_errors
from itlake.quality.suites import Domain, build_suite

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = sorted(p.stem for p in (REPO / "schemas").glob("*.yaml"))
DAY = date(2026, 11, 27)
SHENZHEN = (113.75, 22.39, 114.63, 22.87)


def suite_rules(suite) -> dict[str, object]:
    return {e.meta["rule"]: e for e in suite.expectations}


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_contract_has_a_suite_that_follows_it(name):
    contract = load_contract(name)
    rules = suite_rules(build_suite(contract))

    columns = rules["expect_table_columns_to_match_set"]
    assert sorted(columns.column_set) == sorted(contract.column_names) and columns.exact_match
    key = list(contract.primary_key)
    if len(key) == 1:
        assert rules[f"expect_column_values_to_be_unique:{key[0]}"].meta["severity"] == "error"
    else:
        assert rules[f"expect_compound_columns_to_be_unique:{','.join(key)}"].column_list == key
    for col in contract.columns:
        assert (f"expect_column_values_to_not_be_null:{col.name}" in rules) == (not col.nullable), col.name
        between = rules.get(f"expect_column_values_to_be_between:{col.name}")
        if col.range is None:
            assert between is None, col.name
        else:
            assert (between.min_value, between.max_value) == tuple(col.range), col.name
        in_set = rules.get(f"expect_column_values_to_be_in_set:{col.name}")
        assert (in_set.value_set if in_set else None) == col.allowed, col.name
    for inv in contract.invariants:
        assert inv.sql in rules[f"invariant:{inv.name}"].unexpected_rows_query
    expected = (
        1
        + 1
        + sum(not c.nullable for c in contract.columns)
        + sum(c.range is not None for c in contract.columns)
        + sum(c.allowed is not None for c in contract.columns)
        + sum(c.pattern is not None for c in contract.columns)
        + len(contract.invariants)
    )
    assert len(rules) == expected


def test_domain_expectations_of_taxi_gps():
    rules = suite_rules(build_suite(load_contract("taxi_gps"), Domain(bbox=SHENZHEN, batch_date=DAY)))

    coverage = {r for r in rules if r.startswith("within_coverage:")}
    assert coverage == {"within_coverage:lon", "within_coverage:lat"}
    lon, lat = rules["within_coverage:lon"], rules["within_coverage:lat"]
    assert (lon.min_value, lon.max_value, lat.min_value, lat.max_value) == (113.75, 114.63, 22.39, 22.87)
    speed = rules["plausible_speed:speed_kmh"]
    assert (speed.min_value, speed.max_value) == (0, 200.0)
    window = rules["within_batch_window:fix_date"]
    assert (window.min_value, window.max_value) == (date(2026, 11, 26), date(2026, 11, 28))
    assert {rules[r].meta["severity"] for r in rules if r.split(":")[0] in ("within_coverage",
            "plausible_speed", "within_batch_window")} == {"warning"}


def test_trip_speed_is_plausible_from_distance_and_duration():
    rules = suite_rules(build_suite(load_contract("taxi_trip"), Domain()))
    query = rules["plausible_speed:distance_m/duration_s"].unexpected_rows_query
    assert "distance_m * 3.6 / duration_s > 200.0" in query


def test_foreign_keys_flag_orphans_by_a_join(spark, lake):
    routes = spark.createDataFrame(
        [("v1", "R1"), ("v1", "R2"), ("v2", "R9")], "feed_version STRING, route_id STRING"
    )
    merge_by_key(routes, table_path("silver", "gtfs_route"), ["feed_version", "route_id"])
    trips = spark.createDataFrame(
        [("v1", "T1", "R1"), ("v1", "T2", "R9"), ("v1", "T3", None), ("v1", "T4", "R2")],
        "feed_version STRING, trip_id STRING, route_id STRING",
    )
    contract = load_contract("gtfs_trip")

    flagged = {r.trip_id: r for r in with_foreign_key_errors(spark, trips, contract).collect()}

    # R9 exists, but in another feed version: the key is the pair.
    assert flagged["T2"]._fk_rule == "foreign_key:feed_version,route_id->gtfs_route"
    assert flagged["T2"]._fk_error == (
        "feed_version=v1, route_id=R9 has no match in gtfs_route "
        "(foreign_key:feed_version,route_id->gtfs_route)"
    )
    assert [flagged[t]._fk_rule for t in ("T1", "T3", "T4")] == [None, None, None]

    rule = flagged["T2"]._fk_rule
    results = {r.rule: r for r in foreign_key_results(contract, 4, {rule: 1}, {rule}, 0.0)}
    result = results[rule]
    assert (result.severity, result.success, result.unexpected_count) == ("error", False, 1)
    # The trip's other references (its service, its shape) are not in the lake: reported, not enforced.
    assert {r.severity for name, r in results.items() if name != rule} == {"warning"}
    assert result.observed_value == "1 of 4 rows have no match in gtfs_route"


def test_a_missing_referenced_table_is_reported_not_enforced(spark, lake):
    trips = spark.createDataFrame(
        [("v1", "T1", "R1")], "feed_version STRING, trip_id STRING, route_id STRING"
    )
    contract = load_contract("gtfs_trip")

    [row] = with_foreign_key_errors(spark, trips, contract).collect()
    results = {r.rule: r for r in foreign_key_results(contract, 1, {}, set(), 0.0)}

    assert row._fk_rule is None
    result = results["foreign_key:feed_version,route_id->gtfs_route"]
    assert (result.severity, result.success) == ("warning", False)
    assert result.observed_value == "not checked: gtfs_route is not in the lake"


def test_references_into_the_same_batch_are_left_to_the_feed(spark, lake):
    contract = load_contract("gtfs_trip")
    gtfs = ("gtfs_route", "gtfs_calendar", "gtfs_shape", "gtfs_trip")

    assert foreign_key_results(contract, 1, {}, set(), 0.0, same_batch=gtfs) == []


PLANTED = """VehicleNum,time,lon,lat,OpenStatus,Speed
粤B00001,2026-11-27 08:00:00,114.050000,22.540000,0,30
粤B00001,2026-11-27 08:01:00,114.050000,22.545000,1,30
,2026-11-27 08:02:00,114.060000,22.545000,1,30
粤B00002,2026-11-27 08:02:00,114.060000,22.545000,1,500
粤B00003,2026-11-27 08:03:00,120.070000,22.545000,1,30
"""


def planted(tmp_path: Path) -> Path:
    path = tmp_path / "taxi_planted.csv"
    path.write_text(PLANTED, encoding="utf-8")
    return path


def test_planted_failures_are_quarantined_recorded_and_documented(
    spark, lake, tmp_path, lenient_taxi_contract
):
    [row] = ingest_file(spark, load_catalog().get("taxi_gps"), planted(tmp_path), DAY)

    assert (row.status, row.rows_read, row.rows_promoted, row.rows_quarantined) == ("promoted", 5, 3, 2)
    reasons = {
        r._row_number: (r.quarantine_rule, r.quarantine_reason)
        for r in read_table(spark, table_path("quarantine", "taxi_gps")).collect()
    }
    assert reasons == {
        3: (
            "expect_column_values_to_not_be_null:vehicle_id",
            "vehicle_id=NULL is null (expect_column_values_to_not_be_null)",
        ),
        4: (
            "expect_column_values_to_be_between:speed_kmh",
            "speed_kmh=500.0 is outside [0.0, 200.0] (expect_column_values_to_be_between)",
        ),
    }
    results = {r.rule: r for r in read_system(spark, "quality_results").collect()}
    assert {rule for rule, r in results.items() if not r.success} == {"within_coverage:lon"}
    coverage = results["within_coverage:lon"]
    # Row 5 lies at 120.07 E, outside Shenzhen: recorded as a warning, promoted all the same.
    assert (coverage.severity, coverage.success, coverage.unexpected_count) == ("warning", False, 1)
    assert json.loads(coverage.unexpected_sample) == [120.07]
    assert results["expect_column_values_to_not_be_null:vehicle_id"].success is True
    assert results["within_batch_window:fix_date"].success is True
    index = Path(data_docs_dir(), "index.html").read_text(encoding="utf-8")
    assert "taxi_gps" in index and "passed" in index

    shown = CliRunner().invoke(app, ["quality", "report", "taxi_gps"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "taxi_gps: passed, 1 warning(s)" in shown.output
    assert "within_coverage:lon" in shown.output and "1 of 3 rows unexpected" in shown.output


def test_planted_failures_over_the_threshold_block_promotion_and_say_why(spark, lake, tmp_path):
    with pytest.raises(BatchRefusedError, match="40.00% of rows quarantined"):
        ingest_file(spark, load_catalog().get("taxi_gps"), planted(tmp_path), DAY)

    [row] = read_system(spark, "ingest_ledger").collect()
    assert (row.status, row.rows_promoted, row.rows_quarantined) == ("refused", 0, 5)
    [result] = read_system(spark, "quality_results").collect()
    assert (result.rule, result.severity, result.success, result.unexpected_count) == (
        "quarantine_threshold",
        "error",
        False,
        2,
    )
    assert json.loads(result.unexpected_sample) == {
        "expect_column_values_to_not_be_null:vehicle_id": 1,
        "expect_column_values_to_be_between:speed_kmh": 1,
    }
    assert not (lake / "silver" / "taxi_gps").exists()
    assert "FAILED" in Path(data_docs_dir(), "index.html").read_text(encoding="utf-8")
    shown = CliRunner().invoke(app, ["quality", "report"], env={"COLUMNS": "200"})
    assert shown.exit_code == 1
    assert "taxi_gps: FAILED" in shown.output and "2 of 5 rows quarantined (40.00%)" in shown.output
    held = read_table(spark, table_path("quarantine", "taxi_gps")).where(F.col("_row_number") == 1)
    assert held.first().quarantine_rule == "batch_refused"
