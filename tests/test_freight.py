"""Freight feeds: waybills (CSV and JSON Lines, legs, GB/T 2260 codes), port throughput, truck reports.

Each ingest test checks the quarantine reason of every bad row and that the ledger reconciles.
"""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = date(2026, 11, 27)


@pytest.fixture
def lenient_freight_contracts(tmp_path, monkeypatch):
    """The contracts, with the freight tables allowed to quarantine half a batch (fixtures are dirty)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    for name in ("waybill", "waybill_leg", "port_throughput", "truck_position"):
        path = schemas / f"{name}.yaml"
        text = path.read_text(encoding="utf-8").replace(
            "quarantine_threshold: 0.05", "quarantine_threshold: 0.5"
        )
        path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()


def quarantined(spark, table: str) -> dict[int, tuple[str, str]]:
    return {
        r._row_number: (r.quarantine_rule, r.quarantine_reason)
        for r in read_table(spark, table_path("quarantine", table)).collect()
    }


def counts(row) -> tuple[int, int, int, int]:
    assert row.reconciles and row.rows_read == row.rows_promoted + row.rows_duplicate + row.rows_quarantined
    return row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined


def test_admin_code_table_lists_every_province_and_the_demo_cities():
    from itlake.demo.waybill import CITIES
    from itlake.geo.admin_codes import city_code, load_admin_codes
    from itlake.geo.zones import DISTRICT_CODES

    codes = load_admin_codes()
    provinces = {c for c, v in codes.items() if v.level == "province"}
    assert len(provinces) == 34  # 31 mainland provinces, Taiwan, Hong Kong, Macao
    assert set(CITIES) | set(DISTRICT_CODES.values()) | {"440300"} <= set(codes)
    assert (codes["440306"].name_zh, codes["440306"].level) == ("宝安区", "county")
    assert [city_code(c) for c in ("440306", "440300", "110105", "310000", "440000")] == [
        "440300",
        "440300",
        "110000",
        "310000",
        "440000",
    ]
    assert all(city_code(c) in codes for c in codes)


def test_waybills_csv_quarantine_legs_and_pseudonyms(spark, lake, lenient_freight_contracts):
    rows = {
        r.table: r
        for r in ingest_file(spark, load_catalog().get("waybill"), FIXTURES / "waybill_tiny.csv", DAY)
    }
    # 7 records: 3 bad, WB..001 sent twice. Legs: WB..002 has two, every other record one.
    assert counts(rows["waybill"]) == (7, 3, 1, 3)
    assert counts(rows["waybill_leg"]) == (8, 6, 1, 1)

    bad = quarantined(spark, "waybill")
    assert bad == {
        3: (
            "parse_error",
            "unknown_admin_code: destination_code=440399 is not a GB/T 2260 code listed in "
            "itlake/data/gbt2260.csv",
        ),
        4: (
            "expect_column_values_to_be_between:weight_kg",
            "weight_kg=-500.0 is outside [0.001, 200000.0] (expect_column_values_to_be_between)",
        ),
        5: (
            "invariant:delivery_not_before_pickup",
            "breaks delivery_time IS NULL OR delivery_time >= pickup_time "
            "(invariant:delivery_not_before_pickup)",
        ),
    }
    [leg_bad] = quarantined(spark, "waybill_leg").values()
    assert leg_bad[1].startswith("unknown_admin_code: to_code=440399")

    silver = {r.waybill_no: r for r in read_table(spark, table_path("silver", "waybill")).collect()}
    assert sorted(silver) == ["WB20261127000001", "WB20261127000002", "WB20261127000006"]
    first = silver["WB20261127000001"]
    assert (first.pickup_time, first.delivery_time) == (
        datetime(2026, 11, 27, 0, 0),
        datetime(2026, 11, 27, 3, 30),
    )
    assert (first.weight_kg, first.volume_m3, first.mode) == (1200.5, 4.8, "road")
    assert len(first.plate_id) == 64 and len(first.shipper_id) == 64
    assert silver["WB20261127000002"].plate_id is None  # no plate on a water shipment

    legs = sorted(
        (r.waybill_no[-1], r.leg_no, r.mode, r.from_code, r.to_code, str(r.pickup_date))
        for r in read_table(spark, table_path("silver", "waybill_leg")).collect()
    )
    assert legs == [
        ("1", 1, "road", "440306", "440100", "2026-11-27"),
        ("2", 1, "road", "440306", "440308", "2026-11-27"),
        ("2", 2, "water", "440308", "310000", "2026-11-27"),
        ("4", 1, "road", "440307", "441900", "2026-11-27"),
        ("5", 1, "road", "440303", "440600", "2026-11-27"),
        ("6", 1, "air", "440305", "110000", "2026-11-27"),
    ]


def test_a_gbk_waybill_file_declared_utf8_is_refused_naming_file_and_offset(spark, lake, tmp_path):
    wrong = tmp_path / "waybill_declared_utf8.csv"
    shutil.copy(FIXTURES / "waybill_tiny.csv", wrong)
    entry = load_catalog().get("waybill").model_copy(update={"encoding": "utf-8"})
    with pytest.raises(
        FeedError,
        match=r"^waybill_declared_utf8.csv: bytes at offset 0 \(d4 cb b5 a5\) do not decode as the "
        r"declared encoding utf-8: invalid continuation byte; the bytes look like GBK/GB18030$",
    ):
        ingest_file(spark, entry, wrong, DAY)


def context(name: str, encoding: str) -> BatchContext:
    return BatchContext("b", "0" * 64, name, DAY, b"k", encoding, "WGS-84", "Asia/Shanghai")


def test_waybill_json_lines_give_the_same_raw_fields_and_legs(tmp_path):
    path = tmp_path / "waybills.jsonl"
    path.write_text(
        '{"waybill_no": "J1", "shipper": "甲", "consignee": "乙", "origin_code": "440306", '
        '"destination_code": "420100", "cargo_class": "container", "weight_kg": 18000, "volume_m3": 40.5, '
        '"mode": "rail", "plate": null, "pickup_time": "2026-11-27 07:00:00", "delivery_time": null, '
        '"legs": [{"mode": "road", "from": "440306", "to": "440300"}, '
        '{"mode": "rail", "from": "440300", "to": "420100"}]}\n'
        "\n"
        '{"waybill_no": "J2", "weight": 5}\n'
        "[1, 2]\n"
        '{"waybill_no": "J3", "legs": [{"mode": "air", "from": "44030", "to": "110000"}]}\n',
        encoding="utf-8",
    )
    tables = get_feed("waybill").read(path, context("waybills.jsonl", "gbk"))
    waybills = tables["waybill"].to_pylist()
    assert [r["_row_number"] for r in waybills] == [1, 2, 3, 4]
    assert (waybills[0]["运单号"], waybills[0]["重量kg"], waybills[0]["车牌号"]) == ("J1", "18000", None)
    assert waybills[0]["联运段"] == "road:440306-440300;rail:440300-420100"
    assert waybills[1]["_raw_error"].startswith("unknown keys ['weight']")
    assert waybills[2]["_raw_error"].startswith("a record is a JSON object, not list")
    legs = tables["waybill_leg"].to_pylist()
    assert [(r["运单号"], r["段号"], r["运输方式"], r["起点代码"], r["终点代码"]) for r in legs] == [
        ("J1", "1", "road", "440306", "440300"),
        ("J1", "2", "rail", "440300", "420100"),
        ("J3", "1", None, None, None),
    ]
    assert legs[2]["_raw_error"] == (
        "联运段 of waybill record 4: leg 1 'air:44030-110000' is not mode:from-to (e.g. road:440306-440308)"
    )


def test_port_throughput_units_directions_and_bad_months(spark, lake, lenient_freight_contracts):
    entry = load_catalog().get("port_throughput")
    [row] = ingest_file(spark, entry, FIXTURES / "port_throughput_tiny.csv", DAY)
    assert counts(row) == (6, 3, 0, 3)
    assert quarantined(spark, "port_throughput") == {
        4: ("parse_error", "统计月份='2026-13' is not a valid month (yyyy-MM)"),
        5: (
            "expect_column_values_to_be_between:teu",
            "teu=-32000 is outside [0, 100000000] (expect_column_values_to_be_between)",
        ),
        6: ("parse_error", "统计月份='202610' is not a valid month (yyyy-MM)"),
    }
    silver = sorted(
        (r.port_code, str(r.month), r.direction, r.trade, r.teu, r.tonnage_t)
        for r in read_table(spark, table_path("silver", "port_throughput")).collect()
    )
    assert silver == [
        ("CNSHK", "2026-10-01", "outbound", "domestic", 50200, 805000.0),
        ("CNYTN", "2026-10-01", "inbound", "foreign", 581000, 6900000.0),
        ("CNYTN", "2026-10-01", "outbound", "foreign", 623500, 7052000.0),
    ]


def test_truck_reports_deduplicated_and_a_jump_quarantined(spark, lake, lenient_freight_contracts):
    entry = load_catalog().get("truck_position")
    [row] = ingest_file(spark, entry, FIXTURES / "truck_position_tiny.csv", DAY)
    assert counts(row) == (8, 6, 1, 1)
    [(rule, reason)] = quarantined(spark, "truck_position").values()
    assert rule == "parse_error"
    assert reason == "impossible_jump: 3016 km/h from the previous fix (limit 180 km/h)"

    silver = read_table(spark, table_path("silver", "truck_position"))
    fixes = sorted((r.fix_time, r.lon, r.speed_kmh, r.heading_deg) for r in silver.collect())
    assert fixes[0] == (datetime(2026, 11, 27, 0, 20), 113.851, 0.0, 0)
    assert len({r.plate_id for r in silver.collect()}) == 2
