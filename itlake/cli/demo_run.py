"""`itlake demo run` (what `make demo` calls): the whole pipeline on the demo city, through Airflow.

It generates the city into ./demo-city (the inbox), migrates Airflow's SQLite database, runs each
DAG with `airflow dags test` for the demo date (the three ingest families, gold, publish, MaaS,
then the catalogue), then prints every lake table with its row count, the ledger, the quality status
and where the outputs are. Each DAG's log is kept in .airflow/demo-logs/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

# The catalogue runs last, so that its DCAT export knows which resources now hold synthetic data.
DAGS = [
    "itlake_ingest_infrastructure",
    "itlake_ingest_mobility",
    "itlake_ingest_freight",
    "itlake_gold_infrastructure",
    "itlake_gold_freight",
    "itlake_gold",
    "itlake_gold_mobility",
    "itlake_publish",
    "itlake_maas",
    "itlake_catalog",
]
# Wide enough for the summary tables when the output is a log file rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 120)


def airflow(*args: str, log: Path) -> int:
    airflow_bin = Path(sys.executable).parent / "airflow"
    with log.open("w") as handle:
        return subprocess.run([str(airflow_bin), *args], stdout=handle, stderr=subprocess.STDOUT).returncode


def dag_succeeded(log: Path, returncode: int) -> bool:
    text = log.read_text(errors="replace")
    return returncode == 0 and "state=success" in text and "state=failed" not in text


def run(
    out: Path = typer.Option(Path("demo-city"), help="where the demo city is generated (the inbox)"),
    scale: float = typer.Option(1.0, help="city size; 1 is a city day that runs in minutes"),
    seed: int = typer.Option(42, help="random seed; the same seed gives the same files"),
    day: str = typer.Option("2026-11-27", "--date", help="the demo service date"),
) -> None:
    from itlake.cli.startup import require_secrets
    from itlake.demo import generate_city

    require_secrets(console)
    started = time.monotonic()
    service_date = date.fromisoformat(day)
    os.environ["ITLAKE_INBOX"] = str(out.resolve())
    airflow_home = Path(os.environ.setdefault("AIRFLOW_HOME", str(Path.cwd() / ".airflow")))
    logs = airflow_home / "demo-logs"
    # Lineage of every task into one file (itlake/lineage.py names the tables by catalogue code).
    os.environ.setdefault(
        "AIRFLOW__OPENLINEAGE__TRANSPORT",
        json.dumps({"type": "file", "log_file_path": str(airflow_home / "openlineage.json"), "append": True}),
    )
    os.environ.setdefault("AIRFLOW__OPENLINEAGE__EXTRACTORS", "itlake.lineage.ItlakeTaskExtractor")
    logs.mkdir(parents=True, exist_ok=True)

    with console.status(f"generating the demo city (scale {scale}, seed {seed}) into {out}/"):
        manifest = generate_city(out, scale=scale, seed=seed, date=service_date)
    console.print(f"[green]✓[/] demo city: {len(manifest.files)} files in {out}/ (synthetic, seed {seed})")

    with console.status("preparing Airflow's SQLite database"):
        if airflow("db", "migrate", log=logs / "db-migrate.log") != 0:
            raise typer.Exit(_fail("airflow db migrate", logs / "db-migrate.log"))
    for dag_id in DAGS:
        step = time.monotonic()
        log = logs / f"{dag_id}.log"
        with console.status(f"airflow dags test {dag_id} {day}"):
            code = airflow("dags", "test", dag_id, day, log=log)
        if not dag_succeeded(log, code):
            raise typer.Exit(_fail(f"DAG {dag_id}", log))
        console.print(f"[green]✓[/] {dag_id} ({time.monotonic() - step:.0f} s)")
    print_summary()
    console.print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")


def _fail(what: str, log: Path) -> int:
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    console.print(f"[red]✗ {what} failed[/]; the last lines of {log}:\n{tail}")
    return 1


def print_summary() -> None:
    from itlake.config import get_settings
    from itlake.lake.session import get_spark
    from itlake.report import lake_tables, ledger_summary, quality_status

    spark = get_spark("itlake-demo-summary")
    quality = quality_status(spark)
    tables = Table("layer", "table", "rows", "quality", title="lake tables")
    for row in lake_tables(spark):
        checked = row["layer"] in ("silver", "gold", "open")
        tables.add_row(
            row["layer"], row["name"], f"{row['rows']:,}", quality.get(row["name"], "") if checked else ""
        )
    console.print(tables)
    ledger = Table(
        "table",
        "status",
        "synthetic",
        "read",
        "promoted",
        "duplicate",
        "quarantined",
        "reconciles",
        title="ingest ledger",
    )
    for row in ledger_summary(spark):
        ok = row["rows_read"] == row["rows_promoted"] + row["rows_duplicate"] + row["rows_quarantined"]
        ledger.add_row(
            row["table"],
            row["status"],
            "yes" if row["synthetic"] else "no",
            *(f"{row[k]:,}" for k in ("rows_read", "rows_promoted", "rows_duplicate", "rows_quarantined")),
            "yes" if ok else "[red]NO[/]",
        )
    console.print(ledger)
    print_releases(spark)
    root = get_settings().lake_root
    console.print(
        f"Lake: {root}\nOpen data releases: {root}/open/releases/\n"
        f"Portal: {root}/open/portal/index.html (`itlake serve`, then http://127.0.0.1:8765/portal/)\n"
        f"DCAT catalogue: {root}/_system/dcat.jsonld\n"
        f"Bridge condition by district (GeoParquet): {root}/gold/_geoparquet/bridge_condition_by_district/\n"
        f"Quality Data Docs: {root}/_system/data_docs/index.html (itlake quality report)\n"
        f"Airflow logs: {os.environ['AIRFLOW_HOME']}/demo-logs/"
    )
    console.print(f"MaaS unmet demand map (peak hour): {root}/gold/maas/unmet_demand_peak.png")
    spark.stop()


def print_releases(spark) -> None:
    """The latest outcome of each open dataset in `_system.publication_log`."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from itlake.lake.system import read_system

    log = read_system(spark, "publication_log")
    if log is None:
        return
    latest = log.withColumn("n", F.row_number().over(Window.partitionBy("name").orderBy(F.desc("logged_at"))))
    table = Table(
        "dataset", "status", "version", "rows", "suppressed cells", "synthetic", title="open data releases"
    )
    for row in latest.where("n = 1").orderBy("code").collect():
        table.add_row(
            row.name,
            row.status,
            f"v{row.version}",
            f"{row.rows:,}",
            f"{row.suppressed_cells:,}",
            "yes" if row.synthetic else "no",
        )
    console.print(table)
