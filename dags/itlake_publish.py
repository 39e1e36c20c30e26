"""Open data: one release task per catalogue resource that may leave the lake and has a builder.

Generated from the catalogue (itlake/publish/datasets/ holds the builders): each task runs
jobs/publish.py for one dataset, which builds it from the tables its entry's `related` names,
passes it through the gate, suppresses cells under k and writes a new release version when the
data changed; `_system.publication_log` records the release or the refusal. The DAG runs when any
table a dataset reads is updated; a dataset whose inputs did not change releases nothing new.
The last task rebuilds the static portal from the releases.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from itlake.catalog import load_catalog
from itlake.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day
from itlake.publish.datasets import releasable, source_tables

CATALOG = load_catalog()
RELEASES = {entry.name: (entry, source_tables(CATALOG, entry)) for entry in releasable(CATALOG)}


@dag(
    schedule=AssetAny(*sorted({asset_for(t) for _, reads in RELEASES.values() for t in reads}, key=str)),
    start_date=START_DATE,
    catchup=False,
    tags=["itlake", "publish"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_publish():
    def release_task(entry):
        @task(task_id=f"publish_{entry.name}", outlets=[asset_for(entry.table)])
        def release(**context) -> dict:
            from itlake.orchestration import submit

            result = submit("publish", ["--code", entry.code, "--logical-date", logical_day(context)])
            emit(context, entry.table, **{k: result[k] for k in ("rows", "version", "status")})
            return result

        return release()

    # The portal shows whatever was released, also when one dataset was refused.
    @task(trigger_rule="all_done")
    def build_portal() -> dict:
        from itlake.portal.build import build_portal as build

        return build()

    releases = [release_task(entry) for entry, _ in RELEASES.values()]
    releases >> build_portal()


itlake_publish()

if __name__ == "__main__":
    itlake_publish().test()
