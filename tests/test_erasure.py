"""Erasure on request: after `itlake erase`, nothing of the identifier is left in any file under the
lake root, while everyone else's data stays.

A small lake of real-format feeds (tests/fixtures: taxi GPS, ride-hailing orders, smart-card taps)
goes through the real ingest (landing, bronze, quarantine, silver, ledger) and the gold jobs
(taxi and smart-card trips). One plate, one phone number and one card number are erased through
the command line. Every file under the lake is then read as raw bytes, and every Parquet file is
also decoded, looking for the raw value, its pseudonym and the first 16 characters of the
pseudonym (Delta keeps 32-character prefixes of strings in its column statistics).
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itlake.config import get_settings
from itlake.privacy import pseudonym

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = date(2026, 11, 27)
FEEDS = {
    "taxi_gps": "taxi_gps_tiny.csv",
    "ridehail_order": "ridehail_orders.csv",
    "smartcard_tap": "smartcard_taps.csv",
}


@pytest.fixture
def small_lake(spark, lake, tmp_path, monkeypatch):
    """The three feeds ingested for DAY (contracts let the fixtures' bad rows through to quarantine)
    and the taxi and smart-card trips built from them."""
    from itlake.catalog import load_catalog
    from itlake.gold import smartcard_trips, taxi_trips
    from itlake.ingest import ingest_file

    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    for contract in schemas.glob("*.yaml"):
        text = contract.read_text(encoding="utf-8")
        contract.write_text(re.sub(r"quarantine_threshold: [0-9.]+", "quarantine_threshold: 0.95", text))
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    catalog = load_catalog()
    for name, fixture in FEEDS.items():
        ingest_file(spark, catalog.get(name), FIXTURES / fixture, DAY)
    taxi_trips.run(spark, DAY, "Asia/Shanghai")
    smartcard_trips.run(spark, DAY, "Asia/Shanghai")
    yield lake
    get_settings.cache_clear()


def traces(root: Path, value: str, key: bytes) -> list[str]:
    """Files under `root` holding `value`, its pseudonym or the pseudonym's first 16 characters."""
    import pyarrow.parquet as pq

    digest = pseudonym(value, key)
    needles = {
        "raw": value.encode("utf-8"),
        "pseudonym": digest.encode(),
        "pseudonym prefix": digest[:16].encode(),
    }
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts = [data]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            texts.append(str(table.to_pylist()).encode("utf-8"))
        for name, needle in needles.items():
            if any(needle in text for text in texts):
                found.append(f"{path.relative_to(root)}: {name}")
    return found


def log_rows(run_id: str) -> list[tuple]:
    from deltalake import DeltaTable

    from itlake.lake.paths import system_table_path

    rows = DeltaTable(system_table_path("maintenance_log")).to_pyarrow_table().to_pylist()
    return sorted((r["action"], r["table"], r["rows_removed"]) for r in rows if r["run_id"] == run_id)


CASES = [
    (
        "taxi_gps",
        "粤B00001",
        "粤B00002",
        [
            ("erase_landing", "landing.taxi_gps", 5),
            ("erase_rows", "bronze.taxi_gps", 5),
            ("erase_rows", "gold.taxi_trip", 1),
            ("erase_rows", "silver.taxi_gps", 5),
        ],
    ),
    (
        "ridehail_order",
        "13800000001",
        "13800000002",
        [
            ("erase_landing", "landing.ridehail_order", 2),
            ("erase_rows", "bronze.ridehail_order", 2),
            ("erase_rows", "silver.ridehail_order", 1),
        ],
    ),
    (
        "smartcard_tap",
        "290000001",
        "290000002",
        [
            ("erase_landing", "landing.smartcard_tap", 4),
            ("erase_rows", "bronze.smartcard_tap", 4),
            ("erase_rows", "gold.smartcard_trip", 2),
            ("erase_rows", "silver.smartcard_tap", 3),
        ],
    ),
    (  # a taxi whose only fix was quarantined (latitude 95): its raw record goes from quarantine too
        "taxi_gps",
        "粤B00003",
        "粤B00002",
        [
            ("erase_landing", "landing.taxi_gps", 1),
            ("erase_rows", "bronze.taxi_gps", 1),
            ("erase_rows", "quarantine.taxi_gps", 1),
        ],
    ),
]


def test_nothing_of_the_identifier_is_left_under_the_lake_root(small_lake):
    """Two plates, a phone number and a card number, one after the other, in one lake."""
    from itlake.cli import app

    key = get_settings().pseudonym_key()
    for resource, identifier, other, expected in CASES:
        assert traces(small_lake, identifier, key), f"{resource}: the search finds nothing before the erasure"

        result = CliRunner().invoke(
            app, ["erase", "--identifier", identifier, "--resource", resource, "--logical-date", "2026-12-07"]
        )
        assert result.exit_code == 0, result.output
        assert identifier not in result.output and pseudonym(identifier, key) not in result.output

        assert traces(small_lake, identifier, key) == [], resource
        # Someone else's rows are still there: in the landing file, bronze and silver.
        left = {t.split("/", 1)[0] for t in traces(small_lake, other, key)}
        assert {"landing", "bronze", "silver"} <= left, resource
        run_id = re.search(r"run (erasure-2026-12-07-[0-9a-f]{8})", result.output)[1]
        assert [row for row in log_rows(run_id) if row[0].startswith("erase")] == expected, resource
