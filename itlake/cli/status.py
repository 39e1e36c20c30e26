"""`itlake status`: is every catalogue resource up to date, checked and filled? (itlake/lake/status.py)"""

from __future__ import annotations

import sys
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, print_json

# Wide enough for the table when the output is a log file or a pipe rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 150)


def status(
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    now: str = typer.Option("", help="judge freshness at this UTC time (ISO 8601) instead of now"),
    fail_on_stale: bool = typer.Option(
        False, "--fail-on-stale", help="exit with status 1 when any resource is stale (for a monitor)"
    ),
) -> None:
    """Every catalogue resource: last successful update, freshness, last ledger status, quality, rows."""
    from itlake.lake.root import default_lake
    from itlake.lake.status import resource_status

    try:
        at = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise typer.BadParameter(f"expected an ISO 8601 time, got {now!r}", param_hint="--now") from None
    rows = resource_status(default_lake(), now=at)
    stale = [r for r in rows if r.stale]
    if as_json:
        print_json([r.as_json() for r in rows])
    else:
        _print_table(rows)
    if fail_on_stale and stale:
        if not as_json:
            console.print(f"--fail-on-stale: {len(stale)} of {len(rows)} resources are stale.")
        raise typer.Exit(FAILED)


def _print_table(rows) -> None:
    table = Table(
        "",
        "code",
        "resource",
        "cycle",
        "last update (UTC)",
        "freshness",
        "last run",
        "quality",
        "rows",
        title="catalogue resources",
    )
    for r in rows:
        last_run = r.last_status.upper() if r.last_status in ("refused", "failed") else r.last_status
        table.add_row(
            "[red]![/]" if r.problem else "",
            r.code,
            r.name,
            r.update_cycle,
            r.last_update.strftime("%Y-%m-%d %H:%M") if r.last_update else "never",
            f"[red]{r.freshness}[/]" if r.stale else f"[green]{r.freshness}[/]",
            f"[red]{last_run}[/]" if r.last_status in ("refused", "failed") else last_run,
            f"[red]{r.quality}[/]" if r.quality.startswith("FAILED") else r.quality,
            f"{r.rows:,}" if r.rows is not None else "",
        )
    console.print(table)
    problems = [r for r in rows if r.problem]
    console.print(f"{len(rows)} resources, {len(problems)} need attention (marked !).")
    for r in problems:
        if r.last_status in ("refused", "failed"):
            console.print(f"  {r.code} {r.name}: last run {r.last_status}: {r.last_message[:160]}")
