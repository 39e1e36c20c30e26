"""Rebuild gold.taxi_trip for one service date from silver taxi GPS fixes (and the day before,
when it holds trips still open that the date's fixes complete).

spark-submit jobs/gold_taxi_trips.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.gold.taxi_trips import run_window

    return run_window(spark, args.logical_date, get_settings().city_timezone)


if __name__ == "__main__":
    main("gold_taxi_trips", __doc__, body)
