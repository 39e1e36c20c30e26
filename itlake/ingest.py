"""Landing -> bronze -> silver for one received file, with quarantine, quality gate and ledger.

    itlake ingest taxi_gps inbox/taxi_gps/2026-11-27/taxi_gps_20261127.csv

1. landing/: the file is copied as received, named by its sha256.
   Biometric data is refused first (itlake/biometric.py): a contract column marked
   `pii: biometric` before the file lands, a face image or template column after reading it (the
   landed copy is then removed).
2. Feeds that offer `validate(tables, ctx) -> list[Notice]` (GTFS) check the raw tables first;
   every notice goes to `_system.feed_notices`, and an ERROR refuses the file before it lands in
   bronze (the ledger names the notice codes).
3. bronze/: the parser's raw records plus `_batch_id`, `_source_file`, `_row_number`,
   `_ingested_at`, appended straight from Arrow (itlake/lake/delta.py `append_arrow`). The batch
   id is derived from the sha256, so a file ingested again is a no-op.
4. silver/: typed and conformed by the parser; rows that fail to type or break a contract rule go
   to quarantine/ with the rule and a reason; duplicates of a key within the batch are counted and
   dropped (one cached frame holds each row's fate, and one aggregation counts them all); the
   Great Expectations suite of the contract must pass (an ERROR refuses the batch); the rest is
   MERGEd by key.
5. _system.ingest_ledger: one row per batch and table, which must reconcile
   rows_read = rows_promoted + rows_duplicate + rows_quarantined. The rows of one attempt are
   written in one commit at its end, so a file whose last attempt promoted every table it held
   is done, whichever tables that file had (a GTFS zip may leave optional files out).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from itlake.biometric import BiometricDataRefused, refuse_biometric_contracts, refuse_biometric_values
from itlake.checksums import file_sha256
from itlake.config import get_settings
from itlake.contracts import load_contract
from itlake.feeds import BatchContext, FeedError, get_feed
from itlake.lake.delta import append_arrow_batch, append_batch, merge_by_key, read_table
from itlake.lake.notices import errors, record_notices, summary
from itlake.lake.paths import table_path
from itlake.lake.system import LedgerRow, batch_promoted, record_ledger
from itlake.quality.checks import entry_domain
from itlake.quality.suites import Domain

QUARANTINE_COLUMNS = [
    "_batch_id",
    "_source_file",
    "_row_number",
    "quarantine_rule",
    "quarantine_reason",
    "_record",
]


class BatchRefusedError(RuntimeError):
    """A batch that may not be promoted; its rows are in quarantine and the ledger says why."""


def is_synthetic(path: Path, sha256: str) -> bool:
    """True when a manifest.json above the file marks it as synthetic (the demo generator writes one)."""
    for folder in path.resolve().parents:
        manifest = folder / "manifest.json"
        if manifest.is_file():
            content = json.loads(manifest.read_text(encoding="utf-8"))
            listed = {f.get("sha256") for f in content.get("files", [])}
            return bool(content.get("synthetic")) and sha256 in listed
    return False


def land(path: Path, entry, logical_date: date, sha256: str) -> Path:
    """Copy the file as received into landing/; the copy is the one every later stage reads."""
    target = Path(table_path("landing", entry.name)) / logical_date.isoformat() / f"{sha256[:16]}_{path.name}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        shutil.copyfile(path, partial)
        partial.rename(target)
    return target


def ingest_paths(spark: SparkSession, entry, paths: list[Path], logical_date: date) -> list[LedgerRow]:
    """Ingest each file in turn; returns every ledger row written."""
    rows: list[LedgerRow] = []
    for path in sorted(paths):
        rows.extend(ingest_file(spark, entry, Path(path), logical_date))
    return rows


def ingest_file(spark: SparkSession, entry, path: Path, logical_date: date) -> list[LedgerRow]:
    if not path.is_file():
        raise FeedError(f"{path}: no such file")
    feed = get_feed(entry.feed)
    sha256 = file_sha256(path)
    ctx = BatchContext(
        batch_id=f"{entry.name}-{sha256[:16]}",
        sha256=sha256,
        source_file=path.name,
        logical_date=logical_date,
        pseudonym_key=get_settings().pseudonym_key(),
        encoding=entry.encoding,
        crs=entry.crs,
        timezone=entry.timezone,
    )
    template = LedgerRow(
        batch_id=ctx.batch_id,
        code=entry.code,
        table="",
        source_file=path.name,
        sha256=sha256,
        logical_date=logical_date,
        synthetic=is_synthetic(path, sha256),
    )
    if batch_promoted(spark, ctx.batch_id):
        row = _finish(
            replace(
                template,
                table=",".join(feed.contracts),
                status="already_ingested",
                message="the same file was promoted before; nothing to do",
            )
        )
        record_ledger(spark, [row])
        return [row]
    landed = None
    try:
        # Before landing: a feed whose contract holds biometric data does not enter the lake at all.
        refuse_biometric_contracts(feed.contracts, ctx.source_file)
        landed = land(path, entry, logical_date, sha256)
        raw_tables = feed.read(landed, ctx)
        refuse_biometric_values(raw_tables, ctx.source_file)
        _check_notices(spark, feed, raw_tables, ctx, entry)
    except FeedError as err:
        if isinstance(err, BiometricDataRefused) and landed is not None:
            landed.unlink()  # not even the copy as received may stay
        row = _finish(replace(template, table=",".join(feed.contracts), status="refused", message=str(err)))
        record_ledger(spark, [row])
        raise
    domain = entry_domain(entry, logical_date)
    rows = [
        promote(spark, feed, name, table, ctx, replace(template, table=name), domain)
        for name, table in raw_tables.items()
    ]
    record_ledger(spark, rows)
    refused = [r for r in rows if r.status == "refused"]
    if refused:
        raise BatchRefusedError("; ".join(r.message for r in refused))
    return rows


def _check_notices(spark: SparkSession, feed, raw_tables: dict, ctx: BatchContext, entry) -> None:
    """Run the feed's validator, if it has one; store its notices; an ERROR refuses the file."""
    validate = getattr(feed, "validate", None)
    if validate is None:
        return
    notices = validate(raw_tables, ctx)
    record_notices(
        spark,
        notices,
        feed=entry.feed,
        batch_id=ctx.batch_id,
        source_file=ctx.source_file,
        logical_date=ctx.logical_date,
    )
    blocking = errors(notices)
    if blocking:
        raise FeedError(f"{ctx.source_file}: {summary(blocking)}")


def promote(
    spark: SparkSession,
    feed,
    contract_name: str,
    raw_table,
    ctx: BatchContext,
    row: LedgerRow,
    domain: Domain,
) -> LedgerRow:
    """Bronze then silver for one raw table of one batch; returns its ledger row (the caller
    records the rows of every table of the batch together). `domain` is the coverage and date the
    quality suite checks against."""
    from itlake.quality import row_rules, validate_frame
    from itlake.quality.checks import record_run, run_id, threshold_report
    from itlake.quality.foreign_keys import foreign_key_results, present_references, with_foreign_key_errors
    from itlake.quality.rules import with_first_failure

    if raw_table.num_rows == 0:
        # A file with a header and no records (GTFS allows it): nothing to land, nothing lost.
        message = f"{ctx.source_file}: no records for {contract_name}, nothing to promote"
        row = _finish(replace(row, message=message))
        row.check()
        return row
    contract = load_contract(contract_name)
    bronze_path = table_path("bronze", contract_name)
    append_arrow_batch(spark, with_lineage(raw_table, ctx), bronze_path, ctx.batch_id)
    bronze = read_table(spark, bronze_path).where(F.col("_batch_id") == ctx.batch_id)
    raw_fields = [c for c in bronze.columns if not c.startswith("_")]
    bronze = bronze.withColumn("_record", F.to_json(F.struct(*[F.col(f"`{c}`") for c in raw_fields])))

    references = present_references(spark, contract, feed.contracts)
    silver = feed.to_silver(bronze, contract_name, ctx)
    typed = with_foreign_key_errors(spark, silver, contract, feed.contracts, references)
    # Each row's fate in one frame: its first failure (a parse error, then a broken foreign key,
    # then the contract's row rules) or, for a good row, its rank among the good rows of its key.
    checked = with_first_failure(
        typed,
        row_rules(contract),
        before=[
            (F.when(F.col("_parse_error").isNotNull(), F.lit("parse_error")), F.col("_parse_error")),
            (F.col("_fk_rule"), F.col("_fk_error")),
        ],
    ).drop("_parse_error", "_fk_rule", "_fk_error")
    good = F.col("quarantine_rule").isNull()
    first = Window.partitionBy(*contract.primary_key).orderBy(~good, "_row_number")
    ranked = checked.withColumn("_rank", F.when(good, F.row_number().over(first))).persist()
    try:
        # One aggregation gives every figure of the ledger and the gate: rows per rule, duplicates.
        fates = ranked.groupBy("quarantine_rule", (F.col("_rank") > 1).alias("duplicate")).count().collect()
        rule_counts = {r["quarantine_rule"]: r["count"] for r in fates if r["quarantine_rule"]}
        row.rows_read = sum(r["count"] for r in fates)
        row.rows_quarantined = sum(rule_counts.values())
        row.rows_duplicate = sum(r["count"] for r in fates if r["duplicate"])
        row.rows_promoted = row.rows_read - row.rows_quarantined - row.rows_duplicate
        quarantined = ranked.where(~good).select(*QUARANTINE_COLUMNS)
        promoted = ranked.where("_rank = 1").drop("_rank", "_record", "quarantine_rule", "quarantine_reason")

        share = row.rows_quarantined / row.rows_read if row.rows_read else 0.0
        if share > contract.quarantine_threshold:
            reason = (
                f"batch_refused: {share:.2%} of rows quarantined, over the contract's threshold "
                f"of {contract.quarantine_threshold:.2%}"
            )
            record_run(spark, threshold_report(contract, ctx, row.rows_read, rule_counts))
            return _refuse(contract_name, ranked, row, reason)

        report = validate_frame(
            promoted,
            contract,
            dataset=contract_name,
            batch_id=ctx.batch_id,
            run_id=run_id(ctx),
            domain=domain,
            extra=foreign_key_results(
                contract,
                row.rows_read,
                rule_counts,
                references,
                contract.quarantine_threshold,
                feed.contracts,
            ),
        )
        record_run(spark, report)
        if not report.success:
            failed = ", ".join(
                sorted(
                    {
                        f"{r.expectation}({r.column or ''})"
                        for r in report.results
                        if not r.success and r.severity == "error"
                    }
                )
            )
            return _refuse(contract_name, ranked, row, f"quality_gate: {failed}")

        if row.rows_quarantined:  # a clean batch adds no empty commit to the quarantine table
            _write_quarantine(quarantined, contract_name, ctx.batch_id)
        merge_by_key(
            promoted,
            table_path(contract.layer, contract_name),
            contract.primary_key,
            partition_by=contract.partition_by,
        )
    finally:
        ranked.unpersist()
    row = _finish(row)
    row.check()
    return row


def with_lineage(raw_table: pa.Table, ctx: BatchContext) -> pa.Table:
    """The parser's records plus the batch, the file and the time they entered bronze."""
    lineage = {
        "_batch_id": pa.scalar(ctx.batch_id, pa.string()),
        "_source_file": pa.scalar(ctx.source_file, pa.string()),
        "_ingested_at": pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC")),
    }
    for name, value in lineage.items():
        raw_table = raw_table.append_column(name, pa.repeat(value, raw_table.num_rows))
    return raw_table


def _refuse(contract_name: str, ranked: DataFrame, row: LedgerRow, reason: str):
    """Quarantine the whole batch: rows already failing keep their reason, the rest get `reason`."""
    held = ranked.withColumns(
        {
            "quarantine_rule": F.coalesce(F.col("quarantine_rule"), F.lit(reason.split(":", 1)[0])),
            "quarantine_reason": F.coalesce(F.col("quarantine_reason"), F.lit(reason)),
        }
    )
    _write_quarantine(held.select(*QUARANTINE_COLUMNS), contract_name, row.batch_id)
    row.rows_quarantined = row.rows_read
    row.rows_promoted = row.rows_duplicate = 0
    row = _finish(replace(row, status="refused", message=f"{contract_name}: {reason}"))
    row.check()
    return row


def _write_quarantine(quarantined: DataFrame, contract_name: str, batch_id: str) -> None:
    # Once per batch: a task killed after this write and retried must not quarantine the rows twice.
    append_batch(
        quarantined.withColumn("_quarantined_at", F.current_timestamp()),
        table_path("quarantine", contract_name),
        batch_id,
    )


def _finish(row: LedgerRow) -> LedgerRow:
    return replace(row, finished_at=datetime.now(UTC))
