"""The freight part of the demo city: waybill legs, truck reports that follow waybills, port months."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

import pytest

from itlake.demo import generate_city
from itlake.geo.admin_codes import load_admin_codes

SCALE = 0.05
DAY = dt.date(2026, 11, 27)
WAYBILL_PATH = "waybill/2026-11-27/waybill_20261127.csv"
TRUCK_PATH = "truck_position/2026-11-27/truck_position_20261127.csv"
PORT_PATH = "port_throughput/2026-11-27/port_throughput_202611.csv"


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("freight_city")
    generate_city(out, scale=SCALE, seed=42, date=DAY)
    return out


@pytest.fixture(scope="module")
def dirt(city) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for d in json.loads((city / "manifest.json").read_text(encoding="utf-8"))["dirt"]:
        out.setdefault((d["feed"], d["kind"]), []).append(d["row"])
    return out


def rows(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))


def km(lon1, lat1, lon2, lat2) -> float:
    return math.hypot((lon2 - lon1) * 102.8, (lat2 - lat1) * 111.2)


def test_waybill_legs_chain_from_origin_to_destination_through_a_shenzhen_terminal(city):
    data = rows(city / WAYBILL_PATH, "gbk")[1:]
    assert all(r[12] == "" for r in data if r[8] == "road")
    multimodal = [r for r in data if r[8] != "road" and "999999" not in (r[3], r[4])]
    assert len(multimodal) > 10
    terminals = {"rail": "440307", "water": "440308", "air": "440306"}
    for r in multimodal:
        legs = [(m, *span.split("-")) for m, span in (leg.split(":") for leg in r[12].split(";"))]
        assert legs[0][1] == r[3] and legs[-1][2] == r[4], r
        assert all(a[2] == b[1] for a, b in zip(legs, legs[1:], strict=False)), r
        assert r[8] in {m for m, _, _ in legs} and {m for m, _, _ in legs} <= {r[8], "road"}
        assert terminals[r[8]] in {legs[0][2], legs[-1][1]}, r


def test_truck_reports_follow_their_waybills(city, dirt):
    reports = rows(city / TRUCK_PATH, "gb18030")
    assert reports[0] == ["车牌号", "车牌颜色", "定位时间", "经度", "纬度", "速度", "方向", "海拔"]
    data = reports[1:]
    assert {r[1] for r in data} == {"2"}
    assert all(r[2].startswith("2026-11-27 ") for r in data)
    repeated = [i + 1 for i in range(1, len(data)) if data[i] == data[i - 1]]
    assert repeated == dirt[("truck_position", "duplicate_row")]
    for row in dirt[("truck_position", "impossible_jump")]:
        before, this, after = data[row - 2], data[row - 1], data[row]
        assert before[0] == this[0] == after[0]
        lon, lat = float(this[3]), float(this[4])
        assert km(float(before[3]), float(before[4]), lon, lat) > 50
        assert km(lon, lat, float(after[3]), float(after[4])) > 50

    codes = load_admin_codes()
    waybills = {r[9]: r for r in rows(city / WAYBILL_PATH, "gbk")[1:] if r[9]}
    by_plate: dict[str, list[list[str]]] = {}
    for r in data:
        by_plate.setdefault(r[0], []).append(r)
    linked = [p for p in by_plate if p in waybills]
    assert 3 <= len(linked) < len(by_plate)  # some trucks carry a waybill of the day, some do not
    for plate in linked:
        w = waybills[plate]
        origin, destination = codes[w[3]], codes[w[4]]
        parked_at_pickup = [r for r in by_plate[plate] if r[2] <= w[10]][-1]
        assert km(float(parked_at_pickup[3]), float(parked_at_pickup[4]), origin.lon, origin.lat) < 3
        assert float(parked_at_pickup[5]) == 0.0
        at_delivery = [r for r in by_plate[plate] if r[2] <= w[11]][-1]
        assert km(float(at_delivery[3]), float(at_delivery[4]), destination.lon, destination.lat) < 3


def test_port_months_cover_the_year_before_the_date(city, dirt):
    data = rows(city / PORT_PATH, "utf-8")
    assert data[0] == [
        "港口代码",
        "港口名称",
        "统计月份",
        "进出港",
        "内外贸",
        "集装箱吞吐量万TEU",
        "货物吞吐量万吨",
    ]
    body = data[1:]
    assert len(body) == 5 * 12 * 2 * 2  # ports x months x directions x trades, whatever the scale
    assert {r[0] for r in body} == {"CNYTN", "CNSHK", "CNCWN", "CNMAW", "CNDCB"}
    months = sorted({r[2] for r in body if "-" in r[2]})
    assert months[0] == "2025-11" and months[-1] == "2026-10" and len(months) == 12
    assert [i for i, r in enumerate(body, 1) if "/" in r[2]] == dirt[("port_throughput", "bad_month")]
    assert [i for i, r in enumerate(body, 1) if r[5].startswith("-")] == dirt[
        ("port_throughput", "negative_teu")
    ]
    yantian_teu = sum(float(r[5]) for r in body if r[0] == "CNYTN" and not r[5].startswith("-"))
    assert 1200 < yantian_teu < 1600  # about 14 million TEU a year
