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
import random
import time
from collections.abc import Callable, Sequence
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
    """Delta's exceptions for a commit refused because of a concurrent one (by Spark or deltalake)."""
    from delta import exceptions
    from deltalake.exceptions import CommitFailedError

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
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


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


def batch_landed(spark: SparkSession, path: str, batch_id: str) -> bool:
    """True if the table already holds rows of this batch."""
    if not table_exists(spark, path):
        return False
    return read_table(spark, path).where(F.col("_batch_id") == batch_id).limit(1).count() > 0


def append_batch(
    df: DataFrame, path: str, batch_id: str, *, partition_by: Sequence[str] | None = None
) -> bool:
    """Append the rows of a batch unless the table has it already; False means it was a no-op."""
    if batch_landed(df.sparkSession, path, batch_id):
        return False
    append(df, path, partition_by=partition_by)
    return True


def is_local(path: str) -> bool:
    """A table on this machine's filesystem (not s3a:// or another remote store)."""
    return "://" not in path or path.startswith("file:")


def append_arrow(spark: SparkSession, table: pa.Table, path: str) -> None:
    """Append rows already in Arrow (a feed parser's records, a ledger's rows) in one commit.

    On a local lake deltalake commits the Arrow table itself: 0.3 s for a day of demo taxi fixes
    (432,864 rows) against 4.2 s to hand them to the JVM and write them with Spark, and a few
    milliseconds for a ledger row against a second. Both write the same Delta protocol and take
    the same atomic commit file, so Spark reads and writes the table afterwards as its own. A
    remote lake is written through Spark."""
    if not is_local(path):
        append(spark.createDataFrame(table), path)
        return
    from deltalake import write_deltalake

    retry_on_conflict(lambda: write_deltalake(path.removeprefix("file:"), table, mode="append"), path)


def append_rows(spark: SparkSession, rows: list[dict], schema: str, path: str) -> None:
    """Append Python rows (dicts) of a Spark DDL `schema` with `append_arrow`."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    arrow_schema = to_arrow_schema(StructType.fromDDL(schema), timezone="UTC")
    append_arrow(spark, pa.Table.from_pylist(rows, schema=arrow_schema), path)


def append_arrow_batch(spark: SparkSession, table: pa.Table, path: str, batch_id: str) -> bool:
    """`append_batch` for rows already in Arrow; False means the table had the batch already."""
    if batch_landed(spark, path, batch_id):
        return False
    append_arrow(spark, table, path)
    return True


def merge_by_key(
    df: DataFrame, path: str, keys: Sequence[str], *, partition_by: Sequence[str] | None = None
) -> None:
    """Upsert rows by their key: a row with a known key replaces it, a new key is inserted."""
    from delta.tables import DeltaTable

    spark = df.sparkSession
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)

    def write() -> None:
        # Checked on every attempt: a concurrent writer may have created the table meanwhile.
        # Created by an append, not an overwrite: a writer that created the table between this
        # check and this commit keeps its rows (an overwrite would replace them unnoticed).
        if not table_exists(spark, path):
            _writer(df, "append", partition_by).save(path)
            return
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(df.alias("s"), condition)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )

    retry_on_conflict(write, path)


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
