"""Ride-hailing orders: a day of orders from three platforms, one CSV row per order.

`ridehail_order/<date>/ridehail_order_<YYYYMMDD>.csv`, UTF-8, the layout of
`itlake.feeds.ridehail_order` (field names of the regulatory data exchange). Requests follow the
hour of day (peaks at 8 and 18); pickups and destinations scatter around the city's hubs, 2-30 km
apart along the hub network. Two platforms report GCJ-02 (Encrypt 1), one BD-09 (Encrypt 3), as
Chinese map SDKs do. About 85 % of orders complete; the others are cancelled by the passenger or
the driver, or find no driver. An order still under way at midnight has no drop-off yet
(in_progress). Times are local (UTC+8); fares follow a base fare, a per-km and a per-minute rate.

Dirt, listed in the manifest: a few pickups stamped before the request and a few negative fares.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from itlake.demo.city import City, km_between
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir
from itlake.geo.crs import wgs84_to_bd09, wgs84_to_gcj02

FEED = "ridehail_order"
HEADER = (
    "CompanyId,OrderId,PassengerPhone,LicenseId,VehicleNo,OrderTime,DepLongitude,DepLatitude,DestLongitude,"
    "DestLatitude,Encrypt,DistributeTime,DepTime,DestTime,CancelTime,CancelOperator,DriveMile,FactPrice"
)
ORDERS_AT_SCALE_1 = 5000
DRIVERS_AT_SCALE_1 = 800
BAD_PICKUPS_AT_SCALE_1 = 3
BAD_FARES_AT_SCALE_1 = 2
# Companies, their share of orders and the Encrypt flag of their coordinates (1 GCJ-02, 3 BD-09).
COMPANIES = (("DDCX", 0.6, "1"), ("CAOCAO", 0.25, "1"), ("BDYC", 0.15, "3"))
REQUESTS_BY_HOUR = np.array(
    [3, 2, 1, 1, 1, 2, 4, 8, 10, 7, 5, 5, 5, 5, 5, 5, 6, 8, 10, 8, 7, 6, 5, 4], dtype=float
)
# Outcomes: completed, cancelled by the passenger (1), by the driver (2), no driver (3).
OUTCOMES = np.array([0.85, 0.07, 0.03, 0.05])


def _stamp(day_start: dt.datetime, seconds: np.ndarray, valid: np.ndarray) -> list[str]:
    return [
        (day_start + dt.timedelta(seconds=float(s))).strftime("%Y-%m-%d %H:%M:%S") if ok else ""
        for s, ok in zip(seconds.tolist(), valid.tolist(), strict=True)
    ]


def write_ridehail_orders(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 20])
    n = max(10, round(ORDERS_AT_SCALE_1 * scale))
    n_drivers = max(5, round(DRIVERS_AT_SCALE_1 * scale))
    hours = rng.choice(24, n, p=REQUESTS_BY_HOUR / REQUESTS_BY_HOUR.sum())
    request = np.sort(hours * 3600 + rng.uniform(0, 3600, n))

    hub_from = rng.integers(0, len(city.hub_xy), n)
    near = (city.hub_dist_km[hub_from] >= 2.0) & (city.hub_dist_km[hub_from] <= 30.0)
    hub_to = np.array(
        [rng.choice(np.flatnonzero(row)) if row.any() else h for row, h in zip(near, hub_from, strict=True)]
    )
    origin = city.hub_xy[hub_from] + rng.normal(0, 0.001, (n, 2))
    dest = city.hub_xy[hub_to] + rng.normal(0, 0.001, (n, 2))
    km = city.hub_dist_km[hub_from, hub_to] + km_between(*origin.T, *city.hub_xy[hub_from].T)

    outcome = rng.choice(4, n, p=OUTCOMES)
    accept = request + rng.exponential(40.0, n)
    pickup = accept + rng.uniform(120, 600, n)
    ride_s = km / rng.uniform(20, 45, n) * 3600
    dropoff = pickup + ride_s
    cancel = np.where(outcome == 3, request + rng.uniform(60, 300, n), accept + rng.uniform(30, 240, n))
    completed = (outcome == 0) & (dropoff < 86_400)
    accepted = outcome != 3
    # The export closes at midnight: later events of an order under way are not in it yet.
    picked = (outcome == 0) & (pickup < 86_400)
    fare = np.round(8.0 + 2.2 * km + 0.5 * ride_s / 60, 1)

    company = rng.choice(len(COMPANIES), n, p=[c[1] for c in COMPANIES])
    driver = rng.integers(0, n_drivers, n)
    licence = np.array([f"4403{v:014d}" for v in rng.integers(10**13, 10**14, n_drivers)])
    plates = np.array([f"粤B{'DF'[v % 2]}{v % 100000:05d}" for v in rng.integers(0, 10**7, n_drivers)])
    phones = [f"1{p:010d}" for p in rng.integers(3 * 10**9, 9 * 10**9, n)]

    bad_pickup = rng.choice(
        np.flatnonzero(completed), max(1, round(BAD_PICKUPS_AT_SCALE_1 * scale)), replace=False
    )
    pickup[bad_pickup] = request[bad_pickup] - 60
    fare_rows = np.setdiff1d(np.flatnonzero(completed), bad_pickup)
    bad_fare = rng.choice(fare_rows, max(1, round(BAD_FARES_AT_SCALE_1 * scale)), replace=False)
    fare[bad_fare] = -fare[bad_fare]
    dirt = [Dirt(FEED, int(r) + 1, "pickup_before_request") for r in bad_pickup]
    dirt += [Dirt(FEED, int(r) + 1, "negative_fare") for r in bad_fare]

    encrypt = np.array([COMPANIES[c][2] for c in company])
    gcj = [wgs84_to_gcj02(p[:, 0], p[:, 1]) for p in (origin, dest)]
    bd = [wgs84_to_bd09(p[:, 0], p[:, 1]) for p in (origin, dest)]
    (o_lon, o_lat), (d_lon, d_lat) = [
        (np.where(encrypt == "3", b[0], g[0]), np.where(encrypt == "3", b[1], g[1]))
        for g, b in zip(gcj, bd, strict=True)
    ]

    day_start = dt.datetime.combine(date, dt.time(0, 0))
    cancelled = outcome > 0
    columns = {
        "OrderTime": _stamp(day_start, request, np.ones(n, bool)),
        "DistributeTime": _stamp(day_start, accept, accepted),
        "DepTime": _stamp(day_start, pickup, picked),
        "DestTime": _stamp(day_start, dropoff, completed),
        "CancelTime": _stamp(day_start, cancel, cancelled),
    }
    path = feed_dir(out_dir, FEED, date) / f"{FEED}_{date:%Y%m%d}.csv"
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "\n")
        for i in range(n):
            name = COMPANIES[company[i]][0]
            done = completed[i]
            f.write(
                ",".join(
                    [
                        name,
                        f"{name}{date:%Y%m%d}{i:07d}",
                        phones[i],
                        licence[driver[i]] if accepted[i] else "",
                        plates[driver[i]] if accepted[i] else "",
                        columns["OrderTime"][i],
                        f"{o_lon[i]:.6f}",
                        f"{o_lat[i]:.6f}",
                        f"{d_lon[i]:.6f}",
                        f"{d_lat[i]:.6f}",
                        encrypt[i],
                        columns["DistributeTime"][i],
                        columns["DepTime"][i],
                        columns["DestTime"][i],
                        columns["CancelTime"][i],
                        str(outcome[i]) if cancelled[i] else "",
                        f"{km[i]:.2f}" if done else "",
                        f"{fare[i]:.1f}" if done else "",
                    ]
                )
                + "\n"
            )
    return FeedOutput(FEED, path, n, "utf-8", tuple(dirt))
