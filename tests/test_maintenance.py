"""Lake upkeep: retention expires landing folders and bronze, quarantine and silver rows; small files
are compacted with the same rows; checkpoints and VACUUM; every action is in the maintenance log."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from itlake.catalog.resources import load_catalog
from itlake.cli import app
from itlake.lake.delta import append_rows
from itlake.lake.integrity import table_digest
from itlake.lake.maintenance import (
    MaintenanceAction,
    compact,
    data_files,
    maintain_lake,
    overdue_personal_data,
    table_detail,
)
from itlake.lake.paths import system_table_path, table_path

BRONZE_SCHEMA = "VehicleNum STRING, time STRING, _batch_id STRING, _ingested_at TIMESTAMP"
DAY = date(2026, 12, 7)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def log_rows(action: str | None = None) -> list[dict]:
    from deltalake import DeltaTable

    rows = DeltaTable(system_table_path("maintenance_log")).to_pyarrow_table().to_pylist()
    return sorted((r for r in rows if action in (None, r["action"])), key=lambda r: r["table"])


def test_two_hundred_micro_batches_compact_to_a_few_files_with_the_same_rows(spark, lake, catalog):
    path = table_path("bronze", "taxi_gps")
    for batch in range(200):  # as a 5-minute feed's bronze grows: one append per batch
        lineage = {"_batch_id": f"b{batch}", "_ingested_at": datetime(2026, 12, 6, 10, 0)}
        rows = [{"VehicleNum": f"粤B{batch:03d}{i:02d}", "time": "10:00", **lineage} for i in range(25)]
        append_rows(spark, rows, BRONZE_SCHEMA, path)
    assert table_detail(spark, path)[0] == 200
    before = table_digest(path)

    actions = maintain_lake(spark, catalog, DAY)

    assert table_detail(spark, path)[0] <= 5
    assert table_digest(path) == before and before[0] == 5000
    optimized = [a for a in actions if a.action == "optimize"]
    assert [(a.table, a.files_before) for a in optimized] == [("bronze.taxi_gps", 200)]
    assert optimized[0].files_after <= 5
    # Time travel is kept for the entry's 7 days: the 200 small files are still on disk.
    assert data_files(path) == 200 + optimized[0].files_after
    logged = {(r["action"], r["table"]) for r in log_rows()}
    assert {("optimize", "bronze.taxi_gps"), ("vacuum", "bronze.taxi_gps")} <= logged
    # Delta checkpoints every tenth version itself; maintenance adds one where the last is behind.
    version = max(int(p.stem) for p in (lake / "bronze" / "taxi_gps" / "_delta_log").glob("*.json"))
    assert (lake / "bronze" / "taxi_gps" / "_delta_log" / f"{version:020d}.checkpoint.parquet").exists()


def test_a_few_files_are_left_alone(spark, lake):
    path = table_path("silver", "taxi_gps")
    spark.createDataFrame([("a", 1)], "vehicle_id string, n int").write.format("delta").save(path)
    assert compact(spark, path, MaintenanceAction("r", "optimize", "silver.taxi_gps", None, DAY)) is None


def test_retention_expires_landing_bronze_quarantine_and_silver(spark, lake, catalog):
    # taxi_gps keeps landing 30 days, bronze (and quarantine) 90 days, silver 2 years; the
    # logical date 2026-12-07 puts the cut-offs at 2026-11-07, 2026-09-08 and 2024-12-07.
    landing = lake / "landing" / "taxi_gps"
    for day in ("2026-11-06", "2026-11-07", "2026-12-06"):
        (landing / day).mkdir(parents=True)
        (landing / day / f"0123456789abcdef_taxi_{day}.csv").write_text("VehicleNum,time\n", encoding="utf-8")
    (landing / "notes").mkdir()  # not a logical date: not the lake's to expire
    append_rows(
        spark,
        [
            {
                "VehicleNum": "粤B1",
                "time": "t",
                "_batch_id": "old",
                "_ingested_at": datetime(2026, 9, 7, 23, 59),
            },
            {
                "VehicleNum": "粤B2",
                "time": "t",
                "_batch_id": "new",
                "_ingested_at": datetime(2026, 9, 8, 0, 0),
            },
        ],
        BRONZE_SCHEMA,
        table_path("bronze", "taxi_gps"),
    )
    spark.createDataFrame(
        [("old", datetime(2026, 1, 1)), ("new", datetime(2026, 11, 30))],
        "_batch_id string, _quarantined_at timestamp",
    ).write.format("delta").save(table_path("quarantine", "taxi_gps"))
    spark.createDataFrame(
        [("v1", date(2024, 12, 6)), ("v2", date(2024, 12, 7)), ("v3", date(2026, 12, 6))],
        "vehicle_id string, fix_date date",
    ).write.format("delta").partitionBy("fix_date").save(table_path("silver", "taxi_gps"))

    overdue = overdue_personal_data(catalog, DAY)
    assert [(o.where, o.retention, o.cutoff, o.count, o.unit) for o in overdue] == [
        ("landing.taxi_gps/2026-11-06", "P30D", date(2026, 11, 7), 1, "files"),
        ("bronze.taxi_gps", "P90D", date(2026, 9, 8), 1, "rows"),
        ("quarantine.taxi_gps", "P90D", date(2026, 9, 8), 1, "rows"),
    ]
    result = CliRunner().invoke(app, ["security", "retention", "--date", "2026-12-07"])
    assert result.exit_code == 1 and "landing.taxi_gps/2026-11-06" in result.output

    maintain_lake(spark, catalog, DAY)

    assert overdue_personal_data(catalog, DAY) == []
    assert CliRunner().invoke(app, ["security", "retention", "--date", "2026-12-07"]).exit_code == 0
    assert sorted(p.name for p in landing.iterdir()) == ["2026-11-07", "2026-12-06", "notes"]
    read = spark.read.format("delta").load
    assert [r[0] for r in read(table_path("bronze", "taxi_gps")).orderBy("_batch_id").collect()] == ["粤B2"]
    assert [r[0] for r in read(table_path("quarantine", "taxi_gps")).collect()] == ["new"]
    assert sorted(r[0] for r in read(table_path("silver", "taxi_gps")).collect()) == ["v2", "v3"]
    expired = [(r["action"], r["table"], r["code"], r["rows_removed"], r["files_before"]) for r in log_rows()
               if r["action"].startswith("expire")]  # fmt: skip
    assert sorted(expired) == [
        ("expire_bronze", "bronze.taxi_gps", "03.02.001", 1, None),
        ("expire_landing", "landing.taxi_gps", "03.02.001", None, 1),
        ("expire_quarantine", "quarantine.taxi_gps", "03.02.001", 1, None),
        ("expire_silver", "silver.taxi_gps", "03.02.001", 1, None),
    ]
    # The same day again finds nothing more to expire.
    assert [a for a in maintain_lake(spark, catalog, DAY) if a.action.startswith("expire")] == []
