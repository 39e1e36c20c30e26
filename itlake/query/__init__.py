"""Query the lake by catalogue name, on Spark SQL or on a JVM-free fast path.

    from itlake.query import sql, read_table
    by_zone = sql(
        "SELECT pickup_zone_id, count(*) AS trips FROM gold.taxi_trip GROUP BY 1 ORDER BY 1",
        engine="fast",
    )                                           # a pyarrow.Table; .to_pandas() for a DataFrame
    ledger = read_table("_system.ingest_ledger", engine="fast")
    trips_v0 = read_table("`03.02.002`", engine="fast", version=0)

Tables are named as in the catalogue (`silver.taxi_gps`), by code (```03.02.002``` or
`c_03_02_002`), or by layer for bronze, quarantine and _system tables (see itlake/query/names.py).
Engines: `spark` (Spark SQL on the lake's session; every Delta feature) and `fast` (deltalake +
DuckDB, no JVM; refuses tables with Delta features it cannot read, naming them). Time travel:
`version=N` or `as_of=datetime` (or an ISO 8601 string) applies to every table the query reads.

The command line is `itlake sql` (itlake/cli/sql.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from itlake.query.names import Namer, QueryError, ResolvedQuery, UnknownTableError, resolve_sql
from itlake.query.travel import TimeTravel, parse_timestamp

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ENGINES",
    "QueryError",
    "UnknownTableError",
    "UnsupportedFeatureError",
    "open_engine",
    "read_table",
    "resolve",
    "sql",
]

ENGINES = ("spark", "fast")


def __getattr__(name: str):
    # The fast engine's error class lives with the engine; importing it here would import nothing
    # heavy, but keeps one definition.
    if name == "UnsupportedFeatureError":
        from itlake.query.fast import UnsupportedFeatureError

        return UnsupportedFeatureError
    raise AttributeError(name)


def open_engine(name: str = "spark", *, spark=None):
    """A reusable engine: `FastEngine()` or `SparkEngine(spark)`; close it when done."""
    if name == "fast":
        from itlake.query.fast import FastEngine

        return FastEngine()
    if name == "spark":
        from itlake.query.spark import SparkEngine

        return SparkEngine(spark)
    raise QueryError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")


def time_travel(version: int | None = None, as_of: datetime | str | None = None) -> TimeTravel:
    if isinstance(as_of, str):
        as_of = parse_timestamp(as_of)
    elif isinstance(as_of, datetime) and as_of.tzinfo is None:
        as_of = parse_timestamp(as_of.isoformat())
    return TimeTravel(version=version, as_of=as_of)


def resolve(query: str, root: str | None = None) -> ResolvedQuery:
    """The query with lake names rewritten to view names, and the tables it reads."""
    return resolve_sql(query, Namer(root))


def sql(
    query: str,
    *,
    engine="spark",
    version: int | None = None,
    as_of: datetime | str | None = None,
    root: str | None = None,
    spark=None,
) -> pa.Table:
    """Run one read-only statement over the lake and return its rows as a pyarrow Table.

    `engine` is "spark", "fast" or an engine from `open_engine` (reused, not closed).
    """
    travel = time_travel(version, as_of)
    resolved = resolve(query, root)
    if not isinstance(engine, str):
        return engine.run(resolved, travel)
    runner = open_engine(engine, spark=spark)
    try:
        return runner.run(resolved, travel)
    finally:
        if engine == "fast":
            runner.close()


def read_table(name: str, **options) -> pa.Table:
    """Every row of one table, by catalogue name or code: `read_table("gold.taxi_trip", engine="fast")`."""
    if name[:1].isdigit():
        name = f"`{name}`"
    return sql(f"SELECT * FROM {name}", **options)
