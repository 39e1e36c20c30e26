"""GBFS 2.x and 3.x, shared by the three GBFS parsers: the collector's archive and version quirks.

What a collector writes (and what these parsers read): one JSON Lines file per feed and day,
`<feed>/<YYYY-MM-DD>/<system>_<gbfs file>_<YYYYMMDD>.jsonl`, one line per poll, appended as the
poll returns:

    {"system_id": "sz_bike", "feed": "station_status", "url": "https://…/station_status.json",
     "fetched_at": "2026-11-27T00:05:01Z", "document": {"last_updated": …, "ttl": 60,
     "version": "3.0", "data": {"stations": [...]}}}

The GBFS document is kept exactly as the server returned it; the envelope adds what the document
itself does not say (which system, which file, when it was fetched). Appending one line per poll
survives a collector crash with at most one partial last line, and one file per day is what the
daily ingest task picks up. A line that is not JSON, or whose document has no list where the feed
puts its records, becomes one raw record with `_raw_error` naming the line, so it is quarantined
rather than lost; a line of another GBFS file (a station_information document in a
station_status archive) refuses the whole file.

Version differences handled here and in `gbfs_timestamp`:
  - `last_updated` and `last_reported` are POSIX seconds in 1.x/2.x and RFC 3339 text in 3.x;
  - names are plain strings in 2.x and localized lists `[{"text": …, "language": …}]` in 3.x;
  - 2.x counts `num_bikes_*`, 3.x `num_vehicles_*`; 2.x free_bike_status lists `bikes` with
    `bike_id`, 3.x vehicle_status lists `vehicles` with `vehicle_id`.
Every raw value lands in bronze as text: scalars as written (booleans as true/false), lists and
objects as compact JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from itlake.feeds.base import FeedError
from itlake.feeds.csv_reader import check_encoding, read_file_bytes

ENVELOPE_FIELDS = ["system_id", "gbfs_file", "fetched_at", "version", "last_updated", "ttl", "line"]


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def read_archive(
    path: Path,
    *,
    encoding: str,
    source: str,
    gbfs_files: tuple[str, ...],
    list_keys: tuple[str, ...],
    fields: list[str],
) -> pa.Table:
    """Flatten a JSON Lines archive into one string row per record (station or vehicle) per poll.

    `gbfs_files` are the GBFS file names this feed accepts (`free_bike_status`, `vehicle_status`);
    `list_keys` the keys under `data` that hold the records (`bikes`, `vehicles`); `fields` the
    record fields kept as raw columns (a field missing from a record is null).
    """
    data = read_file_bytes(path)
    check_encoding(data, encoding, source)
    text = data.decode(encoding)
    columns: dict[str, list] = {name: [] for name in [*ENVELOPE_FIELDS, *fields]}
    errors: list[str | None] = []

    def add(envelope: dict, record: dict, error: str | None) -> None:
        for name in ENVELOPE_FIELDS:
            columns[name].append(envelope.get(name))
        for name in fields:
            columns[name].append(_text(record.get(name)))
        errors.append(error)

    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head = {"line": str(number)}
        try:
            poll = json.loads(line)
        except json.JSONDecodeError as err:
            add(head, {}, f"line {number}: not valid JSON ({err.msg} at column {err.colno}): {line[:120]}")
            continue
        if not isinstance(poll, dict) or not isinstance(poll.get("document"), dict):
            add(head, {}, f"line {number}: not a collector envelope with a GBFS `document` object")
            continue
        gbfs_file = poll.get("feed")
        if gbfs_file not in gbfs_files:
            raise FeedError(
                f"{source}: line {number} holds a GBFS {gbfs_file!r} document; this feed reads "
                f"{' or '.join(gbfs_files)}"
            )
        doc = poll["document"]
        envelope = {
            **head,
            "system_id": _text(poll.get("system_id")),
            "gbfs_file": gbfs_file,
            "fetched_at": _text(poll.get("fetched_at")),
            "version": _text(doc.get("version")),
            "last_updated": _text(doc.get("last_updated")),
            "ttl": _text(doc.get("ttl")),
        }
        body = doc.get("data")
        records = next((body[k] for k in list_keys if isinstance(body, dict) and k in body), None)
        if not isinstance(records, list):
            add(envelope, {}, f"line {number}: data has no list {' or '.join(list_keys)}")
            continue
        for index, record in enumerate(records):
            if isinstance(record, dict):
                add(envelope, record, None)
            else:
                add(envelope, {}, f"line {number}: record {index} is {type(record).__name__}, not an object")
    if not errors:
        raise FeedError(f"{source}: the archive holds no poll")
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    arrays["_row_number"] = pa.array(range(1, len(errors) + 1), pa.int64())
    arrays["_raw_error"] = pa.array(errors, pa.string())
    return pa.table(arrays)


def gbfs_timestamp(raw_name: str):
    """(timestamp Column, parse-error Column) for a GBFS time: POSIX seconds or RFC 3339 text."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null, parse_error

    raw = F.col(f"`{raw_name}`")
    value = blank_to_null(raw)
    seconds = value.rlike("^[0-9]{1,11}$")
    # 13 digits are epoch milliseconds (a common collector bug): read as seconds they would land
    # tens of thousands of years ahead, so they are refused with the reason rather than typed.
    millis = value.rlike("^[0-9]{12,}$")
    # Without an offset, text is local time of an unknown zone; Spark would read it as UTC.
    unzoned = value.rlike("^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]") & ~value.rlike(
        "(?i)(Z|[+-][0-9]{2}:?[0-9]{2})$"
    )
    posix = F.timestamp_seconds(value.try_cast("long"))
    # Spark's cast reads RFC 3339 with its offset ("2023-07-17T13:34:13+02:00", "...Z") into UTC.
    typed = (
        F.when(seconds, posix)
        .when(millis | unzoned, F.lit(None).cast("timestamp"))
        .otherwise(value.try_cast("timestamp"))
    )
    error = (
        F.when(
            millis,
            F.concat(
                F.lit(f"{raw_name}='"),
                raw,
                F.lit("' looks like epoch milliseconds; GBFS times are POSIX seconds"),
            ),
        )
        .when(
            unzoned,
            F.concat(
                F.lit(f"{raw_name}='"),
                raw,
                F.lit("' has no UTC offset; GBFS times are RFC 3339 with Z or +hh:mm"),
            ),
        )
        .otherwise(parse_error(raw_name, raw, typed, "timestamp (POSIX seconds or RFC 3339)"))
    )
    return typed, error


def localized_text(raw_name: str, preferred: str = "zh"):
    """A GBFS name: plain text (2.x), or from a 3.x localized list the `preferred` language, else the
    first entry."""
    from pyspark.sql import functions as F

    raw = F.col(f"`{raw_name}`")
    entries = F.from_json(raw, "array<struct<text:string,language:string>>")
    wanted = F.filter(entries, lambda e: F.lower(e["language"]).startswith(preferred))
    chosen = F.coalesce(F.get(wanted, 0)["text"], F.get(entries, 0)["text"])
    return F.when(F.trim(raw).startswith("["), chosen).otherwise(raw)


def typed_records(bronze, contract, *, timestamps: dict[str, str], renamed: dict[str, tuple[str, ...]]):
    """Type a GBFS bronze frame by the contract.

    `renamed` lists, per contract source field, the raw fields that may hold it, newest name first
    (`num_bikes_available`: 3.x `num_vehicles_available`, then 2.x `num_bikes_available`);
    `timestamps` maps timestamp columns to their raw field. Times are absolute in GBFS, so no zone
    is applied.
    """
    from pyspark.sql import functions as F

    from itlake.feeds.cast import cast_sourced_columns, first_error

    merged = bronze
    if renamed:  # withColumns refuses an empty mapping over Spark Connect
        merged = bronze.withColumns(
            {source: F.coalesce(*[F.col(f"`{n}`") for n in names]) for source, names in renamed.items()}
        )
    typed = cast_sourced_columns(merged, contract, timezone="UTC", skip=tuple(timestamps))
    values, errors = {}, [F.col("_parse_error")]
    for column, raw_name in timestamps.items():
        values[column], error = gbfs_timestamp(raw_name)
        errors.append(error)
    # One projection: a typed column may take its raw field's name, and the reason reads the raw value.
    return typed.withColumns({**values, "_parse_error": first_error(*errors)})
