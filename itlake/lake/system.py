"""The `_system` tables: the catalogue, the ingest ledger and the quality results.

The ledger is the lake's book of record: one row per batch and table, and every row reconciles
`rows_read = rows_promoted + rows_duplicate + rows_quarantined`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from itlake.lake.delta import append_rows, overwrite, read_table, table_exists
from itlake.lake.paths import system_table_path

LEDGER_SCHEMA = (
    "batch_id STRING, code STRING, `table` STRING, source_file STRING, sha256 STRING, "
    "logical_date DATE, rows_read LONG, rows_promoted LONG, rows_duplicate LONG, "
    "rows_quarantined LONG, status STRING, message STRING, synthetic BOOLEAN, "
    "started_at TIMESTAMP, finished_at TIMESTAMP"
)

QUALITY_SCHEMA = (
    "run_id STRING, dataset STRING, batch_id STRING, expectation STRING, rule STRING, `column` STRING, "
    "severity STRING, success BOOLEAN, observed_value STRING, unexpected_count LONG, "
    "unexpected_sample STRING, checked_at TIMESTAMP"
)


class ReconciliationError(RuntimeError):
    """A ledger row whose counts do not add up: some rows would be lost without a reason."""


@dataclass
class LedgerRow:
    batch_id: str
    code: str
    table: str
    source_file: str
    sha256: str
    logical_date: date
    rows_read: int = 0
    rows_promoted: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    status: str = "promoted"
    message: str = ""
    synthetic: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    finished_at: datetime | None = None

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_promoted + self.rows_duplicate + self.rows_quarantined

    def check(self) -> None:
        if not self.reconciles:
            raise ReconciliationError(
                f"{self.table} batch {self.batch_id} ({self.source_file}): read {self.rows_read} rows "
                f"but promoted {self.rows_promoted} + duplicate {self.rows_duplicate} + "
                f"quarantined {self.rows_quarantined}"
            )


def record_ledger(spark: SparkSession, rows: list[LedgerRow]) -> None:
    if rows:
        append_rows(spark, [asdict(r) for r in rows], LEDGER_SCHEMA, system_table_path("ingest_ledger"))


def read_system(spark: SparkSession, name: str) -> DataFrame | None:
    path = system_table_path(name)
    return read_table(spark, path) if table_exists(spark, path) else None


def batch_promoted(spark: SparkSession, batch_id: str) -> bool:
    """True when the last attempt at this batch promoted every table it held (then a re-ingest of
    the same file is a no-op). An attempt's rows share `started_at` and are written together."""
    ledger = read_system(spark, "ingest_ledger")
    if ledger is None:
        return False
    rows = ledger.where(F.col("batch_id") == batch_id).select("started_at", "status").collect()
    if not rows:
        return False
    last = max(r.started_at for r in rows)
    return all(r.status in ("promoted", "already_ingested") for r in rows if r.started_at == last)


def record_quality(spark: SparkSession, rows: list[dict]) -> None:
    if rows:
        append_rows(spark, rows, QUALITY_SCHEMA, system_table_path("quality_results"))


def write_catalog_table(spark: SparkSession, catalog) -> int:
    """Replace `_system.catalog` with one row per catalogue entry; returns the row count."""
    rows = [
        {
            "code": e.code,
            "name": e.name,
            "title_zh": e.title.zh,
            "title_en": e.title.en,
            "class": e.class_,
            "item": e.item,
            "layer": e.layer,
            "table": e.table,
            "update_cycle": e.update_cycle,
            "open_level": e.open.level,
            "sharing_type": e.sharing.type,
            "security_grade": e.security_grade,
            "entry_json": json.dumps(e.model_dump(mode="json", by_alias=True), ensure_ascii=False),
        }
        for e in catalog.entries
    ]
    schema = (
        "code STRING, name STRING, title_zh STRING, title_en STRING, class STRING, item STRING, "
        "layer STRING, `table` STRING, update_cycle STRING, open_level STRING, sharing_type STRING, "
        "security_grade STRING, entry_json STRING"
    )
    overwrite(spark.createDataFrame(rows, schema), system_table_path("catalog"))
    return len(rows)


def synthetic_codes(spark: SparkSession, catalog) -> set[str]:
    """Catalogue codes whose data is synthetic: resources with a batch marked synthetic in the
    ledger, and every derived resource whose `related` sources are (followed to the end)."""
    ledger = read_system(spark, "ingest_ledger")
    if ledger is None:
        return set()
    codes = {r.code for r in ledger.where(F.col("synthetic")).select("code").distinct().collect()}
    return catalog.with_derived(codes)
