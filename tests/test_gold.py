"""Gold, open and MaaS transforms on a handful of inline rows with hand-computed results."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from itlake.gold.taxi_trips import build_taxi_trips
from itlake.maas.taxi_balance import build_taxi_balance
from itlake.publish.gate import PublicationRefused, check_release
from itlake.publish.od_flows import od_cells, suppress_small_cells

GPS_SCHEMA = "vehicle_id string, fix_time timestamp, lon double, lat double, open_status int"
TZ = "Asia/Shanghai"


def utc(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 27, hour, minute)


@pytest.fixture
def gps(spark):
    # The fixes of tests/fixtures/taxi_gps_tiny.csv after silver: UTC times, duplicate and bad row gone.
    rows = [
        ("A", utc(0, 0), 114.05, 22.540, 0),
        ("A", utc(0, 1), 114.05, 22.545, 1),
        ("A", utc(0, 2), 114.06, 22.545, 1),
        ("A", utc(0, 3), 114.07, 22.545, 1),
        ("A", utc(0, 4), 114.07, 22.550, 0),
        ("B", utc(0, 0), 113.93, 22.540, 1),
        ("B", utc(0, 2), 113.93, 22.550, 1),
        ("B", utc(0, 4), 113.93, 22.550, 0),
        ("C", utc(0, 5), 114.00, 22.550, 1),  # a run of one fix is not a trip
        ("D", utc(0, 10), 114.05, 22.540, 1),  # still occupied at the last fix read
        ("D", utc(0, 11), 114.05, 22.550, 1),
    ]
    return spark.createDataFrame(rows, GPS_SCHEMA)


def test_trips_from_occupied_runs(gps):
    trips = {r.vehicle_id: r for r in gps.transform(build_taxi_trips(TZ)).collect()}
    assert sorted(trips) == ["A", "B", "D"]
    a, b, d = trips["A"], trips["B"], trips["D"]
    # Drop-off at the first vacant fix (00:04), not the last occupied one (00:03).
    assert (a.pickup_time, a.dropoff_time, a.duration_s, a.fix_count) == (utc(0, 1), utc(0, 4), 180, 3)
    assert (a.pickup_lon, a.pickup_lat, a.dropoff_lon, a.dropoff_lat) == (114.05, 22.545, 114.07, 22.550)
    # Two steps of 0.01 degree of longitude at 22.545 N (2 x 1026.97 m), then 0.005 degree of
    # latitude to the vacant fix (555.97 m).
    assert a.distance_m == pytest.approx(2609.92, abs=0.02)
    assert (a.pickup_zone_id, a.dropoff_zone_id, a.trip_date) == ("440304", "440304", date(2026, 11, 27))
    # 0.01 degree of latitude: 1111.95 m, and the vacant fix where the last occupied one was.
    assert (b.fix_count, b.duration_s, b.pickup_zone_id) == (2, 240, "440305")
    assert b.distance_m == pytest.approx(1111.95, abs=0.01)
    assert a.complete and b.complete
    # Still occupied at its last fix: incomplete, ending at that fix for now.
    assert (d.complete, d.dropoff_time, d.duration_s, d.dropoff_lat) == (False, utc(0, 11), 60, 22.550)
    assert len(a.trip_id) == 32 and a.trip_id != b.trip_id


def test_od_cells_under_k_are_withheld(spark):
    schema = "trip_date date, pickup_time timestamp, pickup_zone_id string, dropoff_zone_id string"
    day = date(2026, 11, 27)
    rows = [(day, utc(1, m), "440304", "440305") for m in (0, 10, 59)]  # 3 trips in one cell
    rows += [(day, utc(2, 0), "440304", "440305"), (day, utc(1, 5), "440305", "440304")]  # 1 + 1
    rows += [(day, utc(1, 7), None, "440304")]  # unknown origin zone: not counted in any cell
    released, withheld = suppress_small_cells(od_cells(spark.createDataFrame(rows, schema)), k=2)
    assert [(r.hour_start, r.origin_zone_id, r.destination_zone_id, r.trips) for r in released.collect()] == [
        (utc(1, 0), "440304", "440305", 3)
    ]
    assert sorted(r.trips for r in withheld.collect()) == [1, 1]


def test_balance_counts_demand_supply_and_gaps(spark, gps):
    trips = spark.createDataFrame(
        [("440304", utc(0, 1)), ("440304", utc(0, 30)), ("440305", utc(0, 0))],
        "pickup_zone_id string, pickup_time timestamp",
    )
    cells = {r.zone_id: r for r in build_taxi_balance(trips, gps, TZ).collect()}
    futian, nanshan = cells["440304"], cells["440305"]
    # Futian 00:00-01:00 UTC: 2 pickups; taxi A was vacant there at 00:00 and 00:04 (one distinct taxi).
    assert (futian.taxi_pickups, futian.idle_taxis, futian.unmet_demand, futian.is_gap) == (2, 1, 1, True)
    assert futian.supply_demand_ratio == pytest.approx(0.5)
    assert (futian.zone_name, futian.service_date) == ("福田区", date(2026, 11, 27))
    # Nanshan: 1 pickup, taxi B vacant at 00:04.
    assert (nanshan.taxi_pickups, nanshan.idle_taxis, nanshan.unmet_demand, nanshan.is_gap) == (
        1,
        1,
        0,
        False,
    )


def test_the_gate_refuses_closed_graded_and_personal_data():
    from itlake.catalog.contracts import load_contract
    from itlake.catalog.resources import load_catalog

    catalog = load_catalog()
    check_release(catalog.get("od_taxi_hourly"), load_contract("od_taxi_hourly"))
    with pytest.raises(PublicationRefused, match=r"columns with personal data: vehicle_id"):
        check_release(catalog.get("taxi_trip"), load_contract("taxi_trip"))
    with pytest.raises(PublicationRefused, match=r"security grade is important.*critical infrastructure"):
        check_release(catalog.get("bridge_tunnel"), load_contract("bridge_tunnel"))
