"""Derived-table DAGs, each scheduled on the Assets it reads (MaaS: itlake_maas.py; open data:
itlake_publish.py).

| DAG | reads | job in jobs/ | writes |
|---|---|---|---|
| itlake_gold | silver.taxi_gps | gold_taxi_trips | gold.taxi_trip |

Each run works on the service date carried by the triggering asset event, launches its job
through spark-submit, and passes the row count on in its own asset event.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day

DERIVED = [
    ("itlake_gold", "silver.taxi_gps", "gold_taxi_trips", "gold.taxi_trip", "gold"),
]


def derived_dag(dag_id: str, reads: str, job: str, writes: str, stage: str):
    @dag(
        dag_id=dag_id,
        schedule=[asset_for(reads)],
        start_date=START_DATE,
        catchup=False,
        tags=["itlake", stage],
        doc_md=__doc__,
        default_args=DEFAULT_ARGS,
    )
    def derived():
        @task(task_id=job, outlets=[asset_for(writes)])
        def run_job(**context) -> dict:
            from itlake.orchestration import submit

            result = submit(job, ["--logical-date", logical_day(context)])
            emit(context, writes, **{k: result[k] for k in ("rows", "version") if k in result})
            return result

        run_job()

    return derived()


for spec in DERIVED:
    globals()[spec[0]] = derived_dag(*spec)
