"""MaaS demand-supply matching tables (gold): demand, supply and their balance by zone and time."""

# The tables `itlake.maas.build.run` writes for a service date, in the order it writes them; the
# step that runs it (itlake/orchestration/steps.py) builds these catalogue entries. Kept here, free
# of Spark, so that the DAG files can name them at parse time.
TABLES = (
    "demand_zone_interval",
    "supply_zone_interval",
    "balance_zone_interval",
    "request_vehicle_match",
    "match_kpi",
    "od_service_options",
)
