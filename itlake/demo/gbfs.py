"""Bike share: a day of GBFS polls for two operators, as a collector archives them.

Three JSON Lines archives (the layout of `itlake.feeds._gbfs`), one line per poll:
`gbfs_station_information/<date>/gbfs_station_information_<YYYYMMDD>.jsonl` (one poll a day),
`gbfs_station_status/<date>/gbfs_station_status_<YYYYMMDD>.jsonl` (every 5 minutes) and
`gbfs_vehicle_status/<date>/gbfs_vehicle_status_<YYYYMMDD>.jsonl` (every 15 minutes).
Operator `sz_bike_a` publishes GBFS 3.0 (RFC 3339 times, localized names, `num_vehicles_*`,
vehicle_status); operator `sz_bike_b` publishes GBFS 2.3 (POSIX times, plain names,
`num_bikes_*`, free_bike_status). Stations are virtual parking areas (停车点) scattered around the
city's hubs, as for Shenzhen's dockless bikes.

Each station's count follows a random walk whose activity follows the hour (busy at the peaks,
quiet at night); a station reports (`last_reported`) only when its count changes, so most polls
repeat the previous report, and those repeats are counted as duplicates at ingest. Free-floating
vehicles move between polls and take a new id after every ride, as GBFS requires.

Dirt, listed in the manifest: a few station reports with a negative vehicle count.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from itlake.demo.city import City
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir

STATIONS_AT_SCALE_1 = 300
VEHICLES_AT_SCALE_1 = 400
STATUS_POLL_MIN = 5
VEHICLE_POLL_MIN = 15
NEGATIVE_COUNTS_AT_SCALE_1 = 3
# Chance that a station's count changes between two polls, by local hour.
ACTIVITY = (
    np.array(
        [3, 2, 1, 1, 1, 3, 10, 30, 40, 25, 15, 15, 18, 15, 15, 18, 25, 40, 35, 20, 15, 12, 8, 5], dtype=float
    )
    / 100.0
)
SYSTEMS = (("sz_bike_a", "3.0"), ("sz_bike_b", "2.3"))
UTC8 = dt.timezone(dt.timedelta(hours=8))


def _stations_for(seed: int, scale: float, city: City) -> dict[str, np.ndarray]:
    """The stations of both systems; the same seed and scale give the same stations in every file."""
    rng = np.random.default_rng([seed, 10])
    n = max(4, round(STATIONS_AT_SCALE_1 * scale))
    hub = rng.integers(0, len(city.hub_xy), n)
    radius = 0.002 * np.sqrt(rng.random(n))
    angle = rng.uniform(0, 2 * np.pi, n)
    xy = city.hub_xy[hub] + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    capacity = rng.integers(10, 41, n)
    return {
        "system": np.where(np.arange(n) % 3 == 2, 1, 0),
        "xy": xy,
        "district": np.array(city.district_names)[city.hub_district[hub]],
        "capacity": capacity,
        "bikes0": rng.integers(0, capacity + 1),
    }


def _time(system: int, moment: dt.datetime):
    """A time as the system's GBFS version writes it: RFC 3339 (3.0) or POSIX seconds (2.3)."""
    return moment.isoformat() if SYSTEMS[system][1] == "3.0" else int(moment.timestamp())


def _line(system: int, gbfs_file: str, moment: dt.datetime, data: dict) -> str:
    system_id, version = SYSTEMS[system]
    poll = {
        "system_id": system_id,
        "feed": gbfs_file,
        "url": f"https://gbfs.{system_id}.example.cn/gbfs/{version}/zh/{gbfs_file}.json",
        "fetched_at": (moment + dt.timedelta(seconds=2)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "document": {"last_updated": _time(system, moment), "ttl": 60, "version": version, "data": data},
    }
    return json.dumps(poll, ensure_ascii=False, separators=(",", ":")) + "\n"


def _station_name(system: int, district: str, index: int):
    text = f"{district}{index:04d}号停车点"
    return [{"text": text, "language": "zh-Hans"}] if SYSTEMS[system][1] == "3.0" else text


def write_gbfs_station_information(
    out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date
) -> FeedOutput:
    feed = "gbfs_station_information"
    st = _stations_for(seed, scale, city)
    moment = dt.datetime.combine(date, dt.time(4, 0), UTC8)
    path = feed_dir(out_dir, feed, date) / f"{feed}_{date:%Y%m%d}.jsonl"
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for system in range(len(SYSTEMS)):
            idx = np.flatnonzero(st["system"] == system)
            stations = [
                {
                    "station_id": f"{SYSTEMS[system][0]}-{i:05d}",
                    "name": _station_name(system, st["district"][i], i),
                    "lat": round(float(st["xy"][i, 1]), 6),
                    "lon": round(float(st["xy"][i, 0]), 6),
                    "is_virtual_station": True,
                    "capacity": int(st["capacity"][i]),
                }
                for i in idx
            ]
            f.write(_line(system, "station_information", moment, {"stations": stations}))
            rows += len(stations)
    return FeedOutput(feed, path, rows, "utf-8")


def write_gbfs_station_status(
    out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date
) -> FeedOutput:
    feed = "gbfs_station_status"
    rng = np.random.default_rng([seed, 11])
    st = _stations_for(seed, scale, city)
    n = len(st["capacity"])
    polls = 24 * 60 // STATUS_POLL_MIN
    start = dt.datetime.combine(date, dt.time(0, 0), UTC8)
    bikes = st["bikes0"].copy()
    reported = np.full(n, -1)  # poll index of each station's last report
    negative = set(
        zip(
            rng.integers(0, polls, max(1, round(NEGATIVE_COUNTS_AT_SCALE_1 * scale))).tolist(),
            rng.integers(0, n, max(1, round(NEGATIVE_COUNTS_AT_SCALE_1 * scale))).tolist(),
            strict=True,
        )
    )
    dirt: list[Dirt] = []
    row = 0
    path = feed_dir(out_dir, feed, date) / f"{feed}_{date:%Y%m%d}.jsonl"
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for poll in range(polls):
            moment = start + dt.timedelta(minutes=poll * STATUS_POLL_MIN)
            changes = rng.random(n) < ACTIVITY[moment.hour]
            step = rng.integers(-3, 4, n) * changes
            bikes = np.clip(bikes + step, 0, st["capacity"])
            reported = np.where(changes | (reported < 0), poll, reported)
            for system in range(len(SYSTEMS)):
                stations = []
                for i in np.flatnonzero(st["system"] == system):
                    at = start + dt.timedelta(
                        minutes=int(reported[i]) * STATUS_POLL_MIN, seconds=-int(i % 50)
                    )
                    count = int(bikes[i])
                    row += 1
                    if (poll, i) in negative:
                        count = -1
                        dirt.append(Dirt(feed, row, "negative_vehicle_count"))
                    counts = (
                        {"num_vehicles_available": count, "num_vehicles_disabled": 0}
                        if SYSTEMS[system][1] == "3.0"
                        else {"num_bikes_available": count, "num_bikes_disabled": 0}
                    )
                    stations.append(
                        {
                            "station_id": f"{SYSTEMS[system][0]}-{i:05d}",
                            **counts,
                            "num_docks_available": int(st["capacity"][i] - bikes[i]),
                            "is_installed": True,
                            "is_renting": True,
                            "is_returning": True,
                            "last_reported": _time(system, max(at, start)),
                        }
                    )
                f.write(_line(system, "station_status", moment, {"stations": stations}))
    return FeedOutput(feed, path, row, "utf-8", tuple(dirt))


def write_gbfs_vehicle_status(
    out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date
) -> FeedOutput:
    feed = "gbfs_vehicle_status"
    rng = np.random.default_rng([seed, 12])
    st = _stations_for(seed, scale, city)
    n = max(4, round(VEHICLES_AT_SCALE_1 * scale))
    home = rng.integers(0, len(st["capacity"]), n)
    system = st["system"][home]
    xy = st["xy"][home] + rng.normal(0, 0.0005, (n, 2))
    ids = np.array([f"{v:032x}" for v in rng.integers(0, 2**62, n)])
    start = dt.datetime.combine(date, dt.time(0, 0), UTC8)
    rows = 0
    path = feed_dir(out_dir, feed, date) / f"{feed}_{date:%Y%m%d}.jsonl"
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for poll in range(24 * 60 // VEHICLE_POLL_MIN):
            moment = start + dt.timedelta(minutes=poll * VEHICLE_POLL_MIN)
            ridden = rng.random(n) < 2 * ACTIVITY[moment.hour]
            # A ride ends near another station, and the vehicle takes a new id (GBFS privacy rule).
            xy[ridden] = st["xy"][rng.integers(0, len(st["capacity"]), ridden.sum())] + rng.normal(
                0, 0.0005, (ridden.sum(), 2)
            )
            ids[ridden] = [f"{v:032x}" for v in rng.integers(0, 2**62, ridden.sum())]
            for s in range(len(SYSTEMS)):
                v3 = SYSTEMS[s][1] == "3.0"
                vehicles = [
                    {
                        ("vehicle_id" if v3 else "bike_id"): str(ids[i]),
                        "lat": round(float(xy[i, 1]), 6),
                        "lon": round(float(xy[i, 0]), 6),
                        "is_reserved": False,
                        "is_disabled": False,
                        "vehicle_type_id": "bike",
                        "last_reported": _time(s, moment),
                    }
                    for i in np.flatnonzero(system == s)
                ]
                rows += len(vehicles)
                f.write(
                    _line(
                        s,
                        "vehicle_status" if v3 else "free_bike_status",
                        moment,
                        {("vehicles" if v3 else "bikes"): vehicles},
                    )
                )
    return FeedOutput(feed, path, rows, "utf-8")
