"""`itlake quality`: the last quality run of each dataset, and where its Data Docs are.

itlake quality report                   # every dataset
itlake quality report taxi_gps          # one dataset
itlake quality docs                     # the path of the Data Docs index
"""

from __future__ import annotations

import typer

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, print_json

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Quality results and Data Docs.")


@app.command()
def report(
    dataset: str = typer.Argument(None, help="a dataset (contract) name, e.g. taxi_gps"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """A table per dataset: its last run, the run's status and its failed expectations.

    Exits with 1 when a dataset's last run failed an error expectation.
    """
    from rich.console import Console
    from rich.table import Table

    from itlake.lake.paths import system_table_path
    from itlake.quality.report import last_runs

    console = Console()
    runs = last_runs(system_table_path("quality_results"), dataset)
    if as_json:
        print_json([{**_as_dict(run), "status": run.status} for run in runs])
        if (dataset and not runs) or not all(run.passed for run in runs):
            raise typer.Exit(FAILED)
        return
    if not runs:
        where = f" for {dataset}" if dataset else ""
        console.print(f"No quality runs recorded{where} in {system_table_path('quality_results')}.")
        raise typer.Exit(FAILED if dataset else 0)
    for run in runs:
        title = (
            f"{run.dataset}: {run.status} | run {run.run_id} | "
            f"{run.checked_at:%Y-%m-%d %H:%M:%S} UTC | {run.expectations} expectations"
        )
        if not run.failures:
            console.print(f"[green]{title}[/green]: every expectation met")
            continue
        table = Table("severity", "rule", "observed", "unexpected", title=title, title_justify="left")
        for failure in run.failures:
            count = "" if failure.unexpected_count is None else f"{failure.unexpected_count:,}"
            table.add_row(failure.severity, failure.rule, failure.observed_value, count)
        console.print(table)
    if not all(run.passed for run in runs):
        raise typer.Exit(FAILED)


def _as_dict(run) -> dict:
    import dataclasses

    return dataclasses.asdict(run)


@app.command()
def docs(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Print the path of the Data Docs index (one HTML page per dataset and run)."""
    from pathlib import Path

    from itlake.lake.storage import LakeStorage, is_remote
    from itlake.quality.checks import data_docs_dir

    index = f"{data_docs_dir()}/index.html"
    if not LakeStorage.for_uri(index).exists(index):
        typer.echo(f"No Data Docs yet: {index} is written by the first ingest.", err=True)
        raise typer.Exit(FAILED)
    uri = index if is_remote(index) else Path(index).resolve().as_uri()
    if as_json:
        print_json({"index": uri})
    else:
        typer.echo(uri)
