"""What the two GTFS-Realtime parsers share: reading FeedMessages, and the static feed in force.

A received file is one protobuf `FeedMessage` as fetched from a GTFS-Realtime endpoint (`.pb`),
or a zip of such snapshots (`.zip`, the way fetchers archive an hour of polling). Messages are
read with gtfs-realtime-bindings; raw values are kept as text (POSIX seconds for times, enum
names for enums), one column per protobuf path, so bronze holds what was received.

Each file is joined to the static GTFS version in force on its logical date: the newest version
promoted (its trips reached silver) with a logical date on or before it. Trip, route and stop ids
the static version does not know get WARNING notices (MobilityData GTFS-RT rules E003, E004 and
E011); with no static version in force, one notice says so and the ids are not checked.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.skeleton import ContractFeed
from itlake.lake.notices import Notice


@dataclasses.dataclass(frozen=True, eq=False)
class RealtimeFeed(ContractFeed):
    """A GTFS-Realtime feed on the parser skeleton. `entity` is the FeedEntity field it reads
    (`vehicle`, `trip_update`); `records(header, entity)` gives the raw records of one entity (at
    least one); `id_kinds` maps raw id columns to the static ids they must name; `timestamps` maps
    timestamp columns to their raw POSIX-seconds fields (typed by the feed's `derive`, so the
    cast leaves them, and reads every other time as UTC)."""

    entity: str = ""
    records: Callable[[object, object], list[dict]] | None = None
    id_kinds: dict[str, str] = dataclasses.field(default_factory=dict)
    timestamps: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "derived", tuple(self.timestamps))
        object.__setattr__(self, "timezone", "UTC")

    def read(self, path: Path, ctx: BatchContext) -> dict:
        from google.transit import gtfs_realtime_pb2

        records = [
            record
            for _, message in read_messages(path, ctx.source_file)
            for entity in message.entity
            if entity.HasField(self.entity)
            for record in self.records(message.header, entity)
        ]
        if records:
            columns = list(records[0])
        else:
            empty = gtfs_realtime_pb2.FeedMessage()
            columns = list(self.records(empty.header, empty.entity.add())[0])
        return raw_tables(self.contracts[0], records, columns)

    def validate(self, tables: dict, ctx: BatchContext) -> list:
        return unknown_id_notices(tables[self.contracts[0]], ctx, self.id_kinds, ctx.source_file)


def read_messages(path: Path, source: str) -> list[tuple[str, object]]:
    """[(member name, FeedMessage)] of a .pb file or of every .pb in a zip, in name order."""
    from google.protobuf.message import DecodeError
    from google.transit import gtfs_realtime_pb2

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.endswith(".pb"))
            if not members:
                raise FeedError(f"{source}: the zip holds no .pb GTFS-Realtime message")
            blobs = [(f"{source}/{n}", archive.read(n)) for n in members]
    else:
        blobs = [(source, path.read_bytes())]
    messages = []
    for name, blob in blobs:
        message = gtfs_realtime_pb2.FeedMessage()
        try:
            message.ParseFromString(blob)
        except DecodeError as err:
            raise FeedError(f"{name}: not a GTFS-Realtime FeedMessage: {err}") from None
        if not message.header.gtfs_realtime_version:
            raise FeedError(f"{name}: the FeedMessage header has no gtfs_realtime_version")
        messages.append((name, message))
    return messages


def raw_tables(contract: str, records: list[dict], columns: list[str]) -> dict:
    """{contract: the records as string columns, numbered, with no unsplittable record}."""
    import pyarrow as pa

    table = pa.table({c: pa.array([r[c] for r in records], pa.string()) for c in columns})
    n = table.num_rows
    table = table.append_column("_row_number", pa.array(range(1, n + 1), pa.int64()))
    return {contract: table.append_column("_raw_error", pa.nulls(n, pa.string()))}


def field(message, name: str) -> str | None:
    """A scalar field as text, or None when the message does not set it (proto2 presence)."""
    if not message.HasField(name):
        return None
    value = getattr(message, name)
    descriptor = message.DESCRIPTOR.fields_by_name[name]
    if descriptor.enum_type is not None:
        return descriptor.enum_type.values_by_number[value].name
    return str(value)


def static_version_in_force(day: date, feed_id: str | None = None) -> str | None:
    """The sha256 of the newest GTFS version whose trips were promoted on or before `day`, read
    from the ledger in this process (no Spark job). With `feed_id`, only the versions of that
    publisher's feed (`silver.gtfs_feed_version`) count, and those with no row there (ingested
    before the table existed), which belong to no feed. A batch of snapshots asks once per file:
    the answer is kept for the versions of the two tables, so a batch reads them once."""
    from itlake.lake.delta import current_log
    from itlake.lake.paths import system_table_path, table_path

    ledger_path = system_table_path("ingest_ledger")
    ledger = current_log(ledger_path)
    if ledger is None:
        return None
    feeds_path = table_path("silver", "gtfs_feed_version")
    feeds = current_log(feeds_path)
    return _static_version_in_force(
        ledger_path, ledger.version(), feeds_path, feeds.version() if feeds else None, day, feed_id
    )


@lru_cache(maxsize=16)
def _static_version_in_force(
    ledger_path: str, ledger_version: int, feeds_path: str, feeds_version: int | None, day: date, feed_id
) -> str | None:
    import pyarrow.compute as pc

    from itlake.lake.storage import open_delta

    columns = ["table", "status", "logical_date", "finished_at", "sha256"]
    ledger = open_delta(ledger_path, ledger_version).to_pyarrow_dataset().to_table(columns=columns)
    promoted = ledger.filter(
        pc.and_(
            pc.and_(pc.equal(ledger["table"], "gtfs_trip"), pc.equal(ledger["status"], "promoted")),
            pc.less_equal(ledger["logical_date"], pa.scalar(day, pa.date32())),
        )
    )
    if feed_id is not None and feeds_version is not None:
        versions = open_delta(feeds_path, feeds_version).to_pyarrow_dataset()
        versions = versions.to_table(columns=["feed_id", "feed_version"])
        mine = versions.filter(pc.equal(versions["feed_id"], feed_id))["feed_version"].combine_chunks()
        known = versions["feed_version"].combine_chunks()
        sha256 = promoted["sha256"]
        promoted = promoted.filter(
            pc.or_(pc.is_in(sha256, value_set=mine), pc.invert(pc.is_in(sha256, value_set=known)))
        )
    if promoted.num_rows == 0:
        return None
    newest = promoted.sort_by([("logical_date", "descending"), ("finished_at", "descending")])
    return newest["sha256"][0].as_py()


def known_ids(contract_name: str, key: str, version: str) -> pa.Array:
    """The ids `key` of one static GTFS version, read with deltalake; a version (a zip's sha256)
    never changes, so the set is kept for the table's current Delta version."""
    from itlake.catalog.contracts import load_contract
    from itlake.lake.delta import current_log
    from itlake.lake.paths import table_path

    path = table_path(load_contract(contract_name).layer, contract_name)
    table = current_log(path)
    if table is None:
        return pa.array([], pa.string())
    return _known_ids(path, table.version(), key, version)


@lru_cache(maxsize=64)
def _known_ids(path: str, table_version: int, key: str, version: str) -> pa.Array:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from itlake.lake.storage import open_delta

    dataset = open_delta(path, table_version).to_pyarrow_dataset()
    ids = dataset.to_table(columns=[key], filter=ds.field("feed_version") == version)[key]
    return pc.unique(ids.combine_chunks().drop_null())


def static_trips(spark, version: str):
    """trip_id -> route_id of one static version, as a Spark frame."""
    from pyspark.sql import functions as F

    from itlake.lake.tables import read_lake_table

    trips = read_lake_table(spark, "gtfs_trip").where(F.col("feed_version") == version)
    return trips.select("trip_id", F.col("route_id").alias("static_route_id"))


def unknown_id_notices(table, ctx: BatchContext, columns: dict[str, str], file: str) -> list[Notice]:
    """WARNING notices for ids of `table` that the static version in force does not hold.

    `columns` maps a raw column to the kind of id it holds (trip, route or stop).
    """
    import pyarrow.compute as pc

    version = static_version_in_force(ctx.logical_date, ctx.feed_id or None)
    if version is None:
        return [
            Notice(
                "no_static_feed_in_force",
                "WARNING",
                file,
                None,
                None,
                None,
                f"no GTFS version of feed {ctx.feed_id or '(any)'} was promoted on or before "
                f"{ctx.logical_date}; ids are not checked",
            )
        ]
    sources = {
        "trip": ("gtfs_trip", "trip_id"),
        "route": ("gtfs_route", "route_id"),
        "stop": ("gtfs_stop", "stop_id"),
    }
    notices = []
    for column, kind in columns.items():
        contract_name, key = sources[kind]
        values = table.column(column)
        found = known_ids(contract_name, key, version)
        unknown = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=found)))
        rows = table.filter(unknown).select(["_row_number", column]).to_pylist()
        notices += [
            Notice(
                f"unknown_{kind}_id",
                "WARNING",
                file,
                row["_row_number"],
                column,
                row[column],
                f"{kind}_id {row[column]!r} is not in GTFS version {version[:12]} in force on "
                f"{ctx.logical_date}",
                feed_version=version,
            )
            for row in rows
        ]
    return notices


def seconds_to_timestamp(raw):
    """POSIX seconds as text -> UTC timestamp; null when blank or not a number."""
    from pyspark.sql import functions as F

    return F.timestamp_seconds(F.trim(raw).try_cast("long"))
