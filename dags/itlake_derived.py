"""Derived-table DAGs, generated from the catalogue's steps (itlake/orchestration/steps.py): gold,
MaaS and open.

| DAG | steps (tasks) |
|---|---|
| itlake_gold | gold_taxi_trips |
| itlake_gold_mobility | gold_bike_availability, gold_smartcard_trips |
| itlake_gold_freight | gold_freight_corridors, gold_truck_trips |
| itlake_gold_infrastructure | gold_bridge_condition |
| itlake_maas | maas_taxi_balance, maas_tables |
| itlake_publish | publish_<dataset> for each open dataset the catalogue releases, then build_portal |

Each task runs one step through jobs/step.py, attached to the warm engine (or through
spark-submit without one). What a step writes comes from its entries' `schema`, what it reads
from their `related`; a DAG is scheduled on every table its steps read, and runs when any of them
is updated, on the service date its asset event carries. Each step replaces the partitions of that
date, so repeated or queued runs give the same tables, and a feed that has not arrived yet reads
as empty (a later run fills it in). A new derived entry needs a step, not DAG code.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from itlake.catalog.resources import load_catalog
from itlake.orchestration.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day
from itlake.orchestration.steps import all_steps, reads, writes

CATALOG = load_catalog()
STEPS = all_steps(CATALOG)
# What a step's result passes on to its asset events besides the rows (the release's version).
NOTES_PASSED_ON = ("version", "status")


def step_task(step):
    tables = writes(CATALOG, step)

    @task(task_id=step.name, outlets=[asset_for(t) for t in tables])
    def run_step(**context) -> dict:
        from itlake.orchestration.submit import submit_step

        result = submit_step(step.name, logical_day(context))
        notes = {k: result["notes"][k] for k in NOTES_PASSED_ON if k in result["notes"]}
        for table in tables:
            emit(context, table, rows=result["tables"].get(table, 0), **notes)
        return {"tables": result["tables"]}

    return run_step()


def derived_dag(dag_id: str, steps):
    read = sorted({t for s in steps for t in reads(CATALOG, s)})

    @dag(
        dag_id=dag_id,
        schedule=AssetAny(*[asset_for(t) for t in read]),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["itlake", dag_id.removeprefix("itlake_").split("_")[0]],
        doc_md=__doc__,
        default_args=DEFAULT_ARGS,
    )
    def derived():
        tasks = [step_task(s) for s in steps]
        if dag_id == "itlake_publish":
            # The portal shows whatever was released, also when one dataset was refused.
            @task(trigger_rule="all_done")
            def build_portal() -> dict:
                from itlake.portal.build import build_portal as build

                return build()

            tasks >> build_portal()

    return derived()


for dag_id in sorted({s.dag for s in STEPS}):
    globals()[dag_id] = derived_dag(dag_id, [s for s in STEPS if s.dag == dag_id])
