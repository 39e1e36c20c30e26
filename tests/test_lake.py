"""Delta helpers: a round trip with time travel, append-once, MERGE by key, one-partition overwrite."""

from __future__ import annotations

from datetime import UTC, date, datetime

from itlake.lake.delta import (
    MergeCounts,
    append_batch,
    key_bounds,
    merge_by_key,
    overwrite_partition,
    read_table,
)
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


def test_a_merge_within_the_key_bounds_of_its_source_finds_the_same_rows(spark, lake):
    path = table_path("silver", "snapshots")
    schema = "polled_at timestamp, day date, stop string, note string, delay int"
    keys = ["polled_at", "day", "stop", "note"]
    at = [datetime(2026, 11, 27, 7, 0, s, tzinfo=UTC) for s in (0, 20, 40)]
    day = date(2026, 11, 27)
    first = [(at[0], day, "S1", "it's", 1), (at[1], day, "S\\2", None, 2)]
    merge_by_key(spark.createDataFrame(first, schema), path, keys)
    # The next snapshot repeats the second row with a new delay and adds one; a null in `note`
    # leaves that column out of the bounds (a null key matches by <=>, which BETWEEN cannot say).
    second = spark.createDataFrame([(at[1], day, "S\\2", None, 20), (at[2], day, "S'3", None, 3)], schema)

    bounds = key_bounds(second, keys)

    assert bounds == {
        "polled_at": ("timestamp_micros(1795762820000000)", "timestamp_micros(1795762840000000)"),
        "day": ("date_from_unix_date(20784)", "date_from_unix_date(20784)"),
        "stop": ("'S\\'3'", "'S\\\\2'"),  # an apostrophe sorts before a backslash
    }
    assert merge_by_key(second, path, keys, bounds=bounds) == MergeCounts(inserted=1, updated=1, unchanged=0)
    assert rows(read_table(spark, path), "stop", "delay") == [("S'3", 3), ("S1", 1), ("S\\2", 20)]


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
