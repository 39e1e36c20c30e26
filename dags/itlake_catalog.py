"""The information resource catalogue in the lake: `_system.catalog` and its DCAT-AP export."""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.orchestration.dag_support import DEFAULT_ARGS, START_DATE, logical_day


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    tags=["itlake", "catalog"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_catalog():
    @task
    def sync_catalog(**context) -> dict:
        from itlake.orchestration.submit import submit

        return submit("sync_catalog", ["--logical-date", logical_day(context)])

    sync_catalog()


itlake_catalog()

if __name__ == "__main__":
    itlake_catalog().test()
