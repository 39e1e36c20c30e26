"""`itlake engine start|stop|status`: the warm Spark Connect server that tasks attach to.

itlake engine start
export ITLAKE_SPARK_REMOTE=sc://localhost:15002
itlake engine status [--json]
itlake engine stop
"""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


def _as_json(state) -> str:
    return json.dumps(
        {"state": state.summary.split(" ")[0], "pid": state.pid, "url": state.url, "log": str(state.log)}
    )


@app.command()
def start(
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of text"),
    foreground: bool = typer.Option(
        False, "--foreground", help="run the server in this process until it is stopped (for a container)"
    ),
) -> None:
    """Start the engine unless it runs; return once it answers a query (exit 1 if it cannot start)."""
    from itlake.lake.engine import EngineUnavailableError, run_in_foreground
    from itlake.lake.engine import start as start_engine

    if foreground:
        run_in_foreground()

    started = time.monotonic()
    try:
        with console.status("starting the Spark engine (a Spark Connect server with Delta)"):
            state = start_engine()
    except EngineUnavailableError as err:
        console.print(f"[red]✗ engine:[/] {err}")
        raise typer.Exit(1) from None
    if as_json:
        print(_as_json(state))
        return
    elapsed = time.monotonic() - started
    console.print(f"[green]✓[/] engine {state.summary} ({elapsed:.0f} s); log: {state.log}")
    console.print(f"Attach tasks and commands to it with:\n  export ITLAKE_SPARK_REMOTE={state.url}")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="print JSON instead of text")) -> None:
    """Whether the engine runs and answers; exit 1 when it does not answer."""
    from itlake.lake.engine import status as engine_status

    state = engine_status()
    if as_json:
        print(_as_json(state))
    else:
        console.print(f"engine {state.summary}; log: {state.log}")
    if not state.answers:
        raise typer.Exit(1)


@app.command()
def stop() -> None:
    """Stop the engine and every process it started."""
    from itlake.lake.engine import stop as stop_engine

    console.print("engine stopped" if stop_engine() else "engine was not running")
