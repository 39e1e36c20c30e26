"""`_system.feed_notices`: what a feed validator found in one received file, one row per notice.

Notices follow the MobilityData GTFS validator: a snake_case `code`, a `severity` (ERROR blocks
the promotion of the file, WARNING and INFO are recorded and the file is promoted), and where in
the file it was found (file, row number, field, value). A feed offers them through
`validate(tables, ctx)`; itlake/ingest/flow.py stores them here, whether or not the file is promoted.

    SELECT code, severity, file, row_number, field, value, message
    FROM delta.`lake/_system/feed_notices` WHERE feed = 'gtfs' AND severity = 'ERROR'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from itlake.lake.paths import system_table_path

SEVERITIES = ("ERROR", "WARNING", "INFO")

NOTICE_SCHEMA = (
    "feed STRING, batch_id STRING, feed_version STRING, source_file STRING, logical_date DATE, "
    "code STRING, severity STRING, file STRING, row_number LONG, field STRING, value STRING, "
    "message STRING, noticed_at TIMESTAMP"
)


@dataclass(frozen=True)
class Notice:
    """One finding. `row_number` is the 1-based data record of `file` (the header is not counted);
    None when the notice is about the file as a whole. `feed_version` is the GTFS version the
    notice is about: the zip's own for GTFS, the static version in force for GTFS-Realtime."""

    code: str
    severity: str
    file: str
    row_number: int | None
    field: str | None
    value: str | None
    message: str
    feed_version: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"notice {self.code}: severity {self.severity!r} is not one of {SEVERITIES}")


def errors(notices: list[Notice]) -> list[Notice]:
    return [n for n in notices if n.severity == "ERROR"]


def summary(notices: list[Notice], limit: int = 3) -> str:
    """'duplicate_key: stops.txt row 3 stop_id='S1'; ...' grouped by code, for ledger messages."""
    by_code: dict[str, list[Notice]] = {}
    for notice in notices:
        by_code.setdefault(notice.code, []).append(notice)
    parts = []
    for code in sorted(by_code):
        found = by_code[code]
        where = []
        for n in found[:limit]:
            place = n.file if n.row_number is None else f"{n.file} row {n.row_number}"
            where.append(f"{place} {n.field}={n.value!r}" if n.field and n.value is not None else place)
        more = f" (and {len(found) - limit} more)" if len(found) > limit else ""
        parts.append(f"{code}: {', '.join(where)}{more}")
    return "; ".join(parts)


def record_notices(
    spark, found: list[tuple[str, str, list[Notice]]], *, feed: str, logical_date: date
) -> int:
    """Append the notices of the files of one batch in one Delta commit; `found` holds, per file,
    its batch id, its name and its notices. Returns how many were written."""
    from itlake.lake.delta import append_rows

    noticed_at = datetime.now(UTC)
    rows = [
        {
            "feed": feed,
            "batch_id": batch_id,
            "source_file": source_file,
            "logical_date": logical_date,
            "noticed_at": noticed_at,
            **asdict(n),
        }
        for batch_id, source_file, notices in found
        for n in notices
    ]
    if rows:
        append_rows(spark, rows, NOTICE_SCHEMA, system_table_path("feed_notices"))
    return len(rows)
