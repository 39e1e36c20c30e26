"""Release the open dataset of hourly district-to-district taxi OD flows (k-anonymous).

spark-submit jobs/publish_od_taxi_hourly.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def body(spark, args) -> dict:
    from dataclasses import asdict

    from itlake.config import get_settings
    from itlake.publish.od_flows import run

    return asdict(run(spark, args.logical_date, get_settings().k_anonymity))


if __name__ == "__main__":
    main("publish_od_taxi_hourly", __doc__, body)
