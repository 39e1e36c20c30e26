"""What is in the lake: every table with its row count, version, last update and freshness; the
ledger; quality status. Freshness follows the catalogue entry owning the table (itlake/lake/status.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import functions as F

from itlake.lake.delta import table_exists
from itlake.lake.root import Lake

LAYERS_SHOWN = ("bronze", "silver", "quarantine", "gold", "open", "_system")


def lake_tables(spark, lake: Lake, now: datetime | None = None) -> list[dict]:
    """One row per Delta table in the lake: layer, name, rows, version, last update (UTC, ISO 8601),
    freshness against the `update_cycle` of the catalogue entry owning it ("" for _system), path."""
    from itlake.catalog.resources import load_catalog
    from itlake.lake.status import freshness

    catalog = load_catalog()
    now = now or datetime.now(UTC)
    rows = []
    storage = lake.storage()
    for layer in LAYERS_SHOWN:
        folder = f"{lake.root}/{layer}"
        for path in storage.folders(folder):
            name = path.rsplit("/", 1)[1]
            if not table_exists(spark, path):
                continue
            history = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1")
            # Epoch milliseconds: a collected timestamp would be in the driver's local time zone.
            last = history.select("version", F.unix_millis("timestamp").alias("epoch_ms")).first()
            updated_at = datetime.fromtimestamp(last.epoch_ms / 1000, UTC)
            count = spark.read.format("delta").load(path).count()
            entry = _owner(catalog, name) if layer != "_system" else None
            rows.append(
                {
                    "layer": layer,
                    "name": name,
                    "rows": count,
                    "version": last.version,
                    "updated_at": updated_at.isoformat(),
                    "freshness": str(freshness(updated_at, entry.update_cycle, now)) if entry else "",
                    "path": path,
                }
            )
    return rows


def _owner(catalog, contract_name: str):
    try:
        return catalog.by_contract(contract_name)
    except KeyError:
        return None


def quality_status(spark) -> dict[str, str]:
    """dataset -> 'passed (N checks)' or 'FAILED (N errors)' for its most recent run."""
    from itlake.lake.status import quality_text, summarise_quality
    from itlake.lake.system import read_system

    results = read_system(spark, "quality_results")
    if results is None:
        return {}
    rows = [r.asDict() for r in results.select("dataset", "checked_at", "success", "severity").collect()]
    return {dataset: quality_text(result) for dataset, result in summarise_quality(rows).items()}


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
