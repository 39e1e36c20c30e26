"""Several GTFS publishers in one lake: each version carries its feed's identity, the active version
of a feed on a date is one query, and GTFS-Realtime joins the static feed of its own publisher.

Two publishers, each named by a source profile of a test-local copy of the catalogue:
- `demo_transit` (feed demo-transit): tests/fixtures/sample_gtfs.zip as published with gtfs_kit
  (agency "Demo Transit Authority", an empty feed_info.txt, calendar 2007-01-01 to 2010-12-31);
- `sz_demo_bus` (feed sz-demo-bus): a one-route feed written here (agency "Demo Bus", route R1
  with trips T1 and T2, service on 2026-11-27 only, then a second version adding 2026-11-28).
The first sz-demo-bus version is ingested for 26 November, demo-transit's for 27 November, the
second sz-demo-bus version for 28 November: on the 27th the newest version in the lake belongs
to the other publisher, so a realtime feed joined by date alone would join the wrong timetable.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from google.transit import gtfs_realtime_pb2 as rt

from itlake.catalog.resources import load_catalog
from itlake.config import get_settings
from itlake.ingest.flow import ingest_paths, plan
from itlake.lake.system import read_system
from itlake.lake.tables import read_lake_table
from itlake.query import sql

REPO = Path(__file__).resolve().parents[1]
FEED_TIME = int(datetime(2026, 11, 27, 0, 5, tzinfo=UTC).timestamp())  # 08:05 in Shenzhen
BUS = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Demo Bus,https://example.com,Asia/Shanghai\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nS1,One,22.54,114.05\nS2,Two,22.55,114.06\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\n",
    "trips.txt": "route_id,service_id,trip_id\nR1,DAILY,T1\nR1,DAILY,T2\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,S1,1\nT1,08:06:00,08:06:30,S2,2\nT2,08:30:00,08:30:00,S1,1\n",
    "calendar_dates.txt": "service_id,date,exception_type\nDAILY,20261127,1\n",
}
# The publisher's next version adds a service day.
BUS_NEXT = {**BUS, "calendar_dates.txt": BUS["calendar_dates.txt"] + "DAILY,20261128,1\n"}

# The "active version of each feed on a date" query of docs/feeds/gtfs.md.
ACTIVE = """
SELECT feed_id, feed_version, publisher_name, logical_date, service_start_date, service_end_date
FROM (
  SELECT *, row_number() OVER (PARTITION BY feed_id ORDER BY logical_date DESC, ingested_at DESC) AS n
  FROM silver.gtfs_feed_version
  WHERE logical_date <= DATE '{day}'
)
WHERE n = 1
ORDER BY feed_id
"""


@pytest.fixture
def publishers(tmp_path, monkeypatch):
    """A catalogue copy whose GTFS and GTFS-RT entries have a profile per publisher."""
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", catalog)
    for name in ("03.01.001_gtfs", "03.01.002_gtfs_rt_vehicle_position"):
        path = catalog / f"{name}.yaml"
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        entry["profiles"] = {
            "demo_transit": {"feed_id": "demo-transit"},
            "sz_demo_bus": {"feed_id": "sz-demo-bus"},
        }
        path.write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(catalog))
    get_settings.cache_clear()
    yield load_catalog()
    get_settings.cache_clear()


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _ingest(spark, entry, path: Path, day: date, profile: str | None):
    [*rows] = ingest_paths(spark, entry, [], day, plan(entry, [path], day, profile))
    assert {r.status for r in rows} == {"promoted"}, [(r.table, r.message) for r in rows]
    return rows[0].sha256


def _positions(path: Path, vehicle_id: str) -> Path:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = FEED_TIME
    vehicle = message.entity.add(id="e1").vehicle
    vehicle.vehicle.id = vehicle_id
    vehicle.trip.trip_id = "T1"  # no route: silver takes R1 from the publisher's static trip
    vehicle.position.latitude, vehicle.position.longitude = 22.545, 114.055
    vehicle.timestamp = FEED_TIME - 10
    vehicle.stop_id = "S2"
    path.write_bytes(message.SerializeToString())
    return path


@pytest.mark.slow  # three GTFS versions and two realtime files through Spark: minutes on two cores
def test_publishers_are_told_apart_and_realtime_joins_its_own_static_feed(spark, lake, tmp_path, publishers):
    gtfs = publishers.get("gtfs")
    bus_v1 = _ingest(spark, gtfs, _zip(tmp_path / "bus.zip", BUS), date(2026, 11, 26), "sz_demo_bus")
    sample = REPO / "tests" / "fixtures" / "sample_gtfs.zip"
    demo = _ingest(spark, gtfs, sample, date(2026, 11, 27), "demo_transit")
    bus_v2 = _ingest(
        spark, gtfs, _zip(tmp_path / "bus_next.zip", BUS_NEXT), date(2026, 11, 28), "sz_demo_bus"
    )

    versions = {r.feed_version: r for r in read_lake_table(spark, "gtfs_feed_version").collect()}
    assert sorted(versions) == sorted([bus_v1, demo, bus_v2])
    got = {
        v: (
            r.feed_id,
            r.publisher_name,
            str(r.logical_date),
            str(r.service_start_date),
            str(r.service_end_date),
            r.feed_start_date,
            r.publisher_version,
        )
        for v, r in versions.items()
    }
    assert got == {
        bus_v1: ("sz-demo-bus", "Demo Bus", "2026-11-26", "2026-11-27", "2026-11-27", None, None),
        # sample_gtfs's feed_info.txt is a header alone: the publisher is its agency.
        demo: (
            "demo-transit",
            "Demo Transit Authority",
            "2026-11-27",
            "2007-01-01",
            "2010-12-31",
            None,
            None,
        ),
        bus_v2: ("sz-demo-bus", "Demo Bus", "2026-11-28", "2026-11-27", "2026-11-28", None, None),
    }
    assert versions[demo].source_file == "sample_gtfs.zip"
    mtime = datetime.fromtimestamp(sample.stat().st_mtime, UTC).replace(microsecond=0, tzinfo=None)
    assert versions[demo].fetched_at == mtime
    assert all(r.ingested_at is not None for r in versions.values())

    # The active version of each feed, one query, on both engines.
    for engine in ("fast", "spark"):
        before = sql(ACTIVE.format(day="2026-11-26"), engine=engine, spark=spark).to_pylist()
        assert [(r["feed_id"], r["feed_version"]) for r in before] == [("sz-demo-bus", bus_v1)]
        on_27 = sql(ACTIVE.format(day="2026-11-27"), engine=engine, spark=spark).to_pylist()
        assert [(r["feed_id"], r["feed_version"], r["publisher_name"]) for r in on_27] == [
            ("demo-transit", demo, "Demo Transit Authority"),
            ("sz-demo-bus", bus_v1, "Demo Bus"),
        ]
        on_28 = sql(ACTIVE.format(day="2026-11-28"), engine=engine, spark=spark).to_pylist()
        assert [(r["feed_id"], r["feed_version"]) for r in on_28] == [
            ("demo-transit", demo),
            ("sz-demo-bus", bus_v2),
        ]

    # Realtime of sz-demo-bus on the 27th joins sz-demo-bus's version in force, not the newest one.
    positions = publishers.get("gtfs_rt_vehicle_position")
    _ingest(spark, positions, _positions(tmp_path / "bus_vp.pb", "V1"), date(2026, 11, 27), "sz_demo_bus")
    [bus] = read_lake_table(spark, "gtfs_rt_vehicle_position").collect()
    assert (bus.vehicle_id, bus.trip_id, bus.route_id, bus.static_feed_version) == ("V1", "T1", "R1", bus_v1)
    notices = read_system(spark, "feed_notices").where("feed = 'gtfs_rt_vehicle_position'").collect()
    assert notices == []

    # The same message filed as demo-transit's: trip T1 and stop S2 are not in that timetable.
    _ingest(spark, positions, _positions(tmp_path / "demo_vp.pb", "V2"), date(2026, 11, 27), "demo_transit")
    demo_vp = read_lake_table(spark, "gtfs_rt_vehicle_position").where("vehicle_id = 'V2'").collect()
    assert [(r.trip_id, r.route_id, r.static_feed_version) for r in demo_vp] == [("T1", None, demo)]
    notices = read_system(spark, "feed_notices").where("feed = 'gtfs_rt_vehicle_position'").collect()
    assert sorted((n.code, n.value, n.feed_version) for n in notices) == [
        ("unknown_stop_id", "S2", demo),
        ("unknown_trip_id", "T1", demo),
    ]


def test_the_maas_timetable_takes_one_version_per_publisher(spark):
    from itlake.maas import inputs as src
    from itlake.maas.timetable import active_services

    day = date(2026, 11, 27)  # a Friday
    every_day = (1, 1, 1, 1, 1, 1, 1)
    calendar = spark.createDataFrame(
        [
            ("bus_new", "DAILY", date(2026, 11, 1), date(2026, 12, 31), *every_day),
            ("bus_old", "DAILY", date(2026, 1, 1), date(2026, 12, 31), *every_day),
            ("metro", "WEEKDAY", date(2026, 6, 1), date(2026, 12, 31), 1, 1, 1, 1, 1, 0, 0),
            ("metro_expired", "WEEKDAY", date(2025, 6, 1), date(2025, 12, 31), 1, 1, 1, 1, 1, 0, 0),
        ],
        src.input_schema(src.GTFS_CALENDAR),
    )
    versions = spark.createDataFrame(
        [("bus_new", "sz-bus"), ("bus_old", "sz-bus"), ("metro", "sz-metro"), ("metro_expired", "sz-metro")],
        src.input_schema(src.GTFS_FEED_VERSIONS),
    )
    by_feed = active_services(calendar, day, versions).collect()
    assert sorted((r.feed_version, r.service_id) for r in by_feed) == [
        ("bus_new", "DAILY"),
        ("metro", "WEEKDAY"),
    ]
    # Without feed identities every version is one feed: the latest start wins alone.
    alone = active_services(calendar, day).collect()
    assert [(r.feed_version, r.service_id) for r in alone] == [("bus_new", "DAILY")]
