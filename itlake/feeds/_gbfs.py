"""GBFS 1.x, 2.x and 3.x, shared by the three GBFS parsers: documents, archives, schemas, versions.

A GBFS file reaches the lake in one of two shapes, told apart by the first line:

- a document exactly as the publisher serves it (`station_status.json`, pretty-printed or not),
  named `<system>_<gbfs file>[_<anything>].json`: the collector (itlake/collect/) writes
  one such file per changed poll, and `itlake ingest` names a publisher's plain `station_status.json`
  this way when it finds it through its `gbfs.json`. A GBFS document does not say which system it
  belongs to, so the name does; a document named only `station_status.json` is refused with the way
  to name it.
- a JSON Lines archive, one collector envelope per line, appended as the polls return:

    {"system_id": "sz_bike", "feed": "station_status", "url": "https://…/station_status.json",
     "fetched_at": "2026-11-27T00:05:01Z", "document": {"last_updated": …, "ttl": 60,
     "version": "3.0", "data": {"stations": [...]}}}

  A line that is not JSON, or whose document has no list where the feed puts its records, becomes
  one raw record with `_raw_error` naming the line, so it is quarantined rather than lost.

A document of another GBFS file (a station_information document given to station_status) refuses
the whole file, and so does a `gbfs.json` discovery document (it lists files, it holds no records).

Every document is checked against MobilityData's JSON schema for the version it declares
(itlake/data/gbfs_schemas/, no `version` means 1.0). Each violation is a notice in
`_system.feed_notices` (itlake/lake/notices.py), placed at the record's `_row_number` and field; they
are WARNINGs, because a bad record is quarantined by the contract's rules on its own and the rest of
the document still promotes. A version with no schema here is an `unknown_gbfs_version` WARNING.

Version differences handled here and in `gbfs_timestamp`:
  - `last_updated` and `last_reported` are POSIX seconds in 1.x/2.x and RFC 3339 text in 3.x;
  - names are plain strings in 1.x/2.x and localized lists `[{"text": …, "language": …}]` in 3.x;
  - 2.x counts `num_bikes_*`, 3.x `num_vehicles_*`; 2.x free_bike_status lists `bikes` with
    `bike_id`, 3.x vehicle_status lists `vehicles` with `vehicle_id`.
Every raw value lands in bronze as text: scalars as written (booleans as true/false), lists and
objects as compact JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.csv_reader import check_encoding, read_file_bytes
from itlake.feeds.skeleton import ContractFeed
from itlake.lake.notices import Notice

ENVELOPE_FIELDS = ["system_id", "gbfs_file", "fetched_at", "version", "last_updated", "ttl", "line"]
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "gbfs_schemas"
# The GBFS files a document's name may carry, longest first so that `free_bike_status` wins over
# nothing shorter inside it; `gbfs` (discovery) is tried last.
GBFS_FILES = (
    "station_information",
    "free_bike_status",
    "station_status",
    "vehicle_status",
    "system_information",
    "gbfs_versions",
    "vehicle_types",
    "gbfs",
)
# The GBFS files each parser reads, newest name first; the collector imports this without Spark.
GBFS_FILES_BY_FEED = {
    "gbfs_station_information": ("station_information",),
    "gbfs_station_status": ("station_status",),
    "gbfs_vehicle_status": ("vehicle_status", "free_bike_status"),
}
# Raw tables carry their documents' schema notices in their metadata, for `validate`.
META_NOTICES = b"gbfs.notices"
# Beyond this many schema notices per file one summary notice stands for the rest.
MAX_NOTICES = 500
# jsonschema keyword -> notice code, in the words of the GTFS notices where one fits.
NOTICE_CODES = {
    "required": "missing_required_field",
    "type": "invalid_type",
    "minimum": "number_out_of_range",
    "maximum": "number_out_of_range",
    "exclusiveMinimum": "number_out_of_range",
    "enum": "unexpected_enum_value",
    "const": "unexpected_enum_value",
    "format": "invalid_format",
    "pattern": "invalid_format",
    "additionalProperties": "unknown_field",
}


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


@dataclass(frozen=True, eq=False)
class GbfsFeed(ContractFeed):
    """A GBFS file on the parser skeleton: `read` and `validate` of the documents, typing by the
    contract with GBFS times (`gbfs_times`).

    `gbfs_files` are the GBFS file names the feed accepts (`free_bike_status`, `vehicle_status`);
    `list_keys` the keys under `data` that hold the records (`bikes`, `vehicles`); `fields` the
    record fields kept as raw columns (a field missing from a record is null).
    """

    gbfs_files: tuple[str, ...] = ()
    list_keys: tuple[str, ...] = ()
    fields: list[str] = field(default_factory=list)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        table = read_gbfs(
            path,
            encoding=ctx.encoding,
            source=ctx.source_file,
            gbfs_files=self.gbfs_files,
            list_keys=self.list_keys,
            fields=self.fields,
        )
        return {self.contracts[0]: table}

    def validate(self, tables: dict, ctx: BatchContext) -> list[Notice]:
        """The schema notices `read` found, as `_system.feed_notices` rows."""
        notices = []
        for table in tables.values():
            raw = (table.schema.metadata or {}).get(META_NOTICES)
            notices += [Notice(**n) for n in json.loads(raw)] if raw else []
        return notices


def document_name(file_name: str) -> tuple[str | None, str | None]:
    """(system id, GBFS file) from a document's name `<system>_<gbfs file>[_<anything>].json`;
    either is None when the name does not say it. Hyphens count as underscores
    (`station-status`)."""
    stem = re.sub(r"\.json$", "", Path(file_name).name, flags=re.IGNORECASE).replace("-", "_")
    for gbfs_file in GBFS_FILES:
        match = re.search(rf"(?:^|_){gbfs_file}(?:_|$)", stem)
        if match:
            system = stem[: match.start()].strip("_")
            return (system or None), gbfs_file
    return None, None


def discovered_feeds(document: dict) -> dict[str, str]:
    """{GBFS file name: url} of a gbfs.json: `data.feeds` in 3.x, `data.<language>.feeds` before
    (the first language listed)."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        return {}
    feeds = data.get("feeds")
    if feeds is None:
        feeds = next((v.get("feeds") for v in data.values() if isinstance(v, dict) and "feeds" in v), None)
    return {f["name"]: f["url"] for f in feeds or [] if isinstance(f, dict) and "name" in f and "url" in f}


def read_gbfs(
    path: Path,
    *,
    encoding: str,
    source: str,
    gbfs_files: tuple[str, ...],
    list_keys: tuple[str, ...],
    fields: list[str],
) -> pa.Table:
    """Flatten a GBFS document or archive into one string row per record (station or vehicle) per
    document; the documents' schema notices ride along in the table's metadata."""
    data = read_file_bytes(path)
    check_encoding(data, encoding, source)
    text = data.decode(encoding).removeprefix("\ufeff")
    columns: dict[str, list] = {name: [] for name in [*ENVELOPE_FIELDS, *fields]}
    errors: list[str | None] = []
    notices: list[Notice] = []

    def add(envelope: dict, record: dict, error: str | None) -> None:
        for name in ENVELOPE_FIELDS:
            columns[name].append(envelope.get(name))
        for name in fields:
            columns[name].append(_text(record.get(name)))
        errors.append(error)

    def add_document(head: dict, doc: dict, gbfs_file: str, where: str) -> None:
        envelope = {
            **head,
            "gbfs_file": gbfs_file,
            "version": _text(doc.get("version")),
            "last_updated": _text(doc.get("last_updated")),
            "ttl": _text(doc.get("ttl")),
        }
        body = doc.get("data")
        key = next((k for k in list_keys if isinstance(body, dict) and k in body), None)
        records = body[key] if key else None
        if not isinstance(records, list):
            add(envelope, {}, f"{where}: data has no list {' or '.join(list_keys)}")
            return
        notices.extend(schema_notices(doc, gbfs_file, source, key, first_row=len(errors) + 1))
        for index, record in enumerate(records):
            if isinstance(record, dict):
                add(envelope, record, None)
            else:
                add(envelope, {}, f"{where}: record {index} is {type(record).__name__}, not an object")

    if _is_archive(text):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            head = {"line": str(number)}
            try:
                poll = json.loads(line)
            except json.JSONDecodeError as err:
                reason = f"not valid JSON ({err.msg} at column {err.colno})"
                add(head, {}, f"line {number}: {reason}: {line[:120]}")
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
            head |= {"system_id": _text(poll.get("system_id")), "fetched_at": _text(poll.get("fetched_at"))}
            add_document(head, poll["document"], gbfs_file, f"line {number}")
    else:
        doc = _document(text, source)
        system, gbfs_file = document_name(source)
        if gbfs_file == "gbfs" or discovered_feeds(doc):
            raise FeedError(
                f"{source}: a gbfs.json discovery document lists files and holds no records; ingest "
                f"the {' or '.join(gbfs_files)} document it lists (itlake ingest finds it beside gbfs.json)"
            )
        if gbfs_file is not None and gbfs_file not in gbfs_files:
            raise FeedError(
                f"{source}: the name says a GBFS {gbfs_file!r} document; this feed reads "
                f"{' or '.join(gbfs_files)}"
            )
        if system is None:
            raise FeedError(
                f"{source}: a GBFS document does not say which system it belongs to; name the file "
                f"<system_id>_{gbfs_files[0]}.json, or ingest it through its gbfs.json"
            )
        add_document({"system_id": system, "line": "1"}, doc, gbfs_file or gbfs_files[0], "document")
    if not errors:
        raise FeedError(f"{source}: the archive holds no poll")
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    arrays["_row_number"] = pa.array(range(1, len(errors) + 1), pa.int64())
    arrays["_raw_error"] = pa.array(errors, pa.string())
    table = pa.table(arrays)
    return table.replace_schema_metadata(
        {META_NOTICES: json.dumps([asdict(n) for n in _capped(notices, source)]).encode()}
    )


def _is_archive(text: str) -> bool:
    """A JSON Lines archive, not one document: the text is not a single JSON value other than an
    envelope, and it does not open like a pretty-printed document (a first line of `{` alone)."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        return first != "{"
    return isinstance(whole, dict) and "document" in whole


def _document(text: str, source: str) -> dict:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise FeedError(
            f"{source}: not a valid JSON document ({err.msg} at line {err.lineno}, column {err.colno})"
        ) from None
    if not isinstance(doc, dict) or "data" not in doc:
        raise FeedError(f"{source}: not a GBFS document (a JSON object with `data`)")
    return doc


@lru_cache(maxsize=64)
def _validator(version: str, gbfs_file: str):
    from jsonschema import Draft7Validator, FormatChecker

    schema_file = SCHEMA_DIR / version / f"{gbfs_file}.json"
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return Draft7Validator(schema, format_checker=FormatChecker())


def schema_notices(doc: dict, gbfs_file: str, source: str, list_key: str, first_row: int) -> list[Notice]:
    """One notice per violation of MobilityData's schema for the declared version; a violation
    inside a record is placed at that record's row (`first_row` is the document's first record)."""
    version = _text(doc.get("version")) or "1.0"
    validator = _validator(version, gbfs_file)
    if validator is None:
        known = sorted(p.name for p in SCHEMA_DIR.iterdir() if p.is_dir())
        return [
            Notice(
                "unknown_gbfs_version",
                "WARNING",
                source,
                None,
                "version",
                version,
                f"no GBFS schema for version {version} of {gbfs_file} (schemas: {', '.join(known)}); "
                "the document is read but not checked",
            )
        ]
    notices = []
    for error in validator.iter_errors(doc):
        path = list(error.absolute_path)
        row = None
        if len(path) >= 3 and path[:2] == ["data", list_key] and isinstance(path[2], int):
            row, path = first_row + path[2], path[3:]
        field = ".".join(str(p) for p in path) or None
        if error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            field = ".".join(filter(None, [field, missing.group(1) if missing else None]))
        value = None if error.validator == "required" else _text(error.instance)
        notices.append(
            Notice(
                NOTICE_CODES.get(error.validator, "schema_violation"),
                "WARNING",
                source,
                row,
                field,
                value[:120] if value else value,
                f"GBFS {version} {gbfs_file}: {error.message[:200]}",
            )
        )
    return notices


def _capped(notices: list[Notice], source: str) -> list[Notice]:
    if len(notices) <= MAX_NOTICES:
        return notices
    rest = len(notices) - MAX_NOTICES
    summary = Notice(
        "too_many_notices", "INFO", source, None, None, str(rest), f"{rest} more schema notices not stored"
    )
    return [*notices[:MAX_NOTICES], summary]


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


def renamed_fields(renamed: dict[str, tuple[str, ...]]):
    """`prepare` step: each contract source field from the first of its raw fields that holds it,
    newest name first (`num_bikes_available`: 3.x `num_vehicles_available`, then 2.x)."""

    def prepare(bronze, ctx: BatchContext):
        from pyspark.sql import functions as F

        return bronze.withColumns(
            {source: F.coalesce(*[F.col(f"`{n}`") for n in names]) for source, names in renamed.items()}
        )

    return prepare


def gbfs_times(timestamps: dict[str, str], dated: dict[str, str] | None = None):
    """`derive` step: the timestamp columns from their raw fields (`gbfs_timestamp`; times are
    absolute in GBFS, so no zone is applied), and each `dated` column as the date of its timestamp."""

    def derive(typed, contract, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.feeds.cast import first_error

        values, errors = {}, [F.col("_parse_error")]
        for column, raw_name in timestamps.items():
            values[column], error = gbfs_timestamp(raw_name)
            errors.append(error)
        # One projection: a typed column may take its raw field's name, and the reason reads the raw value.
        typed = typed.withColumns({**values, "_parse_error": first_error(*errors)})
        if dated:
            typed = typed.withColumns({day: F.to_date(time) for day, time in dated.items()})
        return typed, []

    return derive


def named_documents(paths: list[Path], gbfs_files: tuple[str, ...], staging: Path) -> list[Path]:
    """The files to ingest for `paths`, as `itlake ingest` is given them: a `gbfs.json` stands for
    the documents it lists that this feed reads, found beside it by file name (`station_status.json`,
    or the last part of the listed URL); a document named plainly (`station_status.json`) is copied
    into `staging` as `<system>_<file>.json`, the system id taken from `system_information.json`
    beside it, else from the folder's name. Other files pass unchanged. Contents are never changed.
    """
    out: list[Path] = []
    for path in paths:
        system, gbfs_file = document_name(path.name)
        if gbfs_file == "gbfs":
            out += _listed_documents(path, gbfs_files, staging)
        elif gbfs_file in gbfs_files and system is None:
            out.append(_staged(path, gbfs_file, _system_beside(path), staging))
        else:
            out.append(path)
    return out


def _listed_documents(discovery: Path, gbfs_files: tuple[str, ...], staging: Path) -> list[Path]:
    try:
        feeds = discovered_feeds(json.loads(discovery.read_text(encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FeedError(f"{discovery}: not a readable gbfs.json: {err}") from None
    listed = [name for name in gbfs_files if name in feeds]
    if not listed:
        raise FeedError(
            f"{discovery}: lists {', '.join(sorted(feeds)) or 'no files'}; "
            f"this feed reads {' or '.join(gbfs_files)}"
        )
    system = _system_beside(discovery)
    found = []
    for name in listed:
        tail = feeds[name].rstrip("/").rsplit("/", 1)[-1]
        candidates = [f"{name}.json", tail, f"{tail}.json"]
        match = next((discovery.parent / c for c in candidates if (discovery.parent / c).is_file()), None)
        if match is None:
            raise FeedError(
                f"{discovery}: lists {name} at {feeds[name]}, "
                f"but none of {', '.join(candidates)} is beside it"
            )
        found.append(_staged(match, name, system, staging))
    return found


def _system_beside(path: Path) -> str:
    """The system id of `system_information.json` beside `path`, else the folder's name."""
    info = path.parent / "system_information.json"
    if info.is_file():
        try:
            system = json.loads(info.read_text(encoding="utf-8-sig")).get("data", {}).get("system_id")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            system = None
        if isinstance(system, str) and system.strip():
            return system.strip()
    return path.resolve().parent.name


def _staged(path: Path, gbfs_file: str, system: str, staging: Path) -> Path:
    import shutil

    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', system)}_{gbfs_file}.json"
    shutil.copyfile(path, target)
    return target
