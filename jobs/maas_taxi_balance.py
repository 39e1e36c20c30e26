"""Rebuild gold.maas_taxi_zone_hour (taxi demand and idle supply by district and hour) for one service date.

spark-submit jobs/maas_taxi_balance.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.maas.taxi_balance import run

    return {"rows": run(spark, args.logical_date, get_settings().city_timezone)}


if __name__ == "__main__":
    main("maas_taxi_balance", __doc__, body)
