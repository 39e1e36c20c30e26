"""The open datasets beyond taxi OD, speeds and roads, released end to end on one small lake.

One lake is built for the module from a handful of rows per source table (ride-hailing orders,
smart-card trips and unmatched taps, GTFS stops, bike availability and stations, hubs, charging
stations, port statistics, freight corridors, bridge counts); each dataset is released once with
k = 3 and its CSV compared with rows worked out by hand below.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from datetime import date, datetime
from pathlib import Path

import pytest

from itlake.catalog.contracts import load_contract, load_contracts
from itlake.config import DEMO_PSEUDONYM_KEY
from itlake.lake.root import use_lake

DAY = date(2026, 11, 27)
K = 3
FUTIAN, NANSHAN = (114.05, 22.545), (113.93, 22.54)
NEW_DATASETS = (
    "od_ridehail_hourly",
    "od_transit_hourly",
    "boardings_station_day",
    "bike_availability_station_hour",
    "public_hub_inventory",
    "public_charging_stations",
    "bridge_condition_district",
    "freight_corridor_month",
    "port_throughput_month",
)


def utc(hour: int, minute: int, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute)


def pseudonym(value: str) -> str:
    return hmac.new(DEMO_PSEUDONYM_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


PASSENGER, DRIVER, PLATE, CARD = (pseudonym(v) for v in ("13800000000", "440300199001010000", "粤B1", "2901"))


def order_rows():
    orders = [  # (order id, status, pickup time, pickup place, destination)
        ("o1", "completed", utc(1, 5), FUTIAN, NANSHAN),
        ("o2", "completed", utc(1, 20), FUTIAN, NANSHAN),
        ("o3", "completed", utc(1, 55), FUTIAN, NANSHAN),  # 3 Futian -> Nanshan at 01:00: released
        ("o4", "completed", utc(1, 30), NANSHAN, FUTIAN),  # 1 trip: withheld
        ("o5", "cancelled_by_passenger", None, FUTIAN, NANSHAN),  # carried nobody
        ("o6", "completed", utc(17, 0), FUTIAN, NANSHAN),  # 01:00 on the 28th in Shenzhen: next day
    ]
    return [
        {
            "order_id": oid,
            "company_id": "didi",
            "passenger_id": PASSENGER,
            "driver_id": DRIVER,
            "plate_id": PLATE,
            "order_time": utc(1, 0),
            "order_date": DAY,
            "accept_time": None,
            "pickup_time": pickup,
            "dropoff_time": None if pickup is None else pickup.replace(minute=pickup.minute + 2),
            "cancel_time": utc(1, 3) if pickup is None else None,
            "status": status,
            "pickup_lon": o[0],
            "pickup_lat": o[1],
            "dropoff_lon": d[0],
            "dropoff_lat": d[1],
            "distance_m": 15000.0,
            "fare_cny": 40.0,
            "src_pickup_lon": o[0],
            "src_pickup_lat": o[1],
            "src_dropoff_lon": d[0],
            "src_dropoff_lat": d[1],
            "src_crs": "WGS-84",
        }
        for oid, status, pickup, o, d in orders
    ]


def card_trip_rows():
    trips = [  # (mode, entry time, entry station, exit station)
        ("metro", utc(0, 10), "车公庙", "深大"),
        ("metro", utc(0, 20), "车公庙", "深大"),
        ("metro", utc(0, 50), "车公庙", "深大"),  # 3 Futian -> Nanshan at 00:00: released
        ("metro", utc(0, 30), "深大", "车公庙"),  # 00:00 Nanshan -> Futian: 1, withheld
        ("metro", utc(1, 10), "深大", "车公庙"),  # 01:00 Nanshan -> Futian: 1, withheld
        ("metro", utc(2, 0), "罗湖", "深大"),
        ("metro", utc(2, 5), "罗湖", "深大"),
        ("metro", utc(2, 9), "罗湖", "深大"),  # 罗湖 has no GTFS stop: no district, no OD cell
        ("bus", utc(0, 15), None, None),  # one tap on boarding: no stop, no destination
    ]
    return [
        {
            "trip_id": f"c{i}",
            "card_id": CARD,
            "service_date": DAY,
            "mode": mode,
            "entry_time": entry,
            "exit_time": None if mode == "bus" else entry.replace(minute=entry.minute + 5),
            "entry_station": a,
            "exit_station": b,
            "entry_line": "巴士集团" if mode == "bus" else "地铁一号线",
            "exit_line": None if mode == "bus" else "地铁一号线",
            "vehicle_no": "粤B00001D" if mode == "bus" else None,
            "duration_s": None if mode == "bus" else 300,
            "fare_cny": 2.0,
        }
        for i, (mode, entry, a, b) in enumerate(trips)
    ]


def unmatched_tap_rows():
    taps = [  # an entry with no exit is still a boarding; an exit with no entry is not
        (utc(3, 0), "metro_entry", "车公庙", "entry_without_exit"),
        (utc(3, 30), "metro_exit", "深大", "exit_without_entry"),
    ]
    return [
        {
            "card_id": CARD,
            "service_date": DAY,
            "tap_time": t,
            "tap_type": kind,
            "line_name": "地铁一号线",
            "station_name": station,
            "device_id": f"d{i}",
            "reason": reason,
        }
        for i, (t, kind, station, reason) in enumerate(taps)
    ]


def gtfs_stop_rows():
    stops = [  # two platforms of 车公庙 (averaged, in Futian), one of 深大 (Nanshan)
        ("s1", "车公庙", 114.0495, 22.545),
        ("s2", "车公庙", 114.0505, 22.545),
        ("s3", "深大", NANSHAN[0], NANSHAN[1]),
    ]
    return [
        {
            "feed_version": "v1",
            "stop_id": sid,
            "stop_code": None,
            "stop_name": name,
            "stop_lat": lat,
            "stop_lon": lon,
            "location_type": 0,
            "parent_station": None,
        }
        for sid, name, lon, lat in stops
    ]


def bike_interval_rows():
    intervals = [  # (station, start, mean, min, max, docks mean, docks min, reports)
        ("b1", utc(1, 0), 4.0, 3, 5, 6.0, 5, 2),
        ("b1", utc(1, 15), 6.0, 6, 6, 4.0, 4, 0),
        ("b1", utc(1, 30), 2.5, 1, 4, 7.5, 6, 3),
        ("b2", utc(2, 45), 0.0, 0, 0, None, None, 1),  # a station station_information lacks
    ]
    return [
        {
            "system_id": "sz",
            "station_id": sid,
            "service_date": DAY,
            "interval_start": start,
            "zone_id": "440304",
            "bikes_available_mean": mean,
            "bikes_available_min": low,
            "bikes_available_max": high,
            "docks_available_mean": docks,
            "docks_available_min": docks_low,
            "reports": reports,
        }
        for sid, start, mean, low, high, docks, docks_low, reports in intervals
    ]


def bike_station_rows():
    return [
        {
            "system_id": "sz",
            "station_id": "b1",
            "station_name": "市民中心",
            "lat": FUTIAN[1],
            "lon": FUTIAN[0],
            "capacity": 12,
            "region_id": None,
            "last_updated": utc(0, 0),
            "gbfs_version": "2.3",
        }
    ]


def point(lon: float, lat: float) -> bytes:
    import shapely

    return shapely.to_wkb(shapely.Point(lon, lat))


def hub_rows():
    return [
        {
            "hub_id": "H001",
            "hub_name": "福田站",
            "hub_type": "rail_station",
            "district_code": "440304",
            "opened_date": date(2015, 12, 30),
            "lon": 114.0556,
            "lat": 22.5375,
            "geometry": point(114.0556, 22.5375),
            "src_lon": 114.0612,
            "src_lat": 22.5347,
            "src_crs": "GCJ-02",
        }
    ]


def charging_rows():
    return [
        {
            "station_id": "CS01",
            "station_name": "深南充电站",
            "operator": "特来电",
            "district_code": "440305",
            "connectors": 10,
            "dc_connectors": 6,
            "ac_connectors": 4,
            "max_power_kw": 120.0,
            "total_power_kw": 748.0,
            "open_24h": True,
            "lon": NANSHAN[0],
            "lat": NANSHAN[1],
            "geometry": point(*NANSHAN),
            "src_lon": 113.9356,
            "src_lat": 22.5372,
            "src_crs": "GCJ-02",
        }
    ]


def port_rows():
    months = [(date(2026, 10, 1), 1200000, 8.5e6), (date(2026, 11, 1), 1300000, 9.0e6)]
    months += [(date(2026, 12, 1), 9, 9.0)]  # after the logical date's month: not known yet
    return [
        {
            "port_code": "CNSZX",
            "port_name": "深圳港",
            "month": month,
            "direction": "inbound",
            "trade": "foreign",
            "teu": teu,
            "tonnage_t": tonnes,
        }
        for month, teu, tonnes in months
    ]


def corridor_rows():
    cells = [  # (month, destination, cargo class, shipments, tonnes, tonne-km)
        (date(2026, 10, 1), "440100", "general", 5, 50.0, 6000.0),
        (date(2026, 11, 1), "440100", "general", 12, 120.0, 14400.0),
        (date(2026, 11, 1), "310000", "dangerous", 2, 30.0, 36000.0),  # 2 waybills: withheld
        (date(2026, 12, 1), "440100", "general", 7, 70.0, 8400.0),  # next month: not yet
    ]
    return [
        {
            "month": month,
            "origin_city_code": "440300",
            "destination_city_code": dest,
            "cargo_class": cargo,
            "mode": "road",
            "shipments": n,
            "tonnage_t": t,
            "tonne_km": tkm,
        }
        for month, dest, cargo, n, t, tkm in cells
    ]


def bridge_count_rows():
    import shapely

    futian_box = shapely.to_wkb(shapely.MultiPolygon([shapely.box(114.0, 22.5, 114.1, 22.6)]))
    counts = [  # (as of, district, name, type, classes 1-5)
        (date(2025, 11, 27), "440304", "福田区", "bridge", (9, 0, 0, 0, 0)),  # an older survey
        (DAY, "440304", "福田区", "bridge", (3, 2, 1, 1, 1)),
        (DAY, "440305", "南山区", "tunnel", (2, 0, 0, 0, 0)),
    ]
    return [
        {
            "as_of_date": as_of,
            "district_code": code,
            "district_name": name,
            "structure_type": kind,
            "structures": sum(classes),
            "class_1_structures": classes[0],
            "class_2_structures": classes[1],
            "class_3_structures": classes[2],
            "class_4_structures": classes[3],
            "class_5_structures": classes[4],
            "class_4_5_share": (classes[3] + classes[4]) / sum(classes),
            "total_length_m": 100.0 * sum(classes),
            "oldest_inspection_date": date(2024, 3, 1),
            "geometry": futian_box,
        }
        for as_of, code, name, kind, classes in counts
    ]


SOURCES = {
    "ridehail_order": order_rows,
    "smartcard_trip": card_trip_rows,
    "smartcard_unmatched_tap": unmatched_tap_rows,
    "gtfs_stop": gtfs_stop_rows,
    "bike_station_availability_15min": bike_interval_rows,
    "gbfs_station_information": bike_station_rows,
    "transport_hub": hub_rows,
    "nev_charging_station": charging_rows,
    "port_throughput": port_rows,
    "freight_corridor_flow": corridor_rows,
    "bridge_condition_by_district": bridge_count_rows,
}


@pytest.fixture(scope="module")
def released(spark, tmp_path_factory):
    """A lake with every source table, and each new dataset released once (k = 3)."""
    from itlake.lake.delta import append
    from itlake.lake.paths import table_path
    from itlake.publish.flow import publish

    with use_lake(tmp_path_factory.mktemp("open-datasets") / "lake"):
        for name, rows in SOURCES.items():
            contract = load_contract(name)
            append(
                spark.createDataFrame(rows(), contract.spark_schema()),
                table_path(contract.layer, name),
                partition_by=contract.partition_by or None,
            )
        publications = {name: publish(spark, name, DAY, K) for name in NEW_DATASETS}
        yield publications


def read_csv(publication) -> list[dict]:
    with (Path(publication.path) / "data.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def figures(publication) -> tuple:
    return publication.status, publication.rows, publication.suppressed_cells, publication.suppressed_trips


def test_ridehail_od_counts_completed_trips_of_the_service_day(released):
    od = released["od_ridehail_hourly"]
    assert figures(od) == ("released", 1, 1, 1)
    assert read_csv(od) == [
        {
            "service_date": "2026-11-27",
            "hour_start": "2026-11-27T01:00:00Z",
            "origin_zone_id": "440304",
            "destination_zone_id": "440305",
            "trips": "3",
        }
    ]
    readme = (Path(od.path) / "README.md").read_text(encoding="utf-8")
    assert "Cells with fewer than k=3 trips are suppressed: 1 cells holding 1 trips were withheld" in readme


def test_transit_od_places_stations_by_gtfs_stop_name(released):
    od = released["od_transit_hourly"]
    # 深大 -> 车公庙 at 00:00 and at 01:00, one trip each; 罗湖 and the bus trip are in no cell.
    assert figures(od) == ("released", 1, 2, 2)
    assert read_csv(od) == [
        {
            "service_date": "2026-11-27",
            "hour_start": "2026-11-27T00:00:00Z",
            "origin_zone_id": "440304",
            "destination_zone_id": "440305",
            "trips": "3",
        }
    ]


def test_boardings_count_every_metro_entry_tap(released):
    boardings = released["boardings_station_day"]
    # 车公庙: 3 trips + 1 entry without exit; 罗湖: 3 (no GTFS stop: no district); 深大: 2, withheld.
    assert figures(boardings) == ("released", 2, 1, 2)
    assert read_csv(boardings) == [
        {
            "service_date": "2026-11-27",
            "line_name": "地铁一号线",
            "station_name": "罗湖",
            "zone_id": "",
            "boardings": "3",
        },
        {
            "service_date": "2026-11-27",
            "line_name": "地铁一号线",
            "station_name": "车公庙",
            "zone_id": "440304",
            "boardings": "4",
        },
    ]
    readme = (Path(boardings.path) / "README.md").read_text(encoding="utf-8")
    assert "Cells with fewer than k=3 boardings are suppressed: 1 cells holding 2 boardings" in readme


def test_bike_availability_by_station_and_hour_is_spatial(released):
    import geopandas as gpd

    bikes = released["bike_availability_station_hour"]
    assert figures(bikes) == ("released", 2, 0, 0)
    # b1 01:00: means 4.0, 6.0, 2.5 -> 4.17; docks 6.0, 4.0, 7.5 -> 5.83.
    assert read_csv(bikes) == [
        {
            "system_id": "sz",
            "station_id": "b1",
            "service_date": "2026-11-27",
            "hour_start": "2026-11-27T01:00:00Z",
            "station_name": "市民中心",
            "zone_id": "440304",
            "bikes_available_mean": "4.17",
            "bikes_available_min": "1",
            "bikes_available_max": "6",
            "docks_available_mean": "5.83",
            "docks_available_min": "4",
            "intervals": "3",
            "lon": "114.05",
            "lat": "22.545",
            "geometry": "POINT (114.05 22.545)",
        },
        {
            "system_id": "sz",
            "station_id": "b2",
            "service_date": "2026-11-27",
            "hour_start": "2026-11-27T02:00:00Z",
            "station_name": "",
            "zone_id": "440304",
            "bikes_available_mean": "0.0",
            "bikes_available_min": "0",
            "bikes_available_max": "0",
            "docks_available_mean": "",
            "docks_available_min": "",
            "intervals": "1",
            "lon": "",
            "lat": "",
            "geometry": "",
        },
    ]
    geo = gpd.read_file(Path(bikes.path) / "data.geojson")
    assert geo.geometry.to_wkt().tolist() == ["POINT (114.05 22.545)", None]


def test_hubs_and_charging_stations_leave_the_audit_columns_in_the_lake(released):
    hubs, charging = released["public_hub_inventory"], released["public_charging_stations"]
    assert read_csv(hubs) == [
        {
            "hub_id": "H001",
            "hub_name": "福田站",
            "hub_type": "rail_station",
            "district_code": "440304",
            "opened_date": "2015-12-30",
            "lon": "114.0556",
            "lat": "22.5375",
            "geometry": "POINT (114.0556 22.5375)",
        }
    ]
    assert read_csv(charging) == [
        {
            "station_id": "CS01",
            "station_name": "深南充电站",
            "operator": "特来电",
            "district_code": "440305",
            "connectors": "10",
            "dc_connectors": "6",
            "ac_connectors": "4",
            "max_power_kw": "120.0",
            "total_power_kw": "748.0",
            "open_24h": "True",
            "lon": "113.93",
            "lat": "22.54",
            "geometry": "POINT (113.93 22.54)",
        }
    ]
    for publication in (hubs, charging):
        names = {p.name for p in Path(publication.path).iterdir()}
        assert {"data.geojson", "data.geoparquet", "dcat.jsonld", "SHA256SUMS"} <= names


def test_bridges_are_released_as_district_by_condition_counts_only(released):
    bridges = released["bridge_condition_district"]
    assert figures(bridges) == ("released", 2, 0, 0)
    rows = read_csv(bridges)
    assert [
        (r["as_of_date"], r["zone_id"], r["structure_type"], r["structures"], r["class_5_structures"])
        for r in rows
    ] == [("2026-11-27", "440304", "bridge", "8", "1"), ("2026-11-27", "440305", "tunnel", "2", "0")]
    assert "geometry" not in rows[0] and "oldest_inspection_date" not in rows[0]
    assert "zones.geojson" in {p.name for p in Path(bridges.path).iterdir()}


def test_freight_corridors_withhold_cells_of_few_waybills(released):
    corridors = released["freight_corridor_month"]
    assert figures(corridors) == ("released", 2, 1, 2)
    assert [
        (r["month"], r["destination_city_code"], r["shipments"], r["tonnage_t"]) for r in read_csv(corridors)
    ] == [
        ("2026-10-01", "440100", "5", "50.0"),
        ("2026-11-01", "440100", "12", "120.0"),
    ]


def test_port_throughput_up_to_the_logical_month(released):
    ports = released["port_throughput_month"]
    assert figures(ports) == ("released", 2, 0, 0)
    assert [(r["month"], r["teu"], r["tonnage_t"]) for r in read_csv(ports)] == [
        ("2026-10-01", "1200000", "8500000.0"),
        ("2026-11-01", "1300000", "9000000.0"),
    ]


def test_no_pseudonym_or_personal_column_and_no_cell_under_k_is_released(released):
    personal = {c for contract in load_contracts().values() for c in contract.pii_columns("indirect")}
    for name, publication in released.items():
        text = (Path(publication.path) / "data.csv").read_text(encoding="utf-8")
        assert set(text.splitlines()[0].split(",")).isdisjoint(personal), name
        assert not any(p in text for p in (PASSENGER, DRIVER, PLATE, CARD)), name
        assert "src_lon" not in text and "src_crs" not in text, name
    from itlake.publish.datasets import get_dataset

    for name, publication in released.items():
        column = get_dataset(name).K_COLUMN
        if column is not None:
            assert all(int(r[column]) >= K for r in read_csv(publication)), name
