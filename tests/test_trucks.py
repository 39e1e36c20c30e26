"""Freight gold transforms on hand-made rows: truck stays, trips, waybill links, corridors."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from itlake.geo.admin_codes import admin_code_frame
from itlake.gold.freight_corridors import build_corridor_flows, month_utc
from itlake.gold.truck_trips import build_trip_corridors, build_truck_tables

TZ = "Asia/Shanghai"
T0 = datetime(2026, 11, 27, 0, 0)  # 08:00 in Shenzhen
STEP_M = 1111.9508  # 0.01 degree of latitude on the 6,371,008.8 m sphere


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def positions(spark, rows):
    return spark.createDataFrame(
        [(plate, at(m), lon, lat, speed) for plate, m, lon, lat, speed in rows],
        "plate_id string, fix_time timestamp, lon double, lat double, speed_kmh double",
    )


def waybill_frame(spark, rows):
    return spark.createDataFrame(
        rows, "waybill_no string, plate_id string, pickup_time timestamp, delivery_time timestamp"
    )


@pytest.fixture(scope="module")
def truck_tables(spark):
    fixes = positions(
        spark,
        [
            # Truck A parks 20 min at 22.50 N, drives 3 km north in 3 min, parks 17 min, moves on,
            # and stops again for only 8 min (no stay).
            *[("A", m, 114.0, 22.50, 0.0) for m in (0, 5, 10, 15, 20)],
            ("A", 21, 114.0, 22.51, 40.0),
            ("A", 22, 114.0, 22.52, 40.0),
            *[("A", m, 114.0, 22.53, 0.0) for m in (23, 30, 40)],
            ("A", 41, 114.0, 22.54, 40.0),
            ("A", 42, 114.0, 22.55, 0.0),
            ("A", 50, 114.0, 22.55, 0.0),
            # Truck B: a 10-minute stop, then a move with no speed reported (implied 66 km/h): no stay.
            *[("B", m, 113.9, 22.6, 0.0) for m in (0, 5, 10)],
            ("B", 11, 113.9, 22.61, None),
        ],
    )
    waybills = waybill_frame(
        spark,
        [
            ("W1", "A", at(10), at(60)),  # picked up 10 min before the trip starts
            ("W3", "A", at(15), None),  # 5 min before: the closest
            ("W2", "A", at(240), None),  # hours later: no link
            ("W4", "B", at(10), at(60)),  # another truck
        ],
    )
    _, stays, trips = build_truck_tables(fixes, waybills, admin_code_frame(spark), TZ, 15)
    return stays.collect(), trips.collect()


def test_stays_are_stopped_runs_of_at_least_15_minutes(truck_tables):
    stays, _ = truck_tables
    got = sorted(
        (
            s.plate_id,
            s.start_time,
            s.end_time,
            s.duration_s,
            s.fix_count,
            round(s.lat, 6),
            s.city_code,
            str(s.stay_date),
        )
        for s in stays
    )
    assert got == [
        ("A", at(0), at(20), 1200, 5, 22.5, "440300", "2026-11-27"),
        ("A", at(23), at(40), 1020, 3, 22.53, "440300", "2026-11-27"),
    ]


def test_a_trip_runs_between_two_stays_and_links_the_closest_waybill(truck_tables):
    _, trips = truck_tables
    [trip] = trips
    assert (trip.plate_id, trip.start_time, trip.end_time, trip.duration_s) == ("A", at(20), at(23), 180)
    assert trip.fix_count == 4  # 08:20, 08:21, 08:22, 08:23
    assert trip.distance_m == pytest.approx(3 * STEP_M, abs=0.01)
    assert (trip.origin_lat, trip.destination_lat) == pytest.approx((22.5, 22.53), abs=1e-9)
    assert (trip.origin_city_code, trip.destination_city_code) == ("440300", "440300")
    assert (trip.waybill_no, trip.waybill_count) == ("W3", 2)
    assert str(trip.trip_date) == "2026-11-27" and len(trip.trip_id) == 32


def test_trips_per_corridor(spark):
    rows = [
        ("A", date(2026, 11, 27), "440300", "440100", 70_000.0, 5400, "W1"),
        ("B", date(2026, 11, 27), "440300", "440100", 80_000.0, 6600, None),
        ("A", date(2026, 11, 27), "440300", "440100", 75_000.0, 6000, None),
        ("C", date(2026, 11, 27), "440100", "440300", 90_000.0, 7200, "W9"),
    ]
    trips = spark.createDataFrame(
        rows,
        "plate_id string, trip_date date, origin_city_code string, destination_city_code string, "
        "distance_m double, duration_s long, waybill_no string",
    )
    got = sorted(tuple(r) for r in build_trip_corridors(trips).collect())
    assert got == [
        (date(2026, 11, 27), "440100", "440300", 1, 1, 1, 90.0, 120.0),
        (date(2026, 11, 27), "440300", "440100", 3, 2, 1, 225.0, 100.0),
    ]


def test_corridor_flows_by_month_city_cargo_and_leg_mode(spark):
    waybills = spark.createDataFrame(
        [
            ("W1", "440306", "440100", "general", 2000.0, datetime(2026, 11, 27, 1)),
            ("W2", "440305", "310000", "container", 20000.0, datetime(2026, 11, 27, 2)),
            ("W3", "440303", "440100", "general", 1000.0, datetime(2026, 11, 28, 3)),
            # 01:00 on 1 December in Shenzhen: December's corridor, not November's.
            ("W4", "440306", "440100", "general", 500.0, datetime(2026, 11, 30, 17)),
        ],
        "waybill_no string, origin_code string, destination_code string, cargo_class string, "
        "weight_kg double, pickup_time timestamp",
    )
    legs = spark.createDataFrame(
        [
            ("W1", "road", "440306", "440100"),
            ("W2", "road", "440305", "440308"),
            ("W2", "water", "440308", "310000"),
            ("W3", "road", "440303", "440100"),
            ("W4", "road", "440306", "440100"),
            ("W9", "road", "440306", "440100"),  # a leg whose waybill is not there (quarantined)
        ],
        "waybill_no string, mode string, from_code string, to_code string",
    )
    flows = waybills.transform(build_corridor_flows(legs, admin_code_frame(spark), TZ))
    got = {
        (str(r.month), r.origin_city_code, r.destination_city_code, r.cargo_class, r.mode): (
            r.shipments,
            r.tonnage_t,
            round(r.tonne_km, 1),
        )
        for r in flows.collect()
    }
    # Great-circle km between the points of gbt2260.csv: 宝安-广州 78.223, 罗湖-广州 108.931,
    # 南山-盐田 35.285, 盐田-上海 1195.797.
    assert got == {
        ("2026-11-01", "440300", "440100", "general", "road"): (2, 3.0, 265.4),  # 2 x 78.223 + 108.931
        ("2026-11-01", "440300", "310000", "container", "road"): (1, 20.0, 705.7),
        ("2026-11-01", "440300", "310000", "container", "water"): (1, 20.0, 23915.9),
        ("2026-12-01", "440300", "440100", "general", "road"): (1, 0.5, 39.1),
    }


def test_month_window_is_the_local_month_in_utc():
    assert month_utc(date(2026, 11, 27), TZ) == (
        datetime(2026, 10, 31, 16),
        datetime(2026, 11, 30, 16),
        date(2026, 11, 1),
    )
    assert month_utc(date(2026, 12, 5), TZ)[1] == datetime(2026, 12, 31, 16)
