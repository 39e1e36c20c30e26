"""Faults: two ingests into one table at once, jobs run twice, and commit histories after damage.

The crash case (an ingest killed with SIGKILL mid-write, then retried) is in tests/test_cluster.py,
which also checks the killed run left no partial commit with `commit_problems`.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta
from pathlib import Path

from itlake.catalog.resources import load_catalog
from itlake.ingest.flow import ingest_file
from itlake.lake.integrity import commit_problems, table_digest

DAY = date(2026, 11, 27)
HEADER = "VehicleNum,time,lon,lat,OpenStatus,Speed"


def taxi_file(folder: Path, plate: str, lon: float) -> Path:
    """Six fixes of one taxi, a minute apart, with one occupied run of four (08:01-08:04 local)."""
    statuses = [0, 1, 1, 1, 1, 0]
    rows = [
        f"{plate},2026-11-27 08:0{i}:00,{lon + i * 0.002:.6f},22.540000,{s},30"
        for i, s in enumerate(statuses)
    ]
    path = folder / f"taxi_{plate[-2:]}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_two_ingests_of_one_table_at_the_same_time_both_land(spark, lake, tmp_path, caplog):
    """Both start on an empty lake, so both create the bronze table and MERGE into one silver
    partition: Delta refuses the later commit, the write is tried again, and no row is lost."""
    two_ingests_at_once(spark, lake, tmp_path, caplog)


def two_ingests_at_once(spark, lake: Path, tmp_path: Path, caplog) -> None:
    """Two taxi files ingested by two threads at once into an empty lake; both must land whole.
    tests/test_engine.py runs it attached to the engine, where Delta's refusal comes over Spark
    Connect."""
    entry = load_catalog().get("taxi_gps")
    files = [taxi_file(tmp_path, "粤B30001", 114.00), taxi_file(tmp_path, "粤B30002", 114.05)]
    start = threading.Barrier(2)
    ledgers, errors = {}, []

    def ingest(path: Path) -> None:
        start.wait()
        try:
            ledgers[path.name] = ingest_file(spark, entry, path, DAY)
        except Exception as err:  # reported below with the file's name
            errors.append(f"{path.name}: {err!r}")

    caplog.set_level(logging.WARNING, logger="itlake.lake.delta")
    threads = [threading.Thread(target=ingest, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert errors == []
    assert sorted((r.source_file, r.status, r.rows_read, r.rows_promoted) for [r] in ledgers.values()) == [
        ("taxi_01.csv", "promoted", 6, 6),
        ("taxi_02.csv", "promoted", 6, 6),
    ]
    assert table_digest(lake / "bronze" / "taxi_gps")[0] == 12
    assert table_digest(lake / "silver" / "taxi_gps")[0] == 12
    for table in ("bronze/taxi_gps", "silver/taxi_gps", "_system/ingest_ledger"):
        assert commit_problems(lake / table) == []
    retries = [
        r.getMessage() for r in caplog.records if "conflicted with a concurrent writer" in r.getMessage()
    ]
    print(f"conflicting commits tried again: {len(retries)}")


def test_an_ingest_and_a_gold_job_run_twice_give_identical_tables(spark, lake, tmp_path):
    from itlake.gold.taxi_trips import run as build_trips

    entry = load_catalog().get("taxi_gps")
    path = taxi_file(tmp_path, "粤B30003", 114.02)
    tables = ("bronze/taxi_gps", "silver/taxi_gps")
    [first] = ingest_file(spark, entry, path, DAY)
    assert (first.status, first.rows_promoted) == ("promoted", 6)
    once = {t: table_digest(lake / t) for t in tables}
    [again] = ingest_file(spark, entry, path, DAY)
    assert again.status == "already_ingested"
    assert {t: table_digest(lake / t) for t in tables} == once

    # One occupied run of four fixes: one trip on the day; a rerun rebuilds the same partition.
    assert build_trips(spark, DAY, "Asia/Shanghai") == 1
    trips = table_digest(lake / "gold" / "taxi_trip")
    assert trips[0] == 1
    assert build_trips(spark, DAY, "Asia/Shanghai") == 1
    assert table_digest(lake / "gold" / "taxi_trip") == trips

    # A backfill over a range (the day before has no fixes), run twice, gives the same table.
    days = [DAY - timedelta(days=1), DAY]
    assert [build_trips(spark, d, "Asia/Shanghai") for d in days] == [0, 1]
    backfilled = table_digest(lake / "gold" / "taxi_trip")
    assert backfilled == trips
    assert [build_trips(spark, d, "Asia/Shanghai") for d in days] == [0, 1]
    assert table_digest(lake / "gold" / "taxi_trip") == backfilled
    assert commit_problems(lake / "gold" / "taxi_trip") == []


def test_commit_problems_finds_a_cut_commit_and_a_missing_data_file(tmp_path):
    """Damage a small table written without Spark the two ways a crash or a bad copy could."""
    import pyarrow as pa
    from deltalake import write_deltalake

    table = tmp_path / "t"
    write_deltalake(str(table), pa.table({"x": [1, 2]}))
    write_deltalake(str(table), pa.table({"x": [3]}), mode="append")
    assert commit_problems(table) == []
    assert table_digest(table)[0] == 3

    commit = table / "_delta_log" / "00000000000000000001.json"
    text = commit.read_text(encoding="utf-8")
    commit.write_text(text[: len(text) // 2], encoding="utf-8")
    [cut] = commit_problems(table)
    assert cut.startswith(f"{table}: commit 1 is not complete JSON")

    commit.write_text(text, encoding="utf-8")
    [data_file] = sorted(table.glob("*.parquet"))[:1]
    data_file.unlink()
    assert commit_problems(table) == [f"{table}: commit adds {data_file.name}, which is not on disk"]

    (table / "_delta_log" / "00000000000000000003.json").write_text(text, encoding="utf-8")
    assert f"{table}: commit versions are not contiguous from 0: [0, 1, 3]" in commit_problems(table)
