"""Rebuild gold.bike_station_availability_15min for one service date from silver GBFS station status.

spark-submit jobs/gold_bike_availability.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.gold.bike_availability import run

    return {"rows": run(spark, args.logical_date, get_settings().city_timezone)}


if __name__ == "__main__":
    main("gold_bike_availability", __doc__, body)
