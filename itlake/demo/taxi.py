"""Taxi GPS: one fix a minute per taxi over the day, in the common Shenzhen layout.

`taxi_gps/<date>/taxi_gps_<YYYYMMDD>.csv`, UTF-8, header `VehicleNum,time,lon,lat,OpenStatus,Speed`;
`time` is local China time (UTC+8), lon/lat WGS-84 with 6 decimals, OpenStatus 1 = carrying a
passenger, Speed in km/h. Rows are sorted by plate, then time.

Each taxi alternates a vacant phase (cruise to a pickup near a hub, then wait) and an occupied trip
of 5–40 min to another hub along the hub network. Vacant phases are short at the morning and
evening peaks and long at night. Pickups favour homes in the morning and the centre in the evening;
destinations the reverse, so hour x origin x destination district cells concentrate.

Dirt, listed in the manifest: ~0.2 % exact duplicate rows (the copy follows the original), and a
handful of fixes 50 km away from the fix one minute earlier.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import shapely

from itlake.demo.city import CENTRAL, KM_PER_DEG_LON, RESIDENTIAL, City, km_between
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir

FEED = "taxi_gps"
HEADER = "VehicleNum,time,lon,lat,OpenStatus,Speed"
TAXIS_AT_SCALE_1 = 300
DAY_MIN = 1440
DUPLICATE_SHARE = 0.002
JUMPS_AT_SCALE_1 = 5
JUMP_KM = 50.0

# Mean vacant minutes between trips, by local hour: short at the peaks, long at night.
VACANT_MEAN_MIN = np.array(
    [40, 70, 100, 120, 120, 80, 25, 4, 3, 6, 18, 18, 15, 18, 18, 15, 10, 4, 3, 5, 12, 12, 15, 25], dtype=float
)
MORNING_PEAK = (7, 8, 9)
EVENING_PEAK = (17, 18, 19)
PICKUP_RADIUS_KM = 6.0
TRIP_KM = (2.0, 30.0)
# Pickups and drop-offs scatter up to ~200 m around a hub (hubs keep 300 m from any border).
SCATTER_DEG = 0.002
GPS_NOISE_DEG = 0.00002
PLATE_CHARS = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))


def taxi_plates(n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct sorted plates `粤B` + one letter or digit + four digits."""
    draws = 2 * n + 16
    first = PLATE_CHARS[rng.integers(0, len(PLATE_CHARS), draws)]
    digits = rng.integers(0, 10_000, draws)
    candidates = np.unique([f"粤B{c}{d:04d}" for c, d in zip(first, digits, strict=True)])
    return np.sort(rng.choice(candidates, n, replace=False))


def _scatter(n: int, rng: np.random.Generator) -> np.ndarray:
    radius = SCATTER_DEG * np.sqrt(rng.random(n))
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def _pick(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column index per row, with probability proportional to that row's weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _hour_mask(hours: np.ndarray, peak: tuple[int, ...]) -> np.ndarray:
    return np.isin(hours, peak)[:, None]


def simulate_legs(city: City, n_taxis: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every taxi's day as legs, sorted by taxi then start minute.

    A leg moves a taxi from point p0 (near hub h0) to p1 (near hub h1) along the network between
    minutes t0 and t1 at `speed` km/h with `status` (1 occupied); waits have h0 == h1, speed 0.
    """
    dist = city.hub_dist_km
    names = np.array(city.district_names)
    residential = np.isin(names, RESIDENTIAL)[city.hub_district]
    central = np.isin(names, CENTRAL)[city.hub_district]
    same_district = city.hub_district[:, None] == city.hub_district[None, :]
    near = np.exp(-dist / 1.5) * (dist <= PICKUP_RADIUS_KM)
    trip_ok = (dist >= TRIP_KM[0]) & (dist <= TRIP_KM[1])
    trip_weight = np.exp(-dist / 8.0) * np.where(same_district, 3.0, 1.0) * trip_ok

    t = np.zeros(n_taxis)
    hub = rng.integers(0, len(city.hub_xy), n_taxis)
    pos = city.hub_xy[hub] + _scatter(n_taxis, rng)
    legs: list[dict[str, np.ndarray]] = []

    def add(taxi, t0, t1, status, speed, h0, h1, p0, p1):
        legs.append(
            dict(
                taxi=taxi,
                t0=t0,
                t1=t1,
                status=np.full(len(taxi), status),
                speed=speed,
                h0=h0,
                h1=h1,
                p0=p0,
                p1=p1,
            )
        )

    while (act := np.flatnonzero(t < DAY_MIN)).size:
        n, here, start = len(act), hub[act], t[act]
        hour = (start // 60).astype(int) % 24
        # At least two vacant minutes, so every trip is cut from the next by a vacant fix.
        vacant = np.clip(rng.exponential(VACANT_MEAN_MIN[hour]), 2.0, 180.0)
        pickup_pull = (
            1.0
            + 2.0 * (_hour_mask(hour, MORNING_PEAK) & residential[None, :])
            + 2.0 * (_hour_mask(hour, EVENING_PEAK) & central[None, :])
        )
        j = _pick(near[here] * pickup_pull, rng)
        p_pick = city.hub_xy[j] + _scatter(n, rng)
        cruise_km = km_between(*pos[act].T, *city.hub_xy[here].T) + dist[here, j]
        cruise_km += km_between(*city.hub_xy[j].T, *p_pick.T)
        cruise_speed = rng.uniform(15.0, 35.0, n)
        cruise_min = np.maximum(cruise_km / cruise_speed * 60.0, 0.1)
        add(act, start, start + cruise_min, 0, cruise_speed, here, j, pos[act], p_pick)
        wait = np.maximum(vacant - cruise_min, 0.0)
        t_pick = start + cruise_min
        waits = wait > 0
        add(
            act[waits],
            t_pick[waits],
            (t_pick + wait)[waits],
            0,
            np.zeros(waits.sum()),
            j[waits],
            j[waits],
            p_pick[waits],
            p_pick[waits],
        )
        t_pick = t_pick + wait

        hour = (t_pick // 60).astype(int) % 24
        pull = (
            1.0
            + 3.0 * (_hour_mask(hour, MORNING_PEAK) & central[None, :])
            + 3.0 * (_hour_mask(hour, EVENING_PEAK) & residential[None, :])
        )
        weights = trip_weight[j] * pull
        stranded = weights.sum(axis=1) == 0
        weights[stranded] = (dist[j[stranded]] > 0).astype(float)
        k = _pick(weights, rng)
        p_drop = city.hub_xy[k] + _scatter(n, rng)
        trip_km = km_between(*p_pick.T, *city.hub_xy[j].T) + dist[j, k]
        trip_km += km_between(*city.hub_xy[k].T, *p_drop.T)
        speed = rng.uniform(20.0, 50.0, n) * np.where(np.isin(hour, MORNING_PEAK + EVENING_PEAK), 0.7, 1.0)
        trip_min = np.clip(trip_km / speed * 60.0, 5.0, 40.0)
        speed = np.clip(trip_km / trip_min * 60.0, 15.0, 60.0)
        add(act, t_pick, t_pick + trip_min, 1, speed, j, k, p_pick, p_drop)

        t[act], hub[act], pos[act] = t_pick + trip_min, k, p_drop

    merged = {key: np.concatenate([leg[key] for leg in legs]) for key in legs[0]}
    order = np.lexsort((merged["t0"], merged["taxi"]))
    return {key: value[order] for key, value in merged.items()}


def positions_at(city: City, legs: dict[str, np.ndarray], taxi: np.ndarray, minute: np.ndarray):
    """Lon, lat, status and leg speed of each taxi at each minute, interpolated along its leg."""
    leg = np.searchsorted(legs["taxi"] * 4000.0 + legs["t0"], taxi * 4000.0 + minute, side="right") - 1

    # Every leg's polyline: p0, the hubs of its network path (none for waits), p1.
    moving = legs["speed"] > 0
    inner = np.where(moving, city.hub_path_len[legs["h0"], legs["h1"]], 0)
    nv = inner + 2
    first = np.concatenate([[0], np.cumsum(nv)[:-1]])
    owner = np.repeat(np.arange(len(nv)), nv)
    step = np.arange(nv.sum()) - first[owner]
    hub_at = city.hub_paths[legs["h0"][owner], legs["h1"][owner], np.clip(step - 1, 0, None)]
    xy = np.where(
        (step == 0)[:, None],
        legs["p0"][owner],
        np.where((step == nv[owner] - 1)[:, None], legs["p1"][owner], city.hub_xy[hub_at]),
    )
    seg_km = np.concatenate([[0.0], km_between(*xy[:-1].T, *xy[1:].T)])
    # A 1 km gap between legs keeps the cumulative distance strictly ordered by leg.
    seg_km[first] = 1.0
    along = np.cumsum(seg_km)
    base = along[first]
    length = along[first + nv - 1] - base

    frac = np.clip((minute - legs["t0"][leg]) / (legs["t1"][leg] - legs["t0"][leg]), 0.0, 1.0)
    target = base[leg] + frac * length[leg]
    seg = np.clip(np.searchsorted(along, target, side="right") - 1, first[leg], first[leg] + nv[leg] - 2)
    span = along[seg + 1] - along[seg]
    w = np.clip(np.divide(target - along[seg], span, out=np.zeros_like(span), where=span > 0), 0.0, 1.0)
    point = xy[seg] + w[:, None] * (xy[seg + 1] - xy[seg])
    return point[:, 0], point[:, 1], legs["status"][leg], legs["speed"][leg]


def _time_strings(date: dt.date) -> list[str]:
    day = date.isoformat()
    return [f"{day} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]


def write_taxi_gps(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 2])
    n_taxis = max(1, round(TAXIS_AT_SCALE_1 * scale))
    plates = taxi_plates(n_taxis, rng)
    legs = simulate_legs(city, n_taxis, rng)

    # Each taxi reports at its own second within the minute.
    taxi = np.repeat(np.arange(n_taxis), DAY_MIN)
    second_of_day = np.tile(np.arange(DAY_MIN) * 60, n_taxis) + rng.integers(0, 60, n_taxis)[taxi]
    lon, lat, status, leg_speed = positions_at(city, legs, taxi, second_of_day / 60.0)
    noisy_lon = lon + rng.normal(0, GPS_NOISE_DEG, len(lon))
    noisy_lat = lat + rng.normal(0, GPS_NOISE_DEG, len(lat))
    inside = shapely.contains_xy(city.union, noisy_lon, noisy_lat)
    lon, lat = np.where(inside, noisy_lon, lon), np.where(inside, noisy_lat, lat)
    speed = np.where(leg_speed > 0, np.clip(leg_speed * rng.normal(1.0, 0.1, len(lon)), 15, 60), 0.0)
    speed = np.rint(speed).astype(int)

    # Dirt: fixes 50 km from the previous one, then exact duplicates of other rows.
    n_rows = len(lon)
    minute = np.arange(n_rows) % DAY_MIN
    jump_rows = np.sort(
        rng.choice(
            np.flatnonzero((minute >= 1) & (minute < DAY_MIN - 1)),
            max(2, round(JUMPS_AT_SCALE_1 * scale)),
            replace=False,
        )
    )
    east = np.where(lon[jump_rows - 1] < 114.2, 1.0, -1.0)
    lon[jump_rows] = lon[jump_rows - 1] + east * JUMP_KM / KM_PER_DEG_LON
    lat[jump_rows] = lat[jump_rows - 1]
    candidates = np.setdiff1d(np.arange(n_rows), jump_rows)
    dup_rows = np.sort(rng.choice(candidates, max(1, round(DUPLICATE_SHARE * n_rows)), replace=False))
    order = np.sort(np.concatenate([np.arange(n_rows), dup_rows]), kind="stable")

    dirt = [Dirt(FEED, int(r + np.searchsorted(dup_rows, r) + 2), "duplicate_row") for r in dup_rows]
    dirt += [Dirt(FEED, int(r + np.searchsorted(dup_rows, r) + 1), "impossible_jump") for r in jump_rows]

    path = feed_dir(out_dir, FEED, date) / f"taxi_gps_{date:%Y%m%d}.csv"
    times = _time_strings(date)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "\n")
        for chunk in np.array_split(order, max(1, len(order) // 200_000)):
            rows = zip(
                plates[taxi[chunk]].tolist(),
                second_of_day[chunk].tolist(),
                lon[chunk].tolist(),
                lat[chunk].tolist(),
                status[chunk].tolist(),
                speed[chunk].tolist(),
                strict=True,
            )
            f.writelines(f"{p},{times[s]},{x:.6f},{y:.6f},{o},{v}\n" for p, s, x, y, o, v in rows)
    return FeedOutput(FEED, path, len(order), "utf-8", tuple(dirt))
