"""Hourly district-to-district metro OD flows, from the smart-card trips of gold.smartcard_trip.

A metro trip (an entry tap matched with its exit) counts in the hour of its entry, from the district
of the entry station to the district of the exit station; stations are placed by name at the GTFS
stop of that name (itlake/publish/datasets/_stations.py). A bus trip is one tap on boarding, with
no alighting stop, so it has no destination and no cell; a trip at a station no GTFS stop is named
after has no district and no cell either.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.publish.datasets._od import hourly_od

K_COLUMN = "trips"
PRIVACY = {
    "en": "Times are rounded down to the hour of the entry tap and stations generalised to districts; "
    "card pseudonyms, stations and tap times are not released.",
    "zh": "时间取整到进站所在小时，车站泛化到区县；不发布卡号假名、车站与刷卡时间。",
}


def od_cells(stations: DataFrame):
    """Curried transform: smart-card trips -> metro trips per hour and district pair; `stations` is
    (station_name, zone_id)."""

    def transform(trips: DataFrame) -> DataFrame:
        entry = stations.select(
            F.col("station_name").alias("entry_station"), F.col("zone_id").alias("origin")
        )
        exit_ = stations.select(
            F.col("station_name").alias("exit_station"), F.col("zone_id").alias("destination")
        )
        return (
            trips.where(F.col("mode") == "metro")
            .join(F.broadcast(entry), "entry_station", "left")
            .join(F.broadcast(exit_), "exit_station", "left")
            .transform(hourly_od("service_date", "entry_time", "origin", "destination"))
        )

    return transform


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import read_lake_table
    from itlake.publish.datasets._stations import read_station_zones

    trips = read_lake_table(spark, "smartcard_trip").where(F.col("service_date") == F.lit(day))
    return trips.transform(od_cells(read_station_zones(spark)))
