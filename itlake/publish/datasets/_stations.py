"""Where a transit station named on a smart-card tap lies: the district of the GTFS stop of that name.

Smart-card taps name the metro station, not a stop id, so a station is placed at the mean position
of the GTFS stops carrying exactly its name (the rule the MaaS demand uses for boardings). A station
no stop is named after has no district.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def station_zones(stops: DataFrame) -> DataFrame:
    """GTFS stops (stop_name, stop_lon, stop_lat) -> one row per station_name with its zone_id."""
    from itlake.geo.zones import with_zone

    return (
        stops.where(
            F.col("stop_name").isNotNull() & F.col("stop_lon").isNotNull() & F.col("stop_lat").isNotNull()
        )
        .groupBy(F.col("stop_name").alias("station_name"))
        .agg(F.avg("stop_lon").alias("lon"), F.avg("stop_lat").alias("lat"))
        .transform(with_zone("lon", "lat", "zone_id"))
        .select("station_name", "zone_id")
    )


def read_station_zones(spark) -> DataFrame:
    from itlake.lake.tables import read_lake_table

    return station_zones(read_lake_table(spark, "gtfs_stop"))
