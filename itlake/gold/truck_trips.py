"""Truck stays and trips from BeiDou position reports, linked to waybills, and trips per corridor.

    spark-submit jobs/step.py --step gold_truck_trips --logical-date 2026-11-27

A report is *stopped* when its speed (the reported one, else the one implied by the step from the
previous report) is at most STOP_SPEED_KMH. A *stay* is a run of consecutive stopped reports of one
truck lasting at least N minutes from its first to its last report, placed at their mean position.
A *trip* runs from the last report of one stay to the first report of the truck's next stay; its
distance sums the great-circle steps between the reports in between. Trips shorter than
MIN_TRIP_M (shunting in a yard) are dropped. A run cut by the ends of the data read is still a
stay if long enough, but the partial movement before the first stay or after the last is no trip.

Each end is placed in the city (GB/T 2260) of the nearest place in the shipped code table, or
000000 when none is within NEAREST_PLACE_KM. A trip is linked to the waybills with the same plate
pseudonym picked up from LINK_BEFORE before to LINK_AFTER after the trip starts (and, when
delivered, not delivered more than LINK_AFTER before the trip ends); `waybill_no` is the one picked
up closest to the start. Stays and trips are kept on the service date of their start.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from itlake.geo.distance import haversine_m_col

STAY_MIN_MINUTES = 15
STOP_SPEED_KMH = 5.0
MIN_TRIP_M = 500.0
NEAREST_PLACE_KM = 100.0
NO_CITY = "000000"
CITY_PROVINCES = ("11", "12", "31", "50", "81", "82")
LINK_BEFORE = timedelta(minutes=30)
LINK_AFTER = timedelta(hours=3)


def _hash_id(*cols: str):
    return F.substring(F.sha2(F.concat_ws("|", *[F.col(c).cast("string") for c in cols]), 256), 1, 32)


def with_steps(positions: DataFrame) -> DataFrame:
    """Reports ordered per truck with `step_m` (from the previous report), `stopped` and `run_id`."""
    by_truck = Window.partitionBy("plate_id").orderBy("fix_time")
    prev_lon, prev_lat = F.lag("lon").over(by_truck), F.lag("lat").over(by_truck)
    step_m = F.coalesce(haversine_m_col(prev_lon, prev_lat, F.col("lon"), F.col("lat")), F.lit(0.0))
    dt = F.unix_timestamp("fix_time") - F.unix_timestamp(F.lag("fix_time").over(by_truck))
    implied_kmh = F.when(dt > 0, step_m / dt * 3.6)
    fixes = positions.select("plate_id", "fix_time", "lon", "lat", "speed_kmh").withColumns(
        {"step_m": step_m, "stopped": F.coalesce("speed_kmh", implied_kmh, F.lit(0.0)) <= STOP_SPEED_KMH}
    )
    change = F.coalesce(F.col("stopped") != F.lag("stopped").over(by_truck), F.lit(True))
    return fixes.withColumn(
        "run_id", F.sum(change.cast("int")).over(by_truck.rowsBetween(Window.unboundedPreceding, 0))
    )


def nearest_city(codes: DataFrame, lon: str, lat: str, out: str, keys=("plate_id", "start_time")):
    """Curried transform adding `out`: the city code of the nearest listed place within
    NEAREST_PLACE_KM of (lon, lat), else NO_CITY. `keys` identify a row of the frame."""

    def transform(df: DataFrame) -> DataFrame:
        # A province's point is its capital's: leave provinces out, or Guangzhou would be "440000".
        # Municipalities and the two SARs are cities themselves and stay.
        cities = (F.col("level") != "province") | F.substring("code", 1, 2).isin(*CITY_PROVINCES)
        places = F.broadcast(
            codes.where(cities).select(
                F.col("city_code").alias("_city"), F.col("lon").alias("_lon"), F.col("lat").alias("_lat")
            )
        )
        distance = haversine_m_col(F.col(lon), F.col(lat), F.col("_lon"), F.col("_lat"))
        nearest = Window.partitionBy(*keys).orderBy("_m", "_city")
        return (
            df.crossJoin(places)
            .withColumn("_m", distance)
            .withColumn("_rank", F.row_number().over(nearest))
            .where("_rank = 1")
            .withColumn(
                out, F.when(F.col("_m") <= NEAREST_PLACE_KM * 1000, F.col("_city")).otherwise(F.lit(NO_CITY))
            )
            .drop("_city", "_lon", "_lat", "_m", "_rank")
        )

    return transform


def build_stays(fixes: DataFrame, min_minutes: int) -> DataFrame:
    """Stays from `with_steps` output: plate_id, start_time, end_time, duration_s, lon, lat, fix_count."""
    return (
        fixes.where("stopped")
        .groupBy("plate_id", "run_id")
        .agg(
            F.min("fix_time").alias("start_time"),
            F.max("fix_time").alias("end_time"),
            F.avg("lon").alias("lon"),
            F.avg("lat").alias("lat"),
            F.count("*").cast("int").alias("fix_count"),
        )
        .withColumn("duration_s", F.unix_timestamp("end_time") - F.unix_timestamp("start_time"))
        .where(F.col("duration_s") >= min_minutes * 60)
        .drop("run_id")
    )


def build_trips(fixes: DataFrame, stays: DataFrame) -> DataFrame:
    """Trips between consecutive stays of each truck, with distance and report count."""
    by_truck = Window.partitionBy("plate_id").orderBy("start_time")
    legs = stays.select(
        "plate_id",
        F.col("end_time").alias("start_time"),
        F.col("lon").alias("origin_lon"),
        F.col("lat").alias("origin_lat"),
        F.lead("start_time").over(by_truck).alias("end_time"),
        F.lead("lon").over(by_truck).alias("destination_lon"),
        F.lead("lat").over(by_truck).alias("destination_lat"),
    ).where(F.col("end_time").isNotNull())
    inside = (F.col("f.fix_time") >= F.col("t.start_time")) & (F.col("f.fix_time") <= F.col("t.end_time"))
    after_start = F.col("f.fix_time") > F.col("t.start_time")
    return (
        legs.alias("t")
        .join(fixes.alias("f"), (F.col("f.plate_id") == F.col("t.plate_id")) & inside)
        .groupBy(
            "t.plate_id",
            "t.start_time",
            "t.end_time",
            "origin_lon",
            "origin_lat",
            "destination_lon",
            "destination_lat",
        )
        .agg(
            F.sum(F.when(after_start, F.col("f.step_m")).otherwise(0.0)).alias("distance_m"),
            F.count("*").cast("int").alias("fix_count"),
        )
        .where(F.col("distance_m") >= MIN_TRIP_M)
        .withColumn("duration_s", F.unix_timestamp("end_time") - F.unix_timestamp("start_time"))
    )


def link_waybills(waybills: DataFrame):
    """Curried transform adding `waybill_no` (closest pickup) and `waybill_count` to trips."""

    def transform(trips: DataFrame) -> DataFrame:
        candidates = waybills.where(F.col("plate_id").isNotNull()).select(
            F.col("plate_id").alias("w_plate"), "waybill_no", "pickup_time", "delivery_time"
        )
        starts = F.col("start_time")
        matches = (
            (F.col("w_plate") == F.col("plate_id"))
            & (
                starts
                >= F.col("pickup_time") - F.expr(f"INTERVAL {int(LINK_BEFORE.total_seconds())} SECONDS")
            )
            & (starts <= F.col("pickup_time") + F.expr(f"INTERVAL {int(LINK_AFTER.total_seconds())} SECONDS"))
            & (
                F.col("delivery_time").isNull()
                | (
                    F.col("end_time")
                    <= F.col("delivery_time") + F.expr(f"INTERVAL {int(LINK_AFTER.total_seconds())} SECONDS")
                )
            )
        )
        gap = F.abs(F.unix_timestamp("start_time") - F.unix_timestamp("pickup_time"))
        linked = (
            trips.join(candidates, matches, "left")
            .withColumn("_gap", gap)
            .groupBy(*trips.columns)
            .agg(
                F.min_by("waybill_no", F.struct("_gap", "waybill_no")).alias("waybill_no"),
                F.count("waybill_no").cast("int").alias("waybill_count"),
            )
        )
        return linked

    return transform


def service_date(ts_col: str, tz: str):
    return F.to_date(F.from_utc_timestamp(F.col(ts_col), tz))


def build_trip_corridors(trips: DataFrame) -> DataFrame:
    """truck_trip rows -> truck_trip_corridor rows."""
    return trips.groupBy("trip_date", "origin_city_code", "destination_city_code").agg(
        F.count("*").alias("trips"),
        F.countDistinct("plate_id").alias("trucks"),
        F.count("waybill_no").alias("linked_trips"),
        (F.sum("distance_m") / 1000.0).alias("distance_km"),
        (F.avg("duration_s") / 60.0).alias("mean_duration_min"),
    )


def build_truck_tables(
    positions: DataFrame, waybills: DataFrame, codes: DataFrame, tz: str, min_minutes: int
):
    """(stays, trips) with every contract column, for all the positions given."""
    fixes = with_steps(positions).persist()
    stays = build_stays(fixes, min_minutes)
    trips = (
        build_trips(fixes, stays)
        .transform(nearest_city(codes, "origin_lon", "origin_lat", "origin_city_code"))
        .transform(nearest_city(codes, "destination_lon", "destination_lat", "destination_city_code"))
        .transform(link_waybills(waybills))
        .withColumns(
            {"trip_id": _hash_id("plate_id", "start_time"), "trip_date": service_date("start_time", tz)}
        )
    )
    stays = stays.transform(nearest_city(codes, "lon", "lat", "city_code")).withColumns(
        {"stay_id": _hash_id("plate_id", "start_time"), "stay_date": service_date("start_time", tz)}
    )
    return fixes, stays, trips


# Reports read on each side of the service day: a trip that starts in the day and ends the next
# morning is seen whole, and so is the stay before the first trip.
MARGIN_HOURS = 12


def run(spark, logical_date, tz: str, min_minutes: int = STAY_MIN_MINUTES) -> dict:
    """Rebuild the truck_stay, truck_trip and truck_trip_corridor partitions of one service date."""
    from itlake.geo.admin_codes import admin_code_frame
    from itlake.lake.tables import read_lake_table, write_partition
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(logical_date, tz)
    margin = timedelta(hours=MARGIN_HOURS)
    positions = read_lake_table(spark, "truck_position").where(
        (F.col("fix_time") >= F.lit(start - margin)) & (F.col("fix_time") < F.lit(end + margin))
    )
    waybills = read_lake_table(spark, "waybill").where(
        (F.col("pickup_time") >= F.lit(start - margin - LINK_AFTER))
        & (F.col("pickup_time") < F.lit(end + margin))
    )
    fixes, stays, trips = build_truck_tables(positions, waybills, admin_code_frame(spark), tz, min_minutes)
    try:
        day = F.lit(logical_date)
        trips = trips.where(F.col("trip_date") == day).persist()
        result = {
            "stays": write_partition(stays.where(F.col("stay_date") == day), "truck_stay", logical_date),
            "trips": write_partition(trips, "truck_trip", logical_date),
            "corridors": write_partition(build_trip_corridors(trips), "truck_trip_corridor", logical_date),
        }
    finally:
        fixes.unpersist()
        trips.unpersist()
    return {"rows": result["trips"], **result}
