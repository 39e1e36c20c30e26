"""Lake maintenance, once a day: expire what is past the catalogue's retention (landing files,
bronze, quarantine, silver and gold rows), compact small files, vacuum and checkpoint every table.
Each action is a row of `_system.maintenance_log` (itlake/lake/maintenance.py)."""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.orchestration.dag_support import DEFAULT_ARGS, START_DATE, logical_day


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    tags=["itlake", "maintenance"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_maintenance():
    @task
    def maintain_lake(**context) -> dict:
        from itlake.orchestration.submit import submit

        return submit("maintain_lake", ["--logical-date", logical_day(context)])

    maintain_lake()


itlake_maintenance()

if __name__ == "__main__":
    itlake_maintenance().test()
