"""Rebuild gold.freight_corridor_flow for the month containing a service date, from silver waybills.

spark-submit jobs/gold_freight_corridors.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.gold.freight_corridors import run

    return {"rows": run(spark, args.logical_date, get_settings().city_timezone)}


if __name__ == "__main__":
    main("gold_freight_corridors", __doc__, body)
