"""GTFS-Realtime VehiclePositions: one silver row per vehicle position, joined to static GTFS.

    itlake ingest gtfs_rt_vehicle_position inbox/gtfs_rt_vehicle_position/2026-11-27/vp_0700.zip

`read` turns each VehiclePosition entity of each FeedMessage (a .pb, or a zip of .pb snapshots)
into one raw record of text columns named by their protobuf path (`vehicle.position.latitude`);
entities without a vehicle position are not positions and are left out. `validate` gives WARNING
notices for trip, route and stop ids unknown to the static GTFS version in force that day.
`to_silver` types the record (POSIX seconds -> UTC timestamps), and takes the route of a trip from
the static version when the message leaves it out.
"""

from __future__ import annotations

from itlake.feeds._gtfs_rt import (
    RealtimeFeed,
    field,
    seconds_to_timestamp,
    static_trips,
    static_version_in_force,
)
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import first_error, parse_error

CONTRACT = "gtfs_rt_vehicle_position"
TIMESTAMPS = {"position_time": "vehicle.timestamp", "feed_timestamp": "header.timestamp"}
ID_KINDS = {"vehicle.trip.trip_id": "trip", "vehicle.trip.route_id": "route", "vehicle.stop_id": "stop"}


def position_record(header, entity) -> dict:
    """The raw text of one VehiclePosition entity, keyed by protobuf path."""
    vehicle = entity.vehicle
    position = vehicle.position if vehicle.HasField("position") else None
    return {
        "header.timestamp": field(header, "timestamp"),
        "entity.id": entity.id,
        "vehicle.vehicle.id": field(vehicle.vehicle, "id") if vehicle.HasField("vehicle") else None,
        "vehicle.timestamp": field(vehicle, "timestamp"),
        "vehicle.trip.trip_id": field(vehicle.trip, "trip_id") if vehicle.HasField("trip") else None,
        "vehicle.trip.route_id": field(vehicle.trip, "route_id") if vehicle.HasField("trip") else None,
        "vehicle.position.latitude": field(position, "latitude") if position else None,
        "vehicle.position.longitude": field(position, "longitude") if position else None,
        "vehicle.position.bearing": field(position, "bearing") if position else None,
        "vehicle.position.speed": field(position, "speed") if position else None,
        "vehicle.current_stop_sequence": field(vehicle, "current_stop_sequence"),
        "vehicle.stop_id": field(vehicle, "stop_id"),
        "vehicle.current_status": field(vehicle, "current_status"),
    }


def position_records(header, entity) -> list[dict]:
    return [position_record(header, entity)]


def positions(typed, contract, ctx: BatchContext):
    """POSIX times as UTC timestamps, the position's date, and the static trip's route."""
    typed = with_timestamps(typed)
    typed = typed.withColumn("position_date", typed["position_time"].cast("date"))
    return joined_to_static(typed, ctx), []


def with_timestamps(typed, timestamps: dict[str, str] = TIMESTAMPS):
    """POSIX-second fields as UTC timestamps, with a parse error for text that is not a number."""
    from pyspark.sql import functions as F

    errors = [F.col("_parse_error")]
    for name, source in timestamps.items():
        raw = F.col(f"`{source}`")
        typed = typed.withColumn(name, seconds_to_timestamp(raw))
        errors.append(parse_error(source, raw, F.col(name), "POSIX time in seconds"))
    return typed.withColumn("_parse_error", first_error(*errors))


def joined_to_static(typed, ctx: BatchContext):
    """Add `static_feed_version`, the version in force of the publisher's own static feed (the
    batch's `feed_id`), and the static trip's route where the message has none."""
    from pyspark.sql import functions as F

    spark = typed.sparkSession
    version = static_version_in_force(ctx.logical_date, ctx.feed_id or None)
    if version is None:
        return typed.withColumn("static_feed_version", F.lit(None).cast("string"))
    trips = F.broadcast(static_trips(spark, version))
    return (
        typed.join(trips, "trip_id", "left")
        .withColumn("route_id", F.coalesce("route_id", "static_route_id"))
        .withColumn("static_feed_version", F.lit(version))
    )


FEED = RealtimeFeed(
    "gtfs_rt_vehicle_position",
    entity="vehicle",
    records=position_records,
    id_kinds=ID_KINDS,
    timestamps=TIMESTAMPS,
    derive=positions,
)
