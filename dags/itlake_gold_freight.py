"""Freight gold tables, scheduled on the silver Assets they read.

| task (job in jobs/) | reads | writes |
|---|---|---|
| gold_freight_corridors | silver.waybill, waybill_leg | gold.freight_corridor_flow (the month) |
| gold_truck_trips | silver.truck_position, waybill | gold.truck_stay, truck_trip, truck_trip_corridor |

A run starts once all three silver tables have new data, works on the service date carried by
the triggering asset events, launches each job through spark-submit, and passes the row counts on
in its own asset events.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from itlake.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day

READS = ["silver.waybill", "silver.waybill_leg", "silver.truck_position"]
TRUCK_TABLES = {
    "gold.truck_stay": "stays",
    "gold.truck_trip": "trips",
    "gold.truck_trip_corridor": "corridors",
}


@dag(
    dag_id="itlake_gold_freight",
    schedule=[asset_for(t) for t in READS],
    start_date=START_DATE,
    catchup=False,
    tags=["itlake", "gold", "freight"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_gold_freight():
    @task(outlets=[asset_for("gold.freight_corridor_flow")])
    def gold_freight_corridors(**context) -> dict:
        from itlake.orchestration import submit

        result = submit("gold_freight_corridors", ["--logical-date", logical_day(context)])
        emit(context, "gold.freight_corridor_flow", rows=result["rows"])
        return result

    @task(outlets=[asset_for(t) for t in TRUCK_TABLES])
    def gold_truck_trips(**context) -> dict:
        from itlake.orchestration import submit

        result = submit("gold_truck_trips", ["--logical-date", logical_day(context)])
        for table, key in TRUCK_TABLES.items():
            emit(context, table, rows=result[key])
        return result

    # One after the other: both are Spark jobs, and a small machine runs one at a time better.
    gold_freight_corridors() >> gold_truck_trips()


itlake_gold_freight()

if __name__ == "__main__":
    itlake_gold_freight().test()
