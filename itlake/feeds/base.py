"""What every feed parser provides, and the errors that refuse a whole file.

A parser has two halves. `read` turns one received file into raw tables (every value a string,
plus `_row_number`, the 1-based data record number, and `_raw_error` for records that could not
be split into fields); those land in bronze as received. `to_silver` types and conforms a bronze
DataFrame with Spark, and marks rows it cannot type in `_parse_error`; the ingest stage
quarantines them with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from itlake.catalog.resources import SourceProfile


class FeedError(ValueError):
    """A file refused as a whole; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class BatchContext:
    """What a parser may know about the batch it is typing.

    `encoding`, `crs` and `timezone` are the catalogue entry's, or those of the source `profile`
    the file was ingested with; the profile also maps the publisher's columns and formats.
    `feed_id` is the identity of the publisher's feed (the profile's, else the provider's code);
    `fetched_at` is when the file was received (its modification time in the inbox)."""

    batch_id: str
    sha256: str
    source_file: str
    logical_date: date
    pseudonym_key: bytes
    encoding: str
    crs: str
    timezone: str
    profile: SourceProfile | None = None
    feed_id: str = ""
    fetched_at: datetime | None = None


class Feed(Protocol):
    name: str
    contracts: tuple[str, ...]

    def read(self, path: Path, ctx: BatchContext) -> dict:
        """Return {contract name: pyarrow.Table of raw string columns}."""

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        """Return a DataFrame with the contract's columns, lineage columns and `_parse_error`."""
