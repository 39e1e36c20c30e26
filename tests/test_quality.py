"""Quality checks from the contracts: row rules and quarantine, GX suites, validation, the gate."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from itlake.catalog.contracts import load_contract
from itlake.quality import (
    QualityGateError,
    assert_passed,
    build_data_docs,
    build_suite,
    quarantine_split,
    row_rules,
    validate_frame,
)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
D0 = date(2024, 5, 1)


def loose(schema):
    """The contract's schema with every column nullable, so that bad rows can be built."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField(f.name, f.dataType, True) for f in schema])


def gps_row(vehicle_id="v1", seconds=0, lat=22.5, open_status=1, speed_kmh=30.0, src_crs="WGS-84"):
    return (
        vehicle_id,
        T0 + timedelta(seconds=seconds),
        D0,
        114.05,
        lat,
        open_status,
        speed_kmh,
        114.05,
        22.5,
        src_crs,
    )


def gps_frame(spark, rows):
    return spark.createDataFrame(rows, loose(load_contract("taxi_gps").spark_schema()))


def waybill_row(waybill_no="W1", destination_code="440304", delivery_hours=5.0, cargo_class="general"):
    delivery = None if delivery_hours is None else T0 + timedelta(hours=delivery_hours)
    return (
        waybill_no,
        "s1",
        "c1",
        "440300",
        destination_code,
        cargo_class,
        1200.0,
        None,
        "road",
        None,
        T0,
        D0,
        delivery,
    )


def test_row_rules_of_taxi_gps_follow_gx_names():
    names = [r.name for r in row_rules(load_contract("taxi_gps"))]
    assert names == [
        "expect_column_values_to_not_be_null:vehicle_id",
        "expect_column_values_to_not_be_null:fix_time",
        "expect_column_values_to_not_be_null:fix_date",
        "expect_column_values_to_not_be_null:lon",
        "expect_column_values_to_be_between:lon",
        "expect_column_values_to_not_be_null:lat",
        "expect_column_values_to_be_between:lat",
        "expect_column_values_to_not_be_null:open_status",
        "expect_column_values_to_be_in_set:open_status",
        "expect_column_values_to_be_between:speed_kmh",
        "expect_column_values_to_not_be_null:src_lon",
        "expect_column_values_to_not_be_null:src_lat",
        "expect_column_values_to_not_be_null:src_crs",
        "expect_column_values_to_be_in_set:src_crs",
    ]
    lat = next(r for r in row_rules(load_contract("taxi_gps")) if r.name.endswith("between:lat"))
    assert lat.column == "lat"
    assert lat.condition_sql == "`lat` IS NULL OR (`lat` >= 3.0 AND `lat` <= 54.0)"


def test_quarantine_split_sends_each_bad_row_with_its_first_failed_rule(spark):
    df = gps_frame(
        spark,
        [
            gps_row("v1", 0),
            gps_row("v2", 0, lat=95.2),
            gps_row("v3", 0, open_status=7),
            gps_row(None, 0),
            gps_row("v5", 0, speed_kmh=None),  # a null passes the range rule
            gps_row("v6", 30, src_crs="GCJ-02"),
        ],
    )
    good, bad = quarantine_split(df, row_rules(load_contract("taxi_gps")))

    assert good.columns == df.columns
    assert bad.columns == [*df.columns, "quarantine_rule", "quarantine_reason"]
    assert sorted(r.vehicle_id for r in good.collect()) == ["v1", "v5", "v6"]
    got = {(r.vehicle_id, r.quarantine_rule, r.quarantine_reason) for r in bad.collect()}
    assert got == {
        (
            "v2",
            "expect_column_values_to_be_between:lat",
            "lat=95.2 is outside [3.0, 54.0] (expect_column_values_to_be_between)",
        ),
        (
            "v3",
            "expect_column_values_to_be_in_set:open_status",
            "open_status=7 is not one of [0, 1] (expect_column_values_to_be_in_set)",
        ),
        (
            None,
            "expect_column_values_to_not_be_null:vehicle_id",
            "vehicle_id=NULL is null (expect_column_values_to_not_be_null)",
        ),
    }


def test_quarantine_split_regex_invariant_and_rule_order(spark):
    contract = load_contract("waybill")
    df = spark.createDataFrame(
        [
            waybill_row("W1"),
            waybill_row("W2", destination_code="44030X"),
            waybill_row("W3", delivery_hours=-1.0),
            waybill_row("W4", delivery_hours=None),  # the invariant allows an open waybill
            # fails the set rule and the invariant: the column rule comes first
            waybill_row("W5", cargo_class="gold", delivery_hours=-2.0),
        ],
        loose(contract.spark_schema()),
    )
    good, bad = quarantine_split(df, row_rules(contract))

    assert sorted(r.waybill_no for r in good.collect()) == ["W1", "W4"]
    got = {r.waybill_no: (r.quarantine_rule, r.quarantine_reason) for r in bad.collect()}
    assert got == {
        "W2": (
            "expect_column_values_to_match_regex:destination_code",
            "destination_code=44030X does not match ^[1-8][0-9]{5}$ (expect_column_values_to_match_regex)",
        ),
        "W3": (
            "invariant:delivery_not_before_pickup",
            "breaks delivery_time IS NULL OR delivery_time >= pickup_time "
            "(invariant:delivery_not_before_pickup)",
        ),
        "W5": (
            "expect_column_values_to_be_in_set:cargo_class",
            "cargo_class=gold is not one of [general, container, bulk, liquid_bulk, cold_chain, "
            "dangerous, vehicles, parcels] (expect_column_values_to_be_in_set)",
        ),
    }


def test_build_suite_for_taxi_gps():
    suite = build_suite(load_contract("taxi_gps"))
    configs = [e.configuration for e in suite.expectations]
    by_type: dict[str, list] = {}
    for c in configs:
        by_type.setdefault(c.type, []).append(c)

    assert suite.name == "taxi_gps"
    assert {t: len(cs) for t, cs in by_type.items()} == {
        "expect_table_columns_to_match_set": 1,
        "expect_compound_columns_to_be_unique": 1,
        "expect_column_values_to_not_be_null": 9,
        "expect_column_values_to_be_between": 3,
        "expect_column_values_to_be_in_set": 2,
    }
    lat = [c for c in by_type["expect_column_values_to_be_between"] if c.kwargs["column"] == "lat"]
    assert len(lat) == 1
    assert (lat[0].kwargs["min_value"], lat[0].kwargs["max_value"]) == (3.0, 54.0)
    assert by_type["expect_compound_columns_to_be_unique"][0].kwargs["column_list"] == [
        "vehicle_id",
        "fix_time",
    ]
    assert by_type["expect_column_values_to_be_in_set"][0].kwargs["value_set"] == [0, 1]
    assert by_type["expect_table_columns_to_match_set"][0].kwargs["column_set"] == [
        "vehicle_id",
        "fix_time",
        "fix_date",
        "lon",
        "lat",
        "open_status",
        "speed_kmh",
        "src_lon",
        "src_lat",
        "src_crs",
    ]
    assert {c.meta["severity"] for c in configs} == {"error"}


def test_build_suite_for_waybill_has_regex_warnings_and_the_invariant():
    configs = [e.configuration for e in build_suite(load_contract("waybill")).expectations]
    unique = [c for c in configs if c.type == "expect_column_values_to_be_unique"]
    assert [c.kwargs["column"] for c in unique] == ["waybill_no"]
    regex = [c for c in configs if c.type == "expect_column_values_to_match_regex"]
    assert [(c.kwargs["column"], c.kwargs["regex"], c.meta["severity"]) for c in regex] == [
        ("origin_code", "^[1-8][0-9]{5}$", "warning"),
        ("destination_code", "^[1-8][0-9]{5}$", "warning"),
    ]
    invariant = [c for c in configs if c.type == "unexpected_rows_expectation"]
    assert len(invariant) == 1
    assert invariant[0].kwargs["unexpected_rows_query"] == (
        "SELECT * FROM {batch} WHERE NOT "
        "coalesce((delivery_time IS NULL OR delivery_time >= pickup_time), TRUE)"
    )
    assert invariant[0].meta == {"severity": "warning", "rule": "invariant:delivery_not_before_pickup"}


def test_validate_frame_passes_a_clean_frame(spark):
    df = gps_frame(
        spark, [gps_row("v1", 0), gps_row("v1", 30, speed_kmh=None), gps_row("v2", 0, open_status=0)]
    )
    report = validate_frame(
        df, load_contract("taxi_gps"), dataset="silver.taxi_gps", batch_id="b1", run_id="r1"
    )

    assert report.success is True
    assert len(report.results) == 16
    assert all(r.success for r in report.results)
    assert assert_passed(report) is report


def test_validate_frame_fails_a_duplicated_key_and_the_gate_says_where(spark):
    df = gps_frame(
        spark,
        [gps_row("v1", 0), gps_row("v1", 0), gps_row("v2", 0), gps_row("v3", 0, lat=95.2)],
    )
    report = validate_frame(
        df, load_contract("taxi_gps"), dataset="silver.taxi_gps", batch_id="b7", run_id="r7"
    )

    assert report.success is False
    failed = {r.rule: r for r in report.failures()}
    assert set(failed) == {
        "expect_compound_columns_to_be_unique:vehicle_id,fix_time",
        "expect_column_values_to_be_between:lat",
    }
    key = failed["expect_compound_columns_to_be_unique:vehicle_id,fix_time"]
    assert key.unexpected_count == 2  # both copies of the key count as unexpected
    assert key.observed_value == "2 of 4 rows unexpected"
    assert json.loads(key.unexpected_sample) == [
        {"vehicle_id": "v1", "fix_time": "2024-05-01 08:00:00"},
        {"vehicle_id": "v1", "fix_time": "2024-05-01 08:00:00"},
    ]
    lat = failed["expect_column_values_to_be_between:lat"]
    assert (lat.unexpected_count, json.loads(lat.unexpected_sample)) == (1, [95.2])

    with pytest.raises(QualityGateError) as err:
        assert_passed(report)
    message = str(err.value)
    assert "silver.taxi_gps" in message and "b7" in message
    assert "expect_compound_columns_to_be_unique:vehicle_id,fix_time" in message
    assert "expect_column_values_to_be_between:lat" in message


def test_warnings_do_not_fail_the_gate_but_are_reported(spark):
    contract = load_contract("waybill")
    df = spark.createDataFrame(
        [
            waybill_row("W1"),
            waybill_row("W2", destination_code="44030X"),
            waybill_row("W3", delivery_hours=-1.0),
        ],
        loose(contract.spark_schema()),
    )
    report = validate_frame(df, contract, dataset="silver.waybill", batch_id="b1", run_id="r1")

    assert report.success is True
    warned = {r.rule: r for r in report.failures("warning")}
    assert set(warned) == {
        "expect_column_values_to_match_regex:destination_code",
        "invariant:delivery_not_before_pickup",
    }
    assert warned["invariant:delivery_not_before_pickup"].unexpected_count == 1
    assert warned["invariant:delivery_not_before_pickup"].column is None
    assert json.loads(warned["expect_column_values_to_match_regex:destination_code"].unexpected_sample) == [
        "44030X"
    ]


def test_lineage_columns_are_left_out_and_a_missing_column_fails(spark):
    df = gps_frame(spark, [gps_row("v1", 0)])
    with_lineage = df.selectExpr("*", "'b1' AS _batch_id")
    contract = load_contract("taxi_gps")
    assert validate_frame(with_lineage, contract, dataset="d", batch_id="b", run_id="r").success is True

    report = validate_frame(df.drop("src_crs"), contract, dataset="d", batch_id="b", run_id="r")
    columns = next(r for r in report.results if r.expectation == "expect_table_columns_to_match_set")
    assert report.success is False
    assert columns.success is False
    assert json.loads(columns.unexpected_sample) == {"missing": ["src_crs"]}


def test_rows_have_the_quality_results_columns(spark):
    df = gps_frame(spark, [gps_row("v1", 0)])
    report = validate_frame(
        df, load_contract("taxi_gps"), dataset="silver.taxi_gps", batch_id="b1", run_id="r1"
    )
    rows = report.rows()

    assert len(rows) == 16
    assert set(rows[0]) == {
        "run_id",
        "dataset",
        "batch_id",
        "expectation",
        "rule",
        "column",
        "severity",
        "success",
        "observed_value",
        "unexpected_count",
        "unexpected_sample",
        "checked_at",
    }
    lat = next(
        r for r in rows if r["expectation"] == "expect_column_values_to_be_between" and r["column"] == "lat"
    )
    assert (lat["run_id"], lat["dataset"], lat["batch_id"]) == ("r1", "silver.taxi_gps", "b1")
    assert lat["rule"] == "expect_column_values_to_be_between:lat"
    assert (lat["severity"], lat["success"], lat["unexpected_count"]) == ("error", True, 0)
    assert lat["observed_value"] == "0 of 1 rows unexpected"
    assert lat["checked_at"].tzinfo is UTC


def test_build_data_docs_writes_a_page_per_run(spark, tmp_path):
    df = gps_frame(spark, [gps_row("v1", 0), gps_row("v2", 0, lat=95.2)])
    report = validate_frame(
        df,
        load_contract("taxi_gps"),
        dataset="silver.taxi_gps",
        batch_id="b1",
        run_id="manual__2024-05-01T00:00:00+00:00",
    )

    index = build_data_docs([report], tmp_path / "docs")

    assert index == str(tmp_path / "docs" / "index.html")
    page = tmp_path / "docs" / "manual__2024-05-01T00_00_00_00_00__silver.taxi_gps.html"
    listed = Path(index).read_text(encoding="utf-8")
    assert "manual__2024-05-01T00_00_00_00_00__silver.taxi_gps.html" in listed
    text = page.read_text(encoding="utf-8")
    assert "silver.taxi_gps" in text
    assert text.count("<tr>") == 1 + 16
    assert "expect_column_values_to_be_between" in text and "FAILED" in text and "[95.2]" in text


def test_importing_quality_stays_light():
    code = (
        "import sys, itlake.quality\n"
        "heavy = [m for m in ('pyspark', 'great_expectations') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
