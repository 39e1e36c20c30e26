"""`itlake publish DATASET`: release one open dataset for a service date, as the publish DAG's task
does (itlake/publish/flow.py), from a terminal.

    itlake publish od_taxi_hourly --date 2026-11-27
    itlake publish od_taxi_hourly --date 2026-11-27 --json

The name is checked against the catalogue and the dataset builders before Spark starts. The
release is built, gated, written as a new version (or found unchanged) and logged in
`_system.publication_log`; a refusal prints its reason and exits 1.
"""

from __future__ import annotations

import typer
from rich.console import Console

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, print_json, usage_error

console = Console()


def publish(
    dataset: str = typer.Argument(..., help="the open dataset's catalogue code or name, e.g. od_taxi_hourly"),
    logical_date: str = typer.Option(None, "--date", help="the service date, YYYY-MM-DD (default: today)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Build, gate and release one open dataset (exit 1 when the gate refuses it)."""
    from itlake.catalog.resources import load_catalog
    from itlake.cli.ingest import logical_day
    from itlake.cli.progress import progress
    from itlake.cli.startup import require_secrets
    from itlake.publish.datasets import DATASET_NAMES

    day = logical_day(logical_date)
    try:
        entry = load_catalog().get(dataset)
    except KeyError as exc:
        usage_error(f"{exc.args[0]} (`itlake catalog list` lists them)")
    if entry.name not in DATASET_NAMES:
        usage_error(f"{entry.code} {entry.name} is not an open dataset; they are {', '.join(DATASET_NAMES)}")
    require_secrets(console)
    from itlake.config import get_settings
    from itlake.lake.session import get_spark
    from itlake.publish.flow import PUBLISH_STEPS
    from itlake.publish.flow import publish as release
    from itlake.publish.gate import PublicationRefused

    try:
        with progress(f"publishing {entry.name}", PUBLISH_STEPS, enabled=not as_json) as advance:
            done = release(
                get_spark("itlake-cli-publish"), entry.name, day, get_settings().k_anonymity, advance
            )
    except PublicationRefused as refused:
        if as_json:
            print_json({"code": entry.code, "name": entry.name, "status": "refused", "reason": str(refused)})
        else:
            console.print(f"[red]✗ {entry.code} {entry.name} refused:[/] {refused}", soft_wrap=True)
        raise typer.Exit(FAILED) from None
    if as_json:
        print_json(done)
        return
    suppressed = f"; {done.suppressed_cells:,} cells ({done.suppressed_trips:,}) under k withheld"
    console.print(
        f"[green]✓[/] {done.code} {done.name} v{done.version} {done.status}: {done.rows:,} rows"
        f"{suppressed if done.suppressed_cells else ''}, in {done.path}",
        soft_wrap=True,
    )
