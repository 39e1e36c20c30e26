"""Rebuild the MaaS demand-supply tables (gold) and the unmet-demand map for one service date.

spark-submit jobs/maas_tables.py --logical-date 2026-11-27

Writes demand_zone_interval, supply_zone_interval, balance_zone_interval, request_vehicle_match,
match_kpi and od_service_options (see itlake/maas/build.py), and <lake>/gold/maas/unmet_demand_peak.png.
An input feed missing from the lake reads as empty (the log says which).
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.maas.build import run

    return run(spark, args.logical_date, get_settings().city_timezone)


if __name__ == "__main__":
    main("maas_tables", __doc__, body)
