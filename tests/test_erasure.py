"""Erasure on request: after `itlake erase`, nothing of the identifier is left in any file under the
lake root, while everyone else's data stays.

A small lake of real-format feeds (tests/fixtures: taxi GPS, ride-hailing orders, smart-card taps)
goes through the real ingest (landing, bronze, quarantine, silver, ledger) and the gold jobs
(taxi and smart-card trips). One plate, one phone number and one card number are erased through
the command line. Every file under the lake is then read as raw bytes, and every Parquet file is
also decoded, looking for the raw value, its pseudonym and the first 16 characters of the
pseudonym (Delta keeps 32-character prefixes of strings in its column statistics).

The same is done on a day of the demo city (itlake.demo, scale 0.02), where the counts logged for
each table are checked against counts read from the generated CSV files.
"""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itlake.config import get_settings
from itlake.lake.root import use_lake
from itlake.privacy.pseudonyms import pseudonym

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = date(2026, 11, 27)
FEEDS = {
    "taxi_gps": "taxi_gps_tiny.csv",
    "ridehail_order": "ridehail_orders.csv",
    "smartcard_tap": "smartcard_taps.csv",
}


def ingest_and_build(spark, files: dict[str, Path], day: date) -> None:
    """Each resource's file ingested for `day`, then the taxi and smart-card trips built from them."""
    from itlake.catalog.resources import load_catalog
    from itlake.gold import smartcard_trips, taxi_trips
    from itlake.ingest.flow import ingest_file

    catalog = load_catalog()
    for name, path in files.items():
        ingest_file(spark, catalog.get(name), path, day)
    taxi_trips.run(spark, day, "Asia/Shanghai")
    smartcard_trips.run(spark, day, "Asia/Shanghai")


@pytest.fixture
def small_lake(spark, lake, tmp_path, monkeypatch):
    """The three feeds ingested for DAY (contracts let the fixtures' bad rows through to quarantine)
    and the taxi and smart-card trips built from them."""
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    for contract in schemas.glob("*.yaml"):
        text = contract.read_text(encoding="utf-8")
        contract.write_text(re.sub(r"quarantine_threshold: [0-9.]+", "quarantine_threshold: 0.95", text))
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    ingest_and_build(spark, {name: FIXTURES / fixture for name, fixture in FEEDS.items()}, DAY)
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


def erase(identifier: str, resource: str, key: bytes) -> str:
    """`itlake erase` of one identifier; checks the output does not name it and returns the run id."""
    from itlake.cli import app

    result = CliRunner().invoke(
        app, ["erase", "--identifier", identifier, "--resource", resource, "--logical-date", "2026-12-07"]
    )
    assert result.exit_code == 0, result.output
    assert identifier not in result.output and pseudonym(identifier, key) not in result.output
    return re.search(r"run (erasure-2026-12-07-[0-9a-f]{8})", result.output)[1]


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
    key = get_settings().pseudonym_key()
    for resource, identifier, other, expected in CASES:
        assert traces(small_lake, identifier, key), f"{resource}: the search finds nothing before the erasure"

        run_id = erase(identifier, resource, key)

        assert traces(small_lake, identifier, key) == [], resource
        # Someone else's rows are still there: in the landing file, bronze and silver.
        left = {t.split("/", 1)[0] for t in traces(small_lake, other, key)}
        assert {"landing", "bronze", "silver"} <= left, resource
        assert [row for row in log_rows(run_id) if row[0].startswith("erase")] == expected, resource


# The same erasure on the demo generator's city day, with the real contracts: the generator's dirt
# (duplicate fixes, a quarantined tap, bad orders) is in the lake around the identifiers.
DEMO_DAY = date(2026, 11, 27)
DEMO_FEEDS = ("taxi_gps", "ridehail_order", "smartcard_tap")


@pytest.fixture(scope="module")
def demo_lake(spark, tmp_path_factory):
    """One demo city day (scale 0.02: 6 taxis, 100 orders, about 600 taps) ingested with the real
    contracts, trips built; yields the lake root, each feed's raw rows (dicts, in file order) and
    the manifest's dirt."""
    from itlake.demo import generate_city

    base = tmp_path_factory.mktemp("demo-erasure")
    manifest = generate_city(base / "inbox", scale=0.02, seed=7, date=DEMO_DAY)
    files = {f.feed: f for f in manifest.files if f.feed in DEMO_FEEDS}
    raw = {}
    for feed, file in files.items():
        with open(base / "inbox" / file.path, encoding=file.encoding, newline="") as handle:
            raw[feed] = list(csv.DictReader(handle))
    with use_lake(base / "lake"):
        ingest_and_build(spark, {feed: base / "inbox" / f.path for feed, f in files.items()}, DEMO_DAY)
        yield base / "lake", raw, manifest.dirt


def taxi_case(rows: list[dict], dirt) -> tuple[str, list[tuple]]:
    """The plate of the first duplicated fix, and what erasing it removes: every raw record (landing,
    bronze); its impossible jumps (quarantine, as the taxi parser flags them); one fix per instant of
    the others (silver keeps one row per plate and time); one trip per run of two or more occupied
    fixes (gold)."""
    row = next(d.row for d in dirt if d.feed == "taxi_gps" and d.kind == "duplicate_row")
    plate = rows[row - 1]["VehicleNum"]
    jumps = {d.row for d in dirt if d.feed == "taxi_gps" and d.kind == "impossible_jump"}
    mine = [(i, r) for i, r in enumerate(rows, 1) if r["VehicleNum"] == plate]
    status = {r["time"]: r["OpenStatus"] for i, r in mine if i not in jumps}
    trips, run = 0, 0
    for time in sorted(status):
        run = run + 1 if status[time] == "1" else 0
        trips += run == 2
    assert len(status) < len(mine) and trips > 0
    expected = [
        ("erase_landing", "landing.taxi_gps", len(mine)),
        ("erase_rows", "bronze.taxi_gps", len(mine)),
        ("erase_rows", "gold.taxi_trip", trips),
        ("erase_rows", "quarantine.taxi_gps", sum(i in jumps for i, _ in mine)),
        ("erase_rows", "silver.taxi_gps", len(status)),
    ]
    return plate, [row for row in expected if row[2]]


def ridehail_case(rows: list[dict], dirt) -> tuple[str, list[tuple]]:
    """The passenger phone of the first order without dirt; its orders are in every layer."""
    bad = {d.row for d in dirt if d.feed == "ridehail_order"}
    phone = next(r["PassengerPhone"] for i, r in enumerate(rows, 1) if i not in bad and r["PassengerPhone"])
    orders = sum(r["PassengerPhone"] == phone for r in rows)
    return phone, [
        ("erase_landing", "landing.ridehail_order", orders),
        ("erase_rows", "bronze.ridehail_order", orders),
        ("erase_rows", "silver.ridehail_order", orders),
    ]


def smartcard_case(rows: list[dict], dirt) -> tuple[str, list[tuple]]:
    """The card with the most taps among those without dirt, and its trips: one per bus boarding,
    one per metro entry followed by an exit of the same card (the other metro taps are unmatched)."""
    bad = {rows[d.row - 1]["card_no"] for d in dirt if d.feed == "smartcard_tap"}
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["card_no"]] = counts.get(r["card_no"], 0) + 1
    card = min((c for c in counts if c not in bad), key=lambda c: (-counts[c], c))
    # In time order, an entry before an exit of the same second (as the gold job takes them).
    taps = sorted(
        (r for r in rows if r["card_no"] == card),
        key=lambda r: (r["deal_date"], r["deal_type"] != "地铁入站"),
    )
    kinds = [r["deal_type"] for r in taps]
    pairs = sum(a == "地铁入站" and b == "地铁出站" for a, b in zip(kinds, kinds[1:], strict=False))
    metro = sum(k != "巴士" for k in kinds)
    expected = [
        ("erase_landing", "landing.smartcard_tap", len(kinds)),
        ("erase_rows", "bronze.smartcard_tap", len(kinds)),
        ("erase_rows", "gold.smartcard_trip", kinds.count("巴士") + pairs),
        ("erase_rows", "gold.smartcard_unmatched_tap", metro - 2 * pairs),
        ("erase_rows", "silver.smartcard_tap", len(kinds)),
    ]
    assert pairs > 0
    return card, [row for row in expected if row[2]]


@pytest.mark.slow  # about 80 s for the three, a city day ingested and trips built on a busy machine
@pytest.mark.parametrize(
    "resource, case",
    [("taxi_gps", taxi_case), ("ridehail_order", ridehail_case), ("smartcard_tap", smartcard_case)],
    ids=DEMO_FEEDS,
)
def test_erasure_on_the_demo_city(demo_lake, resource, case):
    """A plate, a phone number and a card number of the demo city, each erased through the command
    line; the log's counts are those read from the generated CSV files."""
    root, raw, dirt = demo_lake
    identifier, expected = case(raw[resource], dirt)
    key = get_settings().pseudonym_key()
    assert traces(root, identifier, key), f"{resource}: the search finds nothing before the erasure"

    run_id = erase(identifier, resource, key)

    assert traces(root, identifier, key) == [], resource
    assert [row for row in log_rows(run_id) if row[0].startswith("erase")] == expected
