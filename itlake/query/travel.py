"""Time travel options shared by both engines: a table version, or the state at a timestamp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from itlake.query.names import QueryError


@dataclass(frozen=True)
class TimeTravel:
    """Which snapshot of each table a query reads; both None means the latest.

    `as_of` is timezone-aware (UTC): the newest version committed at or before it.
    """

    version: int | None = None
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.version is not None and self.as_of is not None:
            raise QueryError("give --version or --as-of, not both")
        if self.version is not None and self.version < 0:
            raise QueryError(f"--version must be 0 or more, not {self.version}")
        if self.as_of is not None and self.as_of.tzinfo is None:
            raise QueryError("as_of must be timezone-aware; parse_timestamp gives UTC for a bare time")

    def describe(self) -> str:
        if self.version is not None:
            return f"version {self.version}"
        if self.as_of is not None:
            return f"as of {spark_timestamp(self.as_of)} UTC"
        return "the latest version"


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or time, e.g. `2026-11-27`, `2026-11-27T08:30:00Z`, `2026-11-27 16:30+08:00`.

    A time without an offset is UTC, the lake's time zone; a bare date is its midnight UTC.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(
            f"--as-of {text!r} is not an ISO 8601 time such as 2026-11-27T08:30:00Z or 2026-11-27"
        ) from None
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def spark_timestamp(moment: datetime) -> str:
    """The UTC wall time Spark's `timestampAsOf` reads in a UTC session."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
