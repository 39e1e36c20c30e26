"""MaaS demand-supply matching: demand, supply, balance, matches, KPIs and service options.

| task | job in jobs/ | writes |
|---|---|---|
| maas_taxi_balance | maas_taxi_balance | gold.maas_taxi_zone_hour |
| maas_tables | maas_tables | gold.demand_zone_interval, gold.supply_zone_interval, |
| | | gold.balance_zone_interval, gold.request_vehicle_match, gold.match_kpi, |
| | | gold.od_service_options, and lake/gold/maas/unmet_demand_peak.png |

Scheduled on the Assets it reads: an update of any of them (taxi trips and fixes, ride-hailing
orders, smart-card taps, GBFS, the GTFS timetable) rebuilds the service date carried by the asset
event. Every run replaces whole partitions, so repeated or queued runs give the same tables, and a
feed that has not arrived yet is read as empty (a later run fills it in).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from airflow.sdk import dag, task

from itlake.dag_support import DEFAULT_ARGS, START_DATE, asset_for, emit, logical_day

READS = [
    "gold.taxi_trip",
    "silver.taxi_gps",
    "silver.ridehail_order",
    "silver.smartcard_tap",
    "silver.gbfs_station_information",
    "silver.gbfs_station_status",
    "silver.gbfs_vehicle_status",
    "silver.gtfs_stop_time",
]
MAAS_TABLES = [
    "gold.demand_zone_interval",
    "gold.supply_zone_interval",
    "gold.balance_zone_interval",
    "gold.request_vehicle_match",
    "gold.match_kpi",
    "gold.od_service_options",
]


@dag(
    dag_id="itlake_maas",
    schedule=reduce(or_, [asset_for(name) for name in READS]),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["itlake", "maas"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
)
def itlake_maas():
    @task(outlets=[asset_for("gold.maas_taxi_zone_hour")])
    def maas_taxi_balance(**context) -> dict:
        from itlake.orchestration import submit

        result = submit("maas_taxi_balance", ["--logical-date", logical_day(context)])
        emit(context, "gold.maas_taxi_zone_hour", rows=result["rows"])
        return result

    @task(outlets=[asset_for(name) for name in MAAS_TABLES])
    def maas_tables(**context) -> dict:
        from itlake.orchestration import submit

        result = submit("maas_tables", ["--logical-date", logical_day(context)])
        for name in MAAS_TABLES:
            emit(context, name, rows=result["tables"][name.split(".", 1)[1]])
        return result

    maas_taxi_balance()
    maas_tables()


itlake_maas()

if __name__ == "__main__":
    itlake_maas().test()
