"""Road speeds by district and hour, from the instant speeds of moving taxis (silver.taxi_gps).

A fix counts when the taxi moves (speed above 0); the speed of a cell is the mean and the median of
its fixes. A cell is kept only when at least k distinct taxis were seen in it, so no single driver's
speed can be read from it.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

K_COLUMN = "vehicles"
PRIVACY = {
    "en": "Fixes are grouped by hour and district; vehicle identifiers and positions are not released.",
    "zh": "定位点按小时与区县汇总；不发布车辆标识与位置。",
}


def speed_cells(tz: str):
    """Curried transform: taxi fixes (vehicle_id, fix_time, lon, lat, speed_kmh) -> zone-hour speeds."""
    from itlake.geo.zones import with_zone

    def transform(gps: DataFrame) -> DataFrame:
        return (
            gps.where(F.col("speed_kmh") > 0)
            .transform(with_zone("lon", "lat", "zone_id"))
            .where(F.col("zone_id").isNotNull())
            .groupBy(
                F.to_date(F.from_utc_timestamp("fix_time", tz)).alias("service_date"),
                F.date_trunc("hour", "fix_time").alias("hour_start"),
                "zone_id",
            )
            .agg(
                F.countDistinct("vehicle_id").alias("vehicles"),
                F.count("*").alias("fixes"),
                F.round(F.avg("speed_kmh"), 1).alias("mean_speed_kmh"),
                F.round(F.percentile("speed_kmh", 0.5), 1).alias("median_speed_kmh"),
            )
        )

    return transform


def build(spark, day) -> DataFrame:
    from itlake.config import get_settings
    from itlake.lake.tables import read_lake_table
    from itlake.lake.window import service_day_utc

    tz = get_settings().city_timezone
    start, end = service_day_utc(day, tz)
    gps = read_lake_table(spark, "taxi_gps").where(
        (F.col("fix_time") >= F.lit(start)) & (F.col("fix_time") < F.lit(end))
    )
    return gps.transform(speed_cells(tz))
