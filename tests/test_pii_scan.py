"""The PII scanner's patterns against planted identifiers and near-misses, in every file format it reads.

Every value below is written by hand in the format the project's feeds and the demo writers carry
(itlake/demo/taxi.py, ridehail.py, smartcard.py, trucks.py; itlake/privacy/pseudonyms.py for pseudonyms).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pandas as pd
import pytest

from itlake.config import DEMO_PSEUDONYM_KEY
from itlake.privacy.pii_scan import (
    JSON_NUMBER,
    NUMBER_COLUMN,
    find_identifiers,
    mask,
    resident_id_valid,
    scan_bytes,
    scan_csv,
    scan_frame,
    scan_json,
    scan_ndjson,
    scan_text,
    scan_tree,
)

PSEUDONYM = hmac.new(DEMO_PSEUDONYM_KEY.encode(), "粤B10001".encode(), hashlib.sha256).hexdigest()

PLANTED = [
    ("plate", "粤B12345"),  # truck (trucks.py)
    ("plate", "粤BD12345"),  # new-energy small car (ridehail.py)
    ("plate", "粤BF12345"),
    ("plate", "粤B12345D"),  # new-energy bus (smartcard.py car_no)
    ("plate", "粤B·D12345"),  # as printed, with the separator dot
    ("plate", "粤B 12345"),
    ("plate", "粤B1234学"),
    ("plate", "京AB123C"),
    ("plate", "粤B-12345"),
    ("phone", "13812345678"),
    ("phone", "19912345678"),
    ("phone", "+8613812345678"),
    ("phone", "138-1234-5678"),
    ("phone", "138 1234 5678"),
    ("resident_id", "11010519491231002X"),
    ("resident_id", "44030519900101123X"),
    ("resident_id", "44030519900101123x"),
    ("resident_id", "440304200002291236"),  # born on a leap day
    ("card_id", "290123456"),
    ("card_id", "299999999"),
    ("pseudonym", PSEUDONYM),
]

NEAR_MISSES = [
    "粤B1234",  # four characters
    "粤B123456",  # six digits, no D or F
    "粤BI2345",  # I is not used on plates
    "粤BO2345",  # nor O
    "粤b12345",  # lower case
    "深B12345",  # 深 is a city, not a province abbreviation
    "粤港澳大湾区",
    "粤B12345678",
    "12812345678",  # no mobile range starts 12
    "1381234567",  # ten digits
    "138123456789",  # twelve
    "13812345678.5",  # a decimal
    "0.13812345678",  # digits after a decimal point
    "x13812345678",  # inside a token
    "440305199001011230",  # wrong check digit
    "440304200102291233",  # right check digit, but 2001-02-29 is no date
    "617700169958293502",  # an H3 cell as an integer: check digit right, "birth" year 1699
    "29012345",  # eight digits
    "2901234567",  # ten
    "290123456.5",
    "2026-11-27T01:00:00Z",
    "440304",  # a district code
    "88411c8c4dfffff",  # an H3 cell
    PSEUDONYM[:63],
    PSEUDONYM + "0",
    PSEUDONYM.upper(),  # not as Spark's sha2 writes it
    "LINESTRING (114.04 22.54, 114.06 22.54)",
    "22.541234567891",
]


@pytest.mark.parametrize(("kind", "value"), PLANTED)
def test_every_planted_identifier_is_found_alone_and_in_text(kind, value):
    assert find_identifiers(value) == [(kind, value)]
    assert find_identifiers(f"车辆{value}于深南大道，") == [(kind, value)]
    assert find_identifiers(f"id: {value}.") == [(kind, value)]


@pytest.mark.parametrize("value", NEAR_MISSES)
def test_near_misses_are_not_identifiers(value):
    assert find_identifiers(value) == []
    assert find_identifiers(f"车辆{value}于深南大道，") == []


def test_resident_id_check_character():
    assert resident_id_valid("11010519491231002X")
    assert not resident_id_valid("110105194912310021")
    assert not resident_id_valid("11010519491331002X")  # month 13


def test_kinds_can_be_skipped_for_numbers():
    assert find_identifiers("290123456", skip=NUMBER_COLUMN) == []
    assert find_identifiers("13812345678", skip=NUMBER_COLUMN) == [("phone", "13812345678")]
    assert find_identifiers("17179869184", skip=JSON_NUMBER) == []


def test_a_digest_of_a_sibling_file_is_no_pseudonym():
    assert find_identifiers(f"{PSEUDONYM}  data.csv", checksums={PSEUDONYM}) == []
    assert find_identifiers(f"{PSEUDONYM}  data.csv") == [("pseudonym", PSEUDONYM)]


def test_findings_are_masked():
    assert mask("粤B12345") == "粤*****5"
    assert mask("13812345678") == "138*****678"


def test_frame_finds_the_column_and_row():
    frame = pd.DataFrame(
        {
            "zone_id": ["440304", "440305", "440306"],
            "note": ["ok", None, "司机 13812345678"],
            "trips": [12, 290123456, 14],  # a count of nine digits is not a card
            "card": ["a", "b", "290123456"],
            "geometry": [b"\x01\x02", b"\x01", b"\x00"],
        }
    )
    report = scan_frame(frame, "data.parquet")
    assert [str(f) for f in report.findings] == [
        "data.parquet, column note, row 3: phone 138*****678",
        "data.parquet, column card, row 3: card_id 290***456",
    ]


def test_csv_numeric_columns_and_text_columns():
    text = "service_date,trips,name\n2026-11-27,290123456,深南大道\n2026-11-27,3,粤B·D12345\n"
    report = scan_csv(text, "data.csv")
    assert [(f.kind, f.column, f.row, f.value) for f in report.findings] == [
        ("plate", "name", 2, "粤B·D12345")
    ]
    assert report.values == 3 + 6


def test_geojson_properties_are_columns_and_features_rows():
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"road_id": "r1", "name": "深南大道"}, "geometry": None},
            {"type": "Feature", "properties": {"road_id": "r2", "name": "粤B12345"}, "geometry": None},
        ],
    }
    assert [(f.column, f.row) for f in scan_json(doc, "data.geojson").findings] == [("name", 2)]


def test_json_paths_nested_json_strings_and_signed_urls():
    log = {
        "add": {
            "path": "part-0.parquet",
            "size": 290123456,  # a file size, not a card
            "histogram": [17179869184],  # a bin boundary (2^34), not a phone
            "stats": json.dumps({"numRecords": 290123456, "minValues": {"name": "粤B12345"}}),
        }
    }
    report = scan_json(log, "_delta_log/0.json", row=1)
    assert [str(f) for f in report.findings] == [
        "_delta_log/0.json, column add.stats.minValues.name, row 1: plate 粤*****5"
    ]
    # The signature of a sharing file URL is the server's, not a pseudonym; a pseudonym elsewhere in
    # the same URL is still found.
    url = f"http://127.0.0.1:1/delta-sharing/files?t=public.open.x&p=a.parquet&e=1&s={PSEUDONYM}"
    assert scan_ndjson(json.dumps({"file": {"url": url}}), "query").clean
    leaked = url.replace("a.parquet", f"{PSEUDONYM}.parquet")
    assert [f.kind for f in scan_ndjson(json.dumps({"file": {"url": leaked}}), "query").findings] == [
        "pseudonym"
    ]


def test_text_lines_are_numbered():
    report = scan_text("# README\n\nContact 联系: 13812345678\n", "README.md")
    assert [str(f) for f in report.findings] == ["README.md, line 3: phone 138*****678"]


def test_binary_is_skipped_and_parquet_is_read(tmp_path):
    frame = pd.DataFrame({"vehicle_id": [PSEUDONYM], "trips": [3]})
    frame.to_parquet(tmp_path / "data.parquet")
    report = scan_bytes((tmp_path / "data.parquet").read_bytes(), "data.parquet", suffix=".parquet")
    assert [(f.kind, f.column, f.row) for f in report.findings] == [("pseudonym", "vehicle_id", 1)]
    png = scan_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe", "map.png", suffix=".png")
    assert png.skipped == ["map.png"] and png.clean


def test_tree_excuses_checksums_of_sibling_files_only(tmp_path):
    release = tmp_path / "releases" / "x" / "v1"
    release.mkdir(parents=True)
    (release / "data.csv").write_text("zone_id,trips\n440304,12\n", encoding="utf-8")
    digest = hashlib.sha256((release / "data.csv").read_bytes()).hexdigest()
    (release / "data.sha256").write_text(digest + "\n", encoding="utf-8")
    (release / "SHA256SUMS").write_text(f"{digest}  data.csv\n", encoding="utf-8")
    report = scan_tree(tmp_path)
    assert report.clean and report.files == 3
    (release / "README.md").write_text(f"made from {PSEUDONYM}\n", encoding="utf-8")
    assert [str(f) for f in scan_tree(tmp_path).findings] == [
        f"releases/x/v1/README.md, line 1: pseudonym {mask(PSEUDONYM)}"
    ]
