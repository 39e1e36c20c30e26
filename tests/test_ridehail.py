"""Ride-hailing orders: one row per order with its event times, WGS-84, pseudonyms, invariants.

tests/fixtures/ridehail_orders.csv is written by hand: 5 good orders (completed in GCJ-02 and
BD-09, cancelled by the passenger, no driver, still under way), 6 broken ones and one repeated row.
Coordinates use published reference pairs: Tiananmen is WGS-84 (116.397428, 39.90923), GCJ-02
(116.4036716, 39.9106335), BD-09 (116.4100441, 39.9169729); WGS-84 (128.543, 37.065) is GCJ-02
(128.54820547949757, 37.065651049489816) (wandergis/coordTransform README).
"""

from __future__ import annotations

import hashlib
import hmac
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
from itlake.lake.system import read_system

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "ridehail_orders.csv"
DAY = date(2026, 11, 27)


@pytest.fixture
def lenient_ridehail_contract(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "ridehail_order.yaml"
    text = contract.read_text(encoding="utf-8")
    contract.write_text(
        text.replace("quarantine_threshold: 0.05", "quarantine_threshold: 0.9"), encoding="utf-8"
    )
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()


def test_orders_land_one_row_each_with_times_status_and_wgs84(spark, lake, lenient_ridehail_contract):
    [row] = ingest_file(spark, load_catalog().get("ridehail_order"), FIXTURE, DAY)
    assert (row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined) == (12, 5, 1, 6)
    ledger = read_system(spark, "ingest_ledger").first()
    assert ledger.rows_read == ledger.rows_promoted + ledger.rows_duplicate + ledger.rows_quarantined

    orders = {r.order_id: r for r in read_table(spark, table_path("silver", "ridehail_order")).collect()}
    assert sorted(orders) == ["R01", "R02", "R03", "R04", "R05"]
    r01 = orders["R01"]
    # Local 08:00 in Shenzhen is 00:00 UTC.
    assert (r01.order_time, r01.accept_time, r01.pickup_time, r01.dropoff_time, r01.cancel_time) == (
        datetime(2026, 11, 27, 0, 0, 0),
        datetime(2026, 11, 27, 0, 0, 30),
        datetime(2026, 11, 27, 0, 6, 0),
        datetime(2026, 11, 27, 0, 30, 0),
        None,
    )
    assert (r01.status, r01.order_date, r01.distance_m, r01.fare_cny, r01.company_id) == (
        "completed",
        date(2026, 11, 27),
        12_500.0,
        38.6,
        "DDCX",
    )
    assert (r01.src_crs, r01.src_pickup_lon, r01.src_pickup_lat) == ("GCJ-02", 116.4036716, 39.9106335)
    assert r01.pickup_lon == pytest.approx(116.397428, abs=1e-6)
    assert r01.pickup_lat == pytest.approx(39.90923, abs=1e-6)
    assert r01.dropoff_lon == pytest.approx(128.543, abs=1e-8)
    assert r01.dropoff_lat == pytest.approx(37.065, abs=1e-8)
    r02 = orders["R02"]
    assert (r02.src_crs, r02.src_pickup_lon) == ("BD-09", 116.4100441)
    assert (r02.pickup_lon, r02.pickup_lat) == pytest.approx((116.397428, 39.90923), abs=1e-6)
    # WGS-84 (Encrypt 2) passes through; an empty Encrypt takes the catalogue's GCJ-02.
    assert (orders["R03"].src_crs, orders["R03"].pickup_lon, orders["R03"].pickup_lat) == (
        "WGS-84",
        114.05,
        22.54,
    )
    assert orders["R04"].src_crs == "GCJ-02"
    assert orders["R04"].pickup_lon == pytest.approx(116.397428, abs=1e-6)
    assert {k: orders[k].status for k in ("R03", "R04", "R05")} == {
        "R03": "cancelled_by_passenger",
        "R04": "no_driver",
        "R05": "in_progress",
    }
    assert (orders["R04"].accept_time, orders["R04"].driver_id) == (None, None)

    key = DEMO_PSEUDONYM_KEY.encode("utf-8")
    assert r01.passenger_id == hmac.new(key, b"13800000001", hashlib.sha256).hexdigest()
    assert r01.plate_id == hmac.new(key, "粤BD12345".encode(), hashlib.sha256).hexdigest()
    assert r01.driver_id == orders["R03"].driver_id != orders["R05"].driver_id

    reasons = {
        r._row_number: (r.quarantine_rule, r.quarantine_reason)
        for r in read_table(spark, table_path("quarantine", "ridehail_order")).collect()
    }
    assert {n: rule for n, (rule, _) in reasons.items()} == {
        6: "invariant:pickup_not_before_request",
        7: "expect_column_values_to_be_between:fare_cny",
        8: "parse_error",
        9: "invariant:completed_or_cancelled_not_both",
        10: "invariant:dropoff_not_before_pickup",
        11: "parse_error",
    }
    assert reasons[7][1] == "fare_cny=-20.0 is outside [0.0, 10000.0] (expect_column_values_to_be_between)"
    assert reasons[8][1] == "Encrypt='4' is not 1 (GCJ-02), 2 (WGS-84) or 3 (BD-09)"
    assert reasons[11][1] == "OrderTime='2026-11-27 25:00:00' is not a valid timestamp"


def _ctx(name: str, encoding: str) -> BatchContext:
    return BatchContext("b", "0" * 64, name, DAY, b"k", encoding, "GCJ-02", "Asia/Shanghai")


def test_encodings_gbk_declared_utf8_utf8_declared_gbk_and_bom(tmp_path):
    feed = get_feed("ridehail_order")
    text = FIXTURE.read_text(encoding="utf-8")
    gbk = tmp_path / "orders_gbk.csv"
    gbk.write_bytes(text.encode("gbk"))
    offset = text.encode("gbk").index("粤".encode("gbk"))
    with pytest.raises(FeedError, match=rf"orders_gbk.csv: bytes at offset {offset} \(d4 c1 "):
        feed.read(gbk, _ctx("orders_gbk.csv", "utf-8"))
    # UTF-8 declared GBK: 粤 is e7 b2 a4; GBK reads e7 b2 as one character (mojibake) and then
    # fails on a4 42, two bytes further on.
    utf8_offset = text.encode("utf-8").index("粤".encode())
    with pytest.raises(
        FeedError, match=rf"ridehail_orders.csv: bytes at offset {utf8_offset + 2} \(a4 42 44 31\)"
    ):
        feed.read(FIXTURE, _ctx("ridehail_orders.csv", "gbk"))
    # A GBK file declared GBK reads, and so does a UTF-8 file with a byte order mark.
    assert (
        feed.read(gbk, _ctx("orders_gbk.csv", "gbk"))["ridehail_order"].column("VehicleNo")[0].as_py()
        == "粤BD12345"
    )
    bom = tmp_path / "orders_bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    table = feed.read(bom, _ctx("orders_bom.csv", "utf-8"))["ridehail_order"]
    assert table.column("CompanyId")[0].as_py() == "DDCX" and table.num_rows == 12
