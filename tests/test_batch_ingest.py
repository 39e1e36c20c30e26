"""Many files in one batch: one bad file refused alone, a snapshot sent again counted unchanged,
and the decision of what is new taken from the ledger without Spark."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from itlake.catalog.resources import load_catalog
from itlake.feeds import FeedError
from itlake.ingest.flow import BatchRefusedError, ingest_paths, plan
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path
from itlake.lake.system import read_system

DAY = date(2026, 11, 27)
HEADER = "VehicleNum,time,lon,lat,OpenStatus,Speed\n"


def taxi_file(folder, number: int, minutes=range(5)) -> str:
    """Fixes of one taxi, 粤B1000NN, one a minute from 08:00 local time."""
    lines = [
        f"粤B1{number:04d},2026-11-27 08:{m:02d}:00,114.{50 + m:03d}000,22.540000,{m % 2},30\n"
        for m in minutes
    ]
    path = folder / f"taxi_gps_{number:02d}.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_a_corrupt_file_in_a_batch_of_20_is_refused_alone(spark, lake, tmp_path):
    entry = load_catalog().get("taxi_gps")
    files = [taxi_file(tmp_path, n) for n in range(20)]
    # File 7 is not the feed: another header, so its parser refuses it whole.
    files[7].write_text("id,when,x,y\n1,2,3,4\n", encoding="utf-8")

    # The one refused file's own error, with the ledger rows of the 20.
    with pytest.raises(FeedError, match="taxi_gps_07.csv") as refused:
        ingest_paths(spark, entry, files, DAY)

    rows = {r.source_file: r for r in refused.value.rows}
    assert len(rows) == 20
    assert rows["taxi_gps_07.csv"].status == "refused"
    assert "header" in rows["taxi_gps_07.csv"].message
    good = [r for name, r in rows.items() if name != "taxi_gps_07.csv"]
    assert {r.status for r in good} == {"promoted"}
    assert {(r.rows_read, r.rows_promoted, r.rows_inserted, r.rows_quarantined) for r in good} == {
        (5, 5, 5, 0)
    }
    assert all(r.reconciles for r in rows.values())

    silver = read_table(spark, table_path("silver", "taxi_gps"))
    assert silver.count() == 19 * 5
    assert silver.select("_source_file").distinct().count() == 19
    ledger = read_system(spark, "ingest_ledger").where(F.col("status") == "promoted")
    assert ledger.agg(F.sum("rows_inserted")).first()[0] == 95
    # One batch: bronze took the 19 files' rows in one commit.
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table_path('bronze', 'taxi_gps')}`").collect()
    assert len(history) == 1

    # The ledger now answers for the 19 files without Spark; the refused one is still to do.
    again = plan(entry, files, DAY)
    assert [a.path.name for a in again.arrivals] == ["taxi_gps_07.csv"]
    assert len(again.already) == 19


def test_a_snapshot_sent_again_with_other_bytes_is_unchanged(spark, lake, tmp_path):
    entry = load_catalog().get("taxi_gps")
    first = taxi_file(tmp_path, 1)
    [row] = ingest_paths(spark, entry, [first], DAY)
    assert (row.rows_inserted, row.rows_updated, row.rows_unchanged) == (5, 0, 0)

    # The same records in another order (other bytes, so another file to the ledger), and a
    # second file that changes one fix and adds one.
    again = tmp_path / "again"
    again.mkdir()
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    resent = again / "taxi_gps_01_resent.csv"
    resent.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    changed = again / "taxi_gps_01_z_changed.csv"
    changed.write_text(
        HEADER + "粤B10001,2026-11-27 08:04:00,114.054000,22.541000,0,30\n"
        "粤B10001,2026-11-27 08:05:00,114.055000,22.541000,0,30\n",
        encoding="utf-8",
    )
    rows = {r.source_file: r for r in ingest_paths(spark, entry, [resent, changed], DAY)}
    assert (rows[resent.name].rows_inserted, rows[resent.name].rows_unchanged) == (0, 5)
    assert rows[resent.name].rows_updated == 0
    assert (rows[changed.name].rows_inserted, rows[changed.name].rows_updated) == (1, 1)

    silver = read_table(spark, table_path("silver", "taxi_gps"))
    assert silver.count() == 6
    ledger = read_system(spark, "ingest_ledger")
    assert ledger.agg(F.sum("rows_inserted")).first()[0] == silver.count()
    moved = silver.where(F.col("lat") == 22.541).collect()
    assert len(moved) == 2


def test_a_file_the_quality_gate_fails_is_refused_alone_and_the_others_land(
    spark, lake, tmp_path, monkeypatch
):
    """The gate runs once on the batch; when it fails, once per file. With the row rules off, a
    speed of 250 km/h (over the contract's 200) reaches the gate in file 2 of 3."""
    import itlake.quality

    monkeypatch.setattr(itlake.quality, "row_rules", lambda contract: [])
    entry = load_catalog().get("taxi_gps")
    files = [taxi_file(tmp_path, n) for n in range(3)]
    text = files[1].read_text(encoding="utf-8")
    files[1].write_text(text.replace(",0,30\n", ",0,250\n", 1), encoding="utf-8")

    with pytest.raises(BatchRefusedError, match="quality_gate: expect_column_values_to_be_between") as held:
        ingest_paths(spark, entry, files, DAY)

    rows = {r.source_file: r for r in held.value.rows}
    assert [(name, r.status) for name, r in sorted(rows.items())] == [
        ("taxi_gps_00.csv", "promoted"),
        ("taxi_gps_01.csv", "refused"),
        ("taxi_gps_02.csv", "promoted"),
    ]
    assert (rows["taxi_gps_01.csv"].rows_quarantined, rows["taxi_gps_01.csv"].rows_inserted) == (5, 0)
    assert {(r.rows_inserted, r.rows_quarantined) for n, r in rows.items() if n != "taxi_gps_01.csv"} == {
        (5, 0)
    }
    assert all(r.reconciles for r in rows.values())
    silver = read_table(spark, table_path("silver", "taxi_gps"))
    assert sorted(r[0] for r in silver.select("_source_file").distinct().collect()) == [
        "taxi_gps_00.csv",
        "taxi_gps_02.csv",
    ]
    assert silver.count() == 10
    quarantined = read_table(spark, table_path("quarantine", "taxi_gps"))
    assert quarantined.where(F.col("_source_file") == "taxi_gps_01.csv").count() == 5


def test_a_backlog_larger_than_a_batch_lands_in_batches_read_ahead(spark, lake, tmp_path, monkeypatch):
    """20 files with batches of 7: three batches, each one bronze commit, the next batch read while
    the one before is promoted; a corrupt file in the last batch is refused alone."""
    import itlake.ingest.flow

    monkeypatch.setattr(itlake.ingest.flow, "BATCH_MAX_FILES", 7)
    entry = load_catalog().get("taxi_gps")
    files = [taxi_file(tmp_path, n) for n in range(20)]
    files[16].write_text("id,when,x,y\n1,2,3,4\n", encoding="utf-8")
    done = []

    with pytest.raises(FeedError, match="taxi_gps_16.csv") as refused:
        ingest_paths(spark, entry, files, DAY, on_batch=done.append)

    assert done == [7, 7, 6]
    rows = refused.value.rows
    assert sorted((r.source_file, r.status) for r in rows if r.status != "promoted") == [
        ("taxi_gps_16.csv", "refused")
    ]
    assert sum(r.rows_inserted for r in rows) == 19 * 5 and all(r.reconciles for r in rows)
    assert read_table(spark, table_path("silver", "taxi_gps")).count() == 95
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table_path('bronze', 'taxi_gps')}`").collect()
    assert len(history) == 3
