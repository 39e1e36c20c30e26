"""The `itlake` command: catalogue, demo city, ingest, quality, queries, MaaS, portal and sharing.

itlake --version
itlake catalog list | show CODE | validate | export --format dcat
itlake demo generate --out DIR | itlake demo run
itlake engine start | status | stop
itlake ingest CODE_OR_NAME FILE... [--logical-date YYYY-MM-DD]
itlake tables | itlake status [--fail-on-stale]
itlake quality report [DATASET] | itlake quality docs
itlake maas report [--date YYYY-MM-DD] [--top N] [--level district|h3_r8]
itlake portal build | itlake serve | itlake sharing tables | add-recipient NAME --share S --profile F
itlake security scan [PATH...]
itlake sql "SELECT ..." [--engine spark|fast] [--version N | --as-of TIME] [--format csv] [--out FILE]

Every command that reports takes --json. Exit status: 0 ok, 1 refused or failed checks, 2 usage
(itlake/cli/exit_codes.py); the arguments are checked before any Spark session is built.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.catalog import app as catalog_app
from itlake.cli.demo import app as demo_app
from itlake.cli.demo_run import run as demo_run
from itlake.cli.engine import app as engine_app
from itlake.cli.exit_codes import FAILED
from itlake.cli.maas import app as maas_app
from itlake.cli.output import JSON_HELP, print_json, usage_error
from itlake.cli.portal import app as portal_app
from itlake.cli.quality import app as quality_app
from itlake.cli.security import app as security_app
from itlake.cli.serve import serve
from itlake.cli.sharing import app as sharing_app
from itlake.cli.sql import sql as sql_command
from itlake.cli.status import status as status_command

app = typer.Typer(
    help="itlake: the integrated transport data lake.", no_args_is_help=True, add_completion=False
)


def _print_version(value: bool) -> None:
    if value:
        from itlake import __version__

        typer.echo(f"itlake {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """itlake: the integrated transport data lake."""


app.add_typer(catalog_app, name="catalog", help="The information resource catalogue.")
app.add_typer(demo_app, name="demo", help="The synthetic demo city.")
app.add_typer(engine_app, name="engine", help="The warm Spark engine (Spark Connect) that tasks attach to.")
app.add_typer(quality_app, name="quality", help="Quality results and Data Docs.")
app.add_typer(maas_app, name="maas", help="MaaS demand-supply tables: the worst gaps.")
demo_app.command("run", help="Generate the demo city and run the whole pipeline through Airflow.")(demo_run)
app.command("status")(status_command)
app.add_typer(portal_app, name="portal", help="The static open-data portal.")
app.add_typer(sharing_app, name="sharing", help="Delta Sharing tables and recipients.")
app.add_typer(security_app, name="security", help="Scan what leaves the lake for personal identifiers.")
app.command(help="Serve the portal, the releases and the Delta Sharing endpoint on localhost.")(serve)
app.command("sql")(sql_command)
console = Console()


def _logical_date(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def check_ingest_arguments(resource: str, paths: list[Path]):
    """The catalogue entry to ingest, once the name is known, the entry has a feed and every file
    exists; otherwise one line and exit status 2. Cheap: no Spark session is built for this."""
    from itlake.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as exc:
        errors = len(exc.errors)
        typer.echo(f"error: the catalogue is invalid ({errors} errors; `itlake catalog validate`)", err=True)
        raise typer.Exit(FAILED) from None
    try:
        entry = catalog.get(resource)
    except KeyError as exc:
        usage_error(f"{exc.args[0]} (`itlake catalog list` lists them)")
    if not entry.feed:
        usage_error(f"{entry.code} {entry.name} is a derived table; it has no feed to ingest")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        usage_error(f"no such file: {', '.join(missing)}")
    return entry


@app.command()
def ingest(
    resource: str = typer.Argument(..., help="catalogue code or name, e.g. 03.02.001 or taxi_gps"),
    paths: list[Path] = typer.Argument(..., help="files to ingest"),
    logical_date: str = typer.Option(None, help="the date the files belong to, YYYY-MM-DD (default: today)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Ingest files through landing -> bronze -> silver and print the ledger rows.

    Which files are new is decided from the ledger before any engine is touched: files ingested
    before are listed as already_ingested, and a call with nothing new ends there. A refused file
    is one line and the ledger table, and the other files are still ingested; the exit code is
    then 1.
    """
    from itlake.cli.startup import require_secrets

    day = _logical_date(logical_date)
    entry = check_ingest_arguments(resource, paths)
    require_secrets(console)
    from itlake.feeds.base import FeedError
    from itlake.ingest import BatchRefusedError
    from itlake.lake.session import get_spark
    from itlake.pipeline import ROW_COUNTS, ingest_planned, ledger_result, plan_resource

    try:
        entry, work = plan_resource(entry.code, day, [str(p) for p in paths])
    except FeedError as err:
        typer.echo(f"refused: {entry.code} {entry.name}: {err}", err=True)
        raise typer.Exit(FAILED) from None
    refused = None
    result = ledger_result(entry, work.already)
    if work.arrivals:
        try:
            result = ingest_planned(get_spark("itlake-cli-ingest"), entry, work, day)
        except BatchRefusedError as err:
            refused, result = err, ledger_result(entry, err.rows)
    if as_json:
        print_json({**result, "refused": str(refused) if refused else None})
    else:
        shown = [k for k in ROW_COUNTS if k != "promoted"]
        table = Table("file", "table", "status", *shown, "message", title="ingest ledger")
        for row in result["ledger"]:
            table.add_row(
                row["source_file"],
                row["table"],
                row["status"],
                *(str(row[f"rows_{k}"]) for k in shown),
                row["message"][:80],
            )
        console.print(table)
    if refused is not None:
        typer.echo(f"refused: {entry.code} {entry.name}: {refused}", err=True)
        raise typer.Exit(FAILED)


@app.command()
def tables(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Every Delta table in the lake with its row count, version, last update and freshness."""
    from itlake.lake.session import get_spark
    from itlake.report import lake_tables

    rows = lake_tables(get_spark("itlake-cli-tables"))
    if as_json:
        print_json(rows)
        return
    table = Table("layer", "table", "rows", "version", "last update (UTC)", "freshness", title="lake tables")
    for row in rows:
        table.add_row(
            row["layer"],
            row["name"],
            f"{row['rows']:,}",
            str(row["version"]),
            row["updated_at"][:16].replace("T", " "),
            row["freshness"],
        )
    console.print(table)
