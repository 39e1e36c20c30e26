"""The Spark SQL engine: one temporary view per lake table, read with Delta's own reader.

Every Delta feature Spark's Delta reader knows works here (deletion vectors, column mapping, type
widening...), and `--version` / `--as-of` become Delta's `versionAsOf` / `timestampAsOf`. The
result is collected to the driver as Arrow, so keep big results aggregated or limited.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from itlake.query.names import QueryError, ResolvedQuery
from itlake.query.travel import TimeTravel, spark_timestamp

if TYPE_CHECKING:
    import pyarrow as pa


class SparkEngine:
    """Runs queries on a Spark session (the lake's session factory builds one if none is given)."""

    name = "spark"

    def __init__(self, spark=None):
        from itlake.lake.session import get_spark

        self.spark = spark or get_spark("itlake-sql")
        self.last_timings: dict[str, float] = {}
        self._views: set[str] = set()

    def run(self, query: ResolvedQuery, travel: TimeTravel) -> pa.Table:
        from pyspark.errors import PySparkException

        started = time.perf_counter()
        for ref in query.tables:
            reader = self.spark.read.format("delta")
            if travel.version is not None:
                reader = reader.option("versionAsOf", travel.version)
            elif travel.as_of is not None:
                reader = reader.option("timestampAsOf", spark_timestamp(travel.as_of))
            try:
                reader.load(ref.path).createOrReplaceTempView(ref.view)
                self._views.add(ref.view)
            except PySparkException as err:
                raise QueryError(f"{ref.label} ({travel.describe()}): {_first_line(err)}") from None
        planned = time.perf_counter()
        try:
            result = self.spark.sql(query.sql).toArrow()
        except PySparkException as err:
            raise QueryError(query.original_names(f"Spark SQL: {_first_line(err)}")) from None
        self.last_timings = {"snapshot_s": planned - started, "query_s": time.perf_counter() - planned}
        return result

    def close(self) -> None:
        """Drop the temporary views this engine made, and no other."""
        for view in sorted(self._views):
            self.spark.catalog.dropTempView(view)
        self._views.clear()


def _first_line(err: Exception) -> str:
    """Spark's message without the JVM stack trace it sometimes carries."""
    text = str(err).strip()
    return text.split("\n\tat ", 1)[0].split("\nJVM stacktrace:", 1)[0].strip()
