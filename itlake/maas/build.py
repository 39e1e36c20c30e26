"""Build every MaaS table of one service date from the lake's silver and gold tables.

    spark-submit jobs/step.py --step maas_tables --logical-date 2026-11-27

`build_tables` is the pure part (input frames in, output frames out; the tests call it with
inline rows); `run` reads the inputs (a feed missing from the lake reads as empty), replaces
the date's partition of each gold table, and draws the unmet-demand map.

| table | grain |
|---|---|
| demand_zone_interval | zone x 15 min x mode |
| supply_zone_interval | zone x 15 min |
| balance_zone_interval | zone x 15 min x service |
| request_vehicle_match | ride request |
| match_kpi | zone (or city) x period (15 min or day) |
| od_service_options | district pair x option |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import date, timedelta

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from itlake.geo.zones import with_zone
from itlake.maas import TABLES
from itlake.maas import inputs as sources
from itlake.maas.balance import build_balance
from itlake.maas.demand import bike_departures, build_demand, demand_events, transit_boardings
from itlake.maas.kpi import build_kpis
from itlake.maas.matching import match_parties, match_requests
from itlake.maas.options import service_options
from itlake.maas.router import pattern_legs
from itlake.maas.settings import MaasSettings, maas_settings
from itlake.maas.supply import bike_supply, build_supply, idle_fixes, taxi_supply, transit_supply
from itlake.maas.timetable import active_trips, departures

log = logging.getLogger("itlake.maas.build")


@dataclass
class MaasInputs:
    """The input frames, already renamed by `itlake.maas.inputs` and cut to the service day."""

    requests: DataFrame
    taxi_trips: DataFrame
    taxi_fixes: DataFrame
    card_taps: DataFrame
    station_info: DataFrame
    station_status: DataFrame
    bike_status: DataFrame
    gtfs_stops: DataFrame
    gtfs_routes: DataFrame
    gtfs_trips: DataFrame
    gtfs_stop_times: DataFrame
    gtfs_calendar: DataFrame
    gtfs_feed_versions: DataFrame


SPECS = {
    "requests": sources.RIDE_REQUESTS,
    "taxi_trips": sources.TAXI_TRIPS,
    "taxi_fixes": sources.TAXI_FIXES,
    "card_taps": sources.CARD_TAPS,
    "station_info": sources.STATION_INFO,
    "station_status": sources.STATION_STATUS,
    "bike_status": sources.BIKE_STATUS,
    "gtfs_stops": sources.GTFS_STOPS,
    "gtfs_routes": sources.GTFS_ROUTES,
    "gtfs_trips": sources.GTFS_TRIPS,
    "gtfs_stop_times": sources.GTFS_STOP_TIMES,
    "gtfs_calendar": sources.GTFS_CALENDAR,
    "gtfs_feed_versions": sources.GTFS_FEED_VERSIONS,
}
# Station reports read before the day starts, so the first report of the day has one to compare with.
STATUS_LOOKBACK = timedelta(hours=1)


def read_inputs(spark: SparkSession, day: date, tz: str) -> MaasInputs:
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(day, tz)
    frames = {}
    for name, spec in SPECS.items():
        begin = start - STATUS_LOOKBACK if spec is sources.STATION_STATUS else start
        frames[name] = sources.read_input(spark, spec, begin, end)
    return MaasInputs(**frames)


def empty_inputs(spark: SparkSession) -> MaasInputs:
    """Every input empty: tests fill in the ones they need with `dataclasses.replace`."""
    return MaasInputs(**{f.name: sources.empty_input(spark, SPECS[f.name]) for f in fields(MaasInputs)})


def active_timetable(inputs: MaasInputs, day: date) -> tuple[DataFrame, DataFrame]:
    """(trips running on `day`, stops of their feed version), both persisted."""
    trips = active_trips(
        inputs.gtfs_calendar, inputs.gtfs_trips, inputs.gtfs_routes, day, inputs.gtfs_feed_versions
    ).persist()
    stops = inputs.gtfs_stops.join(trips.select("feed_version").distinct(), "feed_version").persist()
    return trips, stops


def within_day(df: DataFrame, day: date, tz: str) -> DataFrame:
    """The rows whose interval starts in the service day (inputs read early, such as the station
    reports of the hour before, only serve as context)."""
    from itlake.lake.window import service_day_utc

    start, end = service_day_utc(day, tz)
    return df.where((F.col("interval_start") >= F.lit(start)) & (F.col("interval_start") < F.lit(end)))


def demand_table(
    inputs: MaasInputs, stops: DataFrame, day: date, tz: str, settings: MaasSettings
) -> DataFrame:
    """demand_zone_interval (without service_date) from the inputs and the day's GTFS stops."""
    bikes_out = bike_departures(inputs.station_status, inputs.station_info)
    boardings = transit_boardings(inputs.card_taps, stops)
    events = demand_events(inputs.requests, inputs.taxi_trips, bikes_out, boardings)
    demand = build_demand(events, interval_s=settings.interval_s, h3_resolution=settings.h3_resolution)
    return within_day(demand, day, tz)


def build_tables(inputs: MaasInputs, day: date, tz: str, settings: MaasSettings | None = None) -> dict:
    """Every MaaS table of `day` as a Spark DataFrame (od_service_options as pandas), by name.

    Frames that several tables read are persisted; the caller unpersists them with `release`.
    """
    from itlake.lake.window import service_day_utc

    settings = settings or maas_settings()
    day_start, _ = service_day_utc(day, tz)

    trips, stops = active_timetable(inputs, day)
    demand = demand_table(inputs, stops, day, tz, settings).persist()

    idle = idle_fixes(inputs.taxi_fixes, settings).persist()
    supply = build_supply(
        transit_supply(departures(inputs.gtfs_stop_times, trips, stops, day, tz), settings),
        taxi_supply(idle),
        bike_supply(inputs.station_status, inputs.station_info, inputs.bike_status, settings),
    )
    supply = within_day(supply, day, tz).persist()
    balance = build_balance(demand, supply, gap_min_unmet=settings.gap_min_unmet)

    requests = inputs.requests.transform(with_zone("origin_lon", "origin_lat", "zone_id"))
    requests = requests.transform(with_zone("destination_lon", "destination_lat", "destination_zone_id"))
    requests = requests.persist()
    districts = idle.where(F.col("zone_level") == "district")
    matches = match_requests(match_parties(requests, districts, settings), settings).persist()
    kpis = build_kpis(matches, day_start).persist()

    options = _options(inputs, requests, trips, stops, supply, kpis, settings)
    service_date = F.lit(day).cast("date")
    out = {
        "demand_zone_interval": demand,
        "supply_zone_interval": supply,
        "balance_zone_interval": balance,
        "request_vehicle_match": matches,
        "match_kpi": kpis,
    }
    out = {name: df.withColumn("service_date", service_date) for name, df in out.items()}
    out["od_service_options"] = options.assign(service_date=day)
    out["_persisted"] = [trips, stops, demand, idle, supply, requests, matches, kpis]
    return out


def release(tables: dict) -> None:
    for df in tables.get("_persisted", []):
        df.unpersist()


def _options(inputs, requests, trips, stops, supply, kpis, settings) -> pd.DataFrame:
    """od_service_options from small collected frames: OD pairs, timetable legs, taxi times."""
    ends = requests.select(
        F.col("zone_id").alias("origin_zone_id"),
        "destination_zone_id",
        "origin_lon",
        "origin_lat",
        "destination_lon",
        "destination_lat",
    ).unionByName(
        inputs.taxi_trips.select(
            "origin_zone_id",
            "destination_zone_id",
            "origin_lon",
            "origin_lat",
            "destination_lon",
            "destination_lat",
        )
    )
    pairs = (
        ends.where(F.col("origin_zone_id").isNotNull() & F.col("destination_zone_id").isNotNull())
        .groupBy("origin_zone_id", "destination_zone_id")
        .agg(
            F.count("*").alias("demand_trips"),
            *[F.avg(c).alias(c) for c in ("origin_lon", "origin_lat", "destination_lon", "destination_lat")],
        )
        .orderBy("origin_zone_id", "destination_zone_id")
        .toPandas()
    )
    taxi_times = (
        inputs.taxi_trips.where(
            F.col("origin_zone_id").isNotNull() & F.col("destination_zone_id").isNotNull()
        )
        .groupBy("origin_zone_id", "destination_zone_id")
        .agg(F.percentile("duration_s", 0.5).alias("duration_s"))
        .toPandas()
    )
    waits = {
        r.zone_id: r.wait_average_s
        for r in kpis.where((F.col("period") == "day") & (F.col("zone_id") != "all")).collect()
    }
    bike_zones = {
        r.zone_id
        for r in supply.where((F.col("zone_level") == "district") & (F.col("bikes_available") > 0))
        .select("zone_id")
        .distinct()
        .collect()
    }
    timetable = inputs.gtfs_stop_times.join(
        trips.select("feed_version", "trip_id"), ["feed_version", "trip_id"]
    )
    legs = pattern_legs(
        timetable.select("trip_id", "stop_sequence", "stop_id", "arrival_s", "departure_s").toPandas(),
        trips.select("trip_id", "route_id", "direction_id").toPandas(),
        settings.max_wait_s,
    )
    stop_points = stops.where(F.col("lon").isNotNull() & F.col("lat").isNotNull())
    stop_points = stop_points.select("stop_id", "lon", "lat").toPandas()
    return service_options(pairs, stop_points, legs, taxi_times, waits, bike_zones, settings)


def write_tables(spark: SparkSession, tables: dict, day: date) -> dict[str, int]:
    """Replace the `day` partition of every MaaS table; returns the rows written per table."""
    from itlake.lake.tables import write_partition

    rows = {}
    for name in TABLES:
        frame = tables[name]
        if isinstance(frame, pd.DataFrame):
            frame = _to_spark(spark, frame, name)
        rows[name] = write_partition(frame, name, day)
        log.info("%s: %d rows for %s", name, rows[name], day)
    return rows


def run(spark: SparkSession, day: date, tz: str) -> dict:
    """Rebuild the `day` partition of every MaaS table and draw the map; returns row counts."""
    from itlake.maas.unmet_map import draw_unmet_map

    tables = build_tables(read_inputs(spark, day, tz), day, tz)
    try:
        rows = write_tables(spark, tables, day)
    finally:
        release(tables)
    png = draw_unmet_map(spark, day, tz)
    return {"rows": sum(rows.values()), "tables": rows, "map": png}


def _to_spark(spark: SparkSession, frame: pd.DataFrame, contract_name: str) -> DataFrame:
    from itlake.catalog.contracts import load_contract

    schema = load_contract(contract_name).spark_schema()
    frame = frame[[f.name for f in schema.fields]].astype(object).where(frame.notna(), None)
    return spark.createDataFrame(frame.to_dict("records"), schema)
