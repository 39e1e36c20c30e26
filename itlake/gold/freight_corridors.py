"""Monthly freight corridor flows from the waybills and their legs.

    spark-submit jobs/step.py --step gold_freight_corridors --logical-date 2026-11-27

A corridor is a waybill's origin city to its destination city (prefecture-level city, or the
municipality, of its GB/T 2260 codes). Each leg of a waybill is measured as the great-circle
distance between the representative points of its two codes (itlake/data/gbt2260.csv), so a leg
within a district is 0 km. Per month of pickup (city time), corridor, cargo class and leg mode:
the waybills that use the mode, their weight in tonnes, and tonne-km (weight x the length of their
legs by that mode). A multimodal waybill counts in each of its modes, so summing `shipments` over
modes counts it more than once; summing `tonne_km` over modes does not.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.geo.distance import haversine_m_col


def build_corridor_flows(legs: DataFrame, codes: DataFrame, tz: str):
    """Curried transform: silver waybills -> freight_corridor_flow rows.

    `legs` is silver waybill_leg and `codes` the code table (`admin_code_frame`); a leg whose
    waybill is not in the frame (quarantined or another month) is left out by the join.
    """

    def transform(waybills: DataFrame) -> DataFrame:
        point = codes.select("code", "city_code", "lon", "lat")
        start = point.toDF("from_code", "from_city", "from_lon", "from_lat")
        end = point.toDF("to_code", "to_city", "to_lon", "to_lat")
        leg_km = (
            legs.select("waybill_no", "mode", "from_code", "to_code")
            .join(F.broadcast(start), "from_code")
            .join(F.broadcast(end), "to_code")
            .withColumn("km", haversine_m_col("from_lon", "from_lat", "to_lon", "to_lat") / 1000.0)
            .groupBy("waybill_no", "mode")
            .agg(F.sum("km").alias("km"))
        )
        cities = point.select("code", "city_code")
        shipments = (
            waybills.select(
                "waybill_no",
                "origin_code",
                "destination_code",
                "cargo_class",
                (F.col("weight_kg") / 1000.0).alias("tonnes"),
                F.trunc(F.to_date(F.from_utc_timestamp("pickup_time", tz)), "month").alias("month"),
            )
            .join(F.broadcast(cities.toDF("origin_code", "origin_city_code")), "origin_code")
            .join(F.broadcast(cities.toDF("destination_code", "destination_city_code")), "destination_code")
        )
        return (
            shipments.join(leg_km, "waybill_no")
            .groupBy("month", "origin_city_code", "destination_city_code", "cargo_class", "mode")
            .agg(
                F.count("*").alias("shipments"),
                F.sum("tonnes").alias("tonnage_t"),
                F.sum(F.col("tonnes") * F.col("km")).alias("tonne_km"),
            )
        )

    return transform


def month_utc(day, tz: str):
    """[start, end) of the local month containing `day`, as naive UTC datetimes."""
    from datetime import date

    from itlake.lake.window import service_day_utc

    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return service_day_utc(first, tz)[0], service_day_utc(following, tz)[0], first


def run(spark, logical_date, tz: str) -> int:
    """Rebuild the month partition containing `logical_date`; returns its row count."""
    from itlake.geo.admin_codes import admin_code_frame
    from itlake.lake.tables import read_lake_table, write_partition

    start, end, month = month_utc(logical_date, tz)
    in_month = (F.col("pickup_time") >= F.lit(start)) & (F.col("pickup_time") < F.lit(end))
    # Partition pruning: the UTC pickup dates that can hold a pickup of the local month.
    dates = (F.col("pickup_date") >= F.lit(start.date())) & (F.col("pickup_date") <= F.lit(end.date()))
    waybills = read_lake_table(spark, "waybill").where(dates & in_month)
    legs = read_lake_table(spark, "waybill_leg").where(dates)
    flows = waybills.transform(build_corridor_flows(legs, admin_code_frame(spark), tz))
    return write_partition(flows, "freight_corridor_flow", month)
