"""`itlake erase`: remove one person's identifier from the whole lake (itlake/privacy/erasure.py).

    itlake erase --identifier 粤B12345 --resource taxi_gps
    printf '%s' 13800000001 | itlake erase --identifier - --resource ridehail_order

The identifier is pseudonymised here, with the lake's key; what was removed where is printed and
logged in `_system.maintenance_log`, without the identifier. `-` reads it from standard input,
which keeps it out of the shell's history and the process list.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.output import JSON_HELP, print_json

console = Console()


def erase(
    identifier: str = typer.Option(
        ..., help="the raw value to erase (a plate, a phone or card number); - reads stdin"
    ),
    resource: str = typer.Option(..., help="the catalogue resource it was received in, e.g. taxi_gps"),
    logical_date: str = typer.Option(date.today().isoformat(), help="the date the erasure is logged under"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Delete an identifier's rows from bronze, quarantine, silver and derived gold, and its landing
    records."""
    from itlake.catalog.resources import load_catalog
    from itlake.cli.startup import require_secrets
    from itlake.config import get_settings
    from itlake.lake.session import get_spark
    from itlake.privacy.erasure import ErasureError, erase_identifier

    require_secrets(console)
    value = sys.stdin.read() if identifier == "-" else identifier
    key = get_settings().pseudonym_key()
    try:
        actions = erase_identifier(
            get_spark("itlake-cli-erase"),
            load_catalog(),
            resource,
            value,
            key,
            date.fromisoformat(logical_date),
        )
    except (ErasureError, KeyError) as err:
        console.print(f"[red]✗[/] {err}")
        raise typer.Exit(2) from None
    if as_json:
        print_json([asdict(a) for a in actions])
        return
    table = Table("action", "table", "rows / records removed", "files before", "files after", "detail")
    for a in actions:
        numbers = (a.rows_removed, a.files_before, a.files_after)
        table.add_row(a.action, a.table, *("" if n is None else f"{n:,}" for n in numbers), a.detail)
    console.print(table)
    removed = sum(a.rows_removed or 0 for a in actions if a.action.startswith("erase"))
    run = actions[0].run_id if actions else "none"
    console.print(f"[green]✓[/] {removed:,} rows and records removed (run {run})")
