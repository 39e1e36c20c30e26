"""GTFS static feeds (a zip of CSV files), one silver table per file, keyed by feed version.

The feed version is the sha256 of the zip: the same zip is the same version and is not ingested
again; any earlier version stays readable by its `feed_version`. GTFS times may pass 24:00:00
(trips after midnight of the service day), so they are stored as seconds, not as times of day.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.cast import cast_sourced_columns, parse_error, select_contract
from itlake.feeds.csv_reader import header_fields, read_csv_strings

BOM = b"\xef\xbb\xbf"

FILES = {
    "gtfs_stop": "stops.txt",
    "gtfs_route": "routes.txt",
    "gtfs_trip": "trips.txt",
    "gtfs_stop_time": "stop_times.txt",
    "gtfs_calendar": "calendar.txt",
}
REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
TIME_COLUMNS = ("arrival_time_s", "departure_time_s")


class GtfsFeed:
    name = "gtfs"
    contracts = tuple(FILES)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        from itlake.contracts import load_contract

        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise FeedError(f"{ctx.source_file}: not a readable zip file: {err}") from None
        with archive:
            names = {Path(n).name: n for n in archive.namelist()}
            missing = [f for f in REQUIRED_FILES if f not in names]
            if missing:
                raise FeedError(f"{ctx.source_file}: missing_required_file: {', '.join(missing)}")
            tables = {}
            for contract_name, file_name in FILES.items():
                if file_name not in names:
                    continue
                data = archive.read(names[file_name])
                header = header_fields(data.removeprefix(BOM), ctx.encoding, f"{ctx.source_file}/{file_name}")
                contract = load_contract(contract_name)
                wanted = [c.source for c in contract.columns if c.source and c.source in header]
                required = [c.source for c in contract.columns if c.source and not c.nullable]
                absent = [f for f in required if f not in header]
                if absent:
                    raise FeedError(
                        f"{ctx.source_file}/{file_name}: missing_required_field: {', '.join(absent)}"
                    )
                table = read_csv_strings(
                    data,
                    encoding=ctx.encoding,
                    expected=wanted,
                    source=f"{ctx.source_file}/{file_name}",
                    allow_extra=True,
                )
                tables[contract_name] = _with_absent_columns(table, contract)
            return tables

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import first_error

        contract = load_contract(contract_name)
        skip = TIME_COLUMNS if contract_name == "gtfs_stop_time" else ()
        typed = cast_sourced_columns(bronze, contract, timezone="UTC", skip=skip).withColumn(
            "feed_version", F.lit(ctx.sha256)
        )
        if skip:
            errors = [F.col("_parse_error")]
            for name in skip:
                source = contract.column(name).source
                typed = typed.withColumn(name, gtfs_seconds(F.col(source)))
                errors.append(parse_error(source, F.col(source), F.col(name), "GTFS time (H:MM:SS)"))
            typed = typed.withColumn("_parse_error", first_error(*errors))
        return select_contract(typed, contract)


def gtfs_seconds(raw):
    """'25:10:05' -> 90605; null for a blank or malformed time."""
    from pyspark.sql import functions as F

    match = F.regexp_extract(F.trim(raw), r"^(\d{1,3}):([0-5]\d):([0-5]\d)$", 0)
    hours = F.regexp_extract(match, r"^(\d+)", 1).try_cast("int")
    minutes = F.regexp_extract(match, r":(\d\d):", 1).try_cast("int")
    seconds = F.regexp_extract(match, r"(\d\d)$", 1).try_cast("int")
    return F.when(match != "", hours * 3600 + minutes * 60 + seconds)


def _with_absent_columns(table, contract):
    """Optional GTFS fields a feed leaves out become null columns, so every version has one shape."""
    import pyarrow as pa

    for column in contract.columns:
        if column.source and column.source not in table.column_names:
            table = table.append_column(column.source, pa.nulls(table.num_rows, pa.string()))
    return table


FEED = GtfsFeed()
