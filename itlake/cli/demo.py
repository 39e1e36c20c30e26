"""`itlake demo generate`: write the synthetic demo city into an inbox directory.

    itlake demo generate --out demo-city [--scale 1.0] [--seed 42] [--date 2026-11-27]

Prints one line per file written (path, rows) and a manifest.json path at the end.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from itlake.cli.output import print_json

app = typer.Typer(help="The synthetic demo city.", no_args_is_help=True, add_completion=False)
console = Console()


@app.callback()
def demo() -> None:
    """The synthetic demo city: generate it, or run the whole pipeline on it."""


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from err


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="directory to write the feeds and manifest.json into"),
    scale: float = typer.Option(1.0, "--scale", min=0.001, help="size multiplier; 1 is ~300 taxis"),
    seed: int = typer.Option(42, "--seed", help="random seed; the same seed gives identical files"),
    day: str = typer.Option("2026-11-27", "--date", help="service date, YYYY-MM-DD"),
    as_json: bool = typer.Option(False, "--json", help="print the files written as JSON"),
) -> None:
    """Generate one synthetic city day (GTFS, taxi GPS, waybills, roads) and its manifest."""
    from itlake.demo.generate import STEPS, generate_city

    service_date = _parse_date(day)
    started = time.perf_counter()
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    # With --json, stdout carries only the JSON document.
    shown_on = Console(stderr=True) if as_json else console
    with Progress(*columns, console=shown_on, transient=True) as progress:
        task = progress.add_task("starting", total=len(STEPS))

        def on_step(name: str) -> None:
            if progress.tasks[task].description != "starting":
                progress.advance(task)
            progress.update(task, description=name)

        manifest = generate_city(out, scale=scale, seed=seed, date=service_date, on_step=on_step)
        progress.advance(task)
    if as_json:
        print_json(
            {
                "files": [{"path": str(out / f.path), "rows": f.rows} for f in manifest.files],
                "manifest": str(out / "manifest.json"),
                "seed": seed,
                "scale": scale,
                "dirty_rows": len(manifest.dirt),
            }
        )
        return
    for f in manifest.files:
        console.print(f"{out / f.path}  {f.rows:,} rows", highlight=False, soft_wrap=True)
    console.print(
        f"{out / 'manifest.json'}  synthetic, seed {seed}, scale {scale:g}, {len(manifest.dirt)} dirty rows "
        f"listed ({time.perf_counter() - started:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
