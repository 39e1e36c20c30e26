"""Gold tables of the mobility feeds, rebuilt once the silver tables they read have the day's data.

| task (job in jobs/) | reads (silver) | writes (gold) |
|---|---|---|
| gold_bike_availability | gbfs_station_status, gbfs_station_information | bike_station_availability_15min |
| gold_smartcard_trips | smartcard_tap | smartcard_trip, smartcard_unmatched_tap |

Scheduled on both silver Assets it reads: a run starts when each has a new event, and works on the
service date those events carry. Each task launches its job through spark-submit and replaces the
partition of that date, so a retry gives the same table.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day

JOBS = [
    ("gold_bike_availability", ["gold.bike_station_availability_15min"]),
    ("gold_smartcard_trips", ["gold.smartcard_trip", "gold.smartcard_unmatched_tap"]),
]


def gold_task(job: str, writes: list[str]):
    @task(task_id=job, outlets=[asset_for(t) for t in writes])
    def run_job(**context) -> dict:
        from itlake.orchestration import submit

        result = submit(job, ["--logical-date", logical_day(context)])
        for table in writes:
            emit(context, table, **{k: result[k] for k in ("rows", "unmatched_taps") if k in result})
        return result

    return run_job()


@dag(
    dag_id="itlake_gold_mobility",
    schedule=[asset_for("silver.gbfs_station_status"), asset_for("silver.smartcard_tap")],
    start_date=START_DATE,
    catchup=False,
    tags=["itlake", "gold", "mobility"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_gold_mobility():
    for job, writes in JOBS:
        gold_task(job, writes)


itlake_gold_mobility()

if __name__ == "__main__":
    itlake_gold_mobility().test()
