"""Delta write helpers: append a batch once, MERGE by key, overwrite one partition.

Every write is one Delta commit, so a task that dies mid-write leaves no partial table, and a
retry of the same batch or partition gives the same table.

Writers run concurrently (two ingest tasks of one table, a backfill beside the daily run). Delta's
optimistic concurrency refuses a commit that conflicts with one made since the write began (a
MERGE into files another writer appended to, two writers creating one table); such a write is
tried again, from the table as it now is, up to CONFLICT_ATTEMPTS times. A refused commit wrote
nothing readers see, so trying again is safe.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

CONFLICT_ATTEMPTS = 6
CONFLICT_BACKOFF_S = 1.0


CONFLICT_EXCEPTIONS = (
    "ConcurrentAppendException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentDeleteReadException",
    "ConcurrentTransactionException",
    "ConcurrentWriteException",
    "DeltaConcurrentModificationException",
    "MetadataChangedException",
    "ProtocolChangedException",
)


def conflict_errors() -> tuple[type[Exception], ...]:
    """Delta's exceptions for a commit refused because of a concurrent one (by Spark or deltalake).

    Attached to the engine, a refused commit arrives as a Spark Connect error; importing
    delta.connect.exceptions makes it one of these classes (without it, it is a plain
    SparkConnectGrpcException, and two attached ingests of one new table failed instead of
    retrying)."""
    from delta import exceptions
    from deltalake.exceptions import CommitFailedError
    from pyspark.sql.utils import is_remote

    if is_remote():
        import delta.connect.exceptions  # noqa: F401

    return (*(getattr(exceptions, name) for name in CONFLICT_EXCEPTIONS), CommitFailedError)


def retry_on_conflict(write: Callable[[], None], path: str, attempts: int = CONFLICT_ATTEMPTS) -> None:
    """Run `write` (one Delta commit to `path`); after a conflict, wait a little and run it again.

    The wait grows with each attempt, with jitter so that two writers do not collide again in step;
    the last conflict is raised.
    """
    conflicts = conflict_errors()
    for attempt in range(1, attempts + 1):
        try:
            write()
            return
        except conflicts as err:
            if attempt == attempts:
                raise
            wait = CONFLICT_BACKOFF_S * attempt * random.uniform(0.5, 1.5)
            log.warning(
                "Delta commit to %s conflicted with a concurrent writer (attempt %d of %d), "
                "trying again in %.1f s: %s",
                path,
                attempt,
                attempts,
                wait,
                str(err).splitlines()[0],
            )
            time.sleep(wait)


def table_exists(spark: SparkSession, path: str) -> bool:
    """True when `path` holds a Delta table: read from its log in this process on a local lake
    (no Spark job, and it works the same attached to the engine), through Spark on a remote one."""
    if is_local(path):
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(path.removeprefix("file:"))
    from pyspark.errors import AnalysisException

    try:
        spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()
    except AnalysisException:
        return False
    return True


def read_table(spark: SparkSession, path: str, *, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def _writer(df: DataFrame, mode: str, partition_by: Sequence[str] | None):
    writer = df.write.format("delta").mode(mode)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    return writer


def append(df: DataFrame, path: str, *, partition_by: Sequence[str] | None = None) -> None:
    retry_on_conflict(lambda: _writer(df, "append", partition_by).save(path), path)


def landed_batches(spark: SparkSession, path: str, batch_ids: Sequence[str]) -> set[str]:
    """The batches among `batch_ids` the table holds rows of already (an attempt that was killed
    after this write and is now tried again must not write them twice)."""
    if not batch_ids or not table_exists(spark, path):
        return set()
    if is_local(path):
        import pyarrow.compute as pc

        ids = read_arrow(path, ["_batch_id"])["_batch_id"]
        return set(pc.unique(ids.filter(pc.is_in(ids, value_set=_string_array(batch_ids)))).to_pylist())
    landed = read_table(spark, path).where(F.col("_batch_id").isin(list(batch_ids))).select("_batch_id")
    return {r["_batch_id"] for r in landed.distinct().collect()}


def append_batches(
    df: DataFrame, path: str, batch_ids: Sequence[str], *, partition_by: Sequence[str] | None = None
) -> set[str]:
    """Append the rows of the batches the table does not hold yet; returns the batches written."""
    landed = landed_batches(df.sparkSession, path, batch_ids)
    todo = [b for b in batch_ids if b not in landed]
    if todo:
        append(df.where(F.col("_batch_id").isin(todo)) if landed else df, path, partition_by=partition_by)
    return set(todo)


def append_batch(
    df: DataFrame, path: str, batch_id: str, *, partition_by: Sequence[str] | None = None
) -> bool:
    """Append the rows of a batch unless the table has it already; False means it was a no-op."""
    return bool(append_batches(df, path, [batch_id], partition_by=partition_by))


def _string_array(values: Sequence[str]):
    import pyarrow as pa

    return pa.array(sorted(set(values)), pa.string())


# Per thread: a handle is not to be updated by one thread while another reads it (ingest reads the
# next batch's files in a thread of its own).
_open_logs = threading.local()


def current_log(path: str):
    """The table's log as it is now (a `deltalake` DeltaTable, local or on the object store), or
    None when there is no table.

    On a local lake the handle is kept between calls, so a later call reads only the commits made
    since (a batch of real-time files asks for the ledger once per file); a handle whose last
    commit file is gone (the folder was removed and made again) is opened anew."""
    from itlake.lake.storage import is_delta_table, open_delta

    location = path.removeprefix("file:")
    if not hasattr(_open_logs, "tables"):
        _open_logs.tables = {}
    kept = _open_logs.tables.get(location) if is_local(path) else None
    if kept is not None and os.path.exists(f"{location}/_delta_log/{kept.version():020d}.json"):
        kept.update_incremental()
        return kept
    _open_logs.tables.pop(location, None)
    if not is_delta_table(path):
        return None
    table = open_delta(path)
    if is_local(path):
        _open_logs.tables[location] = table
    return table


def read_arrow(path: str, columns: Sequence[str] | None = None):
    """A table's current snapshot as Arrow, read by deltalake in this process (no Spark); None when
    there is no table. For small reads that decide what to do before any engine is touched."""
    table = current_log(path)
    if table is None:
        return None
    return table.to_pyarrow_dataset().to_table(columns=list(columns) if columns else None)


def is_local(path: str) -> bool:
    """A table on this machine's filesystem (not s3a:// or another remote store)."""
    return "://" not in path or path.startswith("file:")


def append_arrow(spark: SparkSession, table: pa.Table, path: str, *, evolve: bool = False) -> None:
    """Append rows already in Arrow (a feed parser's records, a ledger's rows) in one commit;
    `evolve` lets new columns into the table's schema (for a system table that gained columns).

    On a local lake deltalake commits the Arrow table itself: 0.3 s for a day of demo taxi fixes
    (432,864 rows) against 4.2 s to hand them to the JVM and write them with Spark, and a few
    milliseconds for a ledger row against a second. Both write the same Delta protocol and take
    the same atomic commit file, so Spark reads and writes the table afterwards as its own. A
    remote lake is written through Spark."""
    if not is_local(path):
        writer = _writer(spark.createDataFrame(table), "append", None)
        if evolve:
            writer = writer.option("mergeSchema", "true")
        retry_on_conflict(lambda: writer.save(path), path)
        return
    from deltalake import write_deltalake

    mode = {"schema_mode": "merge"} if evolve else {}
    retry_on_conflict(lambda: write_deltalake(path.removeprefix("file:"), table, mode="append", **mode), path)


def append_rows(
    spark: SparkSession, rows: list[dict], schema: str, path: str, *, evolve: bool = False
) -> None:
    """Append Python rows (dicts) of a Spark DDL `schema` with `append_arrow`."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    arrow_schema = to_arrow_schema(StructType.fromDDL(schema), timezone="UTC")
    append_arrow(spark, pa.Table.from_pylist(rows, schema=arrow_schema), path, evolve=evolve)


def append_arrow_batches(
    spark: SparkSession, table: pa.Table, path: str, batch_ids: Sequence[str]
) -> set[str]:
    """`append_batches` for rows already in Arrow; returns the batches written."""
    import pyarrow.compute as pc

    landed = landed_batches(spark, path, batch_ids)
    todo = [b for b in batch_ids if b not in landed]
    if todo:
        if landed:
            table = table.filter(pc.is_in(table["_batch_id"], value_set=_string_array(todo)))
        append_arrow(spark, table, path)
    return set(todo)


# How each ordered key type is carried as a SQL literal: as a number of the column's own unit, so
# no value depends on a time zone (Python's or the session's) on its way out of Spark and back.
BOUND_AS = {
    "byte": ("{}", "{}"),
    "short": ("{}", "{}"),
    "integer": ("{}", "{}"),
    "long": ("{}", "{}"),
    "date": ("unix_date({})", "date_from_unix_date({})"),
    "timestamp": ("unix_micros({})", "timestamp_micros({})"),
    "string": ("{}", "{}"),
}


def _sql_literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(int(value))


def key_bounds(df: DataFrame, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
    """{key column: (lowest, highest) as SQL expressions} of `df`, in one pass, for each key column
    of an integer, date, timestamp or string type that holds no null. A join or MERGE against a
    table that keeps only the table's rows within these bounds (`within`) reads only the files
    whose statistics overlap them: a snapshot of a real-time feed, whose key starts with its
    timestamp, touches none of the earlier snapshots' files. It finds the same matches."""
    kinds = {f.name: f.dataType.typeName() for f in df.schema.fields}
    ordered = [k for k in keys if kinds.get(k) in BOUND_AS]
    if not ordered:
        return {}
    columns = []
    for i, key in enumerate(ordered):
        value = F.expr(BOUND_AS[kinds[key]][0].format(f"`{key}`"))
        columns += [
            F.min(value).alias(f"lo_{i}"),
            F.max(value).alias(f"hi_{i}"),
            F.count(value).alias(f"n_{i}"),
        ]
    stats = df.agg(F.count(F.lit(1)).alias("_rows"), *columns).collect()[0]
    bounds = {}
    for i, key in enumerate(ordered):
        if stats["_rows"] and stats[f"n_{i}"] == stats["_rows"]:
            literal = BOUND_AS[kinds[key]][1]
            bounds[key] = (
                literal.format(_sql_literal(stats[f"lo_{i}"])),
                literal.format(_sql_literal(stats[f"hi_{i}"])),
            )
    return bounds


def within(bounds: dict[str, tuple[str, str]], alias: str = "") -> str | None:
    """SQL: the rows whose key columns lie within `bounds` (of `key_bounds`); None without bounds."""
    prefix = f"{alias}." if alias else ""
    terms = [f"{prefix}`{key}` BETWEEN {lo} AND {hi}" for key, (lo, hi) in bounds.items()]
    return " AND ".join(terms) or None


@dataclass(frozen=True)
class MergeCounts:
    """What one MERGE did, from Delta's operation metrics: source rows inserted as new keys,
    rows that replaced a different row of the same key, and rows equal to the one already there."""

    inserted: int
    updated: int
    unchanged: int


def merge_by_key(
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    *,
    partition_by: Sequence[str] | None = None,
    compare: Sequence[str] | None = None,
    source_rows: int | None = None,
    bounds: dict[str, tuple] | None = None,
    new_keys_only: bool = False,
) -> MergeCounts:
    """Upsert rows by their key: a new key is inserted, a known key is replaced when one of the
    `compare` columns differs (default: every column but the keys) and left alone when none does.
    `source_rows`, when the caller knows it, spares a count of `df`; `bounds` (`key_bounds` of
    `df`) let the MERGE skip the table's files that hold none of the source's keys. A caller that
    found none of the source's keys in the table says `new_keys_only`: the MERGE then only inserts
    (Delta writes the rows without rewriting a file), and a key that a concurrent writer added
    meanwhile is left as that writer wrote it.

    Written as SQL `MERGE INTO delta.`path``, which runs the same on a local session and attached
    to the engine (Delta's Python DeltaTable API needs a server plugin over Spark Connect)."""
    spark = df.sparkSession
    source_rows = df.count() if source_rows is None else source_rows
    compare = [c for c in (compare or df.columns) if c not in keys]
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    # Conditions on the target alone in ON are what Delta prunes the target's files by.
    if bounds:
        on += f" AND {within(bounds, 't')}"
    changed = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in compare) or "false"
    view = f"_merge_source_{uuid.uuid4().hex}"
    counts: list[MergeCounts] = []

    def write() -> None:
        # Checked on every attempt: a concurrent writer may have created the table meanwhile.
        # Created by an append, not an overwrite: a writer that created the table between this
        # check and this commit keeps its rows (an overwrite would replace them unnoticed).
        if not table_exists(spark, path):
            _writer(df, "append", partition_by).save(path)
            counts.append(MergeCounts(inserted=source_rows, updated=0, unchanged=0))
            return
        update = "" if new_keys_only else f"WHEN MATCHED AND ({changed}) THEN UPDATE SET * "
        metrics = spark.sql(
            f"MERGE INTO delta.`{path}` AS t USING {view} AS s ON {on} {update}WHEN NOT MATCHED THEN INSERT *"
        ).collect()[0]
        inserted, updated = metrics["num_inserted_rows"], metrics["num_updated_rows"]
        unchanged = source_rows - inserted - updated
        counts.append(MergeCounts(inserted=inserted, updated=updated, unchanged=unchanged))

    df.createOrReplaceTempView(view)
    try:
        retry_on_conflict(write, path)
    finally:
        spark.catalog.dropTempView(view)
    return counts[-1]


def overwrite_partition(
    df: DataFrame, path: str, partition_col: str, value: object, *, partition_by: Sequence[str] | None = None
) -> None:
    """Replace exactly one partition (for example one service date), leaving the others alone."""
    spark = df.sparkSession

    def write() -> None:
        if not table_exists(spark, path):
            _writer(df, "overwrite", partition_by or [partition_col]).save(path)
            return
        (
            df.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"`{partition_col}` = '{value}'")
            .save(path)
        )

    retry_on_conflict(write, path)


def overwrite(df: DataFrame, path: str, *, partition_by: Sequence[str] | None = None) -> None:
    retry_on_conflict(
        lambda: _writer(df, "overwrite", partition_by).option("overwriteSchema", "true").save(path), path
    )
