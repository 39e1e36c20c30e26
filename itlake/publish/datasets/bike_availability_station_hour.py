"""Bike-share availability per station and hour, from gold.bike_station_availability_15min.

An hour's figures summarise the 15-minute intervals of it whose state is known: the mean of their
means (the intervals are of equal length, so this is the mean over the known part of the hour), the
fewest and most vehicles, the mean and fewest free docks, and how many intervals were known. Each
row carries the station's name and position from GBFS station_information, where that table holds
the station, so the release has a map layer.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

K_COLUMN = None
PRIVACY = {
    "en": "No personal data: counts of vehicles and docks at public stations, per hour.",
    "zh": "不含个人信息：公共站点每小时的可借车辆与空余车位数。",
}


def hourly_availability(stations: DataFrame):
    """Curried transform: 15-minute availability -> one row per station and hour, with the station's
    name and position from `stations` (system_id, station_id, station_name, lon, lat)."""

    def transform(intervals: DataFrame) -> DataFrame:
        return (
            intervals.groupBy(
                "system_id",
                "station_id",
                "service_date",
                F.date_trunc("hour", "interval_start").alias("hour_start"),
                "zone_id",
            )
            .agg(
                F.round(F.avg("bikes_available_mean"), 2).alias("bikes_available_mean"),
                F.min("bikes_available_min").alias("bikes_available_min"),
                F.max("bikes_available_max").alias("bikes_available_max"),
                F.round(F.avg("docks_available_mean"), 2).alias("docks_available_mean"),
                F.min("docks_available_min").alias("docks_available_min"),
                F.count("*").cast("int").alias("intervals"),
            )
            .join(
                stations.select("system_id", "station_id", "station_name", "lon", "lat"),
                ["system_id", "station_id"],
                "left",
            )
        )

    return transform


def _point_wkb(lon, lat):
    """pandas body of the Spark UDF: WKB points (WGS-84) of two float Series; null where either is."""
    import pandas as pd
    import shapely

    x = lon.to_numpy(dtype=float, na_value=float("nan"))
    y = lat.to_numpy(dtype=float, na_value=float("nan"))
    wkb = shapely.to_wkb(shapely.points(x, y))
    located = ~(pd.isna(x) | pd.isna(y))
    return pd.Series([bytes(w) if ok else None for w, ok in zip(wkb, located, strict=True)], index=lon.index)


def with_point_geometry(df: DataFrame) -> DataFrame:
    """`geometry`: the station's position as a WKB point, null where it is unknown."""
    point = F.pandas_udf(_point_wkb, "binary")
    return df.withColumn("geometry", point(F.col("lon").cast("double"), F.col("lat").cast("double")))


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import read_lake_table

    intervals = read_lake_table(spark, "bike_station_availability_15min").where(
        F.col("service_date") == F.lit(day)
    )
    stations = read_lake_table(spark, "gbfs_station_information")
    return intervals.transform(hourly_availability(stations)).transform(with_point_geometry)
