"""Progress bars for the commands that take a while (ingest, publish, the security scan, the portal
build), shown only to a person at a terminal.

    with progress("ingesting taxi_gps", total=len(files), unit="files", enabled=not as_json) as advance:
        ingest_planned(spark, entry, work, day, on_batch=advance)     # advance(n) after each batch

The bar is drawn only when standard output is a terminal and the command prints no JSON, so
tests, pipes, `--json` and Airflow's task logs get exactly the output they got without it; it is
transient, so the report printed afterwards is all that stays on the screen. The library takes
`advance` as a plain callable and knows nothing of the terminal.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[..., None]


def on_terminal(enabled: bool = True) -> bool:
    """True when a bar may be drawn: asked for, and standard output is a terminal."""
    return enabled and sys.stdout.isatty()


def _ignore(steps: int = 1) -> None:
    """What `advance` is when no bar is drawn."""


@contextlib.contextmanager
def progress(
    description: str,
    total: int | None,
    *,
    unit: str = "",
    enabled: bool = True,
    console: Console | None = None,
) -> Iterator[Advance]:
    """A bar of `total` steps (None: a count without an end); yields `advance(steps=1)`."""
    if not on_terminal(enabled):
        yield _ignore
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if unit:
        columns.append(TextColumn(unit))
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        yield advance
