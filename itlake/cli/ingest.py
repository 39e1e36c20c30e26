"""`itlake ingest RESOURCE FILE...`: land, check and promote files, one at a time, and say how each went.

    itlake ingest taxi_gps inbox/taxi_gps/2026-11-27/*.csv
    itlake ingest gbfs_station_status feeds/oslo/gbfs.json      # the station_status.json beside it
    itlake ingest gtfs feed.zip --json                          # one JSON object for machines

Each file is ingested on its own (itlake/ingest.py), so a refused file does not stop the others.
A refused file prints one line, the file and the reason, then its ledger rows and, when a
validator refused it, its notices; the command then exits 1. `--json` prints the same as one JSON
document: `{"files": [{"file", "status", "reason", "ledger", "notices"}], "refused": N}`.

For a GBFS resource, a `gbfs.json` stands for the documents it lists that the resource reads, and
a document named as served (`station_status.json`) is named for its system first
(`itlake.feeds._gbfs.named_documents`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 150)
# Notices shown under a refused file; the rest are in _system.feed_notices.
NOTICES_SHOWN = 20


def ingest(
    resource: str = typer.Argument(..., help="catalogue code or name, e.g. 03.02.001 or taxi_gps"),
    paths: list[Path] = typer.Argument(..., help="files to ingest"),
    logical_date: str = typer.Option(date.today().isoformat(), help="the date the files belong to"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables"),
) -> None:
    """Ingest files through landing -> bronze -> silver and print the ledger rows."""
    from itlake.catalog import load_catalog
    from itlake.cli.startup import require_secrets

    require_secrets(console)
    try:
        entry = load_catalog().get(resource)
    except KeyError as err:
        _stop(as_json, f"{resource}: {err.args[0] if err.args else 'not in the catalogue'}")
    if not entry.feed:
        _stop(as_json, f"{entry.code} {entry.name} is a derived table; it has no feed to ingest")
    day = date.fromisoformat(logical_date)

    from itlake.lake.session import get_spark

    spark = get_spark("itlake-cli-ingest")
    with tempfile.TemporaryDirectory(prefix="itlake-ingest-") as staging:
        results = [result for path in paths for result in ingest_one(spark, entry, path, day, Path(staging))]
    refused = sum(r["status"] == "refused" for r in results)
    if as_json:
        print(json.dumps({"files": results, "refused": refused}, indent=2, ensure_ascii=False, default=str))
    else:
        for result in results:
            _print(result)
    if refused:
        raise typer.Exit(1)


def ingest_one(spark, entry, path: Path, day: date, staging: Path) -> list[dict]:
    """The result of each file `path` stands for (a gbfs.json may stand for several)."""
    from itlake.feeds import FeedError, get_feed
    from itlake.feeds._gbfs import GbfsFeed, named_documents

    feed = get_feed(entry.feed)
    try:
        files = named_documents([path], feed.gbfs_files, staging) if isinstance(feed, GbfsFeed) else [path]
    except FeedError as err:
        return [_refused(str(path), err, [], [])]
    return [_ingest_file(spark, entry, file, day) for file in files]


def _ingest_file(spark, entry, path: Path, day: date) -> dict:
    from itlake.feeds import FeedError
    from itlake.ingest import BatchRefusedError, ingest_file

    try:
        rows = ingest_file(spark, entry, path, day)
    except (FeedError, BatchRefusedError) as err:
        ledger, notices = _batch_record(spark, entry, path)
        return _refused(str(path), err, ledger, notices)
    return {"file": str(path), "status": "ingested", "reason": None, "ledger": [asdict(r) for r in rows]}


def _refused(file: str, err: Exception, ledger: list[dict], notices: list[dict]) -> dict:
    reason = " ".join(str(err).split())
    return {"file": file, "status": "refused", "reason": reason, "ledger": ledger, "notices": notices}


def _batch_record(spark, entry, path: Path) -> tuple[list[dict], list[dict]]:
    """The ledger rows of the last attempt at this file, and the notices of its batch."""
    from pyspark.sql import functions as F

    from itlake.checksums import file_sha256
    from itlake.lake.system import read_system

    if not path.is_file():
        return [], []
    batch_id = f"{entry.name}-{file_sha256(path)[:16]}"
    ledger, notices = [], []
    table = read_system(spark, "ingest_ledger")
    if table is not None:
        attempts = table.where(F.col("batch_id") == batch_id)
        last = attempts.agg(F.max("started_at")).first()[0]
        ledger = [r.asDict() for r in attempts.where(F.col("started_at") == last).collect()]
    table = read_system(spark, "feed_notices")
    if table is not None:
        found = table.where(F.col("batch_id") == batch_id).orderBy(
            F.col("severity") != "ERROR", "file", "row_number"
        )
        notices = [r.asDict() for r in found.drop("noticed_at").collect()]
    return ledger, notices


def _print(result: dict) -> None:
    if result["status"] == "refused":
        console.print(f"[red]✗ {result['file']}:[/] {result['reason']}", soft_wrap=True)
    ledger = Table(
        "table", "status", "read", "promoted", "duplicate", "quarantined", "message", title="ingest ledger"
    )
    for row in result["ledger"]:
        ledger.add_row(
            row["table"],
            row["status"],
            *(str(row[k]) for k in ("rows_read", "rows_promoted", "rows_duplicate", "rows_quarantined")),
            row["message"][:80],
        )
    if result["ledger"]:
        console.print(ledger)
    notices = result.get("notices") or []
    if notices:
        shown = Table("code", "severity", "file", "row", "field", "value", title="feed notices")
        for n in notices[:NOTICES_SHOWN]:
            row = "" if n["row_number"] is None else str(n["row_number"])
            shown.add_row(n["code"], n["severity"], n["file"], row, n["field"] or "", (n["value"] or "")[:40])
        console.print(shown)
        if len(notices) > NOTICES_SHOWN:
            console.print(f"… and {len(notices) - NOTICES_SHOWN} more in _system.feed_notices")


def _stop(as_json: bool, reason: str) -> None:
    if as_json:
        print(json.dumps({"files": [], "refused": 0, "error": reason}))
    else:
        console.print(f"[red]✗ {reason}[/]")
    raise typer.Exit(2)
