"""Hourly district-to-district ride-hailing OD flows, from the completed orders of silver.ridehail_order.

A completed order is a trip: it counts in the hour of its pickup, from the district of its requested
pickup point to the district of its destination; the service date is the pickup's date in the
city's time zone, as for taxis. Orders cancelled or never served carried nobody and count nowhere.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.publish.datasets._od import hourly_od

K_COLUMN = "trips"
PRIVACY = {
    "en": "Times are rounded down to the hour of the pickup and places generalised to districts; "
    "passenger, driver and vehicle pseudonyms and the exact points are not released.",
    "zh": "时间取整到上车所在小时，地点泛化到区县；不发布乘客、司机、车辆假名与精确位置。",
}


def ridehail_trips(tz: str):
    """Curried transform: ride-hailing orders -> completed trips with service_date and both districts."""
    from itlake.geo.zones import with_zone

    def transform(orders: DataFrame) -> DataFrame:
        return (
            orders.where((F.col("status") == "completed") & F.col("pickup_time").isNotNull())
            .withColumn("service_date", F.to_date(F.from_utc_timestamp("pickup_time", tz)))
            .transform(with_zone("pickup_lon", "pickup_lat", "pickup_zone_id"))
            .transform(with_zone("dropoff_lon", "dropoff_lat", "dropoff_zone_id"))
        )

    return transform


def od_cells(tz: str):
    """Curried transform: ride-hailing orders -> trips per hour and district pair."""

    def transform(orders: DataFrame) -> DataFrame:
        return orders.transform(ridehail_trips(tz)).transform(
            hourly_od("service_date", "pickup_time", "pickup_zone_id", "dropoff_zone_id")
        )

    return transform


def build(spark, day) -> DataFrame:
    from itlake.config import get_settings
    from itlake.lake.tables import read_lake_table
    from itlake.lake.window import service_day_utc

    tz = get_settings().city_timezone
    start, end = service_day_utc(day, tz)
    # Orders are partitioned by their UTC request date, which is at most the pickup's UTC date.
    orders = read_lake_table(spark, "ridehail_order").where(
        F.col("order_date").between(F.lit(start.date() - timedelta(days=1)), F.lit(end.date()))
        & (F.col("pickup_time") >= F.lit(start))
        & (F.col("pickup_time") < F.lit(end))
    )
    return orders.transform(od_cells(tz))
