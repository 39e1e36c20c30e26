"""Bronze -> silver for one table of one batch of files: the step of itlake/ingest/flow.py that runs
on Spark, once per table whatever the number of files.

One persisted frame holds each row's fate: its first failed rule (a parse error, then a broken
foreign key, then the contract's row rules) or, for a good row, its rank among the rows of its
key in its file. One aggregation gives every file's counts. Files over the contract's quarantine
threshold, or failing the quality suite, are refused alone. What a promoted row does to silver
(inserted, updated, unchanged) is decided against silver as it is, and against the earlier files
of the batch, by a hash of the contract's columns; the MERGE then writes the last row of each key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from itlake.catalog.contracts import load_contract
from itlake.feeds import BatchContext
from itlake.lake.delta import (
    append_arrow_batches,
    append_batches,
    key_bounds,
    merge_by_key,
    read_table,
    table_exists,
    within,
)
from itlake.lake.paths import table_path
from itlake.lake.system import LedgerRow
from itlake.quality.suites import Domain

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = [
    "_batch_id",
    "_source_file",
    "_row_number",
    "quarantine_rule",
    "quarantine_reason",
    "_record",
]
FATES = ("inserted", "updated", "unchanged")


def promote_batch(
    spark: SparkSession, feed, contract_name: str, parts: list, entry, logical_date, domain: Domain
) -> list[LedgerRow]:
    """Bronze then silver for one table of a batch; `parts` pairs each file's Arrival with its raw
    table. Returns the ledger row of each file (the caller writes them)."""
    done: list[LedgerRow] = []
    for arrival, raw in parts:
        if raw.num_rows == 0:
            # A file with a header and no records (GTFS allows it): nothing to land, nothing lost.
            message = f"{arrival.ctx.source_file}: no records for {contract_name}, nothing to promote"
            done.append(finish(replace(arrival.ledger, table=contract_name, message=message)))
    parts = [(a, raw) for a, raw in parts if raw.num_rows]
    if not parts:
        return done
    contract = load_contract(contract_name)
    ledger = {a.ctx.batch_id: replace(a.ledger, table=contract_name) for a, _ in parts}
    ids = list(ledger)
    ctx = _batch_context([a for a, _ in parts])

    ingested_at = datetime.now(UTC)
    bronze_rows = pa.concat_tables(
        [with_lineage(raw, a.ctx, ingested_at) for a, raw in parts], promote_options="permissive"
    )
    bronze_path = table_path("bronze", contract_name)
    append_arrow_batches(spark, bronze_rows, bronze_path, ids)
    bronze = read_table(spark, bronze_path).where(F.col("_batch_id").isin(ids))
    raw_fields = [c for c in bronze.columns if not c.startswith("_")]
    bronze = bronze.withColumn("_record", F.to_json(F.struct(*[F.col(f"`{c}`") for c in raw_fields])))

    ranked = _fates(spark, feed, contract, bronze, ctx).persist()
    staged = None
    try:
        counts = (
            ranked.groupBy("_batch_id", "quarantine_rule", (F.col("_rank") > 1).alias("duplicate"))
            .count()
            .collect()
        )
        refusals = _count(ledger, counts, contract, ctx, spark)
        accepted = [b for b in ids if b not in refusals]
        if accepted:
            staged = Outcomes.of(ranked, contract, accepted)
            refusals.update(_quality_gate(spark, feed, contract, ranked, staged, ctx, ledger, domain, counts))
            if any(b in refusals for b in accepted):
                staged.release()  # the gate refused files: the fates of the others, again
                accepted = [b for b in accepted if b not in refusals]
                staged = Outcomes.of(ranked, contract, accepted) if accepted else None
        held = sorted({b for b, row in ledger.items() if row.rows_quarantined} | set(refusals))
        _write_quarantine(ranked, contract_name, refusals, held)
        if staged:
            _merge(staged, contract, ledger)
    finally:
        if staged:
            staged.release()
        ranked.unpersist()
    for batch_id, row in ledger.items():
        if batch_id in refusals:
            row.rows_quarantined = row.rows_read
            row.rows_promoted = row.rows_duplicate = 0
            row.rows_inserted = row.rows_updated = row.rows_unchanged = 0
            row = replace(row, status="refused", message=f"{contract_name}: {refusals[batch_id]}")
        row = finish(row)
        row.check()
        done.append(row)
    return done


@dataclass
class Outcomes:
    """The promoted rows of the accepted files with their fates (`_outcomes`), computed once and
    kept for the quality gate, the ledger's counts and the MERGE; silver is read once for them,
    within the batch's key bounds (none are computed for a table that does not exist yet)."""

    frame: DataFrame
    bounds: dict
    accepted: list[str]

    @classmethod
    def of(cls, ranked: DataFrame, contract, accepted: list[str]) -> Outcomes:
        promoted = ranked.where(F.col("_rank") == 1).where(F.col("_batch_id").isin(accepted))
        target_path = table_path(contract.layer, contract.name)
        known = table_exists(promoted.sparkSession, target_path)
        bounds = key_bounds(promoted, contract.primary_key) if known else {}
        return cls(_outcomes(promoted, contract, accepted, bounds, known).persist(), bounds, accepted)

    def written(self) -> DataFrame:
        """The batch's last row of each key: the rows the MERGE writes."""
        internal = ("_rank", "_record", "quarantine_rule", "quarantine_reason", "_fate", "_last")
        return self.frame.where("_last").drop(*internal)

    def release(self) -> None:
        self.frame.unpersist()


def _merge(staged: Outcomes, contract, ledger: dict) -> None:
    """Count each file's inserted, updated and unchanged rows, then MERGE the batch's last row of
    each key."""
    fates = staged.frame.groupBy("_batch_id", "_fate", "_last").count().collect()
    for r in fates:
        row = ledger[r["_batch_id"]]
        setattr(row, f"rows_{r['_fate']}", getattr(row, f"rows_{r['_fate']}") + r["count"])
    merged = merge_by_key(
        staged.written(),
        table_path(contract.layer, contract.name),
        contract.primary_key,
        partition_by=contract.partition_by,
        compare=_compared(contract),
        source_rows=sum(r["count"] for r in fates if r["_last"]),
        bounds=staged.bounds,
        new_keys_only=all(r["_fate"] == "inserted" for r in fates),
    )
    inserted = sum(r["count"] for r in fates if r["_fate"] == "inserted")
    if merged.inserted != inserted:
        log.warning(
            "%s: the MERGE inserted %d rows where the batch's files had %d new keys "
            "(a concurrent writer changed the table in between)",
            contract.name,
            merged.inserted,
            inserted,
        )


def with_lineage(raw_table: pa.Table, ctx: BatchContext, ingested_at: datetime) -> pa.Table:
    """The parser's records plus the batch, the file and the time they entered bronze."""
    lineage = {
        "_batch_id": pa.scalar(ctx.batch_id, pa.string()),
        "_source_file": pa.scalar(ctx.source_file, pa.string()),
        "_ingested_at": pa.scalar(ingested_at, pa.timestamp("us", tz="UTC")),
    }
    for name, value in lineage.items():
        raw_table = raw_table.append_column(name, pa.repeat(value, raw_table.num_rows))
    return raw_table


def finish(row: LedgerRow) -> LedgerRow:
    return replace(row, finished_at=datetime.now(UTC))


def _batch_context(arrivals: list) -> BatchContext:
    """What the parser's typing may know about a batch: the first file's context (a GTFS zip is a
    batch of its own, so its sha256 is the batch's); several files get a batch id of their own."""
    first = arrivals[0].ctx
    if len(arrivals) == 1:
        return first
    return replace(
        first, batch_id=f"{first.batch_id}+{len(arrivals) - 1}", source_file=f"{len(arrivals)} files"
    )


def _fates(spark: SparkSession, feed, contract, bronze: DataFrame, ctx: BatchContext) -> DataFrame:
    """Typed rows with `quarantine_rule`/`quarantine_reason` (the first failure, null for a good
    row) and `_rank`: a good row's place among the good rows of its key in its file."""
    from itlake.quality import row_rules
    from itlake.quality.foreign_keys import present_references, with_foreign_key_errors
    from itlake.quality.rules import with_first_failure

    references = present_references(spark, contract, feed.contracts)
    silver = feed.to_silver(bronze, contract.name, ctx)
    typed = with_foreign_key_errors(spark, silver, contract, feed.contracts, references)
    checked = with_first_failure(
        typed,
        row_rules(contract),
        before=[
            (F.when(F.col("_parse_error").isNotNull(), F.lit("parse_error")), F.col("_parse_error")),
            (F.col("_fk_rule"), F.col("_fk_error")),
        ],
    ).drop("_parse_error", "_fk_rule", "_fk_error")
    good = F.col("quarantine_rule").isNull()
    first = Window.partitionBy("_batch_id", *contract.primary_key).orderBy(~good, "_row_number")
    return checked.withColumn("_rank", F.when(good, F.row_number().over(first)))


def _count(ledger: dict, counts, contract, ctx: BatchContext, spark) -> dict[str, str]:
    """Fill each file's read, quarantined and duplicate counts; refuse the files that quarantine
    more than the contract's threshold (their reports go to `_system.quality_results`)."""
    from itlake.quality.checks import record_run, threshold_report

    refusals = {}
    for batch_id, row in ledger.items():
        mine = [r for r in counts if r["_batch_id"] == batch_id]
        rule_counts: dict[str, int] = {}
        for r in mine:
            if r["quarantine_rule"]:
                rule_counts[r["quarantine_rule"]] = rule_counts.get(r["quarantine_rule"], 0) + r["count"]
        row.rows_read = sum(r["count"] for r in mine)
        row.rows_quarantined = sum(rule_counts.values())
        row.rows_duplicate = sum(r["count"] for r in mine if r["duplicate"])
        row.rows_promoted = row.rows_read - row.rows_quarantined - row.rows_duplicate
        share = row.rows_quarantined / row.rows_read if row.rows_read else 0.0
        if share > contract.quarantine_threshold:
            refusals[batch_id] = (
                f"batch_refused: {share:.2%} of rows quarantined, over the contract's threshold "
                f"of {contract.quarantine_threshold:.2%}"
            )
            file_ctx = replace(ctx, batch_id=batch_id, source_file=row.source_file)
            record_run(spark, threshold_report(contract, file_ctx, row.rows_read, rule_counts))
    return refusals


def _quality_gate(
    spark, feed, contract, ranked: DataFrame, staged: Outcomes, ctx, ledger, domain, counts
) -> dict[str, str]:
    """Run the contract's suite once on the rows the batch would write; when it fails, once per
    file, so that only the files at fault are refused. Returns {batch id: reason} of those."""
    accepted = staged.accepted
    report = _validate(spark, feed, contract, staged.written(), ctx, accepted, ledger, domain, counts)
    if report.success:
        return {}
    if len(accepted) == 1:
        return {accepted[0]: _gate_reason(report)}
    candidates = ranked.where(F.col("_rank") == 1)
    refusals = {}
    for batch_id in accepted:
        file_ctx = replace(ctx, batch_id=batch_id, source_file=ledger[batch_id].source_file)
        mine = candidates.where(F.col("_batch_id") == batch_id)
        report = _validate(spark, feed, contract, mine, file_ctx, [batch_id], ledger, domain, counts)
        if not report.success:
            refusals[batch_id] = _gate_reason(report)
    return refusals


def _validate(spark, feed, contract, frame, ctx, batch_ids, ledger, domain, counts):
    from itlake.quality import validate_frame
    from itlake.quality.checks import record_run, run_id
    from itlake.quality.foreign_keys import foreign_key_results, present_references

    rows_read = sum(ledger[b].rows_read for b in batch_ids)
    rule_counts: dict[str, int] = {}
    for r in counts:
        if r["_batch_id"] in batch_ids and r["quarantine_rule"]:
            rule_counts[r["quarantine_rule"]] = rule_counts.get(r["quarantine_rule"], 0) + r["count"]
    report = validate_frame(
        frame.drop("_rank", "_record", "quarantine_rule", "quarantine_reason"),
        contract,
        dataset=contract.name,
        batch_id=ctx.batch_id,
        run_id=run_id(ctx),
        domain=domain,
        extra=foreign_key_results(
            contract,
            rows_read,
            rule_counts,
            present_references(spark, contract, feed.contracts),
            contract.quarantine_threshold,
            feed.contracts,
        ),
    )
    record_run(spark, report)
    return report


def _gate_reason(report) -> str:
    failed = sorted(
        {
            f"{r.expectation}({r.column or ''})"
            for r in report.results
            if not r.success and r.severity == "error"
        }
    )
    return f"quality_gate: {', '.join(failed)}"


def _file_order(batch_ids: list[str]):
    """A file's place in the batch (1 for the first), from its batch id."""
    return F.array_position(F.array(*[F.lit(b) for b in batch_ids]), F.col("_batch_id"))


def _compared(contract) -> list[str]:
    """The columns whose change makes a row of a known key an update (not the lineage columns)."""
    return [c.name for c in contract.columns if c.name not in contract.primary_key]


def _row_hash(columns: list[str]):
    if not columns:  # every column is in the key: a known key is its row, unchanged
        return F.lit(0).cast("long")
    # The null flags keep (null, 1) and (1, null) apart: the hash passes over null values.
    return F.xxhash64(*[F.col(f"`{c}`") for c in columns], *[F.isnull(F.col(f"`{c}`")) for c in columns])


def _outcomes(promoted: DataFrame, contract, accepted: list[str], bounds: dict, known: bool) -> DataFrame:
    """The promoted rows of the accepted files, each with `_fate` (inserted: a key new to silver
    and to the earlier files of the batch; updated: it changes the key's row; unchanged: it
    equals it) and `_last` (the batch's last row of its key, the one the MERGE writes). Silver,
    when it is `known` to exist, is read within the batch's key `bounds` only."""
    keys = contract.primary_key
    compared = _compared(contract)
    order = _file_order(accepted)
    by_key = Window.partitionBy(*keys).orderBy("_order")
    rows = promoted.withColumns({"_order": order, "_hash": _row_hash(compared)}).withColumns(
        {"_prev_hash": F.lag("_hash").over(by_key), "_last": F.lead("_order").over(by_key).isNull()}
    )
    if known:
        target = read_table(promoted.sparkSession, table_path(contract.layer, contract.name))
        if bounds:
            target = target.where(within(bounds))
        target = target.select(
            *[F.col(f"`{k}`").alias(f"_t_{k}") for k in keys],
            _row_hash(compared).alias("_t_hash"),
            F.lit(True).alias("_t_found"),
        )
        on = [F.col(f"`{k}`").eqNullSafe(F.col(f"_t_{k}")) for k in keys]
        rows = rows.join(target, on=on, how="left").drop(*[f"_t_{k}" for k in keys])
    else:
        rows = rows.withColumns(
            {"_t_hash": F.lit(None).cast("long"), "_t_found": F.lit(None).cast("boolean")}
        )
    previous = F.col("_prev_hash")
    fate = (
        F.when(previous.isNotNull() & (previous == F.col("_hash")), "unchanged")
        .when(previous.isNotNull(), "updated")
        .when(F.col("_t_found").isNull(), "inserted")
        .when(F.col("_t_hash") == F.col("_hash"), "unchanged")
        .otherwise("updated")
    )
    return rows.withColumn("_fate", fate).drop("_order", "_hash", "_prev_hash", "_t_hash", "_t_found")


def _write_quarantine(
    ranked: DataFrame, contract_name: str, refusals: dict[str, str], files: list[str]
) -> None:
    """One append for the batch: the failed rows of every file, and every row of a refused file
    (rows already failing keep their reason, the rest get the file's refusal). Once per file: a
    task killed after this write and tried again must not quarantine the rows twice."""
    held = ranked
    if refusals:
        reasons = F.create_map(*[F.lit(v) for kv in refusals.items() for v in kv])[F.col("_batch_id")]
        held = ranked.withColumns(
            {
                "quarantine_rule": F.coalesce(F.col("quarantine_rule"), F.split(reasons, ":").getItem(0)),
                "quarantine_reason": F.coalesce(F.col("quarantine_reason"), reasons),
            }
        )
    if files:
        append_batches(
            held.where(F.col("quarantine_rule").isNotNull())
            .select(*QUARANTINE_COLUMNS)
            .withColumn("_quarantined_at", F.current_timestamp()),
            table_path("quarantine", contract_name),
            files,
        )
