"""GTFS static: the city's bus and metro timetable for the day, as a zip.

`gtfs/<date>/shenzhen_bus_gtfs.zip` holds agency, stops, routes, trips, stop_times, calendar,
calendar_dates, shapes, transfers, fare_attributes, fare_rules and feed_info
(https://gtfs.org/schedule/reference/). Every trip is scheduled stop by stop, so the feed has no
frequencies.txt. Routes follow the hub network between two hubs: buses 8–20 km with a stop every
0.5–0.9 km and a departure every 10–20 min from 06:00 to 23:00 in each direction; metro lines
18–40 km with a station every 1.2–2 km and a train every 6–10 min. Every hub a route passes is a
shared stop, so routes meet there; where a metro station and a bus stop share a hub,
transfers.txt allows a 3-minute change both ways. Fares are flat: 2 CNY a bus ride paid on
board, 4 CNY a metro ride paid at the gate. Trips run 25 % slower at the peaks. Stop names are
the district plus a number (福田站3, 福田地铁站2). Members are written in name order with a
fixed timestamp, so the zip is byte-stable.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from itlake.demo.city import City, km_between
from itlake.demo.manifest import FeedOutput, feed_dir

FEED = "gtfs"
FILE_NAME = "shenzhen_bus_gtfs.zip"
SERVICE_ID = "DAILY"
FIRST_DEPARTURE_S = 6 * 3600
LAST_DEPARTURE_S = 23 * 3600
PEAK_HOURS = (7, 8, 9, 17, 18, 19)
PEAK_SLOWDOWN = 1.25
TRANSFER_S = 180
FARES = {"SZBUS": ("BUS_FLAT", "2.00", "0"), "SZMETRO": ("METRO_FLAT", "4.00", "1")}


@dataclass(frozen=True)
class Mode:
    """How one kind of route is laid out and run."""

    prefix: str
    agency_id: str
    route_type: int
    routes_at_scale_1: int
    min_routes: int
    length_km: tuple[float, float]
    spacing_km: tuple[float, float]
    headway_min: tuple[int, int]
    speed_kmh: float
    dwell_s: tuple[int, int]
    stop_label: str


BUS = Mode("B", "SZBUS", 3, 30, 2, (8.0, 20.0), (0.5, 0.9), (10, 20), 20.0, (15, 40), "站")
METRO = Mode("M", "SZMETRO", 1, 3, 1, (18.0, 40.0), (1.2, 2.0), (6, 10), 38.0, (30, 45), "地铁站")


@dataclass
class Route:
    route_id: str
    mode: Mode
    hubs: np.ndarray
    stop_keys: list[tuple]
    stop_km: np.ndarray


def _choose_routes(city: City, mode: Mode, n: int, rng: np.random.Generator) -> list[Route]:
    """n routes between distinct hub pairs whose network distance fits the mode."""
    lo, hi = mode.length_km
    ii, jj = np.nonzero(np.triu((city.hub_dist_km >= lo) & (city.hub_dist_km <= hi), k=1))
    picks = rng.choice(len(ii), n, replace=n > len(ii))
    routes = []
    for r, p in enumerate(picks, start=1):
        hubs = city.hub_paths[ii[p], jj[p], : city.hub_path_len[ii[p], jj[p]]]
        keys: list[tuple] = [(mode.prefix, "hub", int(hubs[0]))]
        along = [0.0]
        for a, b in zip(hubs[:-1], hubs[1:], strict=True):
            seg = float(km_between(*city.hub_xy[a], *city.hub_xy[b]))
            gaps = max(1, round(seg / rng.uniform(*mode.spacing_km)))
            for k in range(1, gaps):
                keys.append((mode.prefix, "mid", r, len(keys), k / gaps, int(a), int(b)))
                along.append(along[-1] + seg / gaps)
            keys.append((mode.prefix, "hub", int(b)))
            along.append(along[-1] + seg / gaps)
        routes.append(Route(f"{mode.prefix}{r:03d}", mode, hubs, keys, np.array(along)))
    return routes


def _stop_xy(city: City, key: tuple) -> tuple[float, float]:
    if key[1] == "hub":
        return tuple(city.hub_xy[key[2]])
    _, _, _, _, frac, a, b = key
    x = city.hub_xy[a] + frac * (city.hub_xy[b] - city.hub_xy[a])
    return float(x[0]), float(x[1])


def _stops(city: City, routes: list[Route]) -> tuple[list[str], dict[tuple, str], dict[tuple, str]]:
    """stops.txt lines, and each stop key's stop_id and name."""
    keys = sorted({k for r in routes for k in r.stop_keys})
    xy = np.array([_stop_xy(city, k) for k in keys])
    district = city.district_of(xy[:, 0], xy[:, 1])
    codes = [city.districts[d].code for d in district]
    order = sorted(range(len(keys)), key=lambda i: (keys[i][0], codes[i], xy[i, 0], xy[i, 1]))
    label = {BUS.prefix: BUS.stop_label, METRO.prefix: METRO.stop_label}
    rows, ids, names, per_name = [], {}, {}, {}
    for n, i in enumerate(order, start=1):
        prefix = keys[i][0]
        base = city.districts[district[i]].name + label[prefix]
        per_name[base] = per_name.get(base, 0) + 1
        ids[keys[i]] = f"{'S' if prefix == BUS.prefix else 'MS'}{n:05d}"
        names[keys[i]] = f"{base}{per_name[base]}"
        lon, lat = xy[i]
        rows.append(_line([ids[keys[i]], f"{n:05d}", names[keys[i]], f"{lat:.6f}", f"{lon:.6f}", "0", ""]))
    return rows, ids, names


@lru_cache(maxsize=1)
def _clock() -> list[str]:
    """GTFS times for every second of two days (trips may run past midnight: 24:10:00)."""
    return [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(2 * 86_400)]


def _hms(seconds: np.ndarray) -> list[str]:
    clock = _clock()
    return [clock[s] for s in seconds.tolist()]


def _timetable(routes, ids, names, rng):
    """trips.txt and stop_times.txt lines and the shapes, one route and direction at a time.

    Rows are kept as strings, not lists: millions of small lists make Python's garbage collector
    cost grow faster than the row count.
    """
    trips, stop_times, shapes = [], [], []
    for route in routes:
        mode = route.mode
        headway = int(rng.integers(mode.headway_min[0], mode.headway_min[1] + 1)) * 60
        dwell = rng.integers(mode.dwell_s[0], mode.dwell_s[1] + 1, len(route.stop_keys))
        dwell[[0, -1]] = 0
        for direction in (0, 1):
            keys = route.stop_keys if direction == 0 else route.stop_keys[::-1]
            km = route.stop_km if direction == 0 else route.stop_km[-1] - route.stop_km[::-1]
            stop_dwell = dwell if direction == 0 else dwell[::-1]
            shape_id = f"{route.route_id}_{direction}"
            starts = np.arange(
                FIRST_DEPARTURE_S + int(rng.integers(0, headway // 60)) * 60, LAST_DEPARTURE_S + 1, headway
            )
            slow = np.where(np.isin(starts // 3600, PEAK_HOURS), PEAK_SLOWDOWN, 1.0)
            run_s = km / mode.speed_kmh * 3600.0
            waited = np.concatenate([[0], np.cumsum(stop_dwell)[:-1]])
            arrive = np.rint(starts[:, None] + slow[:, None] * run_s[None, :] + waited[None, :]).astype(int)
            depart = arrive + stop_dwell[None, :]
            headsign = names[keys[-1]]
            stop_ids = [ids[k] for k in keys]
            tails = [
                f",{stop_id},{seq},{d * 1000:.1f}"
                for seq, (stop_id, d) in enumerate(zip(stop_ids, km.tolist(), strict=True), start=1)
            ]
            for n, (a_row, d_row) in enumerate(zip(arrive, depart, strict=True), start=1):
                trip_id = f"{shape_id}_{n:03d}"
                trips.append(_line([route.route_id, SERVICE_ID, trip_id, headsign, str(direction), shape_id]))
                stop_times.extend(
                    f"{trip_id},{a},{d}{tail}"
                    for a, d, tail in zip(_hms(a_row), _hms(d_row), tails, strict=True)
                )
            shapes.append((shape_id, keys, km))
    return trips, stop_times, shapes


def _shape_rows(city: City, shapes) -> list[str]:
    rows = []
    for shape_id, keys, km in shapes:
        for seq, (key, d) in enumerate(zip(keys, km.tolist(), strict=True), start=1):
            lon, lat = _stop_xy(city, key)
            rows.append(f"{shape_id},{lat:.6f},{lon:.6f},{seq},{d * 1000:.1f}")
    return rows


def _transfer_rows(ids: dict[tuple, str]) -> list[str]:
    """Both ways between the bus stop and the metro station of each hub that has both."""
    hubs = {}
    for key, stop_id in ids.items():
        if key[1] == "hub":
            hubs.setdefault(key[2], {})[key[0]] = stop_id
    rows = []
    for hub in sorted(hubs):
        modes = hubs[hub]
        if BUS.prefix in modes and METRO.prefix in modes:
            bus, metro = modes[BUS.prefix], modes[METRO.prefix]
            rows += [_line([a, b, "2", str(TRANSFER_S)]) for a, b in ((bus, metro), (metro, bus))]
    return rows


def _line(values: list[str]) -> str:
    """One CSV line (RFC 4180 quoting where a value needs it)."""
    quoted = (f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\n') else v for v in values)
    return ",".join(quoted)


def _csv(header: list[str], lines: list[str]) -> bytes:
    return ("\n".join([",".join(header), *lines]) + "\n").encode("utf-8")


def write_zip(path: Path, members: dict[str, bytes], date: dt.date) -> None:
    """A zip whose bytes depend on the members only: sorted names, fixed time and permissions."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(date.year, date.month, date.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, members[name], compresslevel=6)


def read_schedule(out_dir: Path, date: dt.date) -> pd.DataFrame:
    """stop_times of the demo GTFS zip written for `date`, with seconds, the stop's name and
    coordinates, and the route of each trip with its short name and type; sorted by trip and stop
    sequence."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    with zipfile.ZipFile(feed_dir(out_dir, FEED, date) / FILE_NAME) as zf:

        def read(name: str) -> pa.Table:
            return pacsv.read_csv(
                io.BytesIO(zf.read(name)), convert_options=pacsv.ConvertOptions(strings_can_be_null=False)
            )

        times_table, stops, trips = read("stop_times.txt"), read("stops.txt"), read("trips.txt")
        routes = read("routes.txt")
    times = times_table.select(["trip_id", "stop_id", "stop_sequence"]).to_pandas()
    for column in ("arrival_time", "departure_time"):
        hms = pc.list_flatten(pc.split_pattern(times_table[column].cast(pa.string()), ":"))
        h, m, s = hms.to_numpy(zero_copy_only=False).astype(int).reshape(-1, 3).T
        times[column] = h * 3600 + m * 60 + s
    stops = stops.to_pandas().rename(columns={"stop_lat": "lat", "stop_lon": "lon"})
    trips = trips.select(["trip_id", "route_id"]).to_pandas()
    times = times.astype({"trip_id": str, "stop_id": str, "stop_sequence": int})
    stops = stops.astype({"stop_id": str, "stop_name": str})
    trips = trips.astype({"trip_id": str, "route_id": str})
    routes = routes.select(["route_id", "route_short_name", "route_type"]).to_pandas()
    routes = routes.astype({"route_id": str, "route_short_name": str, "route_type": int})
    return (
        times.merge(stops[["stop_id", "stop_name", "lat", "lon"]], on="stop_id")
        .merge(trips[["trip_id", "route_id"]], on="trip_id")
        .merge(routes, on="route_id")
        .sort_values(["trip_id", "stop_sequence"], kind="stable")
        .reset_index(drop=True)
    )


def write_gtfs(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 1])
    routes = []
    for mode in (BUS, METRO):
        n = max(mode.min_routes, round(mode.routes_at_scale_1 * scale))
        routes += _choose_routes(city, mode, n, rng)
    stop_rows, ids, names = _stops(city, routes)
    trips, stop_times, shapes = _timetable(routes, ids, names, rng)

    short_names = rng.choice(np.arange(1, max(1000, 3 * len(routes))), len(routes), replace=False)
    route_rows = []
    for route, short in zip(routes, short_names.tolist(), strict=True):
        metro = route.mode is METRO
        label = f"{int(route.route_id[1:])}号线" if metro else str(short)
        long_name = f"{names[route.stop_keys[0]]}—{names[route.stop_keys[-1]]}"
        color = "009A44" if metro else "0066B3"
        route_rows.append(
            _line([route.route_id, route.mode.agency_id, label, long_name, str(route.mode.route_type), color])
        )

    year_start, year_end = dt.date(date.year, 1, 1), dt.date(date.year, 12, 31)
    # New Year's Day runs a holiday timetable that this feed does not carry.
    holiday = year_start if date != year_start else year_start + dt.timedelta(days=1)
    tables = {
        "agency.txt": (
            ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
            [
                _line(["SZBUS", "深圳巴士集团（演示）", "https://example.com/szbus", "Asia/Shanghai", "zh"]),
                _line(["SZMETRO", "深圳地铁（演示）", "https://example.com/szmetro", "Asia/Shanghai", "zh"]),
            ],
        ),
        "stops.txt": (
            ["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station"],
            stop_rows,
        ),
        "routes.txt": (
            ["route_id", "agency_id", "route_short_name", "route_long_name", "route_type", "route_color"],
            route_rows,
        ),
        "trips.txt": (
            ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "shape_id"],
            trips,
        ),
        "stop_times.txt": (
            ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "shape_dist_traveled"],
            stop_times,
        ),
        "calendar.txt": (
            [
                "service_id",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                "start_date",
                "end_date",
            ],
            [_line([SERVICE_ID, *["1"] * 7, f"{year_start:%Y%m%d}", f"{year_end:%Y%m%d}"])],
        ),
        "calendar_dates.txt": (
            ["service_id", "date", "exception_type"],
            [_line([SERVICE_ID, f"{holiday:%Y%m%d}", "2"])],
        ),
        "shapes.txt": (
            ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
            _shape_rows(city, shapes),
        ),
        "transfers.txt": (
            ["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"],
            _transfer_rows(ids),
        ),
        "fare_attributes.txt": (
            ["fare_id", "price", "currency_type", "payment_method", "transfers", "agency_id"],
            [_line([fare, price, "CNY", paid, "0", agency]) for agency, (fare, price, paid) in FARES.items()],
        ),
        "fare_rules.txt": (
            ["fare_id", "route_id"],
            [_line([FARES[route.mode.agency_id][0], route.route_id]) for route in routes],
        ),
        "feed_info.txt": (
            [
                "feed_publisher_name",
                "feed_publisher_url",
                "feed_lang",
                "feed_start_date",
                "feed_end_date",
                "feed_version",
            ],
            [
                _line(
                    [
                        "itlake synthetic demo",
                        "https://example.com/itlake-demo",
                        "zh",
                        f"{year_start:%Y%m%d}",
                        f"{year_end:%Y%m%d}",
                        f"demo-{date:%Y%m%d}-seed{seed}",
                    ]
                )
            ],
        ),
    }
    path = feed_dir(out_dir, FEED, date) / FILE_NAME
    write_zip(path, {name: _csv(header, rows) for name, (header, rows) in tables.items()}, date)
    rows = sum(len(table_rows) for _, table_rows in tables.values())
    return FeedOutput(FEED, path, rows, "utf-8")
