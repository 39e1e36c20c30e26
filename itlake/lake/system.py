"""The `_system` tables: the catalogue, the ingest ledger and the quality results.

The ledger is the lake's book of record: one row per received file and table, and every row
reconciles `rows_read = rows_promoted + rows_duplicate + rows_quarantined`, with
`rows_promoted = rows_inserted + rows_updated + rows_unchanged` (new keys; keys whose row
changed; rows sent again as they were). Summed over the ledger, `rows_inserted` of a table is the
row count of its silver table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from itlake.lake.delta import append_rows, overwrite, read_arrow, read_table, table_exists
from itlake.lake.paths import system_table_path
from itlake.lake.root import Lake

LEDGER_SCHEMA = (
    "batch_id STRING, code STRING, `table` STRING, source_file STRING, sha256 STRING, "
    "logical_date DATE, rows_read LONG, rows_promoted LONG, rows_duplicate LONG, "
    "rows_quarantined LONG, status STRING, message STRING, synthetic BOOLEAN, "
    "started_at TIMESTAMP, finished_at TIMESTAMP, rows_inserted LONG, rows_updated LONG, rows_unchanged LONG"
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
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0

    @property
    def reconciles(self) -> bool:
        return (
            self.rows_read == self.rows_promoted + self.rows_duplicate + self.rows_quarantined
            and self.rows_promoted == self.rows_inserted + self.rows_updated + self.rows_unchanged
        )

    def check(self) -> None:
        if not self.reconciles:
            raise ReconciliationError(
                f"{self.table} batch {self.batch_id} ({self.source_file}): read {self.rows_read} rows, "
                f"promoted {self.rows_promoted} + duplicate {self.rows_duplicate} + "
                f"quarantined {self.rows_quarantined}; promoted = inserted {self.rows_inserted} + "
                f"updated {self.rows_updated} + unchanged {self.rows_unchanged}"
            )


def record_ledger(spark: SparkSession, rows: list[LedgerRow], lake: Lake | None = None) -> None:
    """Append ledger rows in one commit (a ledger written before the insert/update/unchanged
    columns existed gains them)."""
    if rows:
        path = system_table_path("ingest_ledger", lake)
        append_rows(spark, [asdict(r) for r in rows], LEDGER_SCHEMA, path, evolve=True)


def read_system(spark: SparkSession, name: str, lake: Lake | None = None) -> DataFrame | None:
    path = system_table_path(name, lake)
    return read_table(spark, path) if table_exists(spark, path) else None


def promoted_batches(batch_ids: Iterable[str], lake: Lake | None = None) -> set[str]:
    """The batches among `batch_ids` whose last attempt promoted every table it held (a file
    ingested again is then a no-op). An attempt's rows share `started_at` and are written together.

    Read from the ledger with deltalake in this process, so that deciding what is new starts no
    Spark job and needs no engine."""
    import pyarrow.compute as pc

    wanted = sorted(set(batch_ids))
    ledger = read_arrow(system_table_path("ingest_ledger", lake), ["batch_id", "started_at", "status"])
    if ledger is None or not wanted:
        return set()
    rows = ledger.filter(pc.is_in(ledger["batch_id"], value_set=pa.array(wanted, pa.string()))).to_pylist()
    last: dict[str, object] = {}
    for r in rows:
        last[r["batch_id"]] = max(last.get(r["batch_id"], r["started_at"]), r["started_at"])
    failed = {
        r["batch_id"]
        for r in rows
        if r["started_at"] == last[r["batch_id"]] and r["status"] not in ("promoted", "already_ingested")
    }
    return set(last) - failed


def record_quality(spark: SparkSession, rows: list[dict], lake: Lake | None = None) -> None:
    if rows:
        append_rows(spark, rows, QUALITY_SCHEMA, system_table_path("quality_results", lake))


def write_catalog_table(spark: SparkSession, catalog, lake: Lake | None = None) -> int:
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
    overwrite(spark.createDataFrame(rows, schema), system_table_path("catalog", lake))
    return len(rows)


def synthetic_codes(spark: SparkSession, catalog, lake: Lake | None = None) -> set[str]:
    """Catalogue codes whose data is synthetic: resources with a batch marked synthetic in the
    ledger, and every derived resource whose `related` sources are (followed to the end)."""
    ledger = read_system(spark, "ingest_ledger", lake)
    if ledger is None:
        return set()
    codes = {r.code for r in ledger.where(F.col("synthetic")).select("code").distinct().collect()}
    return catalog.with_derived(codes)
