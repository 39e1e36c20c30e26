"""The JVM-free engine: deltalake reads each table's Delta log, DuckDB reads its Parquet files.

deltalake (delta-rs) resolves the snapshot -- the version or timestamp asked for, the protocol,
the schema, the data files and their partition values -- and DuckDB scans the files with its own
multithreaded Parquet reader. Reading through pyarrow datasets instead was 4x slower on a
10-million-row group-by here, mostly in handing strings from Arrow to DuckDB.

Each table becomes a view that casts every column to the table's Delta type, takes partition values
from the log (not from folder names), and fills columns that older files lack with NULL.

What this path cannot read it refuses, naming the feature: deletion vectors (the files still hold
deleted rows), column mapping (the files' column names are not the table's; read naively every
value is NULL), and any other reader feature not listed in FAST_READER_FEATURES. Such tables read
correctly with `--engine spark`.

A lake in a bucket (s3a://) is read the same way: deltalake gets the store's settings from the
storage layer (itlake/lake/storage.py), and DuckDB reads the Parquet files through that layer's
pyarrow S3 filesystem, handed to it as an fsspec filesystem (DuckDB's own S3 reader is an extension
it would download at run time). The keys come from the environment, as for every other client.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from itlake.query.names import QueryError, ResolvedQuery, TableRef
from itlake.query.travel import TimeTravel

if TYPE_CHECKING:
    import pyarrow as pa

# Reader features that change nothing about which files and columns a snapshot reads.
FAST_READER_FEATURES = frozenset({"timestampNtz", "vacuumProtocolCheck", "v2Checkpoint"})

DUCKDB_TYPES = {
    "string": "VARCHAR",
    "long": "BIGINT",
    "integer": "INTEGER",
    "short": "SMALLINT",
    "byte": "TINYINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "binary": "BLOB",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "timestamp_ntz": "TIMESTAMP",
}


class UnsupportedFeatureError(QueryError):
    """A table uses a Delta feature the fast engine cannot read; Spark can."""

    def __init__(self, table: str, feature: str, detail: str = ""):
        self.table, self.feature = table, feature
        super().__init__(
            f"{table} uses the Delta feature '{feature}'{detail}, which the fast engine "
            "(deltalake + DuckDB) cannot read correctly; run the query with --engine spark"
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value) -> str:
    """A SQL literal for a partition value as deltalake typed it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return repr(value) if not isinstance(value, Decimal) else str(value)
    if isinstance(value, datetime):
        return "'" + value.isoformat() + "'"
    if isinstance(value, date):
        return "'" + value.isoformat() + "'"
    if isinstance(value, bytes):
        return "'\\x" + value.hex() + "'::BLOB"
    return "'" + str(value).replace("'", "''") + "'"


def _duckdb_type(delta_type) -> str | None:
    """DuckDB type of a Delta primitive type; None for nested types, which are read as stored."""
    name = getattr(delta_type, "type", None)
    if not isinstance(name, str):
        return None
    if name.startswith("decimal"):
        return name.upper()
    return DUCKDB_TYPES.get(name)


def check_readable(table) -> None:
    """Refuse a snapshot the fast path would read wrongly; `table` is a deltalake DeltaTable."""
    label = getattr(table, "_itlake_label", table.table_uri)
    protocol = table.protocol()
    mode = table.metadata().configuration.get("delta.columnMapping.mode", "none")
    features = set(protocol.reader_features or [])
    if "columnMapping" in features or protocol.min_reader_version == 2 or mode != "none":
        raise UnsupportedFeatureError(label, "columnMapping", f" (mode {mode})")
    unsupported = sorted(features - FAST_READER_FEATURES)
    if unsupported:
        raise UnsupportedFeatureError(label, ", ".join(unsupported))
    if protocol.min_reader_version > 3:
        raise UnsupportedFeatureError(label, f"reader version {protocol.min_reader_version}")


def open_snapshot(ref: TableRef, travel: TimeTravel):
    """The deltalake table at the snapshot asked for, checked readable."""
    from deltalake.exceptions import DeltaError, DeltaProtocolError, TableNotFoundError

    from itlake.lake.storage import open_delta

    try:
        table = open_delta(ref.path)
        if travel.version is not None:
            latest = table.version()
            if travel.version > latest:
                raise QueryError(f"{ref.label} has no version {travel.version}; the latest is {latest}")
            table.load_as_version(travel.version)
        elif travel.as_of is not None:
            first = min(table.history(), key=lambda commit: commit["version"])
            first_at = datetime.fromtimestamp(first["timestamp"] / 1000, UTC)
            if travel.as_of < first_at:
                raise QueryError(
                    f"{ref.label} did not exist {travel.describe()}: its first commit still in the log "
                    f"(version {first['version']}) is at {first_at:%Y-%m-%d %H:%M:%S.%f} UTC"
                )
            table.load_as_version(travel.as_of)
    except TableNotFoundError:
        raise QueryError(f"{ref.label}: no Delta table at {ref.path}") from None
    except DeltaProtocolError as err:
        # delta-rs refuses some reader features itself, before we can look at the protocol; its
        # message lists them as a set: {'deletionVectors'}.
        named = re.findall(r"'([A-Za-z0-9_]+)'", str(err))
        raise UnsupportedFeatureError(ref.label, ", ".join(named) or str(err)) from None
    except DeltaError as err:
        raise QueryError(f"{ref.label} ({travel.describe()}): {err}") from None
    table._itlake_label = ref.label
    check_readable(table)
    return table


def _file_path(uri: str) -> str:
    """A path DuckDB reads: a local path, or s3://bucket/key through the registered filesystem."""
    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    if uri.startswith(("s3://", "s3a://")):
        return "s3://" + unquote(uri.split("://", 1)[1])
    if "://" in uri:
        raise QueryError(f"the fast engine reads lakes on disk or in an S3 bucket, not {uri}")
    return uri


def _data_file(base: str, path: str) -> str:
    """The file of an add action: its path is a URI, relative to the table or absolute."""
    if "://" in path or path.startswith("file:"):
        return _file_path(path)
    return f"{base}/{unquote(path)}"


def view_sql(table, con) -> str:
    """SELECT of one snapshot: the Delta schema's columns, typed, over the snapshot's files."""
    import pyarrow as pa

    fields = table.schema().fields
    partition_columns = list(table.metadata().partition_columns)
    actions = pa.table(table.get_add_actions(flatten=False))
    by_partition: dict[tuple, list[str]] = defaultdict(list)
    base = _file_path(table.table_uri).rstrip("/")
    parts = actions.column("partition").to_pylist() if partition_columns else [{}] * actions.num_rows
    for path, values in zip(actions.column("path").to_pylist(), parts, strict=True):
        key = tuple((values or {}).get(c) for c in partition_columns)
        by_partition[key].append(_data_file(base, path))

    if not by_partition:
        columns = ", ".join(
            f"CAST(NULL AS {_duckdb_type(f.type) or 'VARCHAR'}) AS {_quote(f.name)}" for f in fields
        )
        return f"SELECT {columns} WHERE false"

    branches = []
    for values, files in by_partition.items():
        listed = "[" + ", ".join(_literal(f) for f in files) + "]"
        partition_values = "".join(
            f", {_literal(v)} AS {_quote('__partition_' + c)}"
            for c, v in zip(partition_columns, values, strict=True)
        )
        branches.append(
            f"SELECT *{partition_values} FROM read_parquet({listed}, union_by_name=true, "
            "hive_partitioning=false)"
        )
    union = " UNION ALL BY NAME ".join(branches)
    present = {row[0] for row in con.execute(f"DESCRIBE {union}").fetchall()}
    columns = []
    for field in fields:
        kind = _duckdb_type(field.type)
        source = f"__partition_{field.name}" if field.name in partition_columns else field.name
        if source not in present:
            value = "NULL"
        else:
            value = _quote(source)
        columns.append(f"{value if kind is None else f'CAST({value} AS {kind})'} AS {_quote(field.name)}")
    return f"SELECT {', '.join(columns)} FROM ({union})"


class FastEngine:
    """A DuckDB connection that answers queries over lake tables; reusable across queries."""

    name = "fast"

    def __init__(self):
        import duckdb

        self.con = duckdb.connect()
        # Delta timestamps are instants; show and compare them in UTC, as the Spark sessions do.
        self.con.execute("SET TimeZone = 'UTC'")
        # Spark SQL sorts nulls first in ascending order and last in descending order; DuckDB's
        # default is last in both. The same query must give the same rows in the same order.
        self.con.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
        self.last_timings: dict[str, float] = {}
        # The snapshot each view reads. A Delta version never changes, so a later query that finds
        # the same table (by its id, which a re-created table does not share) at the same version
        # reuses the view instead of listing its files and reading their footers again.
        self.views: dict[str, tuple[str, str, int]] = {}
        self.bucket_reader = False

    def read_buckets(self) -> None:
        """Let DuckDB read s3:// files through the storage layer's S3 filesystem (once)."""
        if not self.bucket_reader:
            from fsspec.implementations.arrow import ArrowFSWrapper

            from itlake.lake.storage import s3_filesystem

            self.con.register_filesystem(ArrowFSWrapper(s3_filesystem()))
            self.bucket_reader = True

    def run(self, query: ResolvedQuery, travel: TimeTravel) -> pa.Table:
        from itlake.lake.storage import is_remote

        started = time.perf_counter()
        if any(is_remote(ref.path) for ref in query.tables):
            self.read_buckets()
        for ref in query.tables:
            table = open_snapshot(ref, travel)
            snapshot = (table.table_uri, table.metadata().id, table.version())
            if self.views.get(ref.view) != snapshot:
                self.con.execute(f"CREATE OR REPLACE TEMP VIEW {ref.view} AS {view_sql(table, self.con)}")
                self.views[ref.view] = snapshot
        planned = time.perf_counter()
        import duckdb

        try:
            result = self.con.sql(query.sql)
            arrow = result.to_arrow_table() if result is not None else _empty()
        except duckdb.Error as err:
            raise QueryError(query.original_names(f"DuckDB: {err}")) from None
        self.last_timings = {"snapshot_s": planned - started, "query_s": time.perf_counter() - planned}
        return _narrow_hugeints(arrow)

    def close(self) -> None:
        self.con.close()


def _empty() -> pa.Table:
    import pyarrow as pa

    return pa.table({})


def _narrow_hugeints(table: pa.Table) -> pa.Table:
    """DuckDB sums integers into HUGEINT (Arrow decimal(38, 0)); Spark gives bigint. Narrow when it fits."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.precision == 38 and field.type.scale == 0:
            try:
                narrowed = pc.cast(table.column(i), pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            table = table.set_column(i, pa.field(field.name, pa.int64(), field.nullable), narrowed)
    return table
