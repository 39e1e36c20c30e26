"""Delta write helpers: append a batch once, MERGE by key, overwrite one partition.

Every write is one Delta commit, so a task that dies mid-write leaves no partial table, and a
retry of the same batch or partition gives the same table.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


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
    _writer(df, "append", partition_by).save(path)


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


def merge_by_key(
    df: DataFrame, path: str, keys: Sequence[str], *, partition_by: Sequence[str] | None = None
) -> None:
    """Upsert rows by their key: a row with a known key replaces it, a new key is inserted."""
    from delta.tables import DeltaTable

    spark = df.sparkSession
    if not table_exists(spark, path):
        _writer(df, "overwrite", partition_by).save(path)
        return
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), condition)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def overwrite_partition(
    df: DataFrame, path: str, partition_col: str, value: object, *, partition_by: Sequence[str] | None = None
) -> None:
    """Replace exactly one partition (for example one service date), leaving the others alone."""
    spark = df.sparkSession
    if not table_exists(spark, path):
        _writer(df, "overwrite", partition_by or [partition_col]).save(path)
        return
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"`{partition_col}` = '{value}'")
        .save(path)
    )


def overwrite(df: DataFrame, path: str, *, partition_by: Sequence[str] | None = None) -> None:
    _writer(df, "overwrite", partition_by).option("overwriteSchema", "true").save(path)
