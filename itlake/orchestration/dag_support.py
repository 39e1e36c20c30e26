"""What the DAG files share: assets named like the catalogue, schedules, default arguments.

Imported at DAG parse time, so it stays light: no Spark, pandas or Great Expectations here.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset

START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")


def record_failure(context) -> None:
    """Failure callback: the task's outlet tables are marked failed in `itlake status`."""
    from itlake.lake.root import default_lake
    from itlake.lake.status import record_task_failure

    task = context["task"]
    record_task_failure(
        default_lake(),
        dag_id=task.dag_id,
        task_id=task.task_id,
        tables=[getattr(o, "name", str(o)) for o in task.outlets],
        logical_date=logical_day(context),
        error=str(context.get("exception") or "failed"),
        failed_at=pendulum.now("UTC"),
    )


DEFAULT_ARGS = {
    "owner": "itlake",
    "retries": 2,
    "retry_delay": pendulum.duration(minutes=1),
    # After the last retry: `itlake status` shows the failure (the Airflow UI shows it anyway).
    "on_failure_callback": record_failure,
    # Every task writes its Delta tables; two runs of it at once (a backfill counts its runs apart
    # from the scheduled ones, an asset may trigger a run while the last one works) would race
    # for the same commits. One instance of a task at a time, across all runs of its DAG.
    "max_active_tis_per_dag": 1,
}

# Catalogue update cycles as Airflow schedules; a family DAG runs at its most frequent cycle.
SCHEDULES = {
    "realtime": "*/5 * * * *",
    "5min": "*/5 * * * *",
    "hourly": "@hourly",
    "daily": "@daily",
    "weekly": "@weekly",
    "monthly": "@monthly",
    "yearly": "@yearly",
}
CYCLE_ORDER = list(SCHEDULES)


def asset_for(table: str) -> Asset:
    """The Asset of a lake table, by its catalogue name such as `silver.taxi_gps`."""
    layer, name = table.split(".", 1)
    return Asset(name=table, uri=f"itlake://lake/{layer}/{name}", group="itlake")


def family_schedule(entries) -> str:
    """The schedule of a family DAG: the most frequent `update_cycle` of its entries, so every
    entry is ingested at least as often as its catalogue entry promises."""
    return SCHEDULES[min((e.update_cycle for e in entries), key=CYCLE_ORDER.index)]


def logical_day(context) -> str:
    """The service date a run works on: the date carried by the asset event that triggered it,
    else the run's own logical date (YYYY-MM-DD)."""
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in reversed(list(events)):
            if event.extra and event.extra.get("logical_date"):
                return event.extra["logical_date"]
    # The date in the DAGs' own time zone: a daily run at midnight in Shanghai is 16:00 UTC the
    # day before, and must still work on the Shanghai date.
    return context["logical_date"].in_timezone(START_DATE.tz).date().isoformat()


class MissingRowCountError(ValueError):
    """An asset event without a row count: downstream DAGs and `itlake status` need one."""


def emit(context, table: str, **extra) -> None:
    """Attach the run's date and figures to the asset event of `table`; `rows` (the rows written
    by this run) is required, and is taken from `rows_promoted` when only that is given."""
    rows = extra.get("rows", extra.get("rows_promoted"))
    if not isinstance(rows, int) or isinstance(rows, bool):
        raise MissingRowCountError(f"the asset event of {table} needs an integer row count, got {rows!r}")
    context["outlet_events"][asset_for(table)].extra = {
        "logical_date": logical_day(context),
        **extra,
        "rows": rows,
    }
