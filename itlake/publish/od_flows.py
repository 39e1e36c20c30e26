"""The open dataset of hourly district-to-district taxi OD flows, k-anonymous.

The builder is itlake/publish/datasets/od_taxi_hourly.py; this module keeps the names the gold and
pipeline tests use, and releases through the generic flow (itlake/publish/flow.py).
"""

from __future__ import annotations

from itlake.publish.anonymity import suppress_small_cells
from itlake.publish.datasets.od_taxi_hourly import od_cells

NAME = "od_taxi_hourly"


def run(spark, logical_date, k: int):
    """Build, gate and release the day's OD flows; returns the Publication logged."""
    from itlake.publish.flow import publish

    return publish(spark, NAME, logical_date, k)


__all__ = ["NAME", "od_cells", "run", "suppress_small_cells"]
