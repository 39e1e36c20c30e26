"""Bridges and tunnels by technical condition class per district, from silver.bridge_tunnel.

    spark-submit jobs/step.py --step gold_bridge_condition --logical-date 2026-11-27

Each structure is placed in the Shenzhen district whose polygon contains its point (GB/T 2260
code; itlake.geo.zones); a structure in no polygon (on a sea bridge, say) counts under 440300, the
city as a whole, so none is dropped. Per district and structure type the row counts structures in
each class 1-5, the share in class 4 or 5 (major repair or closure under JTG/T H21-2011), the total
length and the earliest latest-inspection date. The silver table holds each structure's latest
inspection, so the partition of a date is the condition known when it ran. Each row carries the
district boundary as WKB, and the partition is also written as GeoParquet for map tools.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from itlake.geo.zones import with_zone

CITY_CODE = "440300"
CITY_NAME = "深圳市（未落入区县）"
CONDITION_CLASSES = (1, 2, 3, 4, 5)


def district_boundaries(spark: SparkSession) -> DataFrame:
    """`district_code`, `district_name`, `geometry` (WKB MultiPolygon, WGS-84) of every zone."""
    import shapely

    from itlake.geo.zones import load_zones

    zones = load_zones()
    rows = []
    for code, name, polygon in zip(zones["zone_id"], zones["zone_name"], zones.geometry, strict=True):
        multi = polygon if polygon.geom_type == "MultiPolygon" else shapely.MultiPolygon([polygon])
        rows.append((str(code), str(name), bytes(shapely.to_wkb(multi, byte_order=1))))
    return spark.createDataFrame(rows, "district_code string, district_name string, geometry binary")


def build_bridge_condition(as_of, districts: DataFrame):
    """Curried transform: silver bridge_tunnel rows -> gold bridge_condition_by_district rows."""

    def transform(structures: DataFrame) -> DataFrame:
        counts = [
            F.sum(F.when(F.col("condition_class") == k, 1).otherwise(0))
            .cast("int")
            .alias(f"class_{k}_structures")
            for k in CONDITION_CLASSES
        ]
        return (
            structures.transform(with_zone("lon", "lat", "district_code"))
            .withColumn("district_code", F.coalesce("district_code", F.lit(CITY_CODE)))
            .groupBy("district_code", "structure_type")
            .agg(
                F.count("*").cast("int").alias("structures"),
                *counts,
                F.sum("length_m").alias("total_length_m"),
                F.min("inspection_date").alias("oldest_inspection_date"),
            )
            .withColumn(
                "class_4_5_share",
                (F.col("class_4_structures") + F.col("class_5_structures")) / F.col("structures"),
            )
            .join(districts, "district_code", "left")
            .withColumn("district_name", F.coalesce("district_name", F.lit(CITY_NAME)))
            .withColumn("as_of_date", F.lit(as_of))
        )

    return transform


def run(spark: SparkSession, logical_date) -> dict:
    """Rebuild the partition of `logical_date` and its GeoParquet copy; returns rows and the path."""
    from itlake.lake.geoparquet import geoparquet_path, write_geoparquet
    from itlake.lake.tables import conform, read_lake_table, write_partition

    rows = (
        read_lake_table(spark, "bridge_tunnel")
        .transform(build_bridge_condition(logical_date, district_boundaries(spark)))
        .transform(conform("bridge_condition_by_district"))
        .persist()
    )
    try:
        count = write_partition(rows, "bridge_condition_by_district", logical_date)
        target = geoparquet_path("bridge_condition_by_district", label=logical_date.isoformat())
        write_geoparquet(rows, "bridge_condition_by_district", target)
    finally:
        rows.unpersist()
    return {"rows": count, "geoparquet": str(target)}
