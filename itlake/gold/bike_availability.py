"""Bike availability per station and 15-minute interval, from GBFS station_status reports.

    spark-submit jobs/step.py --step gold_bike_availability --logical-date 2026-11-27

A station reports when its counts change, so an interval may hold several reports or none. Each
interval of the service day (local calendar day, 96 intervals) therefore counts the state the
station was in when the interval began (its last report before) together with every report made
during the interval: `bikes_available_mean` is the mean over those states, `_min`/`_max` their
extremes, and `reports` the number of reports made in the interval (0 when the state was carried
over). Intervals before a station's first known report are left out. The station's district comes
from its position in station_information, when that table holds the station.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

INTERVAL_MIN = 15
# Reports read before the day starts, so that the first intervals know the state they start in.
CARRY_HOURS = 6


def interval_grid(spark, start, end) -> DataFrame:
    """One row per interval start in [start, end) (naive UTC datetimes)."""
    last = end - timedelta(minutes=INTERVAL_MIN)
    steps = F.sequence(F.lit(start), F.lit(last), F.expr(f"INTERVAL {INTERVAL_MIN} MINUTES"))
    return spark.range(1).select(F.explode(steps).alias("interval_start"))


def build_availability(grid: DataFrame, tz: str):
    """Curried transform: silver station_status reports -> one row per station and interval."""

    def transform(status: DataFrame) -> DataFrame:
        reports = status.select(
            "system_id",
            "station_id",
            F.col("last_reported").alias("t"),
            F.col("bikes_available").cast("double").alias("bikes"),
            F.col("docks_available").cast("double").alias("docks"),
            F.lit(False).alias("is_boundary"),
        )
        stations = reports.select("system_id", "station_id").distinct()
        boundaries = stations.crossJoin(grid).select(
            "system_id",
            "station_id",
            F.col("interval_start").alias("t"),
            F.lit(None).cast("double").alias("bikes"),
            F.lit(None).cast("double").alias("docks"),
            F.lit(True).alias("is_boundary"),
        )
        # A boundary sorts before a report made at the same instant: it carries the state before it.
        before = (
            Window.partitionBy("system_id", "station_id")
            .orderBy(F.col("t"), F.col("is_boundary").desc())
            .rowsBetween(Window.unboundedPreceding, -1)
        )
        states = (
            reports.unionByName(boundaries)
            .withColumns(
                {
                    "bikes": F.when(F.col("is_boundary"), F.last("bikes", True).over(before)).otherwise(
                        F.col("bikes")
                    ),
                    "docks": F.when(F.col("is_boundary"), F.last("docks", True).over(before)).otherwise(
                        F.col("docks")
                    ),
                    "interval_start": F.window("t", f"{INTERVAL_MIN} minutes").start,
                }
            )
            .join(grid, "interval_start", "left_semi")
        )
        return (
            states.groupBy("system_id", "station_id", "interval_start")
            .agg(
                F.avg("bikes").alias("bikes_available_mean"),
                F.min("bikes").cast("int").alias("bikes_available_min"),
                F.max("bikes").cast("int").alias("bikes_available_max"),
                F.avg("docks").alias("docks_available_mean"),
                F.min("docks").cast("int").alias("docks_available_min"),
                F.sum((~F.col("is_boundary")).cast("int")).alias("reports"),
            )
            .where(F.col("bikes_available_mean").isNotNull())
            .withColumn("service_date", F.to_date(F.from_utc_timestamp("interval_start", tz)))
        )

    return transform


def with_station_zone(stations: DataFrame | None):
    """Curried transform adding `zone_id`, the district of the station's position (null if unknown)."""

    def transform(df: DataFrame) -> DataFrame:
        from itlake.geo.zones import with_zone

        if stations is None:
            return df.withColumn("zone_id", F.lit(None).cast("string"))
        located = stations.select("system_id", "station_id", "lon", "lat").transform(
            with_zone("lon", "lat", "zone_id")
        )
        return df.join(
            located.select("system_id", "station_id", "zone_id"), ["system_id", "station_id"], "left"
        )

    return transform


def run(spark, logical_date, tz: str) -> int:
    """Rebuild the bike_station_availability_15min partition of one service date; returns its rows."""
    from itlake.catalog.contracts import load_contract
    from itlake.lake.delta import table_exists
    from itlake.lake.paths import table_path
    from itlake.lake.tables import read_lake_table, write_partition
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(logical_date, tz)
    status = read_lake_table(spark, "gbfs_station_status").where(
        (F.col("last_reported") >= F.lit(start - timedelta(hours=CARRY_HOURS)))
        & (F.col("last_reported") < F.lit(end))
    )
    info_path = table_path(load_contract("gbfs_station_information").layer, "gbfs_station_information")
    stations = read_lake_table(spark, "gbfs_station_information") if table_exists(spark, info_path) else None
    grid = interval_grid(spark, start, end)
    rows = status.transform(build_availability(grid, tz)).transform(with_station_zone(stations))
    return write_partition(rows, "bike_station_availability_15min", logical_date)
