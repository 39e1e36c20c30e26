"""Smart-card taps: the Shenzhen Tong layout with a byte order mark, silver, and taps matched into trips.

tests/fixtures/smartcard_taps.csv is written by hand (UTF-8 with BOM, local times), five cards:
card 1 rides the metro 布吉 -> 老街 (08:00:00-08:25:30) and a bus at 18:00; card 2 exits without an
entry at 09:00 and enters without an exit at 19:00; card 3 stays 4.5 h in the paid area
(07:00-11:30) and later rides across midnight (23:50-00:20); card 4 enters and exits 西丽 in the
same second; card 5 has an unknown transaction type (地铁补票) and an entry that charges a fare.
Card 1's entry is repeated once.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from itlake.catalog.resources import load_catalog
from itlake.config import DEMO_PSEUDONYM_KEY, get_settings
from itlake.feeds import BatchContext, FeedError, get_feed
from itlake.ingest.flow import ingest_file
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "smartcard_taps.csv"
DAY = date(2026, 11, 27)


def _card(number: str) -> str:
    import hashlib
    import hmac

    return hmac.new(DEMO_PSEUDONYM_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def lenient_tap_contract(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "smartcard_tap.yaml"
    text = contract.read_text(encoding="utf-8")
    contract.write_text(
        text.replace("quarantine_threshold: 0.02", "quarantine_threshold: 0.5"), encoding="utf-8"
    )
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()


def test_taps_land_and_match_into_trips(spark, lake, lenient_tap_contract):
    from itlake.gold.smartcard_trips import run

    [row] = ingest_file(spark, load_catalog().get("smartcard_tap"), FIXTURE, DAY)
    assert (row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined) == (14, 11, 1, 2)
    assert row.reconciles
    taps = read_table(spark, table_path("silver", "smartcard_tap"))
    exit_1 = taps.where("station_name = '老街'").first()
    assert (exit_1.card_id, exit_1.tap_time, exit_1.tap_date) == (
        _card("290000001"),
        datetime(2026, 11, 27, 0, 25, 30),
        date(2026, 11, 27),
    )
    assert (exit_1.tap_type, exit_1.mode, exit_1.line_name, exit_1.fare_cny, exit_1.transfer) == (
        "metro_exit",
        "metro",
        "地铁三号线",
        3.8,
        False,
    )
    bus = taps.where("mode = 'bus'").first()
    assert (bus.tap_type, bus.vehicle_no, bus.station_name, bus.fare_cny, bus.transfer) == (
        "bus_board",
        "粤B12345D",
        None,
        1.9,
        True,
    )
    reasons = {
        r._row_number: (r.quarantine_rule, r.quarantine_reason)
        for r in read_table(spark, table_path("quarantine", "smartcard_tap")).collect()
    }
    assert reasons == {
        9: ("parse_error", "deal_type='地铁补票' is not one of 地铁入站, 地铁出站, 巴士"),
        10: (
            "invariant:no_fare_on_metro_entry",
            "breaks tap_type <> 'metro_entry' OR coalesce(fare_cny, 0) = 0 "
            "(invariant:no_fare_on_metro_entry)",
        ),
    }

    counts = run(spark, DAY, "Asia/Shanghai")
    assert counts == {"rows": 3, "unmatched_taps": 6}
    trips = {
        (r.card_id, r.mode, r.entry_time): r
        for r in read_table(spark, table_path("gold", "smartcard_trip")).collect()
    }
    metro_1 = trips[(_card("290000001"), "metro", datetime(2026, 11, 27, 0, 0))]
    assert (metro_1.entry_station, metro_1.exit_station, metro_1.entry_line, metro_1.exit_line) == (
        "布吉",
        "老街",
        "地铁三号线",
        "地铁三号线",
    )
    assert (metro_1.exit_time, metro_1.duration_s, metro_1.fare_cny, metro_1.service_date) == (
        datetime(2026, 11, 27, 0, 25, 30),
        1530,
        3.8,
        date(2026, 11, 27),
    )
    bus_1 = trips[(_card("290000001"), "bus", datetime(2026, 11, 27, 10, 0))]
    assert (bus_1.exit_time, bus_1.duration_s, bus_1.entry_line, bus_1.vehicle_no, bus_1.fare_cny) == (
        None,
        None,
        "巴士集团",
        "粤B12345D",
        1.9,
    )
    # 23:50 -> 00:20 local belongs to the service day that started at 04:00 on the 27th.
    late = trips[(_card("290000003"), "metro", datetime(2026, 11, 27, 15, 50))]
    assert (late.exit_station, late.duration_s, late.service_date) == ("会展中心", 1800, date(2026, 11, 27))

    unmatched = {
        (r.card_id, r.station_name, r.tap_type): r.reason
        for r in read_table(spark, table_path("gold", "smartcard_unmatched_tap")).collect()
    }
    assert unmatched == {
        (_card("290000002"), "大剧院", "metro_exit"): "exit_without_entry",
        (_card("290000002"), "大剧院", "metro_entry"): "entry_without_exit",
        (_card("290000003"), "罗湖", "metro_entry"): "over_time_limit",
        (_card("290000003"), "机场东", "metro_exit"): "over_time_limit",
        (_card("290000004"), "西丽", "metro_entry"): "exit_not_after_entry",
        (_card("290000004"), "西丽", "metro_exit"): "exit_not_after_entry",
    }


def _ctx(name: str, encoding: str) -> BatchContext:
    return BatchContext("b", "0" * 64, name, DAY, b"k", encoding, "WGS-84", "Asia/Shanghai")


def test_wrong_encodings_are_refused_before_any_mojibake(tmp_path):
    feed = get_feed("smartcard_tap")
    # UTF-8 (with BOM) declared GBK: these bytes happen to be valid GBK too, and would read as
    # mojibake (巴士 -> 宸村＋, the header as 锘縟eal_date) without the check.
    header = FIXTURE.read_text(encoding="utf-8-sig").splitlines()[0]
    bus = "2026-11-27 18:00:00,2026-11-28 00:00:00,290000001,200,巴士,巴士集团,B12345D,,1,190,268000001"
    utf8 = tmp_path / "taps_utf8.csv"
    utf8.write_bytes(b"\xef\xbb\xbf" + f"{header}\n{bus}\n".encode())
    assert utf8.read_bytes().decode("gbk").startswith("锘縟eal_date")  # the trap is real
    with pytest.raises(
        FeedError, match=r"taps_utf8.csv: declared gbk but the bytes are UTF-8 .* offset 0: ef bb bf"
    ):
        feed.read(utf8, _ctx("taps_utf8.csv", "gbk"))
    data = FIXTURE.read_bytes()
    gbk = tmp_path / "taps_gbk.csv"
    gbk.write_bytes(data[3:].decode("utf-8").encode("gbk"))
    offset = gbk.read_bytes().index("地".encode("gbk"))
    with pytest.raises(
        FeedError, match=rf"taps_gbk.csv: bytes at offset {offset} .* declared encoding utf-8-sig"
    ):
        feed.read(gbk, _ctx("taps_gbk.csv", "utf-8-sig"))
    table = feed.read(FIXTURE, _ctx("smartcard_taps.csv", "utf-8-sig"))["smartcard_tap"]
    assert table.column_names[0] == "deal_date" and table.column("deal_type")[0].as_py() == "地铁入站"
