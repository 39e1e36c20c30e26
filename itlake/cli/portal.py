"""`itlake portal build`: the static open-data portal from the release folders."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from itlake.cli.output import JSON_HELP, print_json

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


@app.command()
def build(
    out: Path = typer.Option(None, help="where to write the site (default: {lake}/open/portal)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write index.html and one page per released dataset."""
    from itlake.catalog.resources import load_catalog
    from itlake.cli.progress import progress
    from itlake.portal.build import build_portal

    entries = len(load_catalog().entries)
    with progress("building the portal", entries, unit="catalogue entries", enabled=not as_json) as advance:
        result = build_portal(out, advance)
    if as_json:
        print_json(result)
        return
    console.print(f"[green]✓[/] portal: {result['datasets']} datasets in {result['portal']}/index.html")
