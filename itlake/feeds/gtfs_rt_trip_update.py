"""GTFS-Realtime TripUpdates: one silver row per stop-time prediction, joined to static GTFS.

    itlake ingest gtfs_rt_trip_update inbox/gtfs_rt_trip_update/2026-11-27/tu_0700.zip

`read` turns each StopTimeUpdate of each TripUpdate entity (of a .pb, or a zip of .pb snapshots)
into one raw record named by protobuf path, numbered by `update_index`; a trip update with no
stop-time updates (a cancelled trip) gives one record with update_index 0 and no stop. `validate`
gives WARNING notices for trip, route and stop ids unknown to the static GTFS version in force.
`to_silver` types the records (POSIX seconds -> UTC), takes the service date from the feed's
local date when the trip descriptor leaves it out, and the route from the static trip.
"""

from __future__ import annotations

from itlake.feeds._gtfs_rt import RealtimeFeed, field
from itlake.feeds.base import BatchContext
from itlake.feeds.gtfs_rt_vehicle_position import joined_to_static, with_timestamps

CONTRACT = "gtfs_rt_trip_update"
TIMESTAMPS = {
    "feed_timestamp": "header.timestamp",
    "arrival_time": "stop_time_update.arrival.time",
    "departure_time": "stop_time_update.departure.time",
}
ID_KINDS = {
    "trip_update.trip.trip_id": "trip",
    "trip_update.trip.route_id": "route",
    "stop_time_update.stop_id": "stop",
}


def update_records(header, entity) -> list[dict]:
    """The raw records of one TripUpdate entity: one per stop-time update (at least one)."""
    update = entity.trip_update
    trip = {
        "header.timestamp": field(header, "timestamp"),
        "entity.id": entity.id,
        "trip_update.trip.trip_id": field(update.trip, "trip_id"),
        "trip_update.trip.start_date": field(update.trip, "start_date"),
        "trip_update.trip.route_id": field(update.trip, "route_id"),
        "trip_update.trip.schedule_relationship": field(update.trip, "schedule_relationship") or "SCHEDULED",
        "trip_update.vehicle.id": field(update.vehicle, "id") if update.HasField("vehicle") else None,
    }
    stops = list(update.stop_time_update) or [None]
    records = []
    for index, stop in enumerate(stops):
        arrival = stop.arrival if stop is not None and stop.HasField("arrival") else None
        departure = stop.departure if stop is not None and stop.HasField("departure") else None
        records.append(
            {
                **trip,
                "update_index": str(index),
                "stop_time_update.stop_sequence": field(stop, "stop_sequence") if stop else None,
                "stop_time_update.stop_id": field(stop, "stop_id") if stop else None,
                "stop_time_update.arrival.delay": field(arrival, "delay") if arrival else None,
                "stop_time_update.arrival.time": field(arrival, "time") if arrival else None,
                "stop_time_update.departure.delay": field(departure, "delay") if departure else None,
                "stop_time_update.departure.time": field(departure, "time") if departure else None,
                # An update that says nothing of its relation to the schedule is SCHEDULED.
                "stop_time_update.schedule_relationship": (
                    field(stop, "schedule_relationship") or "SCHEDULED"
                )
                if stop
                else None,
            }
        )
    return records


def updates(typed, contract, ctx: BatchContext):
    """POSIX times as UTC timestamps, the service date (the feed's local date when the trip
    descriptor leaves it out), and the static trip's route."""
    from pyspark.sql import functions as F

    typed = with_timestamps(typed, TIMESTAMPS)
    local_day = F.to_date(F.from_utc_timestamp("feed_timestamp", ctx.timezone))
    typed = typed.withColumns(
        {
            "update_index": F.col("update_index").try_cast("int"),
            "start_date": F.coalesce("start_date", local_day),
            "feed_date": F.col("feed_timestamp").cast("date"),
        }
    )
    return joined_to_static(typed, ctx), []


FEED = RealtimeFeed(
    CONTRACT,
    entity="trip_update",
    records=update_records,
    id_kinds=ID_KINDS,
    timestamps=TIMESTAMPS,
    derive=updates,
)
