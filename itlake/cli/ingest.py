"""`itlake ingest RESOURCE FILE...`: land, check and promote files, and say how each went.

    itlake ingest taxi_gps inbox/taxi_gps/2026-11-27/*.csv
    itlake ingest gbfs_station_status feeds/oslo/gbfs.json      # the station_status.json beside it
    itlake ingest gtfs feed.zip --json                          # one JSON object for machines
    itlake ingest taxi_gps vendor_export.csv --profile transbigdata_traj   # another vendor's layout

The arguments are checked before any engine is touched: a wrong resource name gets "did you
mean" and a missing file one line, both with exit status 2. Which files are new is then decided
from the ledger (itlake/ingest/flow.py `plan`); files ingested before are listed as already_ingested
and a call with nothing new starts no Spark session. The new files are ingested in batches, and a
refused file does not stop the others: it prints one line, the file and the reason, then the
ledger rows of every file and the notices of the refused ones; the command then exits 1. `--json`
prints the same as one JSON document: `{"files": [{"file", "status", "reason", "ledger",
"notices"}], "refused": N, "rows_inserted": ..., ...}`.

`--profile NAME` reads the files in the layout of one of the entry's source profiles (its
`profiles` in the catalogue): another vendor's column names, time format and zone, coordinate
system, units and constant columns. A file whose header does not fit the profile is refused with
one line naming the missing and the unexpected columns.

For a GBFS resource, a `gbfs.json` stands for the documents it lists that the resource reads, and
a document named as served (`station_status.json`) is named for its system first
(`itlake.feeds._gbfs.named_documents`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, usage_error

console = Console(width=None if sys.stdout.isatty() else 150)
# Notices shown under a refused file; the rest are in _system.feed_notices.
NOTICES_SHOWN = 20


def ingest(
    resource: str = typer.Argument(..., help="catalogue code or name, e.g. 03.02.001 or taxi_gps"),
    paths: list[Path] = typer.Argument(..., help="files to ingest"),
    logical_date: str = typer.Option(None, help="the date the files belong to, YYYY-MM-DD (default: today)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    profile: str = typer.Option(
        None, "--profile", help="a source profile of the entry: another publisher's layout of the files"
    ),
) -> None:
    """Ingest files through landing -> bronze -> silver and print the ledger rows (exit 1 when a
    file was refused; the others are still ingested)."""
    from itlake.cli.progress import progress
    from itlake.cli.startup import require_secrets

    day = logical_day(logical_date)
    entry = check_ingest_arguments(resource, paths, profile)
    require_secrets(console)
    from itlake.feeds import FeedError
    from itlake.ingest.flow import BatchRefusedError, plan
    from itlake.ingest.pipeline import ROW_COUNTS, ingest_planned, ledger_result
    from itlake.lake.session import get_spark
    from itlake.lake.storage import LakeWriterBusyError

    with tempfile.TemporaryDirectory(prefix="itlake-ingest-") as staging:
        files, unreadable = documents(entry, paths, Path(staging))
        work = plan(entry, files, day, profile)
        rows = list(work.already)
        bar = progress(f"ingesting {entry.name}", len(work.arrivals), unit="files", enabled=not as_json)
        if work.arrivals:
            try:
                with bar as advance:
                    rows = ingest_planned(get_spark("itlake-cli-ingest"), entry, work, day, advance)["ledger"]
            except (BatchRefusedError, FeedError) as err:
                rows = ledger_result(entry, getattr(err, "rows", work.already))["ledger"]
            except LakeWriterBusyError as err:
                # Nothing was written: the files are still new, and the same call ingests them later.
                typer.echo(f"error: {err}", err=True)
                raise typer.Exit(FAILED) from None
        else:
            rows = ledger_result(entry, rows)["ledger"]
        results = [*unreadable, *per_file(files, rows)]
    refused = sum(r["status"] == "refused" for r in results)
    totals = {f"rows_{k}": sum(row[f"rows_{k}"] for row in rows) for k in ROW_COUNTS}
    if as_json:
        print(
            json.dumps(
                {"files": results, "refused": refused, **totals}, indent=2, ensure_ascii=False, default=str
            )
        )
    else:
        show(results, [k for k in ROW_COUNTS if k != "promoted"])
    if refused:
        raise typer.Exit(FAILED)


def logical_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def check_ingest_arguments(resource: str, paths: list[Path], profile: str | None = None):
    """The catalogue entry to ingest, once the name is known, the entry has a feed (and the source
    profile asked for) and every file exists; otherwise one line and exit status 2. Cheap: no Spark
    session is built for this."""
    from itlake.catalog.resources import CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as exc:
        errors = len(exc.errors)
        typer.echo(f"error: the catalogue is invalid ({errors} errors; `itlake catalog validate`)", err=True)
        raise typer.Exit(FAILED) from None
    try:
        entry = catalog.get(resource)
    except KeyError as exc:
        usage_error(f"{exc.args[0]} (`itlake catalog list` lists them)")
    if not entry.feed:
        usage_error(f"{entry.code} {entry.name} is a derived table; it has no feed to ingest")
    if profile is not None:
        try:
            entry.profile(profile)
        except KeyError as exc:
            usage_error(exc.args[0])
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        usage_error(f"no such file: {', '.join(missing)}")
    return entry


def documents(entry, paths: list[Path], staging: Path) -> tuple[list[Path], list[dict]]:
    """The files to ingest (a gbfs.json stands for the documents it lists), and a refused result
    for each path that could not stand for any."""
    from itlake.feeds import FeedError, get_feed
    from itlake.feeds._gbfs import GbfsFeed, named_documents

    feed = get_feed(entry.feed)
    if not isinstance(feed, GbfsFeed):
        return list(paths), []
    files, unreadable = [], []
    for path in paths:
        try:
            files.extend(named_documents([path], feed.gbfs_files, staging))
        except FeedError as err:
            unreadable.append(_result(str(path), "refused", str(err), [], []))
    return files, unreadable


def per_file(files: list[Path], ledger: list[dict]) -> list[dict]:
    """One result per file, in the order given, with its ledger rows and, when it was refused,
    the notices of its batch (read with deltalake)."""
    from itlake.ingest.checksums import file_sha256

    results = []
    for path in files:
        sha256 = file_sha256(path)
        mine = [r for r in ledger if r["sha256"] == sha256]
        refusals = [r["message"] for r in mine if r["status"] == "refused"]
        status = "refused" if refusals else "ingested"
        notices = _notices({r["batch_id"] for r in mine}) if refusals else []
        results.append(_result(str(path), status, refusals[0] if refusals else None, mine, notices))
    return results


def _result(file: str, status: str, reason: str | None, ledger: list[dict], notices: list[dict]) -> dict:
    return {
        "file": file,
        "status": status,
        "reason": " ".join(reason.split()) if reason else None,
        "ledger": ledger,
        "notices": notices,
    }


def _notices(batch_ids: set[str]) -> list[dict]:
    from itlake.lake.delta import read_arrow
    from itlake.lake.paths import system_table_path

    table = read_arrow(system_table_path("feed_notices"))
    if table is None:
        return []
    found = [r for r in table.to_pylist() if r["batch_id"] in batch_ids]
    for r in found:
        r.pop("noticed_at", None)
    return sorted(found, key=lambda n: (n["severity"] != "ERROR", n["file"], n["row_number"] or 0))


def show(results: list[dict], counts: list[str]) -> None:
    for result in results:
        if result["status"] == "refused":
            console.print(f"[red]✗ {result['file']}:[/] {result['reason']}", soft_wrap=True)
    ledger = Table("file", "table", "status", *counts, "message", title="ingest ledger")
    for result in results:
        for row in result["ledger"]:
            ledger.add_row(
                row["source_file"],
                row["table"],
                row["status"],
                *(str(row[f"rows_{k}"]) for k in counts),
                row["message"][:80],
            )
    if ledger.row_count:
        console.print(ledger)
    notices = [n for r in results for n in r["notices"]]
    if notices:
        shown = Table("code", "severity", "file", "row", "field", "value", title="feed notices")
        for n in notices[:NOTICES_SHOWN]:
            row = "" if n["row_number"] is None else str(n["row_number"])
            shown.add_row(n["code"], n["severity"], n["file"], row, n["field"] or "", (n["value"] or "")[:40])
        console.print(shown)
        if len(notices) > NOTICES_SHOWN:
            console.print(f"… and {len(notices) - NOTICES_SHOWN} more in _system.feed_notices")
