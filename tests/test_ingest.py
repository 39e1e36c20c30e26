"""Landing -> bronze -> silver on hand-written and real feeds: counts, quarantine reasons, no-op re-ingest."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from itlake.catalog.resources import load_catalog
from itlake.feeds import FeedError
from itlake.ingest.flow import BatchRefusedError, ingest_file
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path
from itlake.lake.system import read_system

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

DAY = date(2026, 11, 27)


def test_a_batch_over_the_quarantine_threshold_is_refused_whole(spark, lake):
    with pytest.raises(
        BatchRefusedError, match=r"10.00% of rows quarantined, over the contract's threshold of 5.00%"
    ):
        ingest_file(spark, load_catalog().get("taxi_gps"), FIXTURES / "taxi_gps_tiny.csv", DAY)
    [row] = read_system(spark, "ingest_ledger").collect()
    assert (row.status, row.rows_read, row.rows_promoted, row.rows_quarantined) == ("refused", 10, 0, 10)
    rules = {
        r._row_number: r.quarantine_rule
        for r in read_table(spark, table_path("quarantine", "taxi_gps")).collect()
    }
    assert rules[10] == "expect_column_values_to_be_between:lat"
    assert {rules[n] for n in range(1, 10)} == {"batch_refused"}
    assert not (lake / "silver" / "taxi_gps").exists()


def test_taxi_gps_counts_quarantine_and_reingest(spark, lake, lenient_taxi_contract):
    entry = load_catalog().get("taxi_gps")
    [row] = ingest_file(spark, entry, FIXTURES / "taxi_gps_tiny.csv", DAY)
    assert (row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined) == (10, 8, 1, 1)
    assert row.status == "promoted" and row.synthetic is False

    silver = read_table(spark, table_path("silver", "taxi_gps"))
    assert silver.count() == 8
    first = silver.where(F.col("_row_number") == 2).first()
    # 08:01 local time in Shenzhen is 00:01 UTC; WGS-84 in, WGS-84 out.
    assert first.fix_time == datetime(2026, 11, 27, 0, 1, 0)
    assert (first.lon, first.lat, first.open_status, first.src_crs) == (114.05, 22.545, 1, "WGS-84")
    assert len(first.vehicle_id) == 64 and "粤B" not in first.vehicle_id

    [bad] = read_table(spark, table_path("quarantine", "taxi_gps")).collect()
    assert (bad._row_number, bad.quarantine_rule) == (10, "expect_column_values_to_be_between:lat")
    assert "95" in bad.quarantine_reason and bad._source_file == "taxi_gps_tiny.csv"

    [again] = ingest_file(spark, entry, FIXTURES / "taxi_gps_tiny.csv", DAY)
    assert again.status == "already_ingested"
    assert read_table(spark, table_path("silver", "taxi_gps")).count() == 8
    assert read_table(spark, table_path("bronze", "taxi_gps")).count() == 10


def test_a_gtfs_zip_without_stops_is_refused_and_logged(spark, lake, tmp_path):
    import zipfile

    broken = tmp_path / "no_stops.zip"
    with zipfile.ZipFile(FIXTURES / "sample_gtfs.zip") as src, zipfile.ZipFile(broken, "w") as dst:
        for name in src.namelist():
            if name != "stops.txt":
                dst.writestr(name, src.read(name))
    with pytest.raises(FeedError, match=r"no_stops.zip: missing_required_file: stops.txt"):
        ingest_file(spark, load_catalog().get("gtfs"), broken, DAY)
    ledger = read_system(spark, "ingest_ledger").collect()
    assert [(r.status, r.rows_read) for r in ledger] == [("refused", 0)]
    assert not (lake / "silver" / "gtfs_stop").exists()


def test_a_gbk_file_declared_utf8_is_refused_with_the_byte_offset(spark, lake, tmp_path):
    wrong = tmp_path / "taxi_gps_gbk.csv"
    wrong.write_bytes((FIXTURES / "taxi_gps_tiny.csv").read_text(encoding="utf-8").encode("gbk"))
    with pytest.raises(
        FeedError, match=r"taxi_gps_gbk.csv: bytes at offset 41 .* do not decode as the declared"
    ):
        ingest_file(spark, load_catalog().get("taxi_gps"), wrong, DAY)


def test_a_header_with_a_renamed_column_is_refused(spark, lake, tmp_path):
    drifted = tmp_path / "drift.csv"
    text = (FIXTURES / "taxi_gps_tiny.csv").read_text(encoding="utf-8")
    drifted.write_text(text.replace("OpenStatus", "Occupied", 1), encoding="utf-8")
    with pytest.raises(FeedError, match=r"missing \['OpenStatus'\], unexpected \['Occupied'\]"):
        ingest_file(spark, load_catalog().get("taxi_gps"), drifted, DAY)


def test_a_row_with_missing_fields_is_quarantined_with_its_number(
    spark, lake, tmp_path, lenient_taxi_contract
):
    short = tmp_path / "short.csv"
    lines = (FIXTURES / "taxi_gps_tiny.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = "粤B00001,2026-11-27 08:02:00,114.060000"
    short.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [row] = ingest_file(spark, load_catalog().get("taxi_gps"), short, DAY)
    assert (row.rows_read, row.rows_quarantined, row.rows_duplicate, row.rows_promoted) == (10, 2, 1, 7)
    reasons = {
        r._row_number: r.quarantine_reason
        for r in read_table(spark, table_path("quarantine", "taxi_gps")).collect()
    }
    assert sorted(reasons) == [3, 10]
    assert reasons[3].startswith("record has 3 fields, the header has 6")


def test_synthetic_data_is_marked_from_its_manifest_to_derived_resources(spark, lake, tmp_path):
    import json

    from itlake.ingest.checksums import file_sha256
    from itlake.lake.system import synthetic_codes

    catalog = load_catalog()
    # Not synthetic: no manifest above the file.
    ingest_file(spark, catalog.get("road_network"), FIXTURES / "roads_tiny.geojson", DAY)
    assert synthetic_codes(spark, catalog) == set()
    city = tmp_path / "city"
    (city / "taxi_gps").mkdir(parents=True)
    copy = city / "taxi_gps" / "taxi.csv"
    shutil.copy(FIXTURES / "taxi_gps_tiny.csv", copy)
    manifest = {"synthetic": True, "files": [{"path": "taxi_gps/taxi.csv", "sha256": file_sha256(copy)}]}
    (city / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BatchRefusedError):  # 1 bad row in 10 is over the 5 % threshold; the ledger still says
        ingest_file(spark, catalog.get("taxi_gps"), copy, DAY)
    # Taxi GPS itself, and every table derived from it, directly or through another: the trips, the
    # OD flows and road speeds, and the MaaS tables that read taxis (and those built on them).
    assert synthetic_codes(spark, catalog) == {
        "03.02.001",
        "03.02.002",
        "05.01.001",
        "05.02.001",
        "06.01.001",
        "06.01.002",
        "06.01.003",
        "06.01.004",
        "06.01.005",
        "06.01.006",
        "06.01.007",
    }
