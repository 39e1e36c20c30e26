"""Metro boardings per station and day, from the smart-card entry taps in gold.

Every metro entry tap is a boarding: the entry of a matched trip (gold.smartcard_trip) or an entry
that matched no exit (gold.smartcard_unmatched_tap), counted on the service day of the tap (04:00 to
04:00 local time) at its station and the line of its gate. The station's district comes from the
GTFS stop of the same name, where there is one. Bus validators sit on the vehicle and their taps
name no stop, so bus boardings are not in this dataset.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

K_COLUMN = "boardings"
PRIVACY = {
    "en": "Taps are counted per station and service day; card pseudonyms and tap times are not released.",
    "zh": "刷卡按车站与服务日汇总；不发布卡号假名与刷卡时间。",
}


def metro_entries(trips: DataFrame, unmatched: DataFrame) -> DataFrame:
    """Every metro entry tap of the trips and of the unmatched taps: service_date, line_name, station_name."""
    matched = trips.where(F.col("mode") == "metro").select(
        "service_date", F.col("entry_line").alias("line_name"), F.col("entry_station").alias("station_name")
    )
    lone = unmatched.where(F.col("tap_type") == "metro_entry").select(
        "service_date", "line_name", "station_name"
    )
    return matched.unionByName(lone)


def boarding_cells(stations: DataFrame):
    """Curried transform: entry taps -> boardings per (service_date, line_name, station_name), with
    the station's zone_id from `stations` (station_name, zone_id). Taps naming no station or line are
    in no cell."""

    def transform(entries: DataFrame) -> DataFrame:
        return (
            entries.where(F.col("station_name").isNotNull() & F.col("line_name").isNotNull())
            .groupBy("service_date", "line_name", "station_name")
            .agg(F.count("*").alias("boardings"))
            .join(F.broadcast(stations), "station_name", "left")
        )

    return transform


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import read_lake_table
    from itlake.publish.datasets._stations import read_station_zones

    on_day = F.col("service_date") == F.lit(day)
    trips = read_lake_table(spark, "smartcard_trip").where(on_day)
    unmatched = read_lake_table(spark, "smartcard_unmatched_tap").where(on_day)
    return metro_entries(trips, unmatched).transform(boarding_cells(read_station_zones(spark)))
