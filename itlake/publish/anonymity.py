"""Disclosure control for released aggregates: k-anonymous cells, 15-minute times, unicity.

A cell counts travellers (trips, vehicles); one with fewer than k of them could single out a person,
so it is withheld and counted. Times are floored to 15 minutes (or coarser) and places generalised
to zones before counting. `unicity` measures what the generalisation buys: the share of records in
a sample that no other record shares on the quasi-identifiers.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

QUARTER_HOUR_S = 900


def suppress_small_cells(cells: DataFrame, k: int, column: str = "trips") -> tuple[DataFrame, DataFrame]:
    """(released cells with at least k in `column`, withheld cells)."""
    return cells.where(F.col(column) >= k), cells.where(F.col(column) < k)


def floor_15min(column: str | Column) -> Column:
    """The timestamp floored to its quarter hour (UTC)."""
    col = F.col(column) if isinstance(column, str) else column
    seconds = F.unix_timestamp(col)
    return F.timestamp_seconds(seconds - F.pmod(seconds, F.lit(QUARTER_HOUR_S)))


def off_quarter_hour(df: DataFrame, columns: list[str]) -> int:
    """Rows with a timestamp in `columns` that is not on a quarter hour (0 when all are rounded)."""
    if not columns:
        return 0
    condition = None
    for name in columns:
        bad = F.pmod(F.unix_timestamp(F.col(name)), F.lit(QUARTER_HOUR_S)) != 0
        condition = bad if condition is None else condition | bad
    return df.where(condition).count()


def unicity(records: DataFrame, quasi_identifiers: list[str]) -> float:
    """Share of records whose quasi-identifier values no other record in `records` has."""
    groups = records.groupBy(*quasi_identifiers).count()
    totals = groups.agg(
        F.sum("count").alias("records"), F.sum(F.when(F.col("count") == 1, 1).otherwise(0)).alias("unique")
    ).first()
    return 0.0 if not totals.records else totals.unique / totals.records
