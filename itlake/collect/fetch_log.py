"""`_system.fetch_log`: one row per HTTP fetch the collector made, failures included.

    SELECT feed, url, status, bytes, latency_ms, outcome, error
    FROM delta.`lake/_system/fetch_log` WHERE outcome = 'failed' ORDER BY fetched_at DESC

`outcome` is `written` (a new payload went to the inbox), `unchanged` (the payload's sha256 is the
last one written), `not_modified` (HTTP 304 to If-None-Match / If-Modified-Since), `discovered`
(a gbfs.json read to find the feed's file) or `failed` (`error` says why: the HTTP status, a
timeout, a body cut short, a content type or body that is not the feed's format). Rows are
appended with the `deltalake` package, so the collector needs no JVM; they are buffered and
committed together every few seconds, so 500 feeds polled every 20 s make a few commits a minute,
not 25 a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

FETCH_LOG_FIELDS = (
    ("feed", "string"),
    ("system_id", "string"),
    ("url", "string"),
    ("fetched_at", "timestamp"),
    ("status", "int32"),
    ("bytes", "int64"),
    ("latency_ms", "float64"),
    ("outcome", "string"),
    ("error", "string"),
    ("sha256", "string"),
    ("file", "string"),
)
OUTCOMES = ("written", "unchanged", "not_modified", "discovered", "failed")


@dataclass(frozen=True)
class Fetch:
    """One fetch. `status` is None when no response came (timeout, refused connection); `bytes`
    counts the body received, even a cut one; `file` is the inbox file written, if any."""

    feed: str
    system_id: str
    url: str
    fetched_at: datetime
    status: int | None
    bytes: int
    latency_ms: float
    outcome: str
    error: str | None = None
    sha256: str | None = None
    file: str | None = None


def arrow_schema():
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float64": pa.float64(),
    }
    return pa.schema([(name, types[kind]) for name, kind in FETCH_LOG_FIELDS])


def append_fetches(path: str, fetches: list[Fetch]) -> None:
    """One Delta commit with the rows of `fetches` (nothing when there are none)."""
    if not fetches:
        return
    import pyarrow as pa
    from deltalake import write_deltalake

    from itlake.lake.storage import delta_location, delta_storage_options

    table = pa.Table.from_pylist([asdict(f) for f in fetches], schema=arrow_schema())
    write_deltalake(delta_location(path), table, mode="append", storage_options=delta_storage_options(path))
