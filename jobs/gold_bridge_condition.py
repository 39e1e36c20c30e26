"""Rebuild gold.bridge_condition_by_district for one as-of date from silver bridges and tunnels,
and write the partition as GeoParquet beside it.

spark-submit jobs/gold_bridge_condition.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from itlake.gold.bridge_condition import run

    return run(spark, args.logical_date)


if __name__ == "__main__":
    main("gold_bridge_condition", __doc__, body)
