"""match_kpi: the matching's service level per zone and interval, per zone and day, and city-wide.

Names follow the demand-responsive transport simulators, so results compare with a simulation:

| column | MATSim DRT (drt_customer_stats) | FleetPy |
|---|---|---|
| requests | (rides + rejections) | number users |
| rides | rides | number served users |
| rejections | rejections | number users - served |
| rejection_rate | rejectionRate | 100 % - % served |
| match_rate | 1 - rejectionRate | % served |
| wait_average_s | wait_average (waitAverage) | waiting time |
| wait_median_s | wait_median | waiting time (median) |
| wait_p95_s | wait_p95 | (quantiles) |
| wait_max_s | wait_max | |

Waits are over matched requests only (a rejected request has no wait). `zone_id` is a district
code, or `all` for the whole city; `period` is `interval` (15 minutes) or `day`.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.maas.matching import ALL_TAKEN, NO_VEHICLE

CITY = "all"


def _kpis(matches: DataFrame, keys: list) -> DataFrame:
    wait = F.col("estimated_wait_s")
    requests, rides = F.count("*"), F.sum(F.col("matched").cast("long"))
    return (
        matches.groupBy(*keys)
        .agg(
            requests.alias("requests"),
            rides.alias("rides"),
            F.sum((F.col("unmatched_reason") == NO_VEHICLE).cast("long")).alias("rejections_no_vehicle"),
            F.sum((F.col("unmatched_reason") == ALL_TAKEN).cast("long")).alias("rejections_all_taken"),
            F.avg(wait).alias("wait_average_s"),
            F.percentile(wait, 0.5).alias("wait_median_s"),
            F.percentile(wait, 0.95).alias("wait_p95_s"),
            F.max(wait).alias("wait_max_s"),
            F.avg("pickup_distance_m").alias("pickup_distance_average_m"),
        )
        .withColumns(
            {
                "rejections": F.col("requests") - F.col("rides"),
                "match_rate": F.col("rides") / F.col("requests"),
                "rejection_rate": (F.col("requests") - F.col("rides")) / F.col("requests"),
            }
        )
    )


def build_kpis(matches: DataFrame, day_start) -> DataFrame:
    """request_vehicle_match rows -> KPIs per (period, period_start, zone_id).

    `day_start` is the UTC start of the service day, the period_start of the `day` rows.
    """
    day = F.lit(day_start).cast("timestamp")
    per_zone = matches.withColumn("period_start", F.col("interval_start"))
    city = matches.withColumn("zone_id", F.lit(CITY)).withColumn("period_start", F.col("interval_start"))
    parts = [
        _kpis(per_zone, ["zone_id", "period_start"]).withColumn("period", F.lit("interval")),
        _kpis(city, ["zone_id", "period_start"]).withColumn("period", F.lit("interval")),
        _kpis(per_zone.withColumn("period_start", day), ["zone_id", "period_start"]).withColumn(
            "period", F.lit("day")
        ),
        _kpis(city.withColumn("period_start", day), ["zone_id", "period_start"]).withColumn(
            "period", F.lit("day")
        ),
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out
