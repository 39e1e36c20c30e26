"""Smart-card taps matched into trips, and the taps that match nothing, with the reason.

    spark-submit jobs/step.py --step gold_smartcard_trips --logical-date 2026-11-27

A bus tap is a trip of its own (buses in Shenzhen take one tap, on boarding). Metro taps of one
card are taken in time order: an entry followed by an exit is a trip when the exit is later and at
most 4 hours later (Shenzhen Metro's limit on a stay in the paid area). Every other metro tap is
kept in smartcard_unmatched_tap with its reason:

  - `exit_without_entry`: the card's previous metro tap of the service day is not an entry;
  - `entry_without_exit`: the next metro tap is another entry, or there is none before the end of
    the service day;
  - `exit_not_after_entry`: the exit carries the same second as the entry;
  - `over_time_limit`: more than 4 hours from entry to exit (both taps).

The service day runs from 04:00 to 04:00 local time, when the metro is shut, so a trip that
crosses midnight is seen whole. Every metro tap of the day is in exactly one place: twice the
metro trips plus the unmatched taps equals the metro taps.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

SERVICE_DAY_START_HOUR = 4
MAX_STAY_S = 4 * 3600


def service_date(ts_col: str, tz: str):
    """The service date of a UTC time: the local date of the time 4 hours earlier."""
    local = F.from_utc_timestamp(F.col(ts_col), tz)
    return F.to_date(local - F.expr(f"INTERVAL {SERVICE_DAY_START_HOUR} HOURS"))


def _trip_id(card, entry_time):
    return F.substring(F.sha2(F.concat_ws("|", card, entry_time.cast("string")), 256), 1, 32)


def classify_metro_taps(taps: DataFrame) -> DataFrame:
    """Metro taps -> the same taps with `match` ("trip" or a reason) and the neighbouring tap's
    fields (`next_*`: an entry's exit)."""
    # Entry sorts before exit at the same second, so the pair is judged (exit_not_after_entry).
    by_card = Window.partitionBy("card_id", "service_date").orderBy(
        "tap_time", F.when(F.col("tap_type") == "metro_entry", 0).otherwise(1), "device_id"
    )
    t = F.unix_timestamp("tap_time")
    with_neighbours = taps.withColumns(
        {
            "prev_type": F.lag("tap_type").over(by_card),
            "prev_s": F.lag(t).over(by_card),
            "next_type": F.lead("tap_type").over(by_card),
            "next_s": F.lead(t).over(by_card),
            "next_time": F.lead("tap_time").over(by_card),
            "next_station": F.lead("station_name").over(by_card),
            "next_line": F.lead("line_name").over(by_card),
            "next_fare": F.lead("fare_cny").over(by_card),
        }
    )

    def pair(gap):
        return (
            F.when(gap <= 0, F.lit("exit_not_after_entry"))
            .when(gap > MAX_STAY_S, F.lit("over_time_limit"))
            .otherwise(F.lit("trip"))
        )

    entry = F.col("tap_type") == "metro_entry"
    match = F.when(
        entry,
        F.when(F.col("next_type") == "metro_exit", pair(F.col("next_s") - t)).otherwise(
            F.lit("entry_without_exit")
        ),
    ).otherwise(
        F.when(F.col("prev_type") == "metro_entry", pair(t - F.col("prev_s"))).otherwise(
            F.lit("exit_without_entry")
        )
    )
    return with_neighbours.withColumn("match", match)


def build_trips(tz: str):
    """Curried: silver smartcard taps of one service day -> (trips, unmatched taps); call it as
    `build_trips(tz)(taps)` (DataFrame.transform takes one frame back, this gives two)."""

    def transform(taps: DataFrame) -> tuple[DataFrame, DataFrame]:
        taps = taps.withColumn("service_date", service_date("tap_time", tz))
        bus = taps.where(F.col("mode") == "bus").select(
            _trip_id(F.col("card_id"), F.col("tap_time")).alias("trip_id"),
            "card_id",
            "service_date",
            "mode",
            F.col("tap_time").alias("entry_time"),
            F.lit(None).cast("timestamp").alias("exit_time"),
            F.lit(None).cast("string").alias("entry_station"),
            F.lit(None).cast("string").alias("exit_station"),
            F.col("line_name").alias("entry_line"),
            F.lit(None).cast("string").alias("exit_line"),
            "vehicle_no",
            F.lit(None).cast("long").alias("duration_s"),
            "fare_cny",
        )
        metro = taps.where(F.col("mode") == "metro").transform(classify_metro_taps)
        trips = metro.where((F.col("match") == "trip") & (F.col("tap_type") == "metro_entry")).select(
            _trip_id(F.col("card_id"), F.col("tap_time")).alias("trip_id"),
            "card_id",
            "service_date",
            "mode",
            F.col("tap_time").alias("entry_time"),
            F.col("next_time").alias("exit_time"),
            F.col("station_name").alias("entry_station"),
            F.col("next_station").alias("exit_station"),
            F.col("line_name").alias("entry_line"),
            F.col("next_line").alias("exit_line"),
            F.lit(None).cast("string").alias("vehicle_no"),
            (F.col("next_s") - F.unix_timestamp("tap_time")).alias("duration_s"),
            F.col("next_fare").alias("fare_cny"),
        )
        unmatched = metro.where(F.col("match") != "trip").select(
            "card_id",
            "service_date",
            "tap_time",
            "tap_type",
            "line_name",
            "station_name",
            "device_id",
            F.col("match").alias("reason"),
        )
        return trips.unionByName(bus), unmatched

    return transform


def run(spark, logical_date, tz: str) -> dict:
    """Rebuild both tables' partition of one service date; returns their row counts."""
    from itlake.lake.tables import read_lake_table, write_partition
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(logical_date, tz)
    shift = timedelta(hours=SERVICE_DAY_START_HOUR)
    taps = read_lake_table(spark, "smartcard_tap").where(
        (F.col("tap_time") >= F.lit(start + shift)) & (F.col("tap_time") < F.lit(end + shift))
    )
    trips, unmatched = build_trips(tz)(taps)
    return {
        "rows": write_partition(trips, "smartcard_trip", logical_date),
        "unmatched_taps": write_partition(unmatched, "smartcard_unmatched_tap", logical_date),
    }
