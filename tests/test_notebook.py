"""notebooks/explore.ipynb runs top to bottom (nbclient) on a tiny lake and draws its chart and map.

The lake is written with deltalake, the fast engine's own reader, so the test starts no JVM: four
taxi trips whose hours, zones and means are worked out by hand below, and one ledger row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from itlake.catalog.contracts import load_contract
from itlake.config import get_settings

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"
DAY = date(2026, 11, 27)


def utc(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# trip_id, pickup (UTC), pickup zone, distance_m, duration_s. Local hours (UTC+8): 8, 8, 18, 0.
TRIPS = [
    ("t1", utc(27, 0, 30), "440304", 3000.0, 600),
    ("t2", utc(27, 0, 50), "440304", 5000.0, 1200),
    ("t3", utc(27, 10, 10), "440305", 7000.0, 1800),
    ("t4", utc(26, 16, 20), None, 1000.0, 600),
]


def write_tiny_lake(root: Path) -> None:
    from datetime import timedelta

    from deltalake import write_deltalake

    schema = load_contract("taxi_trip").arrow_schema()
    rows = [
        {
            "trip_id": trip_id,
            "vehicle_id": f"veh-{trip_id}",
            "trip_date": DAY,
            "pickup_time": pickup,
            "dropoff_time": pickup + timedelta(seconds=duration_s),
            "pickup_lon": 114.05,
            "pickup_lat": 22.54,
            "dropoff_lon": 114.06,
            "dropoff_lat": 22.55,
            "pickup_zone_id": zone,
            "dropoff_zone_id": zone,
            "distance_m": distance_m,
            "duration_s": duration_s,
            "fix_count": duration_s // 60 + 1,
            "complete": True,
        }
        for trip_id, pickup, zone, distance_m, duration_s in TRIPS
    ]
    trips = pa.Table.from_pylist(rows, schema)
    write_deltalake(root / "gold" / "taxi_trip", trips, partition_by=["trip_date"])
    ledger_schema = pa.schema(
        [(name, pa.string()) for name in ("batch_id", "code", "table", "source_file", "sha256")]
        + [("logical_date", pa.date32())]
        + [(name, pa.int64()) for name in ("rows_read", "rows_promoted", "rows_duplicate")]
        + [("rows_quarantined", pa.int64())]
        + [("status", pa.string()), ("message", pa.string()), ("synthetic", pa.bool_())]
        + [("started_at", pa.timestamp("us", tz="UTC")), ("finished_at", pa.timestamp("us", tz="UTC"))]
    )
    ledger = {
        "batch_id": "taxi_gps-1", "code": "03.02.001", "table": "taxi_gps", "source_file": "gps.csv",
        "sha256": "ab" * 32, "logical_date": DAY, "rows_read": 10, "rows_promoted": 8, "rows_duplicate": 1,
        "rows_quarantined": 1, "status": "promoted", "message": "", "synthetic": True,
        "started_at": utc(27, 1, 0), "finished_at": utc(27, 1, 1),
    }  # fmt: skip
    write_deltalake(root / "_system" / "ingest_ledger", pa.Table.from_pylist([ledger], ledger_schema))


def outputs(cell) -> tuple[str, int]:
    """The text a cell printed or displayed, and how many PNG images it showed."""
    texts, images = [], 0
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            texts.append(out["text"])
        data = out.get("data", {})
        images += "image/png" in data
        if "text/plain" in data:
            texts.append(data["text/plain"])
    return "".join(texts), images


def test_explore_notebook_runs_on_a_tiny_lake(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    root = tmp_path / "lake"
    write_tiny_lake(root)
    monkeypatch.setenv("ITLAKE_LAKE_ROOT", str(root))
    monkeypatch.setenv("ITLAKE_NOTEBOOK_ENGINE", "fast")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    get_settings.cache_clear()

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(out["output_type"] != "error" for cell in code for out in cell.get("outputs", []))

    setup, catalogue, by_hour, by_zone, ledger = (outputs(cell) for cell in code)
    assert setup[0] == f"lake: {root}  engine: fast\n"
    # The catalogue cell lists the two tables that are in this lake.
    assert "gold.taxi_trip" in catalogue[0] and "silver.taxi_gps" not in catalogue[0]
    # One chart; local hours 8, 8, 18 and 0; mean 16 km / 4 trips and 4200 s / 4 trips.
    assert by_hour[1] == 1
    summary = "trips: 4, busiest hour: 8:00 (2 trips), mean length: 4.0 km, mean duration: 17.5 min"
    assert summary in by_hour[0]
    # One map; the trip without a zone is left out.
    assert by_zone[1] == 1
    zone_rows = [line.split() for line in by_zone[0].splitlines()[1:]]
    assert zone_rows == [["0", "440304", "2", "4.0"], ["1", "440305", "1", "7.0"]]
    assert "taxi_gps" in ledger[0] and "True" in ledger[0]
    get_settings.cache_clear()
