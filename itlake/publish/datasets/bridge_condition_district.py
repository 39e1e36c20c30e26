"""Bridges and tunnels by district and technical condition class, from gold.bridge_condition_by_district.

This is the open face of the bridge register: only counts per district, structure type and
condition class (1 good to 5 dangerous), never where a structure is or which one is weak. The
latest as-of date on or before the logical date is released; the district boundaries are in the
release's zones.geojson, not repeated on every row.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

K_COLUMN = None
PRIVACY = {
    "en": "No personal data. Structures are generalised to district x condition class; no location, "
    "identifier or name of a structure is released.",
    "zh": "不含个人信息。构造物泛化为区县×技术状况等级；不发布构造物的位置、编号与名称。",
}


def latest_counts(day):
    """Curried transform: the gold counts -> those of the latest as_of_date on or before `day`, with
    the district code as zone_id."""

    def transform(counts: DataFrame) -> DataFrame:
        known = counts.where(F.col("as_of_date") <= F.lit(day))
        latest = F.max("as_of_date").over(Window.partitionBy())
        return (
            known.withColumn("latest", latest)
            .where(F.col("as_of_date") == F.col("latest"))
            .withColumnRenamed("district_code", "zone_id")
        )

    return transform


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import conform, read_lake_table

    counts = read_lake_table(spark, "bridge_condition_by_district")
    return counts.transform(latest_counts(day)).transform(conform("bridge_condition_district"))
