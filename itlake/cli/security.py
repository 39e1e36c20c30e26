"""`itlake security scan`: look for personal identifiers in everything the lake lets out;
`itlake security retention`: personal data the lake keeps past the catalogue's retention.

By default it reads every file under {lake}/open (the release folders, the open Delta tables and
the portal) and every other table the Delta Sharing server offers (itlake/sharing/shares.py), all
their versions. It exits 1 when it finds anything, naming the file, the column and the row; images
and other binary files are counted as not read.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, print_json, usage_error

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


def shared_folders() -> list[Path]:
    """{lake}/open, and the folder of every table outside it that the sharing server offers."""
    from itlake.catalog import load_catalog
    from itlake.lake.paths import table_path
    from itlake.lake.storage import local_folder
    from itlake.sharing.shares import shared_tables

    tables = shared_tables(load_catalog())
    shared = [local_folder(table_path(t.schema, t.name)) for t in tables if t.schema != "open"]
    return [p for p in [local_folder(table_path("open", "x")).parent, *sorted(set(shared))] if p.is_dir()]


@app.command()
def scan(
    paths: list[Path] = typer.Argument(
        None, help="folders or files to scan (default: {lake}/open and every shared table)"
    ),
    limit: int = typer.Option(50, help="print at most this many findings"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Scan for plates, mobile and resident ID numbers, card numbers and HMAC pseudonyms."""
    from itlake.config import get_settings
    from itlake.pii_scan import ScanReport, mask, scan_bytes, scan_tree

    lake = Path(get_settings().lake_root).resolve()
    targets = [p.resolve() for p in paths] if paths else shared_folders()
    missing = [str(t) for t in targets if not t.exists()]
    if missing:
        usage_error(f"no such file or folder: {', '.join(missing)}")
    report = ScanReport()
    for target in targets:
        if target.is_dir():
            base = lake if target.resolve().is_relative_to(lake) else target.parent
            report.add(scan_tree(target, relative_to=base))
        else:
            report.add(scan_bytes(target.read_bytes(), target.name, suffix=target.suffix.lower()))
    if as_json:
        print_json(
            {
                "scanned": [str(t) for t in targets],
                "files": report.files,
                "values": report.values,
                "skipped": report.skipped,
                "findings": [
                    dict(file=f.where, column=f.column, row=f.row, kind=f.kind, value=mask(f.value))
                    for f in report.findings
                ],
            }
        )
        if not report.clean:
            raise typer.Exit(FAILED)
        return
    if paths:
        where = ", ".join(str(t) for t in targets)
    else:
        tables = sum(1 for t in targets if t.name != "open")
        where = f"{lake} (open/ and {tables} shared table{'' if tables == 1 else 's'})"
    skipped = f"; {len(report.skipped)} binary files not read" if report.skipped else ""
    console.print(f"Scanned {report.files:,} files ({report.values:,} values) in {where}{skipped}.")
    if report.clean:
        console.print("[green]✓[/] no personal identifiers found")
        return
    table = Table("file", "column / JSON path", "row", "kind", "value (masked)", title="personal identifiers")
    for finding in report.findings[:limit]:
        row = "" if finding.row is None else f"{finding.row}" if finding.column else f"line {finding.row}"
        table.add_row(finding.where, finding.column or "", row, finding.kind, mask(finding.value))
    console.print(table)
    more = len(report.findings) - limit
    console.print(
        f"[red]✗[/] {len(report.findings)} personal identifiers found"
        + (f" ({more} not shown)" if more > 0 else "")
    )
    raise typer.Exit(FAILED)


@app.command()
def retention(
    logical_date: str = typer.Option(None, "--date", help="the day to check against (default: today)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List landing files and bronze or quarantined rows with personal data kept past their retention."""
    from datetime import date

    from itlake.catalog import load_catalog
    from itlake.maintenance import overdue_personal_data

    day = date.fromisoformat(logical_date) if logical_date else date.today()
    overdue = overdue_personal_data(load_catalog(), day)
    if as_json:
        print_json([asdict(item) for item in overdue])
        if overdue:
            raise typer.Exit(FAILED)
        return
    if not overdue:
        console.print(f"[green]✓[/] no personal data kept past its retention on {day}")
        return
    table = Table("where", "resource", "retention", "before", "kept", title="personal data past retention")
    for item in overdue:
        table.add_row(item.where, item.code, item.retention, str(item.cutoff), f"{item.count:,} {item.unit}")
    console.print(table)
    console.print(f"[red]✗[/] {len(overdue)} places keep personal data past retention (itlake_maintenance)")
    raise typer.Exit(FAILED)
