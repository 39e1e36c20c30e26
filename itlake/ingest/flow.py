"""Landing -> bronze -> silver for the files waiting for one resource, with quarantine, quality
gate and ledger.

    itlake ingest taxi_gps inbox/taxi_gps/2026-11-27/*.csv

Before any engine is touched, `plan` hashes the files and reads the ledger with deltalake: a file
whose last attempt promoted everything it held is already ingested, and a call with nothing new
ends there. The files left are ingested in batches of up to `BATCH_MAX_FILES` files and
`BATCH_MAX_BYTES` bytes (a GTFS zip, one feed version, is a batch of its own):

1. landing/: each file is copied as received, named by its sha256.
   Biometric data is refused first (itlake/feeds/biometric.py): a contract column marked
   `pii: biometric` before the file lands, a face image or template column after reading it (the
   landed copy is then removed).
2. Each file is parsed into Arrow. Feeds that offer `validate(tables, ctx) -> list[Notice]` check
   its raw tables; an ERROR notice refuses that file alone. The notices of the batch go to
   `_system.feed_notices` in one commit.
3. bronze/: the records of every file plus `_batch_id` (the file's, from its sha256),
   `_source_file`, `_row_number`, `_ingested_at`, in one commit per table
   (itlake/lake/delta.py `append_arrow_batches`).
4. silver/: typed and conformed by the parser in one pass over the batch; rows that fail to type
   or break a contract rule go to quarantine/ with the rule and a reason; duplicates of a key
   within a file are counted and dropped. A file that quarantines more than the contract allows
   is refused alone. The Great Expectations suite runs once on the batch (when it fails, once per
   file, so that only the files at fault are refused). One MERGE by key writes the rest; where
   two files of the batch hold one key, the later file's row is the one kept, as if they had come
   one after the other.
5. _system.ingest_ledger: one row per file and table, each reconciling
   rows_read = rows_promoted + rows_duplicate + rows_quarantined and
   rows_promoted = rows_inserted + rows_updated + rows_unchanged, written in one commit per batch.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from itlake.config import get_settings
from itlake.feeds import BatchContext, FeedError, get_feed
from itlake.feeds.biometric import BiometricDataRefused, refuse_biometric_contracts, refuse_biometric_values
from itlake.ingest.checksums import file_sha256
from itlake.lake.notices import errors, summary
from itlake.lake.paths import table_path
from itlake.lake.storage import LakeStorage, is_remote
from itlake.lake.system import LedgerRow, promoted_batches

BATCH_MAX_FILES = 1000
BATCH_MAX_BYTES = 256 * 1024 * 1024


class FileRefusedError(FeedError):
    """Files refused whole before bronze (unreadable, the wrong layout, an ERROR notice); the other
    files of the call were ingested, and the ledger says why. `rows` holds the ledger rows of
    every file of the call."""

    def __init__(self, message: str, rows: list[LedgerRow] | None = None):
        super().__init__(message)
        self.rows = rows or []


class BatchRefusedError(RuntimeError):
    """Files that were read, and whose rows are all held in quarantine (over the contract's
    threshold, or failing the quality gate); the other files of the call were ingested. `rows`
    holds the ledger rows of every file of the call."""

    def __init__(self, message: str, rows: list[LedgerRow] | None = None):
        super().__init__(message)
        self.rows = rows or []


@dataclass
class Arrival:
    """One received file waiting to be ingested."""

    path: Path
    ctx: BatchContext
    ledger: LedgerRow  # the file's ledger row before any table is counted
    size: int


@dataclass
class Plan:
    """What a call has to do, decided without Spark: the new files, and those ingested before."""

    arrivals: list[Arrival]
    already: list[LedgerRow]

    def batches(
        self, max_files: int = BATCH_MAX_FILES, max_bytes: int = BATCH_MAX_BYTES
    ) -> list[list[Arrival]]:
        """The new files in batches of at most `max_files` files and `max_bytes` bytes (a larger file
        is a batch of its own), in file order."""
        batches: list[list[Arrival]] = []
        current: list[Arrival] = []
        size = 0
        for arrival in self.arrivals:
            if current and (len(current) >= max_files or size + arrival.size > max_bytes):
                batches.append(current)
                current, size = [], 0
            current.append(arrival)
            size += arrival.size
        return [*batches, current] if current else batches


def is_synthetic(path: Path, sha256: str) -> bool:
    """True when a manifest.json above the file marks it as synthetic (the demo generator writes one)."""
    for folder in path.resolve().parents:
        manifest = folder / "manifest.json"
        if manifest.is_file():
            content = json.loads(manifest.read_text(encoding="utf-8"))
            listed = {f.get("sha256") for f in content.get("files", [])}
            return bool(content.get("synthetic")) and sha256 in listed
    return False


def plan(entry, paths: list[Path], logical_date: date, profile: str | None = None) -> Plan:
    """Hash the files and look them up in the ledger (deltalake, no Spark). With `profile`, the
    entry's source profile of that name says how the files are laid out."""
    feed = get_feed(entry.feed)
    key = get_settings().pseudonym_key()
    source = entry.profile(profile) if profile else None
    arrivals = []
    for path in sorted(Path(p) for p in paths):
        if not path.is_file():
            raise FeedError(f"{path}: no such file")
        sha256 = file_sha256(path)
        ctx = BatchContext(
            batch_id=f"{entry.name}-{sha256[:16]}",
            sha256=sha256,
            source_file=path.name,
            logical_date=logical_date,
            pseudonym_key=key,
            encoding=(source and source.encoding) or entry.encoding,
            crs=(source and source.crs) or entry.crs,
            timezone=(source and source.timezone) or entry.timezone,
            profile=source,
            feed_id=entry.feed_id(source),
            fetched_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        )
        row = LedgerRow(
            batch_id=ctx.batch_id,
            code=entry.code,
            table=",".join(feed.contracts),
            source_file=path.name,
            sha256=sha256,
            logical_date=logical_date,
            synthetic=is_synthetic(path, sha256),
        )
        arrivals.append(Arrival(path, ctx, row, path.stat().st_size))
    done = promoted_batches(a.ctx.batch_id for a in arrivals)
    finished_at = datetime.now(UTC)
    already = [
        replace(
            a.ledger,
            status="already_ingested",
            message="the same file was promoted before",
            finished_at=finished_at,
        )
        for a in arrivals
        if a.ctx.batch_id in done
    ]
    return Plan([a for a in arrivals if a.ctx.batch_id not in done], already)


def landing_uri(path: Path, entry, logical_date: date, sha256: str) -> str:
    """Where the copy of a received file lands: `landing/<resource>/<date>/<sha256[:16]>_<name>`."""
    return f"{table_path('landing', entry.name)}/{logical_date.isoformat()}/{sha256[:16]}_{path.name}"


def land(path: Path, entry, logical_date: date, sha256: str) -> Path:
    """Copy the file as received into landing/ (through the lake's storage, a folder or a bucket);
    returns the file the later stages read: the landed copy on a local lake, else the received
    file itself, whose bytes are the landed copy's (the same sha256)."""
    target = landing_uri(path, entry, logical_date, sha256)
    LakeStorage.for_uri(target).copy_in(path, target)
    return path if is_remote(target) else Path(target)


def ingest_paths(
    spark, entry, paths: list[Path], logical_date: date, work: Plan | None = None, on_batch=None
) -> list[LedgerRow]:
    """Ingest the files in batches; returns the ledger rows of every file (those ingested before
    included, with status already_ingested; they are not written again). After every batch is
    done, raises BatchRefusedError when a file's rows were held in quarantine; else, when files
    were refused before bronze, the refusal of the one file (a FeedError such as
    BiometricDataRefused) or a FileRefusedError naming them all; each carries `rows`.
    `on_batch(n)`, when given, is called after each batch with its number of files (a progress bar)."""
    work = work or plan(entry, paths, logical_date)
    feed = get_feed(entry.feed)
    rows = list(work.already)
    refusals: list[FeedError] = []
    max_files = 1 if getattr(feed, "one_file_per_batch", False) else BATCH_MAX_FILES
    batches = work.batches(max_files=max_files)
    # While Spark promotes one batch, the next one is landed and read in a thread of this process
    # (the parsers are Python, and a Spark call waits on a socket): a backlog costs its Spark time
    # and the first batch's reading, not the two added up. At most two batches are held at once.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="itlake-receive") as reader:
        ahead = reader.submit(receive_batch, feed, entry, batches[0], logical_date) if batches else None
        for number, batch in enumerate(batches, start=1):
            received = ahead.result()
            if number < len(batches):
                ahead = reader.submit(receive_batch, feed, entry, batches[number], logical_date)
            refusals.extend(received.errors)
            rows.extend(promote_received(spark, entry, feed, received, logical_date))
            if on_batch is not None:
                on_batch(len(batch))
    held = [r for r in rows if r.status == "refused" and r.rows_read]
    if held:
        raise BatchRefusedError("; ".join(dict.fromkeys(r.message for r in held)), rows)
    if len(refusals) == 1:
        # One file refused: its own error (BiometricDataRefused, a header error...), with the rows.
        refusals[0].rows = rows
        raise refusals[0]
    if refusals:
        raise FileRefusedError("; ".join(dict.fromkeys(str(e) for e in refusals)), rows)
    return rows


def ingest_file(spark, entry, path: Path, logical_date: date) -> list[LedgerRow]:
    """One file: its ledger rows (raises its FeedError, or BatchRefusedError, when it was refused)."""
    return ingest_paths(spark, entry, [Path(path)], logical_date)


@dataclass
class Received:
    """A batch as read in this process: the raw tables of the files read, the ledger rows and
    errors of the files refused before bronze, and the validator's notices of every file."""

    files: list[tuple[Arrival, dict]]
    refused: list[LedgerRow]
    errors: list[FeedError]
    notices: list[tuple[str, str, list]]


def receive_batch(feed, entry, batch: list[Arrival], logical_date: date) -> Received:
    """Land, read and check every file of the batch (no Spark)."""
    from itlake.ingest.promote import finish

    received = Received([], [], [], [])
    for arrival in batch:
        try:
            raw_tables, notices = _receive(feed, entry, arrival, logical_date)
            received.notices.append((arrival.ctx.batch_id, arrival.ctx.source_file, notices))
            blocking = errors(notices)
            if blocking:
                raise FeedError(f"{arrival.ctx.source_file}: {summary(blocking)}")
        except FeedError as err:
            received.refused.append(finish(replace(arrival.ledger, status="refused", message=str(err))))
            received.errors.append(err)
            continue
        received.files.append((arrival, raw_tables))
    return received


def promote_received(spark, entry, feed, received: Received, logical_date: date) -> list[LedgerRow]:
    """Record the batch's notices, promote each table once for all its files, and write the ledger
    rows of every file of the batch in one commit."""
    from itlake.ingest.promote import promote_batch
    from itlake.lake.notices import record_notices
    from itlake.lake.system import record_ledger
    from itlake.quality.checks import entry_domain

    record_notices(spark, received.notices, feed=entry.feed, logical_date=logical_date)
    domain = entry_domain(entry, logical_date)
    rows = [*received.refused]
    for name in feed.contracts:
        parts = [(a, tables[name]) for a, tables in received.files if name in tables]
        rows.extend(promote_batch(spark, feed, name, parts, entry, logical_date, domain))
    record_ledger(spark, rows)
    return rows


def _receive(feed, entry, arrival: Arrival, logical_date: date) -> tuple[dict, list]:
    """Land and read one file; its raw tables and the validator's notices."""
    landed = None
    try:
        # Before landing: a feed whose contract holds biometric data does not enter the lake at all.
        refuse_biometric_contracts(feed.contracts, arrival.ctx.source_file)
        landed = land(arrival.path, entry, logical_date, arrival.ctx.sha256)
        raw_tables = feed.read(landed, arrival.ctx)
        refuse_biometric_values(raw_tables, arrival.ctx.source_file)
    except BiometricDataRefused:
        if landed is not None:  # not even the copy as received may stay
            target = landing_uri(arrival.path, entry, logical_date, arrival.ctx.sha256)
            LakeStorage.for_uri(target).delete_file(target)
        raise
    validate = getattr(feed, "validate", None)
    notices = validate(raw_tables, arrival.ctx) if validate else []
    return raw_tables, notices
