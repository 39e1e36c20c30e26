"""Hourly district-to-district taxi OD flows, from gold.taxi_trip.

Trips are counted per pickup hour, origin district and destination district; a trip whose pickup or
drop-off lies outside every district is in no cell.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

K_COLUMN = "trips"
PRIVACY = {
    "en": "Times are rounded down to the hour of the pickup and places generalised to districts.",
    "zh": "时间取整到上车所在小时，地点泛化到区县。",
}


def od_cells(trips: DataFrame) -> DataFrame:
    """Trips per (service_date, hour_start, origin_zone_id, destination_zone_id)."""
    return (
        trips.where(F.col("pickup_zone_id").isNotNull() & F.col("dropoff_zone_id").isNotNull())
        .groupBy(
            F.col("trip_date").alias("service_date"),
            F.date_trunc("hour", "pickup_time").alias("hour_start"),
            F.col("pickup_zone_id").alias("origin_zone_id"),
            F.col("dropoff_zone_id").alias("destination_zone_id"),
        )
        .agg(F.count("*").alias("trips"))
    )


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import read_lake_table

    return od_cells(read_lake_table(spark, "taxi_trip").where(F.col("trip_date") == F.lit(day)))
