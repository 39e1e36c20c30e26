"""Delta helpers: a round trip with time travel, append-once, MERGE by key, one-partition overwrite."""

from __future__ import annotations

from datetime import date

from itlake.lake.delta import append_batch, merge_by_key, overwrite_partition, read_table
from itlake.lake.paths import table_path
from itlake.lake.window import service_day_utc


def rows(df, *cols):
    return sorted(tuple(r[c] for c in cols) for r in df.collect())


def test_round_trip_time_travel_and_append_once(spark, lake):
    path = table_path("bronze", "t")
    first = spark.createDataFrame([("b1", 1), ("b1", 2)], "_batch_id string, v int")
    assert append_batch(first, path, "b1") is True
    assert append_batch(first, path, "b1") is False  # the same batch again is a no-op
    second = spark.createDataFrame([("b2", 3)], "_batch_id string, v int")
    assert append_batch(second, path, "b2") is True
    assert rows(read_table(spark, path), "v") == [(1,), (2,), (3,)]
    assert rows(read_table(spark, path, version=0), "v") == [(1,), (2,)]


def test_merge_by_key_updates_and_inserts(spark, lake):
    path = table_path("silver", "m")
    merge_by_key(spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int"), path, ["k"])
    merge_by_key(spark.createDataFrame([("b", 20), ("c", 3)], "k string, v int"), path, ["k"])
    assert rows(read_table(spark, path), "k", "v") == [("a", 1), ("b", 20), ("c", 3)]


def test_overwrite_partition_leaves_other_days(spark, lake):
    path = table_path("gold", "p")
    schema = "d date, v int"
    overwrite_partition(
        spark.createDataFrame([(date(2026, 1, 1), 1), (date(2026, 1, 2), 2)], schema), path, "d", "2026-01-01"
    )
    overwrite_partition(spark.createDataFrame([(date(2026, 1, 2), 5)], schema), path, "d", "2026-01-02")
    overwrite_partition(spark.createDataFrame([(date(2026, 1, 2), 5)], schema), path, "d", "2026-01-02")
    assert rows(read_table(spark, path), "d", "v") == [(date(2026, 1, 1), 1), (date(2026, 1, 2), 5)]


def test_service_day_is_the_local_day_in_utc():
    start, end = service_day_utc(date(2026, 11, 27), "Asia/Shanghai")
    assert (start.isoformat(), end.isoformat()) == ("2026-11-26T16:00:00", "2026-11-27T16:00:00")
