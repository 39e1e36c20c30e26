"""The synthetic demo city: determinism, exact layouts, planted dirt and the manifest (scale 0.05)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from typer.testing import CliRunner

from itlake.demo import generate_city

SCALE = 0.05
DAY = dt.date(2026, 11, 27)
# At scale 0.05: 15 taxis x 1440 fixes, plus round(0.2 % of 21,600) = 43 duplicates, 2 jumps;
# 250 waybills with 1 unknown code; 2 bus routes and 1 metro line.
TAXI_FIXES, TAXI_DUPLICATES, TAXI_JUMPS = 15 * 1440, 43, 2
WAYBILLS = 250
TAXI_HEADER = "VehicleNum,time,lon,lat,OpenStatus,Speed"
WAYBILL_HEADER = (
    "运单号,托运人,收货人,始发地代码,目的地代码,货物类别,重量kg,体积m3,运输方式,车牌号,揽收时间,送达时间,联运段"
)
TAXI_PATH = "taxi_gps/2026-11-27/taxi_gps_20261127.csv"
WAYBILL_PATH = "waybill/2026-11-27/waybill_20261127.csv"
GTFS_PATH = "gtfs/2026-11-27/shenzhen_bus_gtfs.zip"
ROADS_PATH = "road_network/2026-11-27/roads.geojson"
MOBILITY_PATHS = {
    "gbfs_station_information/2026-11-27/gbfs_station_information_20261127.jsonl",
    "gbfs_station_status/2026-11-27/gbfs_station_status_20261127.jsonl",
    "gbfs_vehicle_status/2026-11-27/gbfs_vehicle_status_20261127.jsonl",
    "ridehail_order/2026-11-27/ridehail_order_20261127.csv",
    "smartcard_tap/2026-11-27/smartcard_tap_20261127.csv",
}
INFRASTRUCTURE_PATHS = {
    "bridge_tunnel/2026-11-27/bridge_tunnel_20261127.csv",
    "transport_hub/2026-11-27/transport_hubs.geojson",
    "nev_charging_station/2026-11-27/charging_stations_20261127.csv",
}
FREIGHT_PATHS = {
    "truck_position/2026-11-27/truck_position_20261127.csv",
    "port_throughput/2026-11-27/port_throughput_202611.csv",
}
RT_PATHS = {
    f"gtfs_rt_{feed}/2026-11-27/{name}_20261127T{hour:02d}.zip"
    for feed, name in (("vehicle_position", "vehicle_positions"), ("trip_update", "trip_updates"))
    for hour in (7, 8, 9)
}
ROAD_CLASSES = {"expressway", "national", "provincial", "arterial", "secondary", "branch"}
KNOWN_CODES = {
    "440303",
    "440304",
    "440305",
    "440306",
    "440307",
    "440308",
    "440309",
    "440310",
    "440311",
    "440312",
    "440100",
    "440600",
    "441900",
    "110000",
    "310000",
    "430100",
    "510100",
    "420100",
    "330100",
    "350200",
}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("city_a")
    generate_city(out, scale=SCALE, seed=42, date=DAY)
    return out


@pytest.fixture(scope="module")
def manifest(city) -> dict:
    return json.loads((city / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def union():
    text = (Path(__file__).resolve().parents[1] / "itlake/data/shenzhen_districts.geojson").read_text("utf-8")
    return shapely.union_all([shape(f["geometry"]) for f in json.loads(text)["features"]])


def dirt_rows(manifest: dict, feed: str, kind: str) -> list[int]:
    return [d["row"] for d in manifest["dirt"] if d["feed"] == feed and d["kind"] == kind]


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def gtfs_tables(city: Path) -> dict[str, list[dict]]:
    with zipfile.ZipFile(city / GTFS_PATH) as zf:
        return {n: list(csv.DictReader(io.StringIO(zf.read(n).decode("utf-8")))) for n in zf.namelist()}


def test_same_seed_gives_byte_identical_files(city, tmp_path):
    generate_city(tmp_path, scale=SCALE, seed=42, date=DAY)
    feeds = {"manifest.json", TAXI_PATH, WAYBILL_PATH, GTFS_PATH, ROADS_PATH}
    assert set(digests(city)) == feeds | MOBILITY_PATHS | INFRASTRUCTURE_PATHS | FREIGHT_PATHS | RT_PATHS
    assert digests(tmp_path) == digests(city)


def test_different_seed_gives_a_different_taxi_file(city, tmp_path):
    generate_city(tmp_path, scale=SCALE, seed=7, date=DAY)
    assert (tmp_path / TAXI_PATH).read_bytes() != (city / TAXI_PATH).read_bytes()


def test_manifest_marks_synthetic_and_matches_files(city, manifest):
    assert manifest["synthetic"] is True
    assert manifest["generator"] == "itlake demo generate"
    assert (manifest["seed"], manifest["scale"], manifest["date"]) == (42, 0.05, "2026-11-27")
    files = {f["path"]: f for f in manifest["files"]}
    assert {f["feed"] for f in files.values()} == {"gtfs", "taxi_gps", "waybill", "road_network"} | {
        p.split("/")[0] for p in MOBILITY_PATHS | INFRASTRUCTURE_PATHS | FREIGHT_PATHS | RT_PATHS
    }
    assert files[WAYBILL_PATH]["encoding"] == "gbk"
    assert files[TAXI_PATH]["encoding"] == "utf-8"
    for path, entry in files.items():
        assert hashlib.sha256((city / path).read_bytes()).hexdigest() == entry["sha256"], path

    assert files[TAXI_PATH]["rows"] == TAXI_FIXES + TAXI_DUPLICATES == 21_643
    assert files[WAYBILL_PATH]["rows"] == WAYBILLS
    taxi_lines = (city / TAXI_PATH).read_text(encoding="utf-8").splitlines()
    waybill_lines = (city / WAYBILL_PATH).read_bytes().decode("gbk").splitlines()
    roads = json.loads((city / ROADS_PATH).read_text(encoding="utf-8"))
    gtfs_rows = sum(len(rows) for rows in gtfs_tables(city).values())
    assert len(taxi_lines) - 1 == files[TAXI_PATH]["rows"]
    assert len(waybill_lines) - 1 == files[WAYBILL_PATH]["rows"]
    assert len(roads["features"]) == files[ROADS_PATH]["rows"]
    assert gtfs_rows == files[GTFS_PATH]["rows"]

    kinds = {(d["feed"], d["kind"]) for d in manifest["dirt"]}
    assert kinds == {
        ("taxi_gps", "duplicate_row"),
        ("taxi_gps", "impossible_jump"),
        ("waybill", "unknown_admin_code"),
        ("waybill", "negative_weight"),
        ("waybill", "delivery_before_pickup"),
        ("gbfs_station_status", "negative_vehicle_count"),
        ("ridehail_order", "pickup_before_request"),
        ("ridehail_order", "negative_fare"),
        ("smartcard_tap", "duplicate_row"),
        ("smartcard_tap", "unknown_deal_type"),
        ("bridge_tunnel", "condition_class_7"),
        ("bridge_tunnel", "inspection_in_future"),
        ("transport_hub", "missing_geometry"),
        ("nev_charging_station", "negative_power"),
        ("truck_position", "duplicate_row"),
        ("truck_position", "impossible_jump"),
        ("port_throughput", "bad_month"),
        ("port_throughput", "negative_teu"),
    }


def test_taxi_fixes_follow_the_shenzhen_layout(city, manifest, union):
    text = (city / TAXI_PATH).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == TAXI_HEADER
    rows = [line.split(",") for line in lines[1:]]
    row_re = re.compile(r"^粤B[0-9A-Z]{5},2026-11-27 \d\d:\d\d:\d\d,1\d\d\.\d{6},2\d\.\d{6},[01],\d+$")
    assert all(row_re.match(line) for line in lines[1:])
    assert len({r[0] for r in rows}) == 15
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    times = [dt.datetime.strptime(r[1], "%Y-%m-%d %H:%M:%S") for r in rows]
    assert min(times).date() == max(times).date() == DAY
    assert {r[4] for r in rows} == {"0", "1"}
    assert max(int(r[5]) for r in rows) <= 60

    jumps = dirt_rows(manifest, "taxi_gps", "impossible_jump")
    assert len(jumps) == TAXI_JUMPS
    lon = np.array([float(r[2]) for r in rows])
    lat = np.array([float(r[3]) for r in rows])
    inside = shapely.contains_xy(union, lon, lat)
    outside_rows = set((np.flatnonzero(~inside) + 1).tolist())
    assert outside_rows <= set(jumps)
    for row in jumps:
        this, before = rows[row - 1], rows[row - 2]
        assert this[0] == before[0]
        assert (times[row - 1] - times[row - 2]).total_seconds() == 60
        km = math.hypot((lon[row - 1] - lon[row - 2]) * 102.8, (lat[row - 1] - lat[row - 2]) * 111.2)
        assert 49 < km < 51


def test_taxi_duplicates_are_exactly_the_listed_rows(city, manifest):
    lines = (city / TAXI_PATH).read_text(encoding="utf-8").splitlines()[1:]
    repeated = [i + 1 for i in range(1, len(lines)) if lines[i] == lines[i - 1]]
    assert repeated == dirt_rows(manifest, "taxi_gps", "duplicate_row")
    assert len(repeated) == TAXI_DUPLICATES
    assert len(set(lines)) == TAXI_FIXES


def test_taxis_carry_passengers_on_trips_of_5_to_40_minutes(city):
    lines = (city / TAXI_PATH).read_text(encoding="utf-8").splitlines()[1:]
    by_taxi: dict[str, list[str]] = {}
    for line in dict.fromkeys(lines):
        plate, _, _, _, status, _ = line.split(",")
        by_taxi.setdefault(plate, []).append(status)
    trips = []
    for statuses in by_taxi.values():
        runs = "".join(statuses).split("0")
        trips += [len(run) for run in runs[1:-1] if run]  # runs cut by the day's ends are partial
    assert len(trips) > 15 * 10
    assert min(trips) >= 5 and max(trips) <= 40


def test_waybills_are_gbk_with_the_exact_header(city, manifest):
    raw = (city / WAYBILL_PATH).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw.decode("gbk"))))
    assert ",".join(rows[0]) == WAYBILL_HEADER
    data = rows[1:]
    assert len(data) == WAYBILLS
    assert [r[0] for r in data] == [f"WB20261127{i:06d}" for i in range(1, WAYBILLS + 1)]

    unknown = dirt_rows(manifest, "waybill", "unknown_admin_code")
    assert [i for i, r in enumerate(data, 1) if "999999" in (r[3], r[4])] == unknown == unknown[:1]
    known = [r for i, r in enumerate(data, 1) if i not in unknown]
    assert all({r[3], r[4]} <= KNOWN_CODES for r in known)
    assert all(r[3].startswith("4403") or r[4].startswith("4403") for r in known)
    negative = [i for i, r in enumerate(data, 1) if float(r[6]) <= 0]
    assert negative == dirt_rows(manifest, "waybill", "negative_weight")
    assert all(float(r[7]) > 0 for r in data)
    assert {r[5] for r in data} <= {
        "general",
        "container",
        "bulk",
        "liquid_bulk",
        "cold_chain",
        "dangerous",
        "vehicles",
        "parcels",
    }
    assert {r[8] for r in data} <= {"road", "rail", "water", "air"}
    assert all(re.fullmatch(r"[粤京沪湘川鄂浙闽][A-Z]\d{5}", r[9]) for r in data if r[8] == "road")
    assert all(r[9] == "" for r in data if r[8] != "road")

    late = [i for i, r in enumerate(data, 1) if r[11] and r[11] < r[10]]
    assert late == dirt_rows(manifest, "waybill", "delivery_before_pickup")
    assert len(late) == 1
    assert all(r[10].startswith("2026-11-27 ") for r in data)
    assert any(r[11] == "" for r in data)


def test_gtfs_feed_is_valid_for_the_day(city, union):
    tables = gtfs_tables(city)
    assert {
        "agency.txt",
        "stops.txt",
        "routes.txt",
        "trips.txt",
        "stop_times.txt",
        "calendar.txt",
        "calendar_dates.txt",
        "shapes.txt",
        "feed_info.txt",
    } <= set(tables)
    routes = tables["routes.txt"]
    assert sorted(r["route_type"] for r in routes) == ["1", "3", "3"]
    route_ids = {r["route_id"] for r in routes}
    assert {t["route_id"] for t in tables["trips.txt"]} == route_ids
    assert {t["shape_id"] for t in tables["trips.txt"]} == {s["shape_id"] for s in tables["shapes.txt"]}

    stops = tables["stops.txt"]
    assert list(stops[0]) == [
        "stop_id",
        "stop_code",
        "stop_name",
        "stop_lat",
        "stop_lon",
        "location_type",
        "parent_station",
    ]
    name_re = re.compile(r"(罗湖|福田|南山|宝安|龙岗|盐田|龙华|坪山|光明|大鹏)(地铁)?站\d+")
    assert all(name_re.fullmatch(s["stop_name"]) for s in stops)
    lon = np.array([float(s["stop_lon"]) for s in stops])
    lat = np.array([float(s["stop_lat"]) for s in stops])
    assert shapely.contains_xy(union, lon, lat).all()

    calendar = tables["calendar.txt"][0]
    assert calendar["start_date"] <= "20261127" <= calendar["end_date"] and calendar["friday"] == "1"
    assert "20261127" not in {d["date"] for d in tables["calendar_dates.txt"]}

    def seconds(hms: str) -> int:
        h, m, s = map(int, hms.split(":"))
        return 3600 * h + 60 * m + s

    by_trip: dict[str, list[dict]] = {}
    for st in tables["stop_times.txt"]:
        by_trip.setdefault(st["trip_id"], []).append(st)
    assert set(by_trip) == {t["trip_id"] for t in tables["trips.txt"]}
    for trip_id, visits in by_trip.items():
        assert [int(v["stop_sequence"]) for v in visits] == list(range(1, len(visits) + 1)), trip_id
        clock = [seconds(t) for v in visits for t in (v["arrival_time"], v["departure_time"])]
        assert clock == sorted(clock), trip_id
        assert 6 * 3600 <= clock[0] <= 23 * 3600
    headways = sorted(seconds(v[0]["departure_time"]) for k, v in by_trip.items() if k.startswith("B001_0_"))
    assert {b - a for a, b in zip(headways, headways[1:], strict=False)} <= set(range(600, 1201, 60))


def test_metro_taps_are_at_stations_of_the_gtfs_metro_line(city):
    """Smart-card metro taps name a station of the demo GTFS, on the line it belongs to, so gold
    can place each boarding in a district by the stop's name."""
    tables = gtfs_tables(city)
    (metro,) = [r for r in tables["routes.txt"] if r["route_type"] == "1"]
    stop_names = {s["stop_id"]: s["stop_name"] for s in tables["stops.txt"]}
    trip = f"{metro['route_id']}_0_001"
    stations = {stop_names[t["stop_id"]] for t in tables["stop_times.txt"] if t["trip_id"] == trip}
    text = (city / "smartcard_tap/2026-11-27/smartcard_tap_20261127.csv").read_text("utf-8-sig")
    metro_taps = [r for r in csv.DictReader(io.StringIO(text)) if r["deal_type"] in ("地铁入站", "地铁出站")]
    assert len(metro_taps) > 100
    assert {r["company_name"] for r in metro_taps} == {f"地铁{metro['route_short_name']}"}
    assert {r["station"] for r in metro_taps} <= stations
    assert len({r["station"] for r in metro_taps}) > len(stations) // 2


def test_roads_are_linestrings_with_the_expected_properties(city, manifest, union):
    roads = json.loads((city / ROADS_PATH).read_text(encoding="utf-8"))
    assert roads["type"] == "FeatureCollection"
    features = roads["features"]
    assert 30 <= len(features) <= 50  # ~800 x 0.05
    ids = [f["properties"]["road_id"] for f in features]
    assert ids == [f"R{i:06d}" for i in range(1, len(features) + 1)]
    minx, miny, maxx, maxy = union.bounds
    for f in features:
        props = f["properties"]
        assert set(props) == {"road_id", "name", "road_class", "lanes", "speed_limit_kmh"}
        assert props["road_class"] in ROAD_CLASSES
        assert 1 <= props["lanes"] <= 8 and 30 <= props["speed_limit_kmh"] <= 120
        assert f["geometry"]["type"] == "LineString"
        for x, y in f["geometry"]["coordinates"]:
            assert minx <= x <= maxx and miny <= y <= maxy


def test_cli_generate_prints_one_line_per_file(tmp_path):
    from itlake.cli.demo import app

    result = CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path), "--scale", "0.02", "--seed", "3", "--date", "2026-01-05"]
    )
    assert result.exit_code == 0, result.output
    assert "taxi_gps/2026-01-05/taxi_gps_20260105.csv  8,657 rows" in result.output  # 6 x 1440 + 17 copies
    assert "waybill/2026-01-05/waybill_20260105.csv  100 rows" in result.output
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["date"] == "2026-01-05"


def test_cli_rejects_a_bad_date(tmp_path):
    from itlake.cli.demo import app

    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--date", "27/11/2026"])
    assert result.exit_code != 0
    assert not (tmp_path / "manifest.json").exists()
