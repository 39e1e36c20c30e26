"""BeiDou truck position reports for the day, consistent with the day's waybills, GB18030-encoded.

`truck_position/<date>/truck_position_<YYYYMMDD>.csv`, header
`车牌号,车牌颜色,定位时间,经度,纬度,速度,方向,海拔` as a JT/T 808 monitoring platform exports
it: local time (UTC+8), WGS-84 degrees with 6 decimals, speed in km/h, heading in degrees, altitude
in metres; rows sorted by plate, then time. Terminals
report every MOVING_INTERVAL_S while driving and every STOPPED_INTERVAL_S while parked.

Most trucks carry one road waybill of the day within Guangdong (from `build_waybills`, same plate):
parked at the origin until 15-40 min after pickup, driving to the destination, arriving 10-20 min
before the delivery time, unloading, and half of them driving back empty. The rest are Shenzhen
trucks without a waybill making a round trip between two districts. So the gold trips of the first
kind link to their waybill, and the others link to nothing.

Dirt, listed in the manifest: ~0.3 % re-sent reports (an exact copy follows the original), and a
few fixes while driving placed 60 km off the route (impossible jumps).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from itlake.demo.city import City, km_between
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir
from itlake.demo.waybill import build_waybills

FEED = "truck_position"
ENCODING = "gb18030"
HEADER = "车牌号,车牌颜色,定位时间,经度,纬度,速度,方向,海拔"
LINKED_TRUCKS_AT_SCALE_1 = 100
LOCAL_TRUCKS_AT_SCALE_1 = 30
JUMPS_AT_SCALE_1 = 3
DUPLICATE_SHARE = 0.003
MOVING_INTERVAL_S = 60
STOPPED_INTERVAL_S = 300
DAY_S = 86_400
YELLOW = 2  # JT/T 808 plate colour of heavy goods vehicles


def _track(stops: list[tuple[float, float, int, int]], rng) -> list[tuple[int, float, float, float, int]]:
    """Reports (second, lon, lat, speed, heading) of a day alternating parked and driving.

    `stops` lists (lon, lat, arrive_s, leave_s) of each place in order; the truck drives in a straight
    line between consecutive places.
    """
    out: list[tuple[int, float, float, float, int]] = []
    for k, (lon, lat, arrive, leave) in enumerate(stops):
        for s in range(arrive, leave, STOPPED_INTERVAL_S):
            jitter = rng.normal(0.0, 0.00003, 2)
            out.append((s, lon + jitter[0], lat + jitter[1], 0.0, 0))
        if k + 1 == len(stops):
            break
        lon2, lat2, arrive2, _ = stops[k + 1]
        depart, duration = leave, max(arrive2 - leave, 1)
        kmh = km_between(lon, lat, lon2, lat2) / (duration / 3600.0)
        heading = int(np.degrees(np.arctan2((lon2 - lon) * np.cos(np.radians(lat)), lat2 - lat))) % 360
        for s in range(depart, arrive2, MOVING_INTERVAL_S):
            f = (s - depart) / duration
            noise = rng.normal(0.0, 0.0002, 2)
            speed = max(10.0, kmh * rng.uniform(0.85, 1.15))
            out.append(
                (s, lon + f * (lon2 - lon) + noise[0], lat + f * (lat2 - lat) + noise[1], speed, heading)
            )
    return out


def write_truck_positions(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 41])
    w = build_waybills(city, scale=scale, seed=seed, date=date)
    bad = {d.row - 1 for d in w.dirt}
    guangdong = np.char.startswith(w.origin_code.astype(str), "44") & np.char.startswith(
        w.destination_code.astype(str), "44"
    )
    km = km_between(*w.origin_lonlat.T, *w.destination_lonlat.T)
    usable = (w.mode == "road") & w.delivered & guangdong & (km > 5) & (w.pickup_s >= 1800)
    usable &= w.delivery_s - w.pickup_s > 3600 + km / 60 * 3600
    usable[list(bad)] = False
    candidates = [i for i in np.flatnonzero(usable) if w.plates[i]]
    # One waybill per truck: the first waybill of each plate.
    chosen: dict[str, int] = {}
    for i in rng.permutation(candidates):
        chosen.setdefault(str(w.plates[i]), int(i))
    n_linked = min(len(chosen), max(3, round(LINKED_TRUCKS_AT_SCALE_1 * scale)))
    plates = sorted(chosen)[:n_linked]

    tracks: dict[str, list] = {}
    for plate in plates:
        i = chosen[plate]
        o = w.origin_lonlat[i] + rng.normal(0.0, 0.005, 2)
        d = w.destination_lonlat[i] + rng.normal(0.0, 0.005, 2)
        depart = int(w.pickup_s[i] + rng.integers(15, 41) * 60)
        arrive = int(w.delivery_s[i] - rng.integers(10, 21) * 60)
        leave = min(arrive + int(rng.integers(30, 91)) * 60, DAY_S)
        stops = [(o[0], o[1], 0, depart), (d[0], d[1], arrive, leave)]
        back = leave + int(km[i] * 1.3 / 50 * 3600)
        if rng.random() < 0.5 and back + 1800 < DAY_S:
            stops.append((o[0], o[1], back, DAY_S))
        else:
            stops[-1] = (d[0], d[1], arrive, DAY_S)
        tracks[plate] = _track(stops, rng)

    centroids = np.array([d.centroid for d in city.districts])
    n_local = max(1, round(LOCAL_TRUCKS_AT_SCALE_1 * scale))
    used = set(w.plates.tolist())
    for _ in range(n_local):
        plate = f"粤B{int(rng.integers(0, 100_000)):05d}"
        while plate in used or plate in tracks:
            plate = f"粤B{int(rng.integers(0, 100_000)):05d}"
        a, b = rng.choice(len(centroids), 2, replace=False)
        home, away = centroids[a] + rng.normal(0, 0.004, 2), centroids[b] + rng.normal(0, 0.004, 2)
        drive = int(km_between(*home, *away) * 1.3 / 35 * 3600) + 600
        depart = int(rng.integers(7 * 3600, 15 * 3600))
        arrive = depart + drive
        leave = arrive + int(rng.integers(60, 121)) * 60
        stops = [
            (home[0], home[1], 0, depart),
            (away[0], away[1], arrive, leave),
            (home[0], home[1], leave + drive, DAY_S),
        ]
        tracks[plate] = _track(stops, rng)

    rows = [(plate, *fix) for plate in sorted(tracks) for fix in tracks[plate]]
    # Jumps: a fix while driving moved 60 km east, away from both its neighbours.
    moving = [
        k
        for k, r in enumerate(rows)
        if r[4] > 0 and 0 < k < len(rows) - 1 and rows[k - 1][0] == rows[k + 1][0]
    ]
    n_jumps = max(1, round(JUMPS_AT_SCALE_1 * scale))
    jumps = sorted(int(k) for k in rng.choice(moving, n_jumps, replace=False))
    for k in jumps:
        plate, s, lon, lat, speed, heading = rows[k]
        rows[k] = (plate, s, lon + 0.585, lat, speed, heading)
    repeat = set(rng.choice(len(rows), round(DUPLICATE_SHARE * len(rows)), replace=False).tolist()) - set(
        jumps
    )

    day = dt.datetime.combine(date, dt.time())
    altitude = rng.integers(5, 80, len(rows))
    lines = [HEADER]
    dirt: list[Dirt] = []
    for k, (plate, s, lon, lat, speed, heading) in enumerate(rows):
        line = (
            f"{plate},{YELLOW},{day + dt.timedelta(seconds=s):%Y-%m-%d %H:%M:%S},"
            f"{lon:.6f},{lat:.6f},{speed:.1f},{heading},{altitude[k]}"
        )
        lines.append(line)
        if k in jumps:
            dirt.append(Dirt(FEED, len(lines) - 1, "impossible_jump"))
        if k in repeat:
            lines.append(line)
            dirt.append(Dirt(FEED, len(lines) - 1, "duplicate_row"))
    path = feed_dir(out_dir, FEED, date) / f"truck_position_{date:%Y%m%d}.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(ENCODING))
    return FeedOutput(FEED, path, len(lines) - 1, ENCODING, tuple(dirt))
