"""`itlake collect`: poll the catalogue's real-time feeds into the inbox until stopped (itlake/collect/).

itlake collect                                  # every entry with a `poll` block
itlake collect --feed gbfs_station_status --max-polls 3
"""

from __future__ import annotations

import logging

import typer
from rich.console import Console

console = Console(stderr=True)


def collect(
    feeds: list[str] = typer.Option([], "--feed", help="catalogue names or codes to poll (default: all)"),
    max_polls: int = typer.Option(0, help="stop after this many polls per feed (0: until SIGTERM)"),
) -> None:
    """Poll the feeds whose catalogue entries have a `poll` block; SIGTERM or Ctrl-C stops cleanly."""
    from itlake.catalog.resources import load_catalog
    from itlake.collect import run_collector, targets_from_catalog
    from itlake.config import MissingSecretError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        targets = targets_from_catalog(load_catalog(), feeds or None)
    except (KeyError, ValueError) as err:
        console.print(f"[red]✗ {err.args[0] if err.args else err}[/]")
        raise typer.Exit(2) from None
    if not targets:
        # Not an error: a deployment without real-time feeds runs the service and it ends here.
        console.print("no catalogue entry has a `poll` block: nothing to collect")
        return
    try:
        run_collector(targets, max_polls=max_polls or None)
    except MissingSecretError as err:
        console.print(f"[red]✗ stopped at start:[/] {err}")
        raise typer.Exit(2) from None
