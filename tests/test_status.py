"""`itlake status` and `itlake tables`: last update, freshness against update_cycle, last ledger
status, quality and rows, on a lake written by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

from itlake.catalog.resources import load_catalog
from itlake.lake.delta import overwrite
from itlake.lake.paths import table_path
from itlake.lake.root import Lake
from itlake.lake.status import freshness
from itlake.lake.system import LedgerRow, record_ledger, record_quality

DAY = date(2026, 11, 27)


def _ledger(code, table, status, finished_at, promoted=0, message=""):
    return LedgerRow(
        batch_id=f"{table}-{finished_at:%H%M}",
        code=code,
        table=table,
        source_file=f"{table}.csv",
        sha256="0" * 64,
        logical_date=DAY,
        rows_read=promoted,
        rows_promoted=promoted if status == "promoted" else 0,
        rows_quarantined=0 if status == "promoted" else promoted,
        status=status,
        message=message,
        started_at=finished_at,
        finished_at=finished_at,
    )


def test_freshness_counts_missed_cycles():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert str(freshness(datetime(2026, 11, 28, 1, 0, tzinfo=UTC), "daily", now)) == "fresh"
    three_days = freshness(datetime(2026, 11, 25, 11, 0, tzinfo=UTC), "daily", now)
    assert str(three_days) == "STALE (3 cycles missed)"
    ten_minutes = freshness(datetime(2026, 11, 28, 11, 50, tzinfo=UTC), "5min", now)
    assert str(ten_minutes) == "STALE (2 cycles missed)"
    assert freshness(None, "monthly", now).stale


def test_status_shows_updates_staleness_failures_quality_and_rows(spark, lake):
    from itlake.lake.report import lake_tables
    from itlake.lake.status import resource_status

    t = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    record_ledger(
        spark,
        [
            _ledger("04.01.001", "waybill", "promoted", t, promoted=3),
            _ledger("03.02.001", "taxi_gps", "promoted", t.replace(hour=8), promoted=2),
            # The newest taxi batch was refused: the old data stays, the failure must show.
            _ledger("03.02.001", "taxi_gps", "refused", t, promoted=4, message="taxi_gps: quality_gate: x"),
        ],
    )
    record_quality(
        spark,
        [
            {
                "run_id": "r1",
                "dataset": "waybill",
                "batch_id": "b",
                "expectation": e,
                "column": "w",
                "severity": "error",
                "success": ok,
                "observed_value": None,
                "unexpected_count": 0,
                "unexpected_sample": None,
                "checked_at": datetime(2026, 11, 27, 10, 0),
            }
            for e, ok in (("not_null", True), ("between", False), ("unique", True))
        ],
    )
    overwrite(spark.createDataFrame([(1,), (2,), (3,)], "waybill_no INT"), table_path("silver", "waybill"))
    overwrite(spark.createDataFrame([(1,), (2,)], "trip_id INT"), table_path("gold", "taxi_trip"))

    now = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    status = {s.name: s for s in resource_status(Lake(lake), now=now)}
    waybill = status["waybill"]
    assert (waybill.code, waybill.rows, waybill.last_update, waybill.freshness, waybill.last_status) == (
        "04.01.001",
        3,
        t,
        "fresh",
        "promoted",
    )
    assert waybill.quality == "FAILED (1 errors)" and waybill.problem
    taxi = status["taxi_gps"]
    # 5-minute cycle, last promoted at 08:00, judged at 22:00: 14 h = 168 cycles missed.
    assert (taxi.last_update, taxi.freshness, taxi.last_status, taxi.rows) == (
        t.replace(hour=8),
        "STALE (168 cycles missed)",
        "refused",
        None,
    )
    assert taxi.problem and "quality_gate" in taxi.last_message
    trip = status["taxi_trip"]  # derived: its last commit is its last update
    assert trip.rows == 2 and trip.last_status == "written" and trip.freshness == "fresh"
    assert trip.last_update > datetime(2026, 1, 1, tzinfo=UTC)
    assert status["port_throughput"].freshness == "STALE (never updated)"
    assert len(status) == len(load_catalog().entries)

    tables = {(r["layer"], r["name"]): r for r in lake_tables(spark, Lake(lake), now=trip.last_update)}
    assert tables[("silver", "waybill")]["rows"] == 3
    assert tables[("silver", "waybill")]["freshness"] == "fresh"
    # Spark's history stamps a commit with its file's time, delta-rs with the commit's own: close.
    table_update = datetime.fromisoformat(tables[("gold", "taxi_trip")]["updated_at"])
    assert abs((table_update - trip.last_update).total_seconds()) < 5
    assert tables[("_system", "ingest_ledger")]["freshness"] == ""


def test_a_failed_task_shows_in_status(lake):
    """The failure callback of the DAGs records the failed task against its outlet tables."""
    from types import SimpleNamespace

    import pendulum

    from itlake.lake.status import resource_status
    from itlake.orchestration.dag_support import asset_for, record_failure

    task = SimpleNamespace(
        dag_id="itlake_ingest_freight", task_id="ingest_waybill", outlets=[asset_for("silver.waybill")]
    )
    context = {
        "task": task,
        "logical_date": pendulum.datetime(2026, 11, 27, tz="UTC"),
        "exception": RuntimeError("job ingest failed (exit 137)"),
    }
    record_failure(context)
    status = {s.name: s for s in resource_status(Lake(lake), now=datetime(2026, 11, 27, 12, tzinfo=UTC))}
    waybill = status["waybill"]
    assert (waybill.last_status, waybill.problem) == ("failed", True)
    assert waybill.last_message == (
        "itlake_ingest_freight.ingest_waybill (2026-11-27): job ingest failed (exit 137)"
    )
    assert status["taxi_gps"].last_status == ""
