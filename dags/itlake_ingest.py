"""Ingest DAGs, one per feed family (mobility, freight, infrastructure), generated from the catalogue.

Every catalogue entry whose `feed` has a parser gets a task that ingests the files in
`$ITLAKE_INBOX/<feed>/<date>/` (landing -> bronze -> silver, quality gate, ledger), attached to
the warm engine (or through spark-submit without one). A new entry for an existing feed format
needs no DAG code. Each silver table is an Asset; its event carries the date and the rows
promoted. A family DAG runs at the most frequent `update_cycle` of its entries; a run ingests the
files of its logical date (in the city's time zone) that the ledger does not hold yet. That is
decided in the task itself, before any engine is touched: a run with nothing new is skipped and
emits no asset event, so nothing downstream runs for nothing. Retries and backfills give the same
tables.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.catalog.resources import load_catalog
from itlake.feeds import FEED_NAMES
from itlake.orchestration.dag_support import (
    DEFAULT_ARGS,
    START_DATE,
    asset_for,
    emit,
    family_schedule,
    logical_day,
)


def ingest_task(entry):
    tables = [f"{entry.layer}.{name}" for name in entry.schema]

    @task(task_id=f"ingest_{entry.name}", outlets=[asset_for(t) for t in tables])
    def ingest(**context) -> dict:
        from datetime import date

        from airflow.sdk.exceptions import AirflowSkipException

        from itlake.ingest.flow import plan
        from itlake.ingest.pipeline import inbox_files
        from itlake.orchestration.submit import submit

        day = logical_day(context)
        waiting = plan(entry, inbox_files(entry.feed, date.fromisoformat(day)), date.fromisoformat(day))
        if not waiting.arrivals:
            raise AirflowSkipException(
                f"nothing new for {entry.feed} on {day}: {len(waiting.already)} file(s) ingested before"
            )
        result = submit("ingest", ["--code", entry.code, "--logical-date", day])
        if not result["rows_inserted"] + result["rows_updated"]:
            # Files sent again with the same records: nothing changed, so nothing downstream runs.
            raise AirflowSkipException(f"nothing changed: {result['rows_unchanged']} rows as they were")
        # Every outlet gets an event with its row count.
        for table in tables:
            rows = [r for r in result["ledger"] if f"{entry.layer}.{r['table']}" == table]
            emit(
                context,
                table,
                rows_promoted=sum(r["rows_promoted"] for r in rows),
                rows_inserted=sum(r["rows_inserted"] for r in rows),
                rows_updated=sum(r["rows_updated"] for r in rows),
                rows_quarantined=sum(r["rows_quarantined"] for r in rows),
                update_cycle=entry.update_cycle,
            )
        return {"rows_promoted": result["rows_promoted"]}

    return ingest()


def ingest_dag(family: str, entries):
    @dag(
        dag_id=f"itlake_ingest_{family}",
        schedule=family_schedule(entries),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["itlake", "ingest", family],
        doc_md=__doc__,
        default_args=DEFAULT_ARGS,
    )
    def family_dag():
        tasks = {entry.code: ingest_task(entry) for entry in entries}
        # A feed read against another of the family (GTFS-Realtime against its static GTFS, named
        # in `related`) waits for it, so it joins the version ingested in the same run.
        for entry in entries:
            for code in entry.related:
                if code in tasks:
                    tasks[code] >> tasks[entry.code]

    return family_dag()


ingestible = [e for e in load_catalog().feeds() if e.feed in FEED_NAMES]
for family in sorted({e.family for e in ingestible}):
    globals()[f"itlake_ingest_{family}"] = ingest_dag(family, [e for e in ingestible if e.family == family])
