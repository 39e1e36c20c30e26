"""`itlake demo run` (what `make demo` calls): the whole pipeline on the demo city, through Airflow.

    itlake demo run [--only ingest|gold|publish|maas] [--no-engine]

It starts the warm engine (itlake/lake/engine.py) unless one answers already, so that every task
attaches to it instead of starting a JVM; generates the city into ./demo-city (the inbox);
migrates Airflow's SQLite database; runs each DAG as `airflow dags test` does, all in one process
(itlake/orchestration/dag_runs.py), for the demo date (the three ingest families, gold, publish,
MaaS, the lake's maintenance, then the catalogue), showing DAG i of N, the task running and the elapsed
time; then prints every lake table with its row count, the ledger, the quality status and where
the outputs are, and the total time. The engine it started is stopped at the end, also after a
failure. Each DAG's log is kept in .airflow/demo-logs/.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itlake.orchestration.dag_runs import MARK
from itlake.orchestration.runner import RESULT_PREFIX


class Part(StrEnum):
    ingest = "ingest"
    gold = "gold"
    publish = "publish"
    maas = "maas"


# The catalogue runs last, so that its DCAT export knows which resources now hold synthetic data.
DAGS = [
    ("itlake_ingest_infrastructure", Part.ingest),
    ("itlake_ingest_mobility", Part.ingest),
    ("itlake_ingest_freight", Part.ingest),
    ("itlake_gold_infrastructure", Part.gold),
    ("itlake_gold_freight", Part.gold),
    ("itlake_gold", Part.gold),
    ("itlake_gold_mobility", Part.gold),
    ("itlake_publish", Part.publish),
    ("itlake_maas", Part.maas),
    ("itlake_maintenance", Part.maas),
    ("itlake_catalog", Part.publish),
]
# Wide enough for the summary tables when the output is a log file rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 120)
TASK_STARTED = re.compile(r"task_id=(\w+)")


def airflow(*args: str, log: Path) -> int:
    """Run the Airflow command, writing its output to `log`."""
    airflow_bin = Path(sys.executable).parent / "airflow"
    with log.open("w") as handle:
        return subprocess.run([str(airflow_bin), *args], stdout=handle, stderr=subprocess.STDOUT).returncode


def dag_succeeded(log: Path, state: str) -> bool:
    text = log.read_text(errors="replace")
    return state == "success" and "state=success" in text and "state=failed" not in text


@contextlib.contextmanager
def warm_engine(wanted: bool):
    """Attach every task to the engine: start one unless it answers already, and stop the one it
    started at the end. Without `wanted` (or with ITLAKE_SPARK_REMOTE already set) it leaves the
    environment alone: tasks then attach to that engine, or fall back to spark-submit."""
    from itlake.config import export_to_process, get_settings
    from itlake.lake import engine

    if not wanted or get_settings().spark_remote:
        yield
        return
    already = engine.status().answers
    if not already:
        with console.status("starting the Spark engine (Spark Connect with Delta), once for every task"):
            started = time.monotonic()
            state = engine.start()
        console.print(f"[green]✓[/] engine {state.summary} ({time.monotonic() - started:.0f} s)")
    export_to_process({"ITLAKE_SPARK_REMOTE": engine.engine_url()})
    try:
        yield
    finally:
        if not already:
            engine.stop()
            console.print("[green]✓[/] engine stopped")


def run(
    out: Path = typer.Option(Path("demo-city"), help="where the demo city is generated (the inbox)"),
    scale: float = typer.Option(1.0, help="city size; 1 is a city day that runs in minutes"),
    seed: int = typer.Option(42, help="random seed; the same seed gives the same files"),
    day: str = typer.Option("2026-11-27", "--date", help="the demo service date"),
    only: Part | None = typer.Option(
        None, help="run one part of the pipeline (the lake must hold the parts before it)"
    ),
    use_engine: bool = typer.Option(
        True, "--engine/--no-engine", help="attach tasks to the warm engine (else a spark-submit per task)"
    ),
) -> None:
    from itlake.cli.startup import require_secrets
    from itlake.demo import generate_city

    require_secrets(console)
    started = time.monotonic()
    service_date = date.fromisoformat(day)
    from itlake.config import export_to_process, get_settings

    export_to_process({"ITLAKE_INBOX": str(out.resolve())})
    export_to_process({"AIRFLOW_HOME": str(Path.cwd() / ".airflow")}, keep_set=True)
    airflow_home = get_settings().airflow_home
    logs = airflow_home / "demo-logs"
    export_to_process(
        {
            # Lineage of every task into one file (itlake/orchestration/lineage.py names the tables
            # by catalogue code).
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(airflow_home / "openlineage.json"), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__EXTRACTORS": "itlake.orchestration.lineage.ItlakeTaskExtractor",
            # What `make demo` exports, for a run started as `itlake demo run`: the DAGs of this
            # checkout, without Airflow's examples.
            "AIRFLOW__CORE__DAGS_FOLDER": str(get_settings().jobs_dir.parent / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        },
        keep_set=True,
    )
    logs.mkdir(parents=True, exist_ok=True)

    if only in (None, Part.ingest):
        with console.status(f"generating the demo city (scale {scale}, seed {seed}) into {out}/"):
            manifest = generate_city(out, scale=scale, seed=seed, date=service_date)
        files = len(manifest.files)
        console.print(f"[green]✓[/] demo city: {files} files in {out}/ (synthetic, seed {seed})")

    with console.status("preparing Airflow's SQLite database"):
        if airflow("db", "migrate", log=logs / "db-migrate.log") != 0:
            raise typer.Exit(_fail("airflow db migrate", logs / "db-migrate.log"))
    dags = [dag_id for dag_id, part in DAGS if only in (None, part)]
    with warm_engine(use_engine):
        _run_dags(dags, day, logs, started)
        print_summary()
    console.print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")


def _run_dags(
    dags: list[str], day: str, logs: Path, started: float, runner: str = "itlake.orchestration.dag_runs"
) -> None:
    """Every DAG in one process (`runner`, itlake/orchestration/dag_runs.py: each as `airflow dags
    test` runs it), each DAG's output in its own log, with a status line: DAG i of N, the task
    running, the elapsed time."""
    from itlake.config import process_environment

    total = len(dags)
    # Lines outside a DAG (the process starting and ending) go to dag-runs.log.
    log = between = logs / "dag-runs.log"
    handle = log.open("w")

    def elapsed() -> str:
        return f"{time.monotonic() - started:.0f} s elapsed"

    number, step, rows, state = 0, 0.0, 0, "start"
    command = [sys.executable, "-m", runner, day, *dags]
    env = process_environment({"PYTHONUNBUFFERED": "1"})
    with (
        console.status("") as line,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env
        ) as process,
    ):
        for text in process.stdout:
            if text.startswith(MARK):
                dag_id, state = text[len(MARK) :].split()
                if state == "start":
                    handle.close()
                    number, step, rows = number + 1, time.monotonic(), 0
                    log = logs / f"{dag_id}.log"
                    handle = log.open("w")
                    line.update(f"DAG {number}/{total} {dag_id}: starting ({elapsed()})")
                    continue
                handle.close()
                handle = between.open("a")
                if not dag_succeeded(log, state):
                    process.terminate()  # a DAG that reported success but logged a failed task
                    break
                written = f", {rows:,} rows" if rows else ""
                console.print(
                    f"[green]✓[/] DAG {number}/{total} {dag_id} ({time.monotonic() - step:.0f} s{written})"
                )
                continue
            handle.write(text)
            if RESULT_PREFIX in text:
                result = json.loads(text.split(RESULT_PREFIX, 1)[1])
                written = result.get("rows", result.get("rows_promoted"))
                rows += written if isinstance(written, int) else 0
            task = TASK_STARTED.search(text)
            if task and number:
                line.update(f"DAG {number}/{total} {dags[number - 1]}: {task.group(1)} ({elapsed()})")
        process.wait()
    handle.close()
    if process.returncode != 0 or (number and not dag_succeeded(log, state)):
        what = f"DAG {dags[number - 1]}" if number else "starting the DAG runs"
        raise typer.Exit(_fail(what, log))


def _fail(what: str, log: Path) -> int:
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    console.print(f"[red]✗ {what} failed[/]; the last lines of {log}:\n{tail}")
    return 1


def print_summary() -> None:
    from itlake.config import get_settings
    from itlake.lake.report import lake_tables, ledger_summary, quality_status
    from itlake.lake.root import default_lake
    from itlake.lake.session import get_spark

    spark = get_spark("itlake-demo-summary")
    quality = quality_status(spark)
    tables = Table("layer", "table", "rows", "quality", title="lake tables")
    for row in lake_tables(spark, default_lake()):
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
        f"Airflow logs: {get_settings().airflow_home}/demo-logs/"
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
