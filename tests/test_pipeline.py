"""The walking skeleton end to end on the tiny hand-written city: ingest -> gold -> open -> MaaS.

Every expected value is worked out by hand from tests/fixtures/taxi_gps_tiny.csv (see its README).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from itlake.catalog.resources import load_catalog
from itlake.gold import taxi_trips
from itlake.ingest.flow import ingest_file
from itlake.lake.system import read_system
from itlake.lake.tables import read_lake_table
from itlake.maas import taxi_balance
from itlake.publish import od_flows

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY = date(2026, 11, 27)
TZ = "Asia/Shanghai"


def test_skeleton_from_gps_to_release_and_balance(spark, lake, lenient_taxi_contract):
    ingest_file(spark, load_catalog().get("taxi_gps"), FIXTURES / "taxi_gps_tiny.csv", DAY)

    # Two occupied runs: taxi 1 in Futian (3 fixes), taxi 2 in Nanshan (2 distinct fixes).
    assert taxi_trips.run(spark, DAY, TZ) == 2
    assert taxi_trips.run(spark, DAY, TZ) == 2  # a rerun replaces the partition
    assert read_lake_table(spark, "taxi_trip").count() == 2

    # k = 1 releases both one-trip cells.
    first = od_flows.run(spark, DAY, k=1)
    assert (first.status, first.version, first.rows, first.suppressed_cells, first.synthetic) == (
        "released",
        1,
        2,
        0,
        False,
    )
    release = Path(first.path)
    assert sorted(p.name for p in release.iterdir()) == [
        "LICENSE.txt",
        "README.md",
        "SHA256SUMS",
        "data.csv",
        "data.parquet",
        "data.sha256",
        "data_dictionary.csv",
        "dcat.jsonld",
        "zones.geojson",
    ]
    assert (release / "data.csv").read_text(encoding="utf-8") == (
        "service_date,hour_start,origin_zone_id,destination_zone_id,trips\n"
        "2026-11-27,2026-11-27T00:00:00Z,440304,440304,1\n"
        "2026-11-27,2026-11-27T00:00:00Z,440305,440305,1\n"
    )
    assert "vehicle_id" not in (release / "data.csv").read_text(encoding="utf-8")

    # The same data again makes no new version.
    assert od_flows.run(spark, DAY, k=1).status == "unchanged"
    # k = 2 withholds both cells, and says so.
    second = od_flows.run(spark, DAY, k=2)
    assert (second.version, second.rows, second.suppressed_cells, second.suppressed_trips) == (2, 0, 2, 2)
    assert "2 cells holding 2 trips were withheld" in (Path(second.path) / "README.md").read_text(
        encoding="utf-8"
    )
    log = [
        (r.status, r.version) for r in read_system(spark, "publication_log").orderBy("logged_at").collect()
    ]
    assert log == [("released", 1), ("unchanged", 1), ("released", 2)]

    # Hour 00:00-01:00 UTC: one pickup and one vacant taxi in each district, so no gap.
    assert taxi_balance.run(spark, DAY, TZ) == 2
    cells = {r.zone_id: r for r in read_lake_table(spark, "maas_taxi_zone_hour").collect()}
    assert sorted(cells) == ["440304", "440305"]
    for cell in cells.values():
        assert (cell.hour_start, cell.taxi_pickups, cell.idle_taxis, cell.unmet_demand, cell.is_gap) == (
            datetime(2026, 11, 27, 0, 0),
            1,
            1,
            0,
            False,
        )


def test_a_trip_across_midnight_is_incomplete_then_completed_once(spark, lake, tmp_path):
    """Taxi 粤B50001 is occupied from 23:50 local time on day 1 until a vacant fix at 00:10 on
    day 2; each day's fixes come in that day's file, and the gold job runs after each."""
    from itlake.gold.taxi_trips import run_window

    entry = load_catalog().get("taxi_gps")
    header = "VehicleNum,time,lon,lat,OpenStatus,Speed\n"
    day1 = tmp_path / "taxi_gps_day1.csv"
    day1.write_text(
        header + "粤B50001,2026-11-27 23:40:00,114.050000,22.540000,0,30\n"
        "粤B50001,2026-11-27 23:50:00,114.060000,22.540000,1,30\n"
        "粤B50001,2026-11-27 23:59:00,114.070000,22.540000,1,30\n",
        encoding="utf-8",
    )
    day2 = tmp_path / "taxi_gps_day2.csv"
    day2.write_text(
        header + "粤B50001,2026-11-28 00:05:00,114.080000,22.540000,1,30\n"
        "粤B50001,2026-11-28 00:10:00,114.090000,22.540000,0,30\n",
        encoding="utf-8",
    )
    next_day = date(2026, 11, 28)

    ingest_file(spark, entry, day1, DAY)
    assert run_window(spark, DAY, TZ) == {"rows": 1, "dates_rebuilt": ["2026-11-27"]}
    [open_trip] = read_lake_table(spark, "taxi_trip").collect()
    # 23:50 and 23:59 local are 15:50 and 15:59 UTC.
    assert (open_trip.complete, open_trip.pickup_time, open_trip.dropoff_time) == (
        False,
        datetime(2026, 11, 27, 15, 50),
        datetime(2026, 11, 27, 15, 59),
    )

    ingest_file(spark, entry, day2, next_day)
    # Day 2 has no trip of its own; the day before is rebuilt because it held an open trip.
    assert run_window(spark, next_day, TZ) == {"rows": 0, "dates_rebuilt": ["2026-11-27", "2026-11-28"]}
    [trip] = read_lake_table(spark, "taxi_trip").collect()
    assert (trip.complete, trip.trip_date, trip.pickup_time, trip.dropoff_time, trip.fix_count) == (
        True,
        DAY,
        datetime(2026, 11, 27, 15, 50),
        datetime(2026, 11, 27, 16, 10),
        3,
    )
    assert trip.duration_s == 20 * 60
    assert trip.trip_id == open_trip.trip_id
