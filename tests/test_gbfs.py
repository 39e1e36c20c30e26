"""GBFS 2.x and 3.x: the collector's JSON Lines archive to silver, and availability per 15 minutes.

The fixtures in tests/fixtures/gbfs/ wrap documents shaped like the examples of the GBFS 2.3 and
3.0 specifications in collector envelopes; every expected value below is worked out by hand from
them (POSIX 1609866125 = 2021-01-05 17:02:05 UTC; 13:34:13+02:00 = 11:34:13 UTC).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from itlake.catalog.resources import load_catalog
from itlake.config import get_settings
from itlake.feeds import BatchContext, FeedError, get_feed
from itlake.ingest.flow import ingest_file
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path
from itlake.lake.system import read_system

REPO = Path(__file__).resolve().parents[1]
GBFS = REPO / "tests" / "fixtures" / "gbfs"
DAY = date(2026, 11, 27)


def _ctx(name: str) -> BatchContext:
    return BatchContext("b", "0" * 64, name, DAY, b"k", "utf-8", "WGS-84", "Asia/Shanghai")


def _envelope(feed: str, document: dict, system: str = "sz_bike") -> str:
    return json.dumps(
        {"system_id": system, "feed": feed, "fetched_at": "2026-11-27T00:00:05Z", "document": document}
    )


def test_status_of_both_versions_lands_with_duplicates_counted(spark, lake):
    [row] = ingest_file(spark, load_catalog().get("gbfs_station_status"), GBFS / "station_status.jsonl", DAY)
    # 3 polls x 2 stations; the second 2.3 poll is unchanged, so its 2 stations are duplicates.
    assert (row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined) == (6, 4, 2, 0)
    silver = {
        (r.system_id, r.station_id): r
        for r in read_table(spark, table_path("silver", "gbfs_station_status")).collect()
    }
    v2 = silver[("spec_v2", "station1")]
    assert (v2.last_reported, v2.report_date) == (datetime(2021, 1, 5, 17, 2, 5), date(2021, 1, 5))
    assert (v2.bikes_available, v2.bikes_disabled, v2.docks_available, v2.docks_disabled) == (1, None, 3, 1)
    assert (v2.is_installed, v2.is_renting, v2.is_returning, v2.gbfs_version) == (True, True, True, "2.3")
    v3 = silver[("spec_v3", "station2")]
    assert v3.last_reported == datetime(2023, 7, 17, 11, 29, 41)
    assert (v3.bikes_available, v3.bikes_disabled, v3.docks_available, v3.is_renting) == (6, 2, 8, False)
    assert v3.gbfs_version == "3.0"


def test_station_information_names_and_free_bike_and_vehicle_status(spark, lake):
    catalog = load_catalog()
    [info] = ingest_file(
        spark, catalog.get("gbfs_station_information"), GBFS / "station_information.jsonl", DAY
    )
    assert (info.rows_read, info.rows_promoted) == (4, 4)
    stations = {
        (r.system_id, r.station_id): r
        for r in read_table(spark, table_path("silver", "gbfs_station_information")).collect()
    }
    assert stations[("spec_v2", "pga")].station_name == "Parking garage A"
    # 3.x localized names: the Chinese text when there is one, else the first.
    assert stations[("spec_v3", "pga")].station_name == "A号停车场"
    assert stations[("spec_v3", "station12")].station_name == "SE Belmont & SE 10th"
    pga = stations[("spec_v2", "pga")]
    assert (pga.lat, pga.lon, pga.capacity, pga.region_id) == (12.345678, 45.678901, 10, "3")
    assert stations[("spec_v3", "pga")].last_updated == datetime(2023, 7, 17, 11, 34, 13)

    [veh] = ingest_file(spark, catalog.get("gbfs_vehicle_status"), GBFS / "vehicle_status.jsonl", DAY)
    assert (veh.rows_read, veh.rows_promoted, veh.rows_quarantined) == (4, 4, 0)
    vehicles = {
        r.vehicle_id: r for r in read_table(spark, table_path("silver", "gbfs_vehicle_status")).collect()
    }
    assert sorted(vehicles) == [
        "973a5c94-c288-4a2b-afa6-de8aeb6ae2e5",
        "987fd100-b822-4347-86a4-b3eef8ca8b53",
        "ghi799",
        "jkl012",
    ]
    # 1640887163 = 2021-12-30 17:59:23 UTC, the free_bike_status document's last_updated.
    assert vehicles["ghi799"].snapshot_time == datetime(2021, 12, 30, 17, 59, 23)
    docked = vehicles["jkl012"]
    assert (docked.lat, docked.station_id, docked.current_range_m, docked.vehicle_type_id) == (
        None,
        "86",
        6543.0,
        "def456",
    )
    assert vehicles["987fd100-b822-4347-86a4-b3eef8ca8b53"].snapshot_date == date(2023, 7, 17)


@pytest.fixture
def lenient_status_contract(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "gbfs_station_status.yaml"
    contract.write_text(
        contract.read_text(encoding="utf-8").replace(
            "quarantine_threshold: 0.05", "quarantine_threshold: 0.9"
        )
    )
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()


def test_bad_polls_and_records_are_quarantined_with_their_line(
    spark, lake, tmp_path, lenient_status_contract
):
    good = {
        "station_id": "s1",
        "num_vehicles_available": 4,
        "num_docks_available": 6,
        "is_installed": True,
        "is_renting": True,
        "is_returning": True,
        "last_reported": "2026-11-27T08:00:00+08:00",
    }
    doc = {
        "last_updated": "2026-11-27T08:00:05+08:00",
        "ttl": 60,
        "version": "3.0",
        "data": {
            "stations": [
                good,
                {**good, "station_id": "s2", "num_vehicles_available": -3},
                {**good, "station_id": "s3", "last_reported": "yesterday"},
                "s4",
            ]
        },
    }
    archive = tmp_path / "sz_bike_station_status_20261127.jsonl"
    archive.write_text(
        _envelope("station_status", doc)
        + "\n"
        + '{"system_id": "sz_bike", "feed": "station_status", "document": {"data": \n'
        + _envelope("station_status", {"version": "3.0", "data": {"vehicles": []}})
        + "\n",
        encoding="utf-8",
    )
    [row] = ingest_file(spark, load_catalog().get("gbfs_station_status"), archive, DAY)
    assert (row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined) == (6, 1, 0, 5)
    reasons = {
        r._row_number: (r.quarantine_rule, r.quarantine_reason)
        for r in read_table(spark, table_path("quarantine", "gbfs_station_status")).collect()
    }
    assert reasons[2] == (
        "expect_column_values_to_be_between:bikes_available",
        "bikes_available=-3 is outside [0, 1000] (expect_column_values_to_be_between)",
    )
    assert reasons[3] == (
        "parse_error",
        "last_reported='yesterday' is not a valid timestamp (POSIX seconds or RFC 3339)",
    )
    assert reasons[4] == ("parse_error", "line 1: record 3 is str, not an object")
    assert reasons[5][1].startswith("line 2: not valid JSON")
    assert reasons[6][1] == "line 3: data has no list stations"
    [ledger] = read_system(spark, "ingest_ledger").collect()
    assert ledger.rows_read == ledger.rows_promoted + ledger.rows_duplicate + ledger.rows_quarantined


def test_a_document_of_another_gbfs_file_refuses_the_archive(tmp_path):
    archive = tmp_path / "mixed.jsonl"
    archive.write_text(_envelope("station_information", {"data": {"stations": []}}) + "\n", encoding="utf-8")
    with pytest.raises(FeedError, match=r"mixed.jsonl: line 1 holds a GBFS 'station_information' document"):
        get_feed("gbfs_station_status").read(archive, _ctx("mixed.jsonl"))
    gbk = tmp_path / "gbk.jsonl"
    line = {"system_id": "sz_bike", "feed": "station_information", "document": {"data": {"stations": [
        {"name": "福田站"}
    ]}}}
    gbk.write_bytes(json.dumps(line, ensure_ascii=False).encode("gbk"))
    with pytest.raises(
        FeedError, match=r"gbk.jsonl: bytes at offset \d+ .* do not decode as the declared encoding utf-8"
    ):
        get_feed("gbfs_station_information").read(gbk, _ctx("gbk.jsonl"))


def test_availability_per_15_minutes_carries_the_state_over(spark):
    from itlake.gold.bike_availability import build_availability, with_station_zone

    status = spark.createDataFrame(
        [
            ("sz", "s1", datetime(2026, 11, 26, 15, 50), 5, 10),
            ("sz", "s1", datetime(2026, 11, 26, 16, 5), 3, 12),
            ("sz", "s1", datetime(2026, 11, 26, 16, 10), 4, 11),
            ("sz", "s2", datetime(2026, 11, 26, 16, 20), 7, 3),
        ],
        "system_id string, station_id string, last_reported timestamp, "
        "bikes_available int, docks_available int",
    )
    # Three intervals: 00:00, 00:15 and 00:30 on 27 November in Shenzhen.
    grid = spark.createDataFrame(
        [(datetime(2026, 11, 26, 16, m),) for m in (0, 15, 30)], "interval_start timestamp"
    )
    # s1 sits in Futian (the district's centroid); s2 is not in station_information.
    stations = spark.createDataFrame(
        [("sz", "s1", 114.04153456314172, 22.546179790257238)],
        "system_id string, station_id string, lon double, lat double",
    )
    rows = status.transform(build_availability(grid, "Asia/Shanghai")).transform(with_station_zone(stations))
    got = {
        (r.station_id, r.interval_start.minute): (
            r.bikes_available_mean, r.bikes_available_min, r.bikes_available_max,
            r.docks_available_mean, r.docks_available_min, r.reports, r.zone_id, r.service_date,
        )
        for r in rows.collect()
    }  # fmt: skip
    day = date(2026, 11, 27)
    assert got == {
        # 00:00: the state carried from 23:50 (5) and the reports at 00:05 (3) and 00:10 (4).
        ("s1", 0): (4.0, 3, 5, 11.0, 10, 2, "440304", day),
        ("s1", 15): (4.0, 4, 4, 11.0, 11, 0, "440304", day),
        ("s1", 30): (4.0, 4, 4, 11.0, 11, 0, "440304", day),
        # s2 is unknown before its first report at 00:20.
        ("s2", 15): (7.0, 7, 7, 3.0, 3, 1, None, day),
        ("s2", 30): (7.0, 7, 7, 3.0, 3, 0, None, day),
    }


# Real published documents (tests/fixtures/README.md): Oslo Bysykkel's GBFS 2.2, five stations kept,
# and the GBFS 3.0 test documents of MobilityData's schema repository, found through their gbfs.json.
OSLO = GBFS / "oslo"
V3 = GBFS / "v3.0"


def test_oslo_2_2_documents_as_served_ingest_exactly(spark, lake):
    catalog = load_catalog()
    [info] = ingest_file(
        spark, catalog.get("gbfs_station_information"), OSLO / "oslobysykkel_station_information.json", DAY
    )
    assert (info.rows_read, info.rows_promoted, info.rows_quarantined, info.status) == (5, 5, 0, "promoted")
    stations = {
        r.station_id: r for r in read_table(spark, table_path("silver", "gbfs_station_information")).collect()
    }
    assert sorted(stations) == ["2340", "2347", "2349", "2350", "2351"]
    huk = stations["2347"]
    assert (huk.system_id, huk.station_name, huk.capacity) == ("oslobysykkel", "Huk 2", 30)
    assert huk.gbfs_version == "2.2"
    assert (huk.lat, huk.lon) == (59.89843428245928, 10.674398461025874)
    # 1666548064 = 2022-10-23 18:01:04 UTC
    assert huk.last_updated == datetime(2022, 10, 23, 18, 1, 4)
    assert stations["2349"].station_name == "Maritimt Museum"

    [status] = ingest_file(
        spark, catalog.get("gbfs_station_status"), OSLO / "oslobysykkel_station_status.json", DAY
    )
    assert (status.rows_read, status.rows_promoted, status.rows_quarantined) == (5, 5, 0)
    reports = {
        r.station_id: r for r in read_table(spark, table_path("silver", "gbfs_station_status")).collect()
    }
    got = {k: (r.bikes_available, r.docks_available) for k, r in reports.items()}
    assert got == {"2351": (1, 17), "2350": (4, 20), "2349": (5, 16), "2347": (19, 9), "2340": (4, 21)}
    # 1688733103 = 2023-07-07 12:31:43 UTC
    assert reports["2347"].last_reported == datetime(2023, 7, 7, 12, 31, 43)
    # Both documents follow the 2.2 schema: no notice.
    assert read_system(spark, "feed_notices") is None


def test_3_0_documents_through_their_gbfs_json(spark, lake, tmp_path):
    from itlake.feeds._gbfs import named_documents

    catalog = load_catalog()
    counts = {}
    for name in ("gbfs_station_information", "gbfs_station_status", "gbfs_vehicle_status"):
        feed = get_feed(name)
        [path] = named_documents([V3 / "gbfs.json"], feed.gbfs_files, tmp_path / "staged")
        # The system id comes from system_information.json beside gbfs.json.
        assert path.name == f"example_london_{feed.gbfs_files[0]}.json"
        assert path.read_bytes() == (V3 / f"{feed.gbfs_files[0]}.json").read_bytes()
        [row] = ingest_file(spark, catalog.get(name), path, DAY)
        counts[name] = (row.rows_read, row.rows_promoted, row.rows_quarantined)
    assert counts == {
        "gbfs_station_information": (23, 23, 0),
        "gbfs_station_status": (1, 1, 0),
        "gbfs_vehicle_status": (7, 7, 0),
    }
    stations = {
        r.station_id: r for r in read_table(spark, table_path("silver", "gbfs_station_information")).collect()
    }
    first = stations["6efbec5a-6b8c-455b-bed2-8d66be6d6a4b"]
    assert (first.system_id, first.station_name, first.lat, first.gbfs_version) == (
        "example_london",
        "2 ROUES",
        48.8456017931977,
        "3.0",
    )
    [status] = read_table(spark, table_path("silver", "gbfs_station_status")).collect()
    assert (status.bikes_available, status.is_renting) == (0, True)
    assert status.last_reported == datetime(2019, 7, 4, 13, 33, 3, 969000)
    vehicles = {
        r.vehicle_id[:8]: r for r in read_table(spark, table_path("silver", "gbfs_vehicle_status")).collect()
    }
    assert len(vehicles) == 7
    bike = vehicles["2b648875"]
    assert (bike.lat, bike.lon, bike.current_range_m, bike.vehicle_type_id) == (
        48.84627,
        2.332335,
        16000.0,
        "ebicycle_paris",
    )
    assert bike.snapshot_time == datetime(2019, 7, 4, 13, 33, 3, 969000)


def test_schema_violations_are_notices_at_their_record(spark, lake):
    [row] = ingest_file(
        spark, load_catalog().get("gbfs_station_information"), GBFS / "station_information.jsonl", DAY
    )
    assert row.status == "promoted"
    notices = [
        (n.code, n.severity, n.file, n.row_number, n.field, n.value)
        for n in read_system(spark, "feed_notices").collect()
    ]
    # The third record (the 3.0 document's first station) names its Chinese text 'zh-Hans', which
    # the 3.0 schema's language pattern (two or three letters, an optional region) does not allow.
    assert notices == [
        ("invalid_format", "WARNING", "station_information.jsonl", 3, "name.1.language", "zh-Hans")
    ]


def test_documents_that_cannot_be_read_are_refused_with_the_reason(tmp_path):
    feed = get_feed("gbfs_station_status")
    plain = V3 / "station_status.json"
    with pytest.raises(FeedError, match=r"station_status.json: a GBFS document does not say which system"):
        feed.read(plain, _ctx(plain.name))
    with pytest.raises(FeedError, match=r"gbfs.json: a gbfs.json discovery document lists files"):
        feed.read(V3 / "gbfs.json", _ctx("gbfs.json"))
    cut = tmp_path / "sz_station_status.json"
    cut.write_text(plain.read_text(encoding="utf-8")[:200], encoding="utf-8")
    with pytest.raises(FeedError, match=r"sz_station_status.json: not a valid JSON document \(.* line \d+"):
        feed.read(cut, _ctx(cut.name))
    info = OSLO / "oslobysykkel_station_information.json"
    with pytest.raises(FeedError, match=r"the name says a GBFS 'station_information' document"):
        feed.read(info, _ctx(info.name))
