"""`itlake security scan`: look for personal identifiers in everything the lake lets out, and for
what the lake keeps that it must not; `itlake security retention`: personal data the lake keeps
past the catalogue's retention.

    itlake security scan                  # the whole scan; exit status 1 on any finding
    itlake security scan --no-plans       # without starting Spark
    itlake security scan open/releases/x  # only these files, for identifiers

By default it reads every file under {lake}/open (the release folders, the open Delta tables and
the portal) and every other table the Delta Sharing server offers (itlake/sharing/shares.py), all
their versions, on disk or in the lake's bucket (through itlake/lake/storage.py), naming the file,
the column and the row of each identifier; images and other
binary files are counted as not read. It then checks the lake itself (itlake/privacy/security_scan.py):
landing files and bronze rows with personal data past their retention on `--date`, and the
pseudonym key, or the key XOR ipad or opad, in Airflow's task logs, the engine's log, Spark's event
logs and the extended plan of every pseudonymised column. Findings are tables, or one JSON
document with `--json`; a progress bar is drawn only on a terminal.
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


def shared_folders() -> list[str]:
    """{lake}/open, and the folder of every table outside it that the sharing server offers, as
    lake paths (on disk or in a bucket); those the lake does not hold are left out."""
    from itlake.catalog.resources import load_catalog
    from itlake.lake.paths import table_path
    from itlake.lake.storage import LakeStorage
    from itlake.sharing.shares import shared_tables

    tables = shared_tables(load_catalog())
    shared = [table_path(t.schema, t.name) for t in tables if t.schema != "open"]
    folders = [table_path("open", "x").rsplit("/", 1)[0], *sorted(set(shared))]
    storage = LakeStorage.for_uri(folders[0])
    return [f for f in folders if storage.is_folder(f)]


def _name(target: str) -> str:
    return target.rstrip("/").rsplit("/", 1)[-1]


@app.command()
def scan(
    paths: list[Path] = typer.Argument(
        None, help="folders or files to scan (default: {lake}/open, every shared table and the lake itself)"
    ),
    logical_date: str = typer.Option(
        None, "--date", help="the day retention is checked against, YYYY-MM-DD (default: today)"
    ),
    plans: bool = typer.Option(
        True, "--plans/--no-plans", help="also explain every pseudonymised column (starts Spark)"
    ),
    limit: int = typer.Option(50, help="print at most this many findings"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Scan for plates, mobile and resident ID numbers, card numbers and HMAC pseudonyms; without
    paths, also for personal data past its retention and the pseudonym key in logs and plans."""
    from datetime import date

    from itlake.catalog.resources import load_catalog
    from itlake.cli.progress import progress
    from itlake.config import get_settings
    from itlake.lake.root import default_lake
    from itlake.lake.storage import LakeStorage, is_remote
    from itlake.privacy.pii_scan import ScanReport, scan_bytes, scan_tree, tree_files
    from itlake.privacy.security_scan import scan_lake, scan_steps

    try:
        day = date.fromisoformat(logical_date) if logical_date else date.today()
    except ValueError:
        usage_error(f"--date: expected YYYY-MM-DD, got {logical_date!r}")
    settings = get_settings()
    root = default_lake().root.rstrip("/")
    lake = root if is_remote(root) else str(Path(root).resolve())
    targets = [str(p.resolve()) for p in paths] if paths else shared_folders()
    storage = LakeStorage.for_uri(lake)
    local = LakeStorage.for_uri("")
    stores = {t: local if paths else storage for t in targets}
    missing = [t for t in targets if not stores[t].exists(t)]
    if missing:
        usage_error(f"no such file or folder: {', '.join(missing)}")
    catalog = None
    if not paths:
        from itlake.cli.startup import require_secrets

        require_secrets(console)  # the key the logs and plans are searched for
        catalog = load_catalog()
    folders = {t for t in targets if stores[t].is_folder(t)}
    files = sum(len(tree_files(t)) if t in folders else 1 for t in targets)
    steps = files + (scan_steps(catalog, plans=plans) if catalog else 0)
    report = ScanReport()
    lake_report = None
    with progress("security scan", steps, unit="files, logs and plans", enabled=not as_json) as advance:
        for target in targets:
            if target in folders:
                base = lake if target.startswith(lake + "/") else target.rsplit("/", 1)[0]
                report.add(scan_tree(target, relative_to=base, advance=advance))
            else:
                suffix = Path(target).suffix.lower()
                report.add(scan_bytes(stores[target].read_bytes(target), _name(target), suffix=suffix))
                advance(1)
        if catalog is not None:
            spark = None
            if plans:
                from itlake.lake.session import get_spark

                spark = get_spark("itlake-cli-security-scan")
            key = settings.pseudonym_key()
            lake_report = scan_lake(catalog, day, key, spark=spark, advance=advance)
    clean = report.clean and (lake_report is None or lake_report.clean)
    if as_json:
        print_json({**_identifiers_json(targets, report), **_lake_json(lake_report)})
    else:
        _print_identifiers(report, targets, lake, bool(paths), limit)
        if lake_report is not None:
            _print_lake(lake_report, limit)
    if not clean:
        raise typer.Exit(FAILED)


def _identifiers_json(targets: list[str], report) -> dict:
    from itlake.privacy.pii_scan import mask

    return {
        "scanned": list(targets),
        "files": report.files,
        "values": report.values,
        "skipped": report.skipped,
        "findings": [
            dict(file=f.where, column=f.column, row=f.row, kind=f.kind, value=mask(f.value))
            for f in report.findings
        ],
    }


def _lake_json(lake_report) -> dict:
    if lake_report is None:
        return {}
    return {
        "lake": {
            "date": lake_report.day,
            "logs": lake_report.logs,
            "plans": lake_report.plans,
            "not_read": lake_report.not_read,
            "findings": [asdict(f) for f in lake_report.findings],
        }
    }


def _print_identifiers(report, targets: list[str], lake: str, named: bool, limit: int) -> None:
    from itlake.privacy.pii_scan import mask

    if named:
        where = ", ".join(targets)
    else:
        tables = sum(1 for t in targets if _name(t) != "open")
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


def _print_lake(lake_report, limit: int) -> None:
    plans = f", {lake_report.plans} plans of pseudonymised columns" if lake_report.plans else " (no plans)"
    unread = f"; {len(lake_report.not_read)} logs not read" if lake_report.not_read else ""
    console.print(f"Checked retention on {lake_report.day}, {lake_report.logs:,} log files{plans}{unread}.")
    if lake_report.clean:
        console.print("[green]✓[/] no personal data past its retention, no pseudonym key in logs or plans")
        return
    table = Table("kind", "where", "what", title="personal data past retention, the key in logs and plans")
    for finding in lake_report.findings[:limit]:
        table.add_row(finding.kind, finding.where, finding.detail)
    console.print(table)
    more = len(lake_report.findings) - limit
    console.print(
        f"[red]✗[/] {len(lake_report.findings)} findings in the lake, its logs and plans"
        + (f" ({more} not shown)" if more > 0 else "")
    )


@app.command()
def retention(
    logical_date: str = typer.Option(None, "--date", help="the day to check against (default: today)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List landing files and bronze or quarantined rows with personal data kept past their retention."""
    from datetime import date

    from itlake.catalog.resources import load_catalog
    from itlake.lake.maintenance import overdue_personal_data

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
