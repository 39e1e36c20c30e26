"""Infrastructure gold: bridges and tunnels by condition class per district, with a GeoParquet copy.

| task (job in jobs/) | reads | writes |
|---|---|---|
| gold_bridge_condition | silver.bridge_tunnel | gold.bridge_condition_by_district, and its GeoParquet copy |

Scheduled on the silver bridge and tunnel Asset: a run follows each new inspection batch, works on
the date carried by that asset event, and passes the row count on in its own asset event.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day

READS = "silver.bridge_tunnel"
WRITES = "gold.bridge_condition_by_district"


@dag(
    dag_id="itlake_gold_infrastructure",
    schedule=[asset_for(READS)],
    start_date=START_DATE,
    catchup=False,
    tags=["itlake", "gold", "infrastructure"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_gold_infrastructure():
    @task(task_id="gold_bridge_condition", outlets=[asset_for(WRITES)])
    def gold_bridge_condition(**context) -> dict:
        from itlake.orchestration import submit

        result = submit("gold_bridge_condition", ["--logical-date", logical_day(context)])
        emit(context, WRITES, rows=result["rows"], geoparquet=result["geoparquet"])
        return result

    gold_bridge_condition()


dag = itlake_gold_infrastructure()

if __name__ == "__main__":
    dag.test()
