"""GTFS-Realtime: vehicle positions and trip updates of the demo timetable over the morning peak.

`gtfs_rt_vehicle_position/<date>/vehicle_positions_<YYYYMMDD>T<HH>.zip` and
`gtfs_rt_trip_update/<date>/trip_updates_<YYYYMMDD>T<HH>.zip`, one zip per local hour from 07:00
to 09:59, each holding a protobuf FeedMessage snapshot (`HHMM.pb`) every 10 minutes, the way a
fetcher archives its polling. The trips come from the demo GTFS zip written just before (so
every trip, route and stop id is in the static feed): each trip runs late by 0–5 min, drawn per
trip; a vehicle between two stops is placed on the straight line between them (the shape), with
its bearing and speed. A trip update gives the predicted arrival at the next three stops, with the
delay; one trip an hour is cancelled (a trip update with no stop-time updates, and no position).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from itlake.demo.city import KM_PER_DEG_LAT, KM_PER_DEG_LON, City
from itlake.demo.gtfs import read_schedule, write_zip
from itlake.demo.manifest import FeedOutput, feed_dir

POSITIONS = "gtfs_rt_vehicle_position"
UPDATES = "gtfs_rt_trip_update"
HOURS = (7, 8, 9)
SNAPSHOT_MIN = 10
MAX_DELAY_S = 300
NEXT_STOPS = 3
UTC_OFFSET_S = 8 * 3600  # Shenzhen keeps UTC+8 all year


def _segments(schedule: pd.DataFrame) -> pd.DataFrame:
    """Each stop visit with the next visit of its trip (the last visit of a trip has none)."""
    following = schedule.groupby("trip_id", sort=False)[
        ["arrival_time", "stop_id", "lat", "lon", "stop_sequence"]
    ]
    nxt = following.shift(-1).add_prefix("next_")
    return pd.concat([schedule, nxt], axis=1)


def _snapshot(segments: pd.DataFrame, delay: pd.Series, cancelled: set[str], now_s: int) -> pd.DataFrame:
    """Where every running trip is at local second `now_s` of the day, on its delayed schedule."""
    late = delay.reindex(segments["trip_id"]).to_numpy()
    t = now_s - late
    dwelling = (segments["arrival_time"].to_numpy() <= t) & (t < segments["departure_time"].to_numpy())
    moving = (segments["departure_time"].to_numpy() <= t) & (t < segments["next_arrival_time"].to_numpy())
    here = segments[(dwelling | moving) & ~segments["trip_id"].isin(cancelled).to_numpy()].copy()
    here["t"] = t[(dwelling | moving) & ~segments["trip_id"].isin(cancelled).to_numpy()]
    span = (here["next_arrival_time"] - here["departure_time"]).clip(lower=1)
    share = ((here["t"] - here["departure_time"]) / span).clip(0, 1)
    share = share.where(here["t"] >= here["departure_time"], 0.0)
    here["at_lat"] = here["lat"] + share * (here["next_lat"] - here["lat"])
    here["at_lon"] = here["lon"] + share * (here["next_lon"] - here["lon"])
    dx = (here["next_lon"] - here["lon"]) * KM_PER_DEG_LON
    dy = (here["next_lat"] - here["lat"]) * KM_PER_DEG_LAT
    here["bearing"] = (np.degrees(np.arctan2(dx, dy)) + 360) % 360
    here["speed"] = np.where(here["t"] >= here["departure_time"], np.hypot(dx, dy) * 1000 / span, 0.0)
    here["delay"] = here["trip_id"].map(delay)
    return here


def _positions_message(here: pd.DataFrame, timestamp: int):
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = rt.FeedHeader.FULL_DATASET
    message.header.timestamp = timestamp
    for row in here.itertuples(index=False):
        vehicle = message.entity.add(id=f"vp-{row.trip_id}").vehicle
        vehicle.vehicle.id = f"SZ-{row.trip_id}"
        vehicle.trip.trip_id, vehicle.trip.route_id = row.trip_id, row.route_id
        vehicle.position.latitude, vehicle.position.longitude = row.at_lat, row.at_lon
        vehicle.position.bearing, vehicle.position.speed = row.bearing, row.speed
        vehicle.timestamp = timestamp
        dwelling = row.t < row.departure_time
        vehicle.stop_id = row.stop_id if dwelling else row.next_stop_id
        vehicle.current_stop_sequence = int(row.stop_sequence if dwelling else row.next_stop_sequence)
        vehicle.current_status = (
            rt.VehiclePosition.STOPPED_AT if dwelling else rt.VehiclePosition.IN_TRANSIT_TO
        )
    return message


def _updates_message(
    here: pd.DataFrame, schedule: pd.DataFrame, cancelled: set[str], timestamp: int, day_start: int
):
    """Predicted arrivals at the next NEXT_STOPS stops of each running trip, then the cancellations.

    `schedule` is sorted by trip and stop sequence and `here` keeps its index, so the stops ahead
    of a visit are the next rows of the same trip.
    """
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = rt.FeedHeader.FULL_DATASET
    message.header.timestamp = timestamp
    trips = schedule["trip_id"].to_numpy()
    stop_ids = schedule["stop_id"].to_numpy()
    sequences = schedule["stop_sequence"].to_numpy()
    arrivals = schedule["arrival_time"].to_numpy()
    for row, index in zip(here.itertuples(index=False), here.index, strict=True):
        ahead = [
            i for i in range(index + 1, min(index + 1 + NEXT_STOPS, len(trips))) if trips[i] == row.trip_id
        ]
        if not ahead:
            continue
        update = message.entity.add(id=f"tu-{row.trip_id}").trip_update
        update.trip.trip_id, update.trip.route_id = row.trip_id, row.route_id
        update.vehicle.id = f"SZ-{row.trip_id}"
        for i in ahead:
            stop = update.stop_time_update.add(stop_sequence=int(sequences[i]), stop_id=stop_ids[i])
            stop.arrival.delay = int(row.delay)
            stop.arrival.time = int(day_start + arrivals[i] + row.delay)
    for trip_id in sorted(cancelled):
        update = message.entity.add(id=f"tu-{trip_id}").trip_update
        update.trip.trip_id = trip_id
        update.trip.schedule_relationship = rt.TripDescriptor.CANCELED
    return message


def write_gtfs_rt(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> list[FeedOutput]:
    rng = np.random.default_rng([seed, 31])
    schedule = read_schedule(out_dir, date)
    segments = _segments(schedule)
    trip_ids = schedule["trip_id"].drop_duplicates().sort_values().to_numpy()
    delay = pd.Series(rng.integers(0, MAX_DELAY_S + 1, len(trip_ids)), index=trip_ids)
    starts = schedule.groupby("trip_id")["departure_time"].min()
    day_start = int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()) - UTC_OFFSET_S
    outputs = []
    for hour in HOURS:
        # The trip cancelled this hour: one that would start in it, drawn per hour.
        starting = starts[(starts >= hour * 3600) & (starts < (hour + 1) * 3600)].index.sort_values()
        cancelled = {str(rng.choice(starting))} if len(starting) else set()
        vp_members, tu_members, positions, updates = {}, {}, 0, 0
        for minute in range(0, 60, SNAPSHOT_MIN):
            now_s = hour * 3600 + minute * 60
            here = _snapshot(segments, delay, cancelled, now_s)
            timestamp = day_start + now_s
            name = f"{hour:02d}{minute:02d}.pb"
            vp_members[name] = _positions_message(here, timestamp).SerializeToString()
            tu = _updates_message(here, schedule, cancelled, timestamp, day_start)
            tu_members[name] = tu.SerializeToString()
            positions += len(here)
            updates += sum(max(1, len(e.trip_update.stop_time_update)) for e in tu.entity)
        stamp = f"{date:%Y%m%d}T{hour:02d}"
        vp_path = feed_dir(out_dir, POSITIONS, date) / f"vehicle_positions_{stamp}.zip"
        tu_path = feed_dir(out_dir, UPDATES, date) / f"trip_updates_{stamp}.zip"
        write_zip(vp_path, vp_members, date)
        write_zip(tu_path, tu_members, date)
        outputs += [
            FeedOutput(POSITIONS, vp_path, positions, "binary"),
            FeedOutput(UPDATES, tu_path, updates, "binary"),
        ]
    return outputs


def write_trip_update_day(
    out_dir: Path, *, seed: int, date: dt.date, every_s: int = 20, files: int = 4320
) -> list[Path]:
    """A day of polled TripUpdates as a collector stores them: one `.pb` FeedMessage per poll,
    `every_s` seconds apart from local midnight (4,320 files at 20 s), in
    `gtfs_rt_trip_update/<date>/trip_updates_<YYYYMMDD>T<HHMMSS>.pb`.

    The demo timetable is busy in the morning peak only, so each poll shows the network as it
    runs at the same time of the peak (07:00-09:59, cycled), which keeps every file near 1,000
    stop-time updates; its header and predicted times are those of the poll. Needs the demo GTFS
    zip of `date` in `out_dir` (`itlake demo generate` writes it)."""
    rng = np.random.default_rng([seed, 31])
    schedule = read_schedule(out_dir, date)
    segments = _segments(schedule)
    trip_ids = schedule["trip_id"].drop_duplicates().sort_values().to_numpy()
    delay = pd.Series(rng.integers(0, MAX_DELAY_S + 1, len(trip_ids)), index=trip_ids)
    day_start = int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()) - UTC_OFFSET_S
    peak_start, peak_s = HOURS[0] * 3600, len(HOURS) * 3600
    folder = feed_dir(out_dir, UPDATES, date)
    written = []
    for poll in range(files):
        poll_s = poll * every_s
        network_s = peak_start + poll_s % peak_s
        here = _snapshot(segments, delay, set(), network_s)
        # The network of `network_s`, seen at `poll_s`: every time moves by the same offset.
        message = _updates_message(here, schedule, set(), day_start + poll_s, day_start + poll_s - network_s)
        path = (
            folder
            / f"trip_updates_{date:%Y%m%d}T{poll_s // 3600:02d}{poll_s // 60 % 60:02d}{poll_s % 60:02d}.pb"
        )
        path.write_bytes(message.SerializeToString())
        written.append(path)
    return written
