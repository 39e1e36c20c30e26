"""MaaS tables on small cases computed by hand: matching, KPIs, transit itineraries, demand and supply."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from itlake.config import get_settings
from itlake.maas.matching import ALL_TAKEN, NO_VEHICLE, match_cell, match_parties, match_requests
from itlake.maas.settings import MaasConfigError, maas_settings

TZ = "Asia/Shanghai"
DAY = date(2026, 11, 27)
FUTIAN, NANSHAN = "440304", "440305"
# One thousandth of a degree of longitude at 22.54 N: 111,195.08 m x cos(22.54 deg) = 102.70 m.
LAT = 22.54


def utc(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, second)


@pytest.fixture
def settings():
    return dataclasses.replace(maas_settings(), match_radius_m=1000.0, match_window_s=600)


def test_optimal_assignment_beats_greedy_and_says_why_a_request_is_unmatched(spark, settings):
    # Futian: r1 at 114.050, r2 at 114.059; v1 at 114.052, v2 at 114.045 (all on 22.54 N).
    # r1-v1 205.4 m, r1-v2 513.5 m, r2-v1 718.9 m, r2-v2 1437.8 m (beyond the 1 km radius).
    # Nearest-first would give v1 to r1 and leave r2 alone; the optimum serves both.
    # Nanshan: r3 and no vehicle at all.
    requests = spark.createDataFrame(
        [
            ("r1", utc(0, 2), 114.050, LAT, FUTIAN),
            ("r2", utc(0, 3), 114.059, LAT, FUTIAN),
            ("r3", utc(0, 4), 113.930, 22.53, NANSHAN),
        ],
        "request_id string, request_time timestamp, origin_lon double, origin_lat double, zone_id string",
    )
    idle = spark.createDataFrame(
        [
            ("v1", utc(0, 0), 114.052, LAT, FUTIAN, utc(0, 0)),
            ("v1", utc(0, 1), 114.052, LAT, FUTIAN, utc(0, 0)),  # its last vacant fix in the cell counts
            ("v2", utc(0, 5), 114.045, LAT, FUTIAN, utc(0, 0)),
        ],
        "vehicle_id string, fix_time timestamp, lon double, lat double, zone_id string, "
        "interval_start timestamp",
    )
    matches = match_requests(match_parties(requests, idle, settings), settings).persist()
    rows = {r.request_id: r for r in matches.collect()}
    r1, r2, r3 = rows["r1"], rows["r2"], rows["r3"]
    assert (r1.vehicle_id, r2.vehicle_id, r3.vehicle_id) == ("v2", "v1", None)
    assert (r1.matched, r2.matched, r3.matched) == (True, True, False)
    assert r1.pickup_distance_m == pytest.approx(513.5, abs=0.1)
    assert r2.pickup_distance_m == pytest.approx(718.9, abs=0.1)
    # Wait: distance x 1.3 (detour) at 25 km/h (6.944 m/s).
    assert r1.estimated_wait_s == pytest.approx(96.13, abs=0.05)
    assert r2.estimated_wait_s == pytest.approx(134.58, abs=0.05)
    assert r2.vehicle_fix_time == utc(0, 1)
    assert (r1.candidate_vehicles, r2.candidate_vehicles, r3.candidate_vehicles) == (2, 1, 0)
    assert (r1.unmatched_reason, r3.unmatched_reason) == (None, NO_VEHICLE)
    assert (r3.zone_id, r3.interval_start) == (NANSHAN, utc(0, 0))

    from itlake.maas.kpi import build_kpis

    kpis = {(k.period, k.zone_id): k for k in build_kpis(matches, utc(16, 0)).collect()}
    city = kpis[("day", "all")]
    assert (city.requests, city.rides, city.rejections, city.rejections_no_vehicle) == (3, 2, 1, 1)
    assert city.rejection_rate == pytest.approx(1 / 3) and city.match_rate == pytest.approx(2 / 3)
    assert city.wait_average_s == pytest.approx((96.13 + 134.58) / 2, abs=0.05)
    # p95 of two values, linear interpolation: 96.13 + 0.95 x (134.58 - 96.13).
    assert city.wait_p95_s == pytest.approx(132.66, abs=0.05)
    assert (
        kpis[("interval", NANSHAN)].rejection_rate == 1.0
        and kpis[("interval", NANSHAN)].wait_average_s is None
    )
    assert sorted(kpis) == sorted([(p, z) for p in ("interval", "day") for z in ("all", FUTIAN, NANSHAN)])
    matches.unpersist()


def test_a_request_whose_nearby_vehicles_are_taken_or_too_old():
    # v1 is 205.4 m from r1 and 102.7 m from r2, so r2 gets it and r1 finds its only nearby vehicle
    # taken. v2 stands on r1 but its last vacant fix is 11 minutes old: outside the 10-minute window.
    parties = pd.DataFrame(
        {
            "kind": ["request", "request", "vehicle", "vehicle"],
            "party_id": ["r1", "r2", "v1", "v2"],
            "event_time": pd.to_datetime([utc(0, 12), utc(0, 13), utc(0, 12), utc(0, 1)]),
            "lon": [114.050, 114.053, 114.052, 114.050],
            "lat": [LAT] * 4,
            "zone_id": [FUTIAN] * 4,
            "interval_start": pd.to_datetime([utc(0, 0)] * 4),
        }
    )
    out = match_cell(parties, radius_m=1000.0, window_s=600.0, speed_mps=25 / 3.6, detour=1.3).set_index(
        "request_id"
    )
    assert out.loc["r2", "vehicle_id"] == "v1" and out.loc["r2", "pickup_distance_m"] == pytest.approx(
        102.7, abs=0.1
    )
    assert out.loc["r1", "matched"] == False  # noqa: E712 (numpy bool)
    assert (out.loc["r1", "unmatched_reason"], out.loc["r1", "candidate_vehicles"]) == (ALL_TAKEN, 1)


# A GTFS of two lines that meet at stop X. Line A: A1 -> A2 -> X, a trip every 10 minutes, 600 s
# from A1 to X. Line B: X -> B1 -> B2, a trip every 20 minutes, 900 s from X to B2.
STOPS = pd.DataFrame(
    {
        "stop_id": ["A1", "A2", "X", "B1", "B2"],
        "lon": [114.00, 114.02, 114.04, 114.04, 114.04],
        "lat": [22.55, 22.55, 22.55, 22.57, 22.59],
    }
)


def _timetable():
    stop_times, trips = [], []
    for k in range(4):  # line A: 07:00, 07:10, 07:20, 07:30
        start = 7 * 3600 + 600 * k
        trips.append((f"a{k}", "A", 0))
        stop_times += [(f"a{k}", 1, "A1", start, start), (f"a{k}", 2, "A2", start + 290, start + 300)]
        stop_times += [(f"a{k}", 3, "X", start + 600, start + 600)]
    for k in range(3):  # line B: 07:15, 07:35, 07:55
        start = 7 * 3600 + 900 + 1200 * k
        trips.append((f"b{k}", "B", 0))
        stop_times += [(f"b{k}", 1, "X", start, start), (f"b{k}", 2, "B1", start + 450, start + 460)]
        stop_times += [(f"b{k}", 3, "B2", start + 900, start + 900)]
    columns = ["trip_id", "stop_sequence", "stop_id", "arrival_s", "departure_s"]
    return pd.DataFrame(stop_times, columns=columns), pd.DataFrame(
        trips, columns=["trip_id", "route_id", "direction_id"]
    )


def test_two_lines_with_one_transfer_give_the_known_itinerary(settings):
    from itlake.maas.options import service_options
    from itlake.maas.router import pattern_legs

    stop_times, trips = _timetable()
    legs = pattern_legs(stop_times, trips, settings.max_wait_s)
    a1_x = legs[(legs["board_stop"] == "A1") & (legs["alight_stop"] == "X")].iloc[0]
    assert (a1_x["in_vehicle_s"], a1_x["wait_s"]) == (600.0, 300.0)  # headway 600 s -> wait 300 s
    # Origin at A1; destination 0.002 deg north of B2: 222.39 m, walked x 1.3 at 4.8 km/h = 216.83 s.
    pairs = pd.DataFrame(
        [("440304", "440309", 12, 114.00, 22.55, 114.04, 22.592)],
        columns=[
            "origin_zone_id",
            "destination_zone_id",
            "demand_trips",
            "origin_lon",
            "origin_lat",
            "destination_lon",
            "destination_lat",
        ],
    )
    taxi = pd.DataFrame(
        [("440304", "440309", 1800.0)], columns=["origin_zone_id", "destination_zone_id", "duration_s"]
    )
    options = service_options(pairs, STOPS, legs, taxi, {}, set(), settings).set_index("option")

    transfer = options.loc["transit_transfer"]
    # 300 s wait + 600 s on A + transfer at X (0 m) + 600 s wait (headway 1200 s) + 900 s on B
    # + 216.83 s walk.
    assert transfer["available"] and transfer["routes"] == "A>B" and transfer["transfers"] == 1
    assert (transfer["in_vehicle_s"], transfer["wait_s"]) == (1500.0, 900.0)
    assert transfer["walk_s"] == pytest.approx(216.83, abs=0.01)
    assert transfer["travel_time_s"] == pytest.approx(2616.83, abs=0.01)
    # Score: 1500 + 1.5 x 900 + 2 x 216.83 + 300 (transfer penalty) = 3583.66.
    assert transfer["score_s"] == pytest.approx(3583.66, abs=0.01)
    assert not options.loc["transit_direct", "available"]
    assert not options.loc["bike_transit", "available"]  # no bikes in the origin district
    taxi_row = options.loc["taxi"]
    # 1800 s ride + 300 s default wait; score 1800 + 1.5 x 300 = 2250: the recommended choice.
    assert (taxi_row["travel_time_s"], taxi_row["score_s"], taxi_row["is_recommended"]) == (
        2100.0,
        2250.0,
        True,
    )
    assert options["is_recommended"].sum() == 1


def test_settings_override_and_seats_per_route_type(tmp_path, monkeypatch):
    override = tmp_path / "maas.yaml"
    override.write_text("seats_per_route_type: {3: 100}\nmatch_radius_m: 500\n", encoding="utf-8")
    monkeypatch.setenv("ITLAKE_MAAS_CONFIG", str(override))
    get_settings.cache_clear()
    maas_settings.cache_clear()
    try:
        s = maas_settings()
        assert (s.match_radius_m, s.seats_for(3), s.seats_for(700), s.seats_for(1), s.seats_for(42)) == (
            500,
            100,
            100,  # extended 7xx bus -> basic 3
            1460,  # metro keeps its default
            80,  # an unknown type: default_seats
        )
        override.write_text("match_radius: 500\n", encoding="utf-8")
        maas_settings.cache_clear()
        with pytest.raises(MaasConfigError, match=r"unknown keys \['match_radius'\]"):
            maas_settings()
    finally:
        monkeypatch.delenv("ITLAKE_MAAS_CONFIG")
        get_settings.cache_clear()
        maas_settings.cache_clear()


def _city_inputs(spark):
    """One morning quarter-hour in Futian and Nanshan, every feed present (MaaS column names)."""
    from itlake.maas import inputs as src
    from itlake.maas.build import empty_inputs

    def frame(spec, rows):
        return spark.createDataFrame(rows, src.input_schema(spec))

    # 08:00 local is 00:00 UTC. Futian: 114.05 E 22.54 N; Nanshan: 113.93 E 22.53 N.
    requests = frame(
        src.RIDE_REQUESTS,
        [
            ("q1", utc(0, 1), DAY, 114.050, 22.540, 113.93, 22.53, "completed"),
            ("q2", utc(0, 5), DAY, 114.051, 22.541, 113.93, 22.53, "no_driver"),
            ("q3", utc(0, 20), DAY, 113.930, 22.530, 114.05, 22.54, "completed"),
        ],
    )
    trips = frame(
        src.TAXI_TRIPS, [("t1", DAY, utc(0, 7), 114.05, 22.545, 113.93, 22.54, 900, FUTIAN, NANSHAN)]
    )
    fixes = frame(
        src.TAXI_FIXES,
        [
            ("A", utc(0, 0), DAY, 114.052, 22.540, 0),
            ("A", utc(0, 4), DAY, 114.052, 22.540, 0),
            ("B", utc(0, 6), DAY, 114.050, 22.541, 0),
            ("C", utc(0, 2), DAY, 114.050, 22.540, 1),  # carrying a passenger: not supply
            ("D", utc(0, 21), DAY, 113.931, 22.530, 0),
        ],
    )
    stations = frame(src.STATION_INFO, [("sys", "s1", 114.06, 22.545, 20)])
    status = frame(
        src.STATION_STATUS,
        [
            ("sys", "s1", utc(0, 0), DAY, 10, 10, True, True),
            ("sys", "s1", utc(0, 5), DAY, 7, 13, True, True),  # 3 bikes left
            ("sys", "s1", utc(0, 10), DAY, 8, 12, True, True),  # 1 came back: not a departure
        ],
    )
    bikes = frame(
        src.BIKE_STATUS,
        [
            ("sys", utc(0, 14), DAY, "b1", 114.04, 22.55, None, False, False),
            ("sys", utc(0, 14), DAY, "b2", 114.04, 22.55, None, True, False),  # reserved
        ],
    )
    taps = frame(
        src.CARD_TAPS,
        [
            (utc(0, 3), DAY, "metro_entry", "福田站1", "1号线"),
            (utc(0, 4), DAY, "metro_entry", "福田站1", "1号线"),
            (utc(0, 6), DAY, "metro_exit", "福田站1", "1号线"),
            (utc(0, 6), DAY, "bus_board", "无此站", "M999"),  # no stop of that name: not placed
        ],
    )
    stops = frame(
        src.GTFS_STOPS,
        [
            ("v1", "S1", "福田站1", 114.055, 22.540),
            ("v1", "S2", "福田站2", 114.070, 22.540),
            ("v1", "S3", "南山站1", 113.930, 22.530),
            ("v0", "S1", "福田站1", 114.055, 22.540),
        ],
    )
    routes = frame(src.GTFS_ROUTES, [("v1", "R1", 3), ("v0", "R0", 1)])
    gtfs_trips = frame(src.GTFS_TRIPS, [("v1", "T1", "R1", "DAILY", 0), ("v0", "T0", "R0", "DAILY", 0)])
    eight = 8 * 3600
    stop_times = frame(
        src.GTFS_STOP_TIMES,
        [
            ("v1", "T1", 1, "S1", eight + 120, eight + 120),
            ("v1", "T1", 2, "S2", eight + 590, eight + 600),
            ("v1", "T1", 3, "S3", eight + 2400, eight + 2400),  # the last stop: no departure
            ("v0", "T0", 1, "S1", eight, eight),  # an older feed version, replaced by v1
            ("v0", "T0", 2, "S1", eight + 60, eight + 60),
        ],
    )
    calendar = frame(
        src.GTFS_CALENDAR,
        [
            ("v1", "DAILY", date(2026, 11, 1), date(2026, 12, 31), 1, 1, 1, 1, 1, 1, 1),
            ("v0", "DAILY", date(2026, 1, 1), date(2026, 12, 31), 1, 1, 1, 1, 1, 1, 1),
        ],
    )
    return dataclasses.replace(
        empty_inputs(spark),
        requests=requests,
        taxi_trips=trips,
        taxi_fixes=fixes,
        card_taps=taps,
        station_info=stations,
        station_status=status,
        bike_status=bikes,
        gtfs_stops=stops,
        gtfs_routes=routes,
        gtfs_trips=gtfs_trips,
        gtfs_stop_times=stop_times,
        gtfs_calendar=calendar,
    )


def test_demand_supply_balance_and_the_report_on_a_few_rows(spark, lake):
    from typer.testing import CliRunner

    from itlake.cli import app
    from itlake.maas.build import build_tables, release, write_tables
    from itlake.maas.report import worst_gaps
    from itlake.maas.unmet_map import draw_unmet_map, map_path

    tables = build_tables(_city_inputs(spark), DAY, TZ)
    try:
        demand = {
            (r.zone_level, r.zone_id, r.interval_start, r.mode): r.trips
            for r in tables["demand_zone_interval"].collect()
        }
        district = {k[1:]: v for k, v in demand.items() if k[0] == "district"}
        assert district == {
            (FUTIAN, utc(0, 0), "ride_hailing"): 2,
            (FUTIAN, utc(0, 0), "taxi"): 1,
            (FUTIAN, utc(0, 0), "bike"): 3,
            (FUTIAN, utc(0, 0), "transit"): 2,
            (NANSHAN, utc(0, 15), "ride_hailing"): 1,
        }
        h3 = {k: v for k, v in demand.items() if k[0] == "h3_r8"}
        assert sum(h3.values()) == 9 and all(len(k[1]) == 15 for k in h3)

        supply = {
            (r.zone_id, r.interval_start): (
                r.transit_departures,
                r.transit_seats,
                r.idle_taxis,
                r.bikes_available,
                r.docks_available,
            )
            for r in tables["supply_zone_interval"].where("zone_level = 'district'").collect()
        }
        # Futian 00:00: T1 leaves S1 and S2 (2 x 80 bus seats); taxis A and B vacant; s1's last
        # report says 8 bikes and 12 docks, plus the one free-floating bike not reserved.
        assert supply == {(FUTIAN, utc(0, 0)): (2, 160, 2, 9, 12), (NANSHAN, utc(0, 15)): (0, 0, 1, 0, 0)}

        balance = {
            (r.zone_id, r.interval_start, r.service): (r.demand, r.supply, r.unmet_demand, r.is_gap)
            for r in tables["balance_zone_interval"].where("zone_level = 'district'").collect()
        }
        assert balance == {
            (FUTIAN, utc(0, 0), "car"): (3, 2, 1, True),
            (FUTIAN, utc(0, 0), "bike"): (3, 9, 0, False),
            (FUTIAN, utc(0, 0), "transit"): (2, 160, 0, False),
            (NANSHAN, utc(0, 15), "car"): (1, 1, 0, False),
        }

        # q1 (114.050, 22.540) and q2 (114.051, 22.541) against A (114.052, 22.540) and B (114.050,
        # 22.541): q1-B 111.2 m + q2-A 151.4 m beats q1-A 205.4 m + q2-B 102.7 m.
        matched = {r.request_id: r.vehicle_id for r in tables["request_vehicle_match"].collect()}
        assert matched == {"q1": "B", "q2": "A", "q3": "D"}

        options = tables["od_service_options"].set_index(["origin_zone_id", "destination_zone_id", "option"])
        assert len(options) == 8
        direct = options.loc[(FUTIAN, NANSHAN, "transit_direct")]
        # One trip of R1 in the day: S1 08:02 -> S3 08:40 = 2280 s, the wait capped at 1800 s.
        assert (direct["available"], direct["routes"], direct["in_vehicle_s"], direct["wait_s"]) == (
            True,
            "R1",
            2280.0,
            1800.0,
        )
        assert options.loc[(FUTIAN, NANSHAN, "taxi"), "in_vehicle_s"] == 900.0
        assert options.loc[(FUTIAN, NANSHAN, "taxi"), "demand_trips"] == 3  # q1, q2 and t1
        assert not options.loc[(NANSHAN, FUTIAN, "taxi"), "available"]  # no taxi trip observed that way

        rows = write_tables(spark, tables, DAY)
    finally:
        release(tables)
    assert rows["request_vehicle_match"] == 3 and rows["od_service_options"] == 8

    png = draw_unmet_map(spark, DAY, TZ)
    assert png == map_path() and Path(map_path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gaps = worst_gaps(DAY, tz=TZ)
    assert [(g.zone_name, g.local_start, g.service, g.unmet_demand) for g in gaps.itertuples()] == [
        ("福田区", "08:00", "car", 1)
    ]
    result = CliRunner().invoke(app, ["maas", "report", "--date", "2026-11-27"])
    assert result.exit_code == 0, result.output
    assert "福田区" in result.output and "rejectionRate 0.0%" in result.output


def test_a_feed_missing_from_the_lake_reads_as_empty(spark, lake, caplog):
    from itlake.maas import inputs as src

    with caplog.at_level("WARNING", logger="itlake.maas.inputs"):
        taps = src.read_input(spark, src.CARD_TAPS, utc(0, 0), utc(1, 0))
    assert taps.count() == 0 and taps.columns == list(src.CARD_TAPS.columns)
    assert "silver.smartcard_tap is not in the lake" in caplog.text
