"""What is in the lake: every table with its row count and version, the ledger, quality status."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import functions as F

from itlake.lake.delta import table_exists
from itlake.lake.paths import table_path

LAYERS_SHOWN = ("bronze", "silver", "quarantine", "gold", "open", "_system")


def lake_tables(spark) -> list[dict]:
    """One row per Delta table in the lake: layer, name, rows, version, path."""
    from delta.tables import DeltaTable

    rows = []
    for layer in LAYERS_SHOWN:
        folder = Path(table_path(layer, "x")).parent
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            path = str(child)
            if not child.is_dir() or not table_exists(spark, path):
                continue
            detail = DeltaTable.forPath(spark, path)
            version = detail.history(1).select("version").first().version
            count = spark.read.format("delta").load(path).count()
            rows.append({"layer": layer, "name": child.name, "rows": count, "version": version, "path": path})
    return rows


def quality_status(spark) -> dict[str, str]:
    """dataset -> 'passed' or 'FAILED: expectations' for its most recent run."""
    from itlake.lake.system import read_system

    results = read_system(spark, "quality_results")
    if results is None:
        return {}
    latest = results.groupBy("dataset").agg(F.max("checked_at").alias("checked_at"))
    last = results.join(latest, ["dataset", "checked_at"])
    status = {}
    for row in (
        last.groupBy("dataset")
        .agg(
            F.sum(F.when(~F.col("success") & (F.col("severity") == "error"), 1).otherwise(0)).alias("errors"),
            F.count("*").alias("checks"),
        )
        .collect()
    ):
        status[row.dataset] = (
            f"passed ({row.checks} checks)" if row.errors == 0 else f"FAILED ({row.errors} errors)"
        )
    return status


def ledger_summary(spark) -> list[dict]:
    from itlake.lake.system import read_system

    ledger = read_system(spark, "ingest_ledger")
    if ledger is None:
        return []
    return [
        r.asDict()
        for r in ledger.groupBy("table", "status", "synthetic")
        .agg(
            *[F.sum(c).alias(c) for c in ("rows_read", "rows_promoted", "rows_duplicate", "rows_quarantined")]
        )
        .orderBy("table")
        .collect()
    ]
