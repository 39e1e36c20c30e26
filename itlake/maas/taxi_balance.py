"""Taxi demand against idle-taxi supply, by district and hour.

    spark-submit jobs/step.py --step maas_taxi_balance --logical-date 2026-11-27

Demand is the taxi pickups in the district and hour; supply is the number of distinct vacant
taxis (OpenStatus = 0) seen there in that hour. Unmet demand is the pickups beyond the idle
taxis, and a cell with unmet demand is a gap.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.geo.zones import with_zone, zone_names
from itlake.gold.taxi_trips import service_date


def build_taxi_balance(trips: DataFrame, gps: DataFrame, tz: str) -> DataFrame:
    demand = (
        trips.where(F.col("pickup_zone_id").isNotNull())
        .groupBy(
            F.col("pickup_zone_id").alias("zone_id"), F.date_trunc("hour", "pickup_time").alias("hour_start")
        )
        .agg(F.count("*").alias("taxi_pickups"))
    )
    supply = (
        gps.where(F.col("open_status") == 0)
        .transform(with_zone("lon", "lat", "zone_id"))
        .where(F.col("zone_id").isNotNull())
        .groupBy("zone_id", F.date_trunc("hour", "fix_time").alias("hour_start"))
        .agg(F.countDistinct("vehicle_id").alias("idle_taxis"))
    )
    names = F.create_map(*[F.lit(v) for pair in sorted(zone_names().items()) for v in pair])
    pickups, idle = F.col("taxi_pickups"), F.col("idle_taxis")
    return (
        demand.join(supply, ["zone_id", "hour_start"], "full")
        .fillna(0, ["taxi_pickups", "idle_taxis"])
        .withColumns(
            {
                "zone_name": names[F.col("zone_id")],
                "service_date": service_date("hour_start", tz),
                "supply_demand_ratio": F.when(pickups > 0, idle / pickups),
                "unmet_demand": F.greatest(pickups - idle, F.lit(0)),
            }
        )
        .withColumn("is_gap", F.col("unmet_demand") > 0)
    )


def run(spark, logical_date, tz: str) -> int:
    """Rebuild the maas_taxi_zone_hour partition of one service date; returns its row count."""
    from itlake.lake.tables import read_lake_table, write_partition
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(logical_date, tz)
    trips = read_lake_table(spark, "taxi_trip").where(F.col("trip_date") == F.lit(logical_date))
    gps = read_lake_table(spark, "taxi_gps").where(
        (F.col("fix_time") >= F.lit(start)) & (F.col("fix_time") < F.lit(end))
    )
    balance = build_taxi_balance(trips, gps, tz).where(F.col("service_date") == F.lit(logical_date))
    return write_partition(balance, "maas_taxi_zone_hour", logical_date)
