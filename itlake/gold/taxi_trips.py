"""Taxi trips from GPS fixes: a trip is a run of consecutive occupied fixes (OpenStatus = 1).

    spark-submit jobs/step.py --step gold_taxi_trips --logical-date 2026-11-27

Pickup is the first occupied fix of the run; drop-off is the first vacant fix after it (the
convention of TransBigData's `taxigps_to_od`: the last occupied fix comes up to one GPS interval
before the passenger leaves). Distance sums the great-circle steps from pickup to drop-off. A run
whose taxi is still occupied at the last fix read (the end of the data so far, at a day or batch
boundary) is kept with `complete` false and its last occupied fix as drop-off; when later fixes
arrive, the rebuild of its service date completes it. A run of a single occupied fix is not a
trip. Trips are kept on the service date of their pickup, in the city's time zone.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from itlake.geo.distance import haversine_m_col
from itlake.geo.zones import with_zone


def occupied_runs(gps: DataFrame) -> DataFrame:
    """Occupied fixes, each with `run_id` numbering the vehicle's occupied runs, its step length,
    and the vehicle's next fix (`next_time`, `next_lon`, `next_lat`; null after the last fix)."""
    by_time = Window.partitionBy("vehicle_id").orderBy("fix_time")
    starts = (F.col("open_status") == 1) & (F.coalesce(F.lag("open_status").over(by_time), F.lit(0)) != 1)
    fixes = gps.select("vehicle_id", "fix_time", "lon", "lat", "open_status").withColumns(
        {
            "run_id": F.sum(starts.cast("int")).over(by_time.rowsBetween(Window.unboundedPreceding, 0)),
            "next_time": F.lead("fix_time").over(by_time),
            "next_lon": F.lead("lon").over(by_time),
            "next_lat": F.lead("lat").over(by_time),
        }
    )
    by_run = Window.partitionBy("vehicle_id", "run_id").orderBy("fix_time")
    return fixes.where(F.col("open_status") == 1).withColumn(
        "step_m",
        F.coalesce(
            haversine_m_col(F.lag("lon").over(by_run), F.lag("lat").over(by_run), F.col("lon"), F.col("lat")),
            F.lit(0.0),
        ),
    )


def service_date(ts_col: str, tz: str):
    return F.to_date(F.from_utc_timestamp(F.col(ts_col), tz))


def build_taxi_trips(tz: str):
    """Curried transform: silver taxi_gps fixes -> gold taxi_trip rows."""

    def transform(gps: DataFrame) -> DataFrame:
        trips = (
            occupied_runs(gps)
            .groupBy("vehicle_id", "run_id")
            .agg(
                F.min("fix_time").alias("pickup_time"),
                F.max("fix_time").alias("last_time"),
                F.min_by("lon", "fix_time").alias("pickup_lon"),
                F.min_by("lat", "fix_time").alias("pickup_lat"),
                F.max_by("lon", "fix_time").alias("last_lon"),
                F.max_by("lat", "fix_time").alias("last_lat"),
                # After the run's last occupied fix, the next fix is vacant, or there is none yet.
                F.max_by("next_time", "fix_time").alias("next_time"),
                F.max_by("next_lon", "fix_time").alias("next_lon"),
                F.max_by("next_lat", "fix_time").alias("next_lat"),
                F.sum("step_m").alias("occupied_m"),
                F.count("*").cast("int").alias("fix_count"),
            )
            .where(F.col("fix_count") >= 2)
            .withColumn("complete", F.col("next_time").isNotNull())
            .withColumns(
                {
                    "dropoff_time": F.coalesce("next_time", "last_time"),
                    "dropoff_lon": F.coalesce("next_lon", "last_lon"),
                    "dropoff_lat": F.coalesce("next_lat", "last_lat"),
                    "distance_m": F.col("occupied_m")
                    + F.coalesce(haversine_m_col("last_lon", "last_lat", "next_lon", "next_lat"), F.lit(0.0)),
                }
            )
            .drop("last_time", "last_lon", "last_lat", "next_time", "next_lon", "next_lat", "occupied_m")
            .withColumn(
                "trip_id",
                F.substring(
                    F.sha2(F.concat_ws("|", "vehicle_id", F.col("pickup_time").cast("string")), 256), 1, 32
                ),
            )
            .withColumn("trip_date", service_date("pickup_time", tz))
            .withColumn("duration_s", F.unix_timestamp("dropoff_time") - F.unix_timestamp("pickup_time"))
            .transform(with_zone("pickup_lon", "pickup_lat", "pickup_zone_id"))
            .transform(with_zone("dropoff_lon", "dropoff_lat", "dropoff_zone_id"))
        )
        return trips

    return transform


# Fixes read on each side of the service day, so runs that cross midnight are seen whole.
MARGIN_HOURS = 3


def run(spark, logical_date, tz: str) -> int:
    """Rebuild the taxi_trip partition of one service date; returns its row count."""
    from datetime import timedelta

    from itlake.lake.tables import read_lake_table, write_partition
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(logical_date, tz)
    margin = timedelta(hours=MARGIN_HOURS)
    gps = read_lake_table(spark, "taxi_gps").where(
        (F.col("fix_time") >= F.lit(start - margin)) & (F.col("fix_time") < F.lit(end + margin))
    )
    trips = gps.transform(build_taxi_trips(tz)).where(F.col("trip_date") == F.lit(logical_date))
    return write_partition(trips, "taxi_trip", logical_date)


def run_window(spark, logical_date, tz: str) -> dict:
    """Rebuild the service date, after the day before it when that day holds trips still open:
    fixes of `logical_date` are what completes them. Returns the rows of the date and the dates
    rebuilt."""
    from datetime import timedelta

    from itlake.lake.delta import read_table, table_exists
    from itlake.lake.paths import table_path

    rebuilt = []
    before = logical_date - timedelta(days=1)
    path = table_path("gold", "taxi_trip")
    if table_exists(spark, path):
        open_trips = read_table(spark, path).where((F.col("trip_date") == F.lit(before)) & ~F.col("complete"))
        if open_trips.limit(1).count():
            run(spark, before, tz)
            rebuilt.append(before.isoformat())
    rows = run(spark, logical_date, tz)
    return {"rows": rows, "dates_rebuilt": [*rebuilt, logical_date.isoformat()]}
