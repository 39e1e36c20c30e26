"""GTFS-Realtime: FeedMessages built by hand, read, joined to the static version in force, noticed."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from google.transit import gtfs_realtime_pb2 as rt

from itlake.catalog.resources import load_catalog
from itlake.feeds import BatchContext, FeedError
from itlake.feeds.gtfs_rt_trip_update import FEED as TRIP_UPDATES
from itlake.feeds.gtfs_rt_vehicle_position import FEED as POSITIONS
from itlake.ingest.flow import ingest_file
from itlake.lake.system import read_system
from itlake.lake.tables import read_lake_table

DAY = date(2026, 11, 27)
FEED_TIME = int(datetime(2026, 11, 27, 0, 5, tzinfo=UTC).timestamp())  # 08:05 in Shenzhen

# A static feed of one route R1 with trips T1 and T2 over stops S1-S3.
STATIC = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Demo Bus,https://example.com,Asia/Shanghai\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "S1,One,22.54,114.05\nS2,Two,22.55,114.06\nS3,Three,22.56,114.07\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\n",
    "trips.txt": "route_id,service_id,trip_id\nR1,DAILY,T1\nR1,DAILY,T2\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,S1,1\nT1,08:06:00,08:06:30,S2,2\nT1,08:12:00,08:12:00,S3,3\n"
    "T2,08:30:00,08:30:00,S1,1\nT2,08:36:00,08:36:00,S3,2\n",
    "calendar_dates.txt": "service_id,date,exception_type\nDAILY,20261127,1\n",
}


def context(name: str) -> BatchContext:
    return BatchContext("rt-test", "f" * 64, name, DAY, b"k", "utf-8", "WGS-84", "Asia/Shanghai")


def vehicle_positions() -> rt.FeedMessage:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = FEED_TIME
    on_trip = message.entity.add(id="e1").vehicle
    on_trip.vehicle.id = "V1"
    on_trip.trip.trip_id = "T1"  # no route: silver takes R1 from the static trip
    on_trip.position.latitude, on_trip.position.longitude = 22.545, 114.055
    on_trip.position.bearing, on_trip.position.speed = 90.0, 8.5
    on_trip.timestamp = FEED_TIME - 10
    on_trip.stop_id, on_trip.current_stop_sequence = "S2", 2
    on_trip.current_status = rt.VehiclePosition.IN_TRANSIT_TO
    unknown = message.entity.add(id="e2").vehicle
    unknown.vehicle.id = "V2"
    unknown.trip.trip_id, unknown.trip.route_id = "TX", "R1"
    unknown.position.latitude, unknown.position.longitude = 22.56, 114.07
    unknown.timestamp = FEED_TIME - 20
    unknown.stop_id = "S9"
    idle = message.entity.add(id="e3").vehicle
    idle.vehicle.id = "V3"
    idle.position.latitude, idle.position.longitude = 22.50, 114.00
    idle.timestamp = FEED_TIME
    message.entity.add(id="alert").alert.header_text.translation.add(text="detour")  # not a position
    return message


def trip_updates() -> rt.FeedMessage:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = FEED_TIME
    late = message.entity.add(id="u1").trip_update
    late.trip.trip_id = "T1"
    late.vehicle.id = "V1"
    second = late.stop_time_update.add(stop_sequence=2, stop_id="S2")
    second.arrival.delay = 60
    third = late.stop_time_update.add(stop_sequence=3, stop_id="S3")
    third.arrival.time = FEED_TIME + 480
    cancelled = message.entity.add(id="u2").trip_update
    cancelled.trip.trip_id, cancelled.trip.start_date = "T2", "20261127"
    cancelled.trip.schedule_relationship = rt.TripDescriptor.CANCELED
    stranger = message.entity.add(id="u3").trip_update
    stranger.trip.trip_id = "TZ"
    stranger.stop_time_update.add(stop_sequence=1, stop_id="S1").departure.delay = -30
    return message


def write(path: Path, message) -> Path:
    path.write_bytes(message.SerializeToString())
    return path


def test_read_keeps_each_position_and_each_stop_update_as_received(tmp_path):
    [positions] = POSITIONS.read(write(tmp_path / "vp.pb", vehicle_positions()), context("vp.pb")).values()
    rows = positions.to_pylist()
    assert [r["vehicle.vehicle.id"] for r in rows] == ["V1", "V2", "V3"]
    first = rows[0]
    assert (first["vehicle.timestamp"], first["vehicle.trip.route_id"], first["vehicle.current_status"]) == (
        str(FEED_TIME - 10),
        None,
        "IN_TRANSIT_TO",
    )
    assert (rows[2]["vehicle.trip.trip_id"], rows[2]["vehicle.position.bearing"]) == (None, None)

    [updates] = TRIP_UPDATES.read(write(tmp_path / "tu.pb", trip_updates()), context("tu.pb")).values()
    got = [
        (
            r["trip_update.trip.trip_id"],
            r["update_index"],
            r["stop_time_update.stop_id"],
            r["stop_time_update.arrival.delay"],
            r["trip_update.trip.schedule_relationship"],
        )
        for r in updates.to_pylist()
    ]
    assert got == [
        ("T1", "0", "S2", "60", "SCHEDULED"),
        ("T1", "1", "S3", None, "SCHEDULED"),
        ("T2", "0", None, None, "CANCELED"),
        ("TZ", "0", "S1", None, "SCHEDULED"),
    ]


def test_a_zip_of_snapshots_is_read_and_garbage_is_refused(tmp_path):
    later = vehicle_positions()
    later.header.timestamp = FEED_TIME + 300
    for entity in later.entity:
        if entity.HasField("vehicle"):
            entity.vehicle.timestamp += 300
    archive = tmp_path / "vp_0800.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("0805.pb", vehicle_positions().SerializeToString())
        zf.writestr("0810.pb", later.SerializeToString())
    [table] = POSITIONS.read(archive, context(archive.name)).values()
    assert table.num_rows == 6
    assert table.column("_row_number").to_pylist() == [1, 2, 3, 4, 5, 6]

    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff\xff\xff not protobuf")
    with pytest.raises(FeedError, match=r"junk.pb: not a GTFS-Realtime FeedMessage"):
        POSITIONS.read(junk, context(junk.name))


def test_without_a_static_feed_in_force_one_notice_says_so(spark, lake, tmp_path):
    tables = POSITIONS.read(write(tmp_path / "vp.pb", vehicle_positions()), context("vp.pb"))
    [notice] = POSITIONS.validate(tables, context("vp.pb"))
    assert (notice.code, notice.severity, notice.row_number, notice.feed_version) == (
        "no_static_feed_in_force",
        "WARNING",
        None,
        None,
    )


def test_realtime_joins_the_static_version_in_force_and_notices_unknown_ids(spark, lake, tmp_path):
    catalog = load_catalog()
    static = tmp_path / "static.zip"
    with zipfile.ZipFile(static, "w") as zf:
        for name, text in STATIC.items():
            zf.writestr(name, text)
    version = ingest_file(spark, catalog.get("gtfs"), static, DAY)[0].sha256

    [vp] = ingest_file(
        spark, catalog.get("gtfs_rt_vehicle_position"), write(tmp_path / "vp.pb", vehicle_positions()), DAY
    )
    assert (vp.status, vp.rows_read, vp.rows_promoted) == ("promoted", 3, 3)
    positions = {r.vehicle_id: r for r in read_lake_table(spark, "gtfs_rt_vehicle_position").collect()}
    v1 = positions["V1"]
    assert (v1.trip_id, v1.route_id, v1.static_feed_version, v1.lon, v1.lat) == (
        "T1",
        "R1",
        version,
        pytest.approx(114.055),
        pytest.approx(22.545),
    )
    assert (v1.bearing_deg, v1.speed_mps, v1.stop_id, v1.current_status) == (90.0, 8.5, "S2", "IN_TRANSIT_TO")
    assert v1.position_time == datetime(2026, 11, 27, 0, 4, 50)
    assert str(v1.position_date) == "2026-11-27"
    assert (positions["V3"].trip_id, positions["V3"].route_id) == (None, None)

    [tu] = ingest_file(
        spark, catalog.get("gtfs_rt_trip_update"), write(tmp_path / "tu.pb", trip_updates()), DAY
    )
    assert (tu.status, tu.rows_read, tu.rows_promoted) == ("promoted", 4, 4)
    updates = {
        (r.trip_id, r.update_index): r for r in read_lake_table(spark, "gtfs_rt_trip_update").collect()
    }
    t1 = updates[("T1", 1)]
    assert (t1.stop_id, t1.route_id, str(t1.start_date), t1.arrival_time) == (
        "S3",
        "R1",
        "2026-11-27",
        datetime(2026, 11, 27, 0, 13),
    )
    assert (updates[("T2", 0)].trip_schedule_relationship, updates[("T2", 0)].stop_id) == ("CANCELED", None)
    assert updates[("TZ", 0)].departure_delay_s == -30

    notices = read_system(spark, "feed_notices").where("feed LIKE 'gtfs_rt%'").collect()
    assert sorted((n.feed, n.code, n.severity, n.row_number, n.value, n.feed_version) for n in notices) == [
        ("gtfs_rt_trip_update", "unknown_trip_id", "WARNING", 4, "TZ", version),
        ("gtfs_rt_vehicle_position", "unknown_stop_id", "WARNING", 2, "S9", version),
        ("gtfs_rt_vehicle_position", "unknown_trip_id", "WARNING", 2, "TX", version),
    ]


def test_the_demo_feeds_match_the_demo_timetable(tmp_path):
    import csv
    import io

    from itlake.demo.city import build_city
    from itlake.demo.gtfs import write_gtfs
    from itlake.demo.gtfs_rt import write_gtfs_rt

    city = build_city(42)
    static = write_gtfs(tmp_path, city, scale=0.05, seed=42, date=DAY)
    outputs = write_gtfs_rt(tmp_path, city, scale=0.05, seed=42, date=DAY)
    assert sorted(o.path.name for o in outputs) == sorted(
        f"{kind}_20261127T{hour:02d}.zip"
        for kind in ("vehicle_positions", "trip_updates")
        for hour in (7, 8, 9)
    )
    with zipfile.ZipFile(static.path) as zf:
        table = {
            n: list(csv.DictReader(io.StringIO(zf.read(n).decode()))) for n in ("trips.txt", "stops.txt")
        }
    trips = {t["trip_id"]: t["route_id"] for t in table["trips.txt"]}
    stops = {s["stop_id"] for s in table["stops.txt"]}
    seven, ten = FEED_TIME - 5 * 60 - 3600, FEED_TIME - 5 * 60 + 2 * 3600  # 07:00 and 10:00 local
    for out in outputs:
        feed = POSITIONS if "vehicle" in out.path.name else TRIP_UPDATES
        [rows] = feed.read(out.path, context(out.path.name)).values()
        assert rows.num_rows == out.rows > 0
        records = rows.to_pylist()
        if feed is POSITIONS:
            assert all(trips[r["vehicle.trip.trip_id"]] == r["vehicle.trip.route_id"] for r in records)
            assert all(r["vehicle.stop_id"] in stops for r in records)
            assert all(seven <= int(r["vehicle.timestamp"]) < ten for r in records)
            assert all(113.7 < float(r["vehicle.position.longitude"]) < 114.7 for r in records)
            assert all(0 <= float(r["vehicle.position.speed"]) < 30 for r in records)
        else:
            assert all(r["trip_update.trip.trip_id"] in trips for r in records)
            assert all(
                r["stop_time_update.stop_id"] in stops for r in records if r["stop_time_update.stop_id"]
            )
            cancelled = {
                r["trip_update.trip.trip_id"]
                for r in records
                if r["trip_update.trip.schedule_relationship"] == "CANCELED"
            }
            assert len(cancelled) == 1
            assert all(
                0 <= int(r["stop_time_update.arrival.delay"]) <= 300
                for r in records
                if r["stop_time_update.stop_id"]
            )
