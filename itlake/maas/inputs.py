"""The lake tables the MaaS build reads, each named once with the columns it uses.

Every input is read through `read_input`, which renames the contract's columns to the names the
MaaS code uses (the left side of each `columns` map) and keeps only those. When a feed renames a
column, its map here is the one place to change. A table that is missing from the lake (a city
without bike share, a lake before the smart-card feed) reads as an empty frame of the right
schema, with a logged note, so the build still runs on what there is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from itlake.catalog.contracts import load_contract
from itlake.lake.delta import read_table, table_exists
from itlake.lake.paths import table_path

log = logging.getLogger("itlake.maas.inputs")


@dataclass(frozen=True)
class Input:
    """One lake table: its contract, MaaS name -> contract column, and how to cut one time window.

    `time` and `date` are MaaS names of the event timestamp (UTC) and of the partition date that
    prunes files; an input without them (GTFS, station information) is read whole.
    """

    contract: str
    columns: dict[str, str]
    time: str | None = None
    date: str | None = None


RIDE_REQUESTS = Input(
    "ridehail_order",
    {
        "request_id": "order_id",
        "request_time": "order_time",
        "request_date": "order_date",
        "origin_lon": "pickup_lon",
        "origin_lat": "pickup_lat",
        "destination_lon": "dropoff_lon",
        "destination_lat": "dropoff_lat",
        "status": "status",
    },
    time="request_time",
    date="request_date",
)
TAXI_TRIPS = Input(
    "taxi_trip",
    {
        "trip_id": "trip_id",
        "trip_date": "trip_date",
        "pickup_time": "pickup_time",
        "origin_lon": "pickup_lon",
        "origin_lat": "pickup_lat",
        "destination_lon": "dropoff_lon",
        "destination_lat": "dropoff_lat",
        "duration_s": "duration_s",
        "origin_zone_id": "pickup_zone_id",
        "destination_zone_id": "dropoff_zone_id",
    },
    time="pickup_time",
    date="trip_date",
)
TAXI_FIXES = Input(
    "taxi_gps",
    {
        "vehicle_id": "vehicle_id",
        "fix_time": "fix_time",
        "fix_date": "fix_date",
        "lon": "lon",
        "lat": "lat",
        "open_status": "open_status",
    },
    time="fix_time",
    date="fix_date",
)
CARD_TAPS = Input(
    "smartcard_tap",
    {
        "tap_time": "tap_time",
        "tap_date": "tap_date",
        "tap_type": "tap_type",
        "station_name": "station_name",
        "line_name": "line_name",
    },
    time="tap_time",
    date="tap_date",
)
# Tap types that are a boarding: entering a metro gate, tapping on a bus validator.
BOARDING_TAP_TYPES = ("metro_entry", "bus_board")
STATION_INFO = Input(
    "gbfs_station_information",
    {
        "system_id": "system_id",
        "station_id": "station_id",
        "lon": "lon",
        "lat": "lat",
        "capacity": "capacity",
    },
)
STATION_STATUS = Input(
    "gbfs_station_status",
    {
        "system_id": "system_id",
        "station_id": "station_id",
        "reported_at": "last_reported",
        "report_date": "report_date",
        "bikes_available": "bikes_available",
        "docks_available": "docks_available",
        "is_renting": "is_renting",
        "is_returning": "is_returning",
    },
    time="reported_at",
    date="report_date",
)
BIKE_STATUS = Input(
    "gbfs_vehicle_status",
    {
        "system_id": "system_id",
        "snapshot_time": "snapshot_time",
        "snapshot_date": "snapshot_date",
        "vehicle_id": "vehicle_id",
        "lon": "lon",
        "lat": "lat",
        "station_id": "station_id",
        "is_reserved": "is_reserved",
        "is_disabled": "is_disabled",
    },
    time="snapshot_time",
    date="snapshot_date",
)
GTFS_STOPS = Input(
    "gtfs_stop",
    {
        "feed_version": "feed_version",
        "stop_id": "stop_id",
        "stop_name": "stop_name",
        "lon": "stop_lon",
        "lat": "stop_lat",
    },
)
GTFS_ROUTES = Input(
    "gtfs_route", {"feed_version": "feed_version", "route_id": "route_id", "route_type": "route_type"}
)
GTFS_TRIPS = Input(
    "gtfs_trip",
    {
        "feed_version": "feed_version",
        "trip_id": "trip_id",
        "route_id": "route_id",
        "service_id": "service_id",
        "direction_id": "direction_id",
    },
)
GTFS_STOP_TIMES = Input(
    "gtfs_stop_time",
    {
        "feed_version": "feed_version",
        "trip_id": "trip_id",
        "stop_sequence": "stop_sequence",
        "stop_id": "stop_id",
        "arrival_s": "arrival_time_s",
        "departure_s": "departure_time_s",
    },
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
GTFS_CALENDAR = Input(
    "gtfs_calendar",
    {
        "feed_version": "feed_version",
        "service_id": "service_id",
        "start_date": "start_date",
        "end_date": "end_date",
        **{day: day for day in WEEKDAYS},
    },
)

# Which publisher's feed each version belongs to: the timetable takes one version per feed.
GTFS_FEED_VERSIONS = Input("gtfs_feed_version", {"feed_version": "feed_version", "feed_id": "feed_id"})


def input_schema(spec: Input) -> T.StructType:
    """The schema `read_input` returns: the contract's types under the MaaS names."""
    contract = load_contract(spec.contract).spark_schema()
    by_name = {f.name: f for f in contract.fields}
    return T.StructType(
        [T.StructField(ours, by_name[theirs].dataType, True) for ours, theirs in spec.columns.items()]
    )


def project(spec: Input):
    """Curried transform: a frame with the contract's column names -> the MaaS names, only those.

    Tests use it to build inputs from rows written with the contract's names.
    """

    def transform(df: DataFrame) -> DataFrame:
        missing = sorted(set(spec.columns.values()) - set(df.columns))
        if missing:
            raise KeyError(f"{spec.contract}: columns {missing} are missing (the MaaS build reads them)")
        return df.select(*[F.col(theirs).alias(ours) for ours, theirs in spec.columns.items()])

    return transform


def empty_input(spark: SparkSession, spec: Input) -> DataFrame:
    return spark.createDataFrame([], input_schema(spec))


def read_input(
    spark: SparkSession, spec: Input, start: datetime | None = None, end: datetime | None = None
) -> DataFrame:
    """The table of `spec`, renamed, cut to events in [start, end) (naive UTC) when it has a time.

    A table that is not in the lake gives an empty frame and a logged note.
    """
    contract = load_contract(spec.contract)
    path = table_path(contract.layer, spec.contract)
    if not table_exists(spark, path):
        log.warning("%s.%s is not in the lake (%s): read as empty", contract.layer, spec.contract, path)
        return empty_input(spark, spec)
    df = read_table(spark, path).transform(project(spec))
    if start is not None and end is not None and spec.time:
        if spec.date:
            # The partition date prunes files; a date is the UTC or local date of the event, so one
            # day either side of the window keeps every row the time filter wants.
            df = df.where(F.col(spec.date).between(F.date_sub(F.lit(start.date()), 1), F.lit(end.date())))
        df = df.where((F.col(spec.time) >= F.lit(start)) & (F.col(spec.time) < F.lit(end)))
    return df
