"""Rebuild gold.truck_stay, gold.truck_trip and gold.truck_trip_corridor for one service date.

spark-submit jobs/gold_truck_trips.py --logical-date 2026-11-27 [--min-stay-minutes 15]
"""

from __future__ import annotations

from itlake.runner import main


def arguments(parser) -> None:
    from itlake.gold.truck_trips import STAY_MIN_MINUTES

    parser.add_argument(
        "--min-stay-minutes",
        type=int,
        default=STAY_MIN_MINUTES,
        help=f"a stay lasts at least this long (default {STAY_MIN_MINUTES})",
    )


def body(spark, args) -> dict:
    from itlake.config import get_settings
    from itlake.gold.truck_trips import run

    return run(spark, args.logical_date, get_settings().city_timezone, args.min_stay_minutes)


if __name__ == "__main__":
    main("gold_truck_trips", __doc__, body, arguments)
