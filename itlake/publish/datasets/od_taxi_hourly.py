"""Hourly district-to-district taxi OD flows, from gold.taxi_trip.

Trips are counted per pickup hour, origin district and destination district; a trip whose pickup or
drop-off lies outside every district is in no cell.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.publish.datasets._od import hourly_od

K_COLUMN = "trips"
PRIVACY = {
    "en": "Times are rounded down to the hour of the pickup and places generalised to districts.",
    "zh": "时间取整到上车所在小时，地点泛化到区县。",
}


def od_cells(trips: DataFrame) -> DataFrame:
    """Trips per (service_date, hour_start, origin_zone_id, destination_zone_id), from gold.taxi_trip."""
    return trips.transform(hourly_od("trip_date", "pickup_time", "pickup_zone_id", "dropoff_zone_id"))


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import read_lake_table

    return od_cells(read_lake_table(spark, "taxi_trip").where(F.col("trip_date") == F.lit(day)))
