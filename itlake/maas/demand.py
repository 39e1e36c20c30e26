"""demand_zone_interval: trips wanted per zone x 15-minute interval x mode.

Four modes, each counted where and when the trip starts:
- `ride_hailing`: ride-hailing requests (every order, served or not: a request is demand);
- `taxi`: taxi pickups (gold taxi_trip, from the GPS OpenStatus changes);
- `bike`: bike-share departures, seen as drops in a station's vehicles available between two
  consecutive GBFS status reports (a drop of 3 is 3 departures);
- `transit`: boardings, the smart-card taps at a metro entry gate or a bus validator, placed at
  the GTFS stop of the same name (a tap whose station has no stop of that name is not placed and
  is counted in the build's log).
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from itlake.maas.cells import with_cells
from itlake.maas.inputs import BOARDING_TAP_TYPES

log = logging.getLogger("itlake.maas.demand")

MODES = ("ride_hailing", "taxi", "bike", "transit")
EVENT_COLUMNS = ("mode", "event_time", "lon", "lat", "trips")


def _events(df: DataFrame, mode: str, ts: str, lon: str, lat: str, trips=None) -> DataFrame:
    return df.select(
        F.lit(mode).alias("mode"),
        F.col(ts).alias("event_time"),
        F.col(lon).cast("double").alias("lon"),
        F.col(lat).cast("double").alias("lat"),
        (F.lit(1) if trips is None else trips).cast("long").alias("trips"),
    )


def bike_departures(status: DataFrame, stations: DataFrame) -> DataFrame:
    """Departures per station report: max(previous vehicles available - vehicles available, 0).

    Columns: reported_at, lon, lat, departures (reports with none are dropped).
    """
    by_station = Window.partitionBy("system_id", "station_id").orderBy("reported_at")
    drop = F.lag("bikes_available").over(by_station) - F.col("bikes_available")
    return (
        status.withColumn("departures", F.greatest(drop, F.lit(0)))
        .where(F.col("departures") > 0)
        .join(stations.select("system_id", "station_id", "lon", "lat"), ["system_id", "station_id"])
        .select("reported_at", "lon", "lat", "departures")
    )


def transit_boardings(taps: DataFrame, stops: DataFrame) -> DataFrame:
    """Boarding taps placed at the stop of the same name (the mean position of stops so named).

    Columns: tap_time, lon, lat.
    """
    places = (
        stops.where(F.col("stop_name").isNotNull())
        .groupBy("stop_name")
        .agg(F.avg("lon").alias("lon"), F.avg("lat").alias("lat"))
    )
    boardings = taps.where(F.col("tap_type").isin(*BOARDING_TAP_TYPES))
    return boardings.join(places, boardings["station_name"] == places["stop_name"], "left").select(
        "tap_time", "lon", "lat"
    )


def demand_events(
    requests: DataFrame, trips: DataFrame, departures: DataFrame, boardings: DataFrame
) -> DataFrame:
    """Every demand event as (mode, event_time, lon, lat, trips)."""
    return (
        _events(requests, "ride_hailing", "request_time", "origin_lon", "origin_lat")
        .unionByName(_events(trips, "taxi", "pickup_time", "origin_lon", "origin_lat"))
        .unionByName(_events(departures, "bike", "reported_at", "lon", "lat", F.col("departures")))
        .unionByName(_events(boardings, "transit", "tap_time", "lon", "lat"))
    )


def build_demand(events: DataFrame, *, interval_s: int, h3_resolution: int) -> DataFrame:
    """Events -> zone_level, zone_id, interval_start, mode, trips."""
    return (
        events.where(F.col("lon").isNotNull() & F.col("lat").isNotNull())
        .transform(with_cells("lon", "lat", "event_time", interval_s=interval_s, h3_resolution=h3_resolution))
        .groupBy("zone_level", "zone_id", "interval_start", "mode")
        .agg(F.sum("trips").alias("trips"))
    )
