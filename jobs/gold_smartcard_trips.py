"""Rebuild gold.smartcard_trip and gold.smartcard_unmatched_tap for one service date from silver taps.

spark-submit jobs/gold_smartcard_trips.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.gold.smartcard_trips import run

    return run(spark, args.logical_date, get_settings().city_timezone)


if __name__ == "__main__":
    main("gold_smartcard_trips", __doc__, body)
