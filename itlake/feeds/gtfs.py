"""GTFS static feeds (a zip of CSV files), one silver table per file, keyed by feed version.

The feed version is the sha256 of the zip: the same zip is the same version and is not ingested
again; any earlier version stays readable by its `feed_version`. Every file of the GTFS reference
the contracts name is read (agency, stops, routes, trips, stop_times, calendar, calendar_dates,
shapes, frequencies, transfers, feed_info, fare_attributes, fare_rules); a file the zip leaves out
gives no table. Every other file of the zip (levels, pathways, translations, fares v2, attributions,
locations.geojson, or a file the GTFS reference does not name) is kept whole, as text, in
`gtfs_unsupported_file`, with an `unsupported_file` notice (a GTFS file the lake does not type) or
an `unknown_file` notice (not a GTFS file), so that nothing in a zip is dropped unsaid. Before
anything lands, `validate` checks the files the way the MobilityData GTFS
validator does (itlake/feeds/_gtfs_validate.py): an ERROR notice refuses the whole version.

GTFS times may pass 24:00:00 (trips after midnight of the service day), so they are stored as
seconds (`*_time_s`), not as times of day. Ids a rule may leave empty that are part of a key
(agency_id of a one-agency feed, the route and trip of a transfer, the zones of a fare rule) are
stored as '' so that the key is never null.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

from itlake.feeds._gtfs_files import (
    EMPTY_AS_ANY,
    FILES,
    META_ABSENT,
    META_FILE,
    UNSUPPORTED_CONTRACT,
    UNSUPPORTED_FILES,
    VERSION_CONTRACT,
    time_columns,
)
from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.cast import cast_sourced_columns, parse_error, select_contract
from itlake.feeds.csv_reader import check_encoding, header_fields, read_csv_strings

BOM = b"\xef\xbb\xbf"


class GtfsFeed:
    name = "gtfs"
    # A zip is one feed version (its sha256 is the `feed_version` of every row): a batch of its own.
    one_file_per_batch = True
    contracts = (*FILES, UNSUPPORTED_CONTRACT, VERSION_CONTRACT)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        """{contract: raw string table} for each GTFS file in the zip (validated later)."""
        from itlake.catalog.contracts import load_contract

        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise FeedError(f"{ctx.source_file}: not a readable zip file: {err}") from None
        with archive:
            # Feeds zipped from a folder keep it in the member names; GTFS files are found by name.
            names = {Path(n).name: n for n in archive.namelist() if not n.endswith("/")}
            tables = {}
            for contract_name, file_name in FILES.items():
                if file_name in names:
                    data = _read_zip_member(archive, names[file_name], ctx.source_file)
                    tables[contract_name] = _read_member(data, load_contract(contract_name), ctx, file_name)
            typed = set(FILES.values())
            kept = {name: member for name, member in names.items() if name not in typed}
            if kept:
                tables[UNSUPPORTED_CONTRACT] = _kept_files(archive, kept, ctx)
        tables[VERSION_CONTRACT] = version_record(tables, ctx)
        return tables

    def validate(self, tables: dict, ctx: BatchContext) -> list:
        """MobilityData-style notices about this zip, each tagged with its feed version."""
        from itlake.feeds._gtfs_validate import validate_feed

        files = {name: table for name, table in tables.items() if name != VERSION_CONTRACT}
        return [replace(n, feed_version=ctx.sha256) for n in validate_feed(files, ctx)]

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.catalog.contracts import load_contract
        from itlake.feeds.cast import first_error

        contract = load_contract(contract_name)
        if contract_name == UNSUPPORTED_CONTRACT:
            typed = cast_sourced_columns(bronze, contract, timezone="UTC")
            return select_contract(typed.withColumn("feed_version", F.lit(ctx.sha256)), contract)
        if contract_name == VERSION_CONTRACT:
            typed = cast_sourced_columns(bronze, contract, timezone="UTC", skip=("ingested_at",))
            return select_contract(typed.withColumn("ingested_at", F.col("_ingested_at")), contract)
        skip = time_columns(contract)
        typed = cast_sourced_columns(bronze, contract, timezone="UTC", skip=skip)
        errors = [F.col("_parse_error")]
        for name in skip:
            source = contract.column(name).source
            typed = typed.withColumn(name, gtfs_seconds(F.col(source)))
            errors.append(parse_error(source, F.col(source), F.col(name), "GTFS time (H:MM:SS)"))
        empty_as_any = {
            name: F.coalesce(F.col(name), F.lit("")) for name in EMPTY_AS_ANY.get(contract_name, ())
        }
        typed = typed.withColumns(
            {**empty_as_any, "feed_version": F.lit(ctx.sha256), "_parse_error": first_error(*errors)}
        )
        return select_contract(typed, contract)


def version_record(tables: dict, ctx: BatchContext):
    """The raw record of this version in `gtfs_feed_version`: the feed id of the profile or the
    entry, the zip's sha256, feed_info.txt's publisher and dates, and the service date range: the
    first and last day calendar.txt and calendar_dates.txt (added days) give any service."""
    import pyarrow as pa

    def values(contract: str, column: str) -> list[str | None]:
        table = tables.get(contract)
        if table is None or column not in table.column_names:
            return []
        return [v.strip() if v else None for v in table.column(column).to_pylist()]

    def first(contract: str, column: str) -> str | None:
        return next((v for v in values(contract, column) if v), None)

    def dates(*found: list[str | None]) -> list[str]:
        return [d for part in found for d in part if d and len(d) == 8 and d.isdigit()]

    kinds = values("gtfs_calendar_date", "exception_type")
    added = [d for d, kind in zip(values("gtfs_calendar_date", "date"), kinds, strict=True) if kind == "1"]
    starts = dates(values("gtfs_calendar", "start_date"), added)
    ends = dates(values("gtfs_calendar", "end_date"), added)
    publisher = first("gtfs_feed_info", "feed_publisher_name") or first("gtfs_agency", "agency_name")
    record = {
        "feed_id": ctx.feed_id,
        "feed_version": ctx.sha256,
        "source_file": ctx.source_file,
        "publisher_name": publisher,
        "publisher_version": first("gtfs_feed_info", "feed_version"),
        "feed_start_date": first("gtfs_feed_info", "feed_start_date"),
        "feed_end_date": first("gtfs_feed_info", "feed_end_date"),
        "service_start_date": min(starts, default=None),
        "service_end_date": max(ends, default=None),
        "logical_date": ctx.logical_date.strftime("%Y%m%d"),
        "fetched_at": ctx.fetched_at.strftime("%Y-%m-%d %H:%M:%S") if ctx.fetched_at else None,
    }
    table = pa.Table.from_pylist([record], schema=pa.schema([(k, pa.string()) for k in record]))
    table = table.append_column("_row_number", pa.array([1], pa.int64()))
    return table.append_column("_raw_error", pa.nulls(1, pa.string()))


def _read_zip_member(archive: zipfile.ZipFile, name: str, source: str) -> bytes:
    """The bytes of one member; a member damaged in transfer (bad CRC, broken deflate stream) refuses
    the zip with its name."""
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise FeedError(f"{source}: member {name} cannot be read, the zip is damaged: {err}") from None


def _kept_files(archive: zipfile.ZipFile, members: dict[str, str], ctx: BatchContext):
    """One raw row per file kept as text: its name, whether the GTFS reference names it, its size
    and its text (null when it does not decode in the feed's encoding, e.g. an image)."""
    import pyarrow as pa

    rows = []
    for name in sorted(members):
        data = _read_zip_member(archive, members[name], ctx.source_file)
        try:
            content = data.removeprefix(BOM).decode(ctx.encoding)
        except UnicodeDecodeError:
            content = None
        rows.append(
            {
                "file_name": name,
                "gtfs_reference_file": "true" if name in UNSUPPORTED_FILES else "false",
                "size_bytes": str(len(data)),
                "content": content,
            }
        )
    table = pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))
    table = table.append_column("_row_number", pa.array(range(1, len(rows) + 1), pa.int64()))
    return table.append_column("_raw_error", pa.nulls(len(rows), pa.string()))


def _read_member(data: bytes, contract, ctx: BatchContext, file_name: str):
    """One GTFS file as raw string columns; fields the file leaves out become null columns and are
    named in the table's metadata, so every version has one shape and the validator knows."""
    import pyarrow as pa

    source = f"{ctx.source_file}/{file_name}"
    text = data.removeprefix(BOM)
    check_encoding(data, ctx.encoding, source)
    header = header_fields(text, ctx.encoding, source)
    wanted = [c.source for c in contract.columns if c.source and c.source in header]
    absent = [c.source for c in contract.columns if c.source and c.source not in header]
    if not text.partition(b"\n")[2].strip():
        # A header without records (pyarrow cannot read it): a valid, empty GTFS file.
        empty = {name: pa.array([], pa.string()) for name in wanted}
        table = pa.table(
            {**empty, "_row_number": pa.array([], pa.int64()), "_raw_error": pa.array([], pa.string())}
        )
    else:
        table = read_csv_strings(
            text, encoding=ctx.encoding, expected=wanted, source=source, allow_extra=True
        )
    for name in absent:
        table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table.replace_schema_metadata(
        {META_FILE: file_name.encode(), META_ABSENT: ",".join(absent).encode()}
    )


def gtfs_seconds(raw):
    """'25:10:05' -> 90605; null for a blank or malformed time."""
    from pyspark.sql import functions as F

    match = F.regexp_extract(F.trim(raw), r"^(\d{1,3}):([0-5]\d):([0-5]\d)$", 0)
    hours = F.regexp_extract(match, r"^(\d+)", 1).try_cast("int")
    minutes = F.regexp_extract(match, r":(\d\d):", 1).try_cast("int")
    seconds = F.regexp_extract(match, r"(\d\d)$", 1).try_cast("int")
    return F.when(match != "", hours * 3600 + minutes * 60 + seconds)


FEED = GtfsFeed()
