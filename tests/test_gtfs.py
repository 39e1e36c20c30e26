"""GTFS static: every file lands, feed versions, and validation notices (MobilityData codes).

Expected notices are worked out by hand from the corruption each test makes in a copy of
tests/fixtures/sample_gtfs.zip (row numbers count data records, the header is not counted).
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from itlake.catalog.resources import load_catalog
from itlake.feeds import BatchContext, FeedError
from itlake.feeds.gtfs import FEED
from itlake.ingest.flow import ingest_file
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path
from itlake.lake.system import read_system
from itlake.lake.tables import read_lake_table

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = FIXTURES / "sample_gtfs.zip"
CAIRNS = FIXTURES / "cairns_gtfs.zip"
DAY = date(2026, 11, 27)


def context(name: str = "feed.zip") -> BatchContext:
    return BatchContext("gtfs-test", "0" * 64, name, DAY, b"k", "utf-8", "WGS-84", "UTC")


def notices_of(path: Path) -> list[tuple]:
    notices = FEED.validate(FEED.read(path, context(path.name)), context(path.name))
    return sorted((n.code, n.severity, n.file, n.row_number, n.field, n.value) for n in notices)


def copy_of_sample(tmp_path: Path, name: str, *, drop=(), replace=None, append=None) -> Path:
    """sample_gtfs.zip with members dropped, text replaced ({member: (old, new)}) or lines appended."""
    target = tmp_path / name
    with zipfile.ZipFile(SAMPLE) as src, zipfile.ZipFile(target, "w") as dst:
        for member in src.namelist():
            if member in drop:
                continue
            text = src.read(member).decode("utf-8")
            if replace and member in replace:
                old, new = replace[member]
                assert old in text, (member, old)
                text = text.replace(old, new, 1)
            if append and member in append:
                text = text.rstrip("\n") + "\n" + append[member] + "\n"
            dst.writestr(member, text)
        for member, text in (append or {}).items():
            if member not in src.namelist():
                dst.writestr(member, text)
    return target


ATTRIBUTIONS = ("unsupported_file", "WARNING", "attributions.txt", None, None, None)


def test_the_real_feeds_have_no_error_only_expired_calendars():
    # Cairns ran in 2014 and the sample until 2010: each calendar row ended before the batch's day.
    assert notices_of(CAIRNS) == [
        ("expired_calendar", "WARNING", "calendar.txt", row, "end_date", end)
        for row, end in [(1, "20141226"), (2, "20141226"), (3, "20141227"), (4, "20141228")]
    ]
    # The sample also holds attributions.txt, which the lake keeps as text without typing it.
    assert notices_of(SAMPLE) == [
        ("expired_calendar", "WARNING", "calendar.txt", 1, "end_date", "20101231"),
        ("expired_calendar", "WARNING", "calendar.txt", 2, "end_date", "20101231"),
        ATTRIBUTIONS,
    ]


WARNINGS = [
    ("expired_calendar", "WARNING", "calendar.txt", 1, "end_date", "20101231"),
    ("expired_calendar", "WARNING", "calendar.txt", 2, "end_date", "20101231"),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"append": {"stops.txt": "NADAV,Second North Ave (Demo),,36.9149,-116.7682,,"}},
            [("duplicate_key", "ERROR", "stops.txt", 10, "stop_id", "NADAV")],
            id="duplicated_stop_id",
        ),
        pytest.param(
            {"replace": {"trips.txt": ("AB,FULLW,AB1,", "XB,FULLW,AB1,")}},
            [("foreign_key_violation", "ERROR", "trips.txt", 1, "route_id", "XB")],
            id="trip_with_unknown_route",
        ),
        pytest.param(
            {"replace": {"stop_times.txt": ("CITY1,6:12:00,6:14:00", "CITY1,6:06:00,6:14:00")}},
            [
                (
                    "stop_time_with_arrival_before_previous_departure_time",
                    "ERROR",
                    "stop_times.txt",
                    5,
                    "arrival_time",
                    "6:06:00",
                )
            ],
            id="times_going_backwards",
        ),
        pytest.param(
            {"drop": ("stops.txt",)},
            [("missing_required_file", "ERROR", "stops.txt", None, None, None)],
            id="missing_stops_txt",
        ),
        pytest.param(
            {
                "replace": {
                    "stops.txt": ("36.868446,-116.784582", "96.868446,-116.784582"),
                    "calendar.txt": ("WE,0,0,0,0,0,1,1,20070101", "WE,0,0,0,0,0,1,1,2007-01-01"),
                    "stop_times.txt": ("STBA,6:20:00,6:20:00", "STBA,6:20,6:20:00"),
                    "routes.txt": ("AB,DTA,10,Airport - Bullfrog,,3", "AB,DTA,10,Airport - Bullfrog,,"),
                },
                "append": {
                    "shapes.txt": "S1,36.42,-117.13,1,0\nS1,36.43,-117.12,2,5.5\nS1,36.44,-117.11,3,5.5"
                },
            },
            [
                (
                    "decreasing_or_equal_shape_distance",
                    "ERROR",
                    "shapes.txt",
                    3,
                    "shape_dist_traveled",
                    "5.5",
                ),
                ("invalid_date", "ERROR", "calendar.txt", 2, "start_date", "2007-01-01"),
                ("invalid_time", "ERROR", "stop_times.txt", 2, "arrival_time", "6:20"),
                ("missing_required_field", "ERROR", "routes.txt", 1, "route_type", None),
                ("number_out_of_range", "ERROR", "stops.txt", 2, "stop_lat", "96.868446"),
            ],
            id="bad_values",
        ),
    ],
)
def test_a_corrupted_copy_gives_exactly_the_expected_notices(tmp_path, change, expected):
    broken = copy_of_sample(tmp_path, "broken.zip", **change)
    assert notices_of(broken) == sorted([*expected, *WARNINGS, ATTRIBUTIONS])


def test_an_error_refuses_the_version_and_the_notices_say_where(spark, lake, tmp_path):
    broken = copy_of_sample(
        tmp_path, "dup_stop.zip", append={"stops.txt": "NADAV,Second North Ave (Demo),,36.9149,-116.7682,,"}
    )
    with pytest.raises(FeedError, match=r"dup_stop.zip: duplicate_key: stops.txt row 10 stop_id='NADAV'"):
        ingest_file(spark, load_catalog().get("gtfs"), broken, DAY)
    [ledger] = read_system(spark, "ingest_ledger").collect()
    assert (ledger.status, ledger.rows_read, ledger.rows_promoted) == ("refused", 0, 0)
    assert "duplicate_key" in ledger.message
    notices = read_system(spark, "feed_notices").orderBy("severity", "row_number").collect()
    assert [(n.code, n.severity, n.file, n.row_number, n.field, n.value) for n in notices] == [
        ("duplicate_key", "ERROR", "stops.txt", 10, "stop_id", "NADAV"),
        ATTRIBUTIONS,  # no row number: first among the warnings
        *WARNINGS,
    ]
    assert {(n.feed, n.batch_id[:5], n.source_file, len(n.feed_version)) for n in notices} == {
        ("gtfs", "gtfs-", "dup_stop.zip", 64)
    }
    assert not (lake / "silver" / "gtfs_stop").exists()
    assert not (lake / "bronze").exists()


def test_sample_feed_lands_every_file_and_versions_stay_readable(spark, lake, tmp_path):
    entry = load_catalog().get("gtfs")
    first = {r.table: r for r in ingest_file(spark, entry, SAMPLE, DAY)}
    # Data rows counted by hand in sample_gtfs.zip (shapes.txt and feed_info.txt hold a header only).
    expected = {
        "gtfs_agency": 1,
        "gtfs_stop": 9,
        "gtfs_route": 5,
        "gtfs_trip": 11,
        "gtfs_stop_time": 28,
        "gtfs_calendar": 2,
        "gtfs_calendar_date": 1,
        "gtfs_shape": 0,
        "gtfs_frequency": 11,
        "gtfs_feed_info": 0,
        "gtfs_fare_attribute": 2,
        "gtfs_fare_rule": 4,
        "gtfs_unsupported_file": 1,  # attributions.txt, kept as text
        "gtfs_feed_version": 1,  # the version itself, with its feed's identity
    }
    assert {t: (r.status, r.rows_read, r.rows_promoted) for t, r in first.items()} == {
        t: ("promoted", n, n) for t, n in expected.items()
    }
    version_1 = first["gtfs_stop"].sha256

    # The same zip again (it has no transfers.txt, an optional file) is the same version: a no-op.
    [again] = ingest_file(spark, entry, SAMPLE, DAY)
    assert again.status == "already_ingested"

    # A changed zip is a new version; the first stays readable by its feed_version.
    changed = copy_of_sample(
        tmp_path,
        "sample_v2.zip",
        drop=("frequencies.txt", "fare_attributes.txt", "fare_rules.txt", "feed_info.txt", "shapes.txt"),
        replace={"stops.txt": ("Bullfrog (Demo)", "Bullfrog Junction (Demo)")},
        append={
            "transfers.txt": (
                "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nBULLFROG,BEATTY_AIRPORT,2,300"
            )
        },
    )
    second = {r.table: r for r in ingest_file(spark, entry, changed, DAY)}
    version_2 = second["gtfs_stop"].sha256
    assert version_2 != version_1 and second["gtfs_transfer"].rows_promoted == 1

    stops = read_lake_table(spark, "gtfs_stop")
    names = {r.feed_version: r.stop_name for r in stops.where(F.col("stop_id") == "BULLFROG").collect()}
    assert names == {version_1: "Bullfrog (Demo)", version_2: "Bullfrog Junction (Demo)"}
    counts = {r.feed_version: r["count"] for r in stops.groupBy("feed_version").count().collect()}
    assert counts == {version_1: 9, version_2: 9}

    frequency = read_lake_table(spark, "gtfs_frequency").where(
        (F.col("trip_id") == "CITY1") & (F.col("start_time_s") == 8 * 3600)
    )
    [row] = frequency.collect()
    assert (row.feed_version, row.end_time_s, row.headway_s) == (version_1, 9 * 3600 + 59 * 60 + 59, 600)
    [rule] = read_lake_table(spark, "gtfs_fare_rule").where(F.col("route_id") == "AAMV").collect()
    assert (rule.fare_id, rule.origin_id, rule.contains_id) == ("a", "", "")
    [transfer] = read_lake_table(spark, "gtfs_transfer").collect()
    assert (transfer.from_stop_id, transfer.to_route_id, transfer.min_transfer_time_s) == (
        "BULLFROG",
        "",
        300,
    )

    notices = read_system(spark, "feed_notices")
    assert {
        (r.feed_version, r.code): r["count"]
        for r in notices.groupBy("feed_version", "code").count().collect()
    } == {
        (version_1, "expired_calendar"): 2,
        (version_2, "expired_calendar"): 2,
        (version_1, "unsupported_file"): 1,
        (version_2, "unsupported_file"): 1,
    }


def test_the_real_cairns_feed_lands_completely(spark, lake):
    rows = {r.table: r for r in ingest_file(spark, load_catalog().get("gtfs"), CAIRNS, DAY)}
    # Data rows counted in the files of cairns_gtfs.zip (Queensland TMR, 2014).
    expected = {
        "gtfs_agency": 1,
        "gtfs_stop": 416,
        "gtfs_route": 22,
        "gtfs_trip": 1339,
        "gtfs_stop_time": 37790,
        "gtfs_calendar": 4,
        "gtfs_calendar_date": 9,
        "gtfs_shape": 22784,
        "gtfs_feed_version": 1,
    }
    assert {t: (r.rows_read, r.rows_promoted) for t, r in rows.items()} == {
        t: (n, n) for t, n in expected.items()
    }
    for table, count in expected.items():
        assert read_lake_table(spark, table).count() == count, table
    [agency] = read_lake_table(spark, "gtfs_agency").collect()
    assert (agency.agency_id, agency.agency_timezone) == ("", "Australia/Brisbane")
    first = read_lake_table(spark, "gtfs_stop_time").where(
        (F.col("trip_id") == "CNS2014-CNS_MUL-Weekday-00-4165878") & (F.col("stop_sequence") == 1)
    )
    assert [(r.stop_id, r.arrival_time_s) for r in first.collect()] == [("750337", 5 * 3600 + 50 * 60)]


def test_files_the_lake_does_not_type_are_kept_as_text(spark, lake, tmp_path):
    levels = "level_id,level_index,level_name\nL0,0,Ground\nL1,-1,Concourse\n"
    pathways = (
        "pathway_id,from_stop_id,to_stop_id,pathway_mode,is_bidirectional\nP1,BEATTY_AIRPORT,STAGECOACH,1,1\n"
    )
    translations = (
        "table_name,field_name,language,translation,field_value\n"
        "stops,stop_name,zh,机场,Nye County Airport (Demo)\n"
    )
    fare_products = "fare_product_id,fare_product_name,amount,currency\nsingle,Single ride,2.00,USD\n"
    locations = '{"type":"FeatureCollection","features":[]}'
    readme = "Exported by the scheduling system.\n"
    zipped = copy_of_sample(
        tmp_path,
        "with_extras.zip",
        append={
            "levels.txt": levels,
            "pathways.txt": pathways,
            "translations.txt": translations,
            "fare_products.txt": fare_products,
            "locations.geojson": locations,
            "readme.txt": readme,
        },
    )
    rows = {r.table: r for r in ingest_file(spark, load_catalog().get("gtfs"), zipped, DAY)}
    kept = rows["gtfs_unsupported_file"]
    assert (kept.status, kept.rows_read, kept.rows_promoted) == ("promoted", 7, 7)
    assert rows["gtfs_stop"].rows_promoted == 9  # the typed files land as before
    silver = {r.file_name: r for r in read_lake_table(spark, "gtfs_unsupported_file").collect()}
    assert sorted(silver) == [
        "attributions.txt",
        "fare_products.txt",
        "levels.txt",
        "locations.geojson",
        "pathways.txt",
        "readme.txt",
        "translations.txt",
    ]
    assert silver["levels.txt"].content == levels
    assert silver["translations.txt"].content == translations
    assert silver["locations.geojson"].content == locations
    assert (silver["levels.txt"].size_bytes, silver["levels.txt"].gtfs_reference_file) == (60, True)
    assert silver["readme.txt"].gtfs_reference_file is False
    assert {r.feed_version for r in silver.values()} == {kept.sha256}
    bronze = read_table(spark, table_path("bronze", "gtfs_unsupported_file")).collect()
    assert {r.file_name: r.content for r in bronze}["pathways.txt"] == pathways
    notices = {
        n.file: (n.code, n.severity)
        for n in read_system(spark, "feed_notices").where(F.col("code").endswith("_file")).collect()
    }
    assert notices == {
        "attributions.txt": ("unsupported_file", "WARNING"),
        "fare_products.txt": ("unsupported_file", "WARNING"),
        "levels.txt": ("unsupported_file", "WARNING"),
        "locations.geojson": ("unsupported_file", "WARNING"),
        "pathways.txt": ("unsupported_file", "WARNING"),
        "translations.txt": ("unsupported_file", "WARNING"),
        "readme.txt": ("unknown_file", "INFO"),
    }
