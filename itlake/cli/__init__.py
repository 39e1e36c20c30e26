"""The `itlake` command: catalogue, demo city, ingest, quality, queries, MaaS, portal and sharing.

itlake --version
itlake catalog list | show CODE | validate | export --format dcat
itlake demo generate --out DIR | itlake demo run
itlake engine start | status | stop
itlake ingest CODE_OR_NAME FILE... [--logical-date YYYY-MM-DD] [--json]
itlake collect [--feed NAME]... [--max-polls N]
itlake tables | itlake status [--fail-on-stale]
itlake quality report [DATASET] | itlake quality docs
itlake maas report [--date YYYY-MM-DD] [--top N] [--level district|h3_r8]
itlake publish DATASET [--date YYYY-MM-DD]
itlake portal build | itlake serve | itlake sharing tables | add-recipient NAME --share S --profile F
itlake security scan [PATH...] [--date YYYY-MM-DD] [--no-plans] | itlake security retention
itlake erase --identifier VALUE --resource CODE_OR_NAME
itlake sql "SELECT ..." [--engine spark|fast] [--version N | --as-of TIME] [--format csv] [--out FILE]

Every command that reports takes --json. Exit status: 0 ok, 1 refused or failed checks, 2 usage
(itlake/cli/exit_codes.py); the arguments are checked before any Spark session is built.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.catalog import app as catalog_app
from itlake.cli.collect import collect as collect_command
from itlake.cli.demo import app as demo_app
from itlake.cli.demo_run import run as demo_run
from itlake.cli.engine import app as engine_app
from itlake.cli.erase import erase as erase_command
from itlake.cli.ingest import ingest as ingest_command
from itlake.cli.maas import app as maas_app
from itlake.cli.output import JSON_HELP, print_json
from itlake.cli.portal import app as portal_app
from itlake.cli.publish import publish as publish_command
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
app.command("ingest")(ingest_command)
app.command("collect")(collect_command)
app.command("erase")(erase_command)
app.command("publish")(publish_command)
console = Console()


@app.command()
def tables(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Every Delta table in the lake with its row count, version, last update and freshness."""
    from itlake.lake.report import lake_tables
    from itlake.lake.root import default_lake
    from itlake.lake.session import get_spark

    rows = lake_tables(get_spark("itlake-cli-tables"), default_lake())
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
