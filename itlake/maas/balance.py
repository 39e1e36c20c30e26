"""balance_zone_interval: demand against supply per zone x interval x service, and the gaps.

Each demand mode is served by one kind of supply:

| service | demand (modes) | supply |
|---|---|---|
| car | ride_hailing requests + taxi pickups | idle taxis (each serves about one trip in 15 min) |
| bike | bike departures | bikes available |
| transit | boardings | seats of the departures |

Unmet demand is the demand beyond the supply, max(demand - supply, 0): an estimate, since a seat
or a bike may serve more than one trip in an interval and a rider may walk to the next zone. A
cell is a gap when its unmet demand reaches `gap_min_unmet` (settings).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

SERVICE_OF_MODE = {"ride_hailing": "car", "taxi": "car", "bike": "bike", "transit": "transit"}
SUPPLY_OF_SERVICE = {"car": "idle_taxis", "bike": "bikes_available", "transit": "transit_seats"}
CELL = ["zone_level", "zone_id", "interval_start"]


def build_balance(demand: DataFrame, supply: DataFrame, *, gap_min_unmet: int) -> DataFrame:
    """demand_zone_interval + supply_zone_interval -> one row per cell and service with either."""
    service = F.create_map(*[F.lit(v) for pair in SERVICE_OF_MODE.items() for v in pair])
    wanted = (
        demand.withColumn("service", service[F.col("mode")])
        .groupBy(*CELL, "service")
        .agg(F.sum("trips").alias("demand"))
    )
    offered = supply.select(
        *CELL,
        F.explode(
            F.array(
                *[
                    F.struct(F.lit(s).alias("service"), F.col(c).alias("supply"))
                    for s, c in SUPPLY_OF_SERVICE.items()
                ]
            )
        ).alias("_s"),
    ).select(*CELL, "_s.service", "_s.supply")
    d, s = F.col("demand"), F.col("supply")
    return (
        wanted.join(offered, [*CELL, "service"], "full")
        .fillna(0, ["demand", "supply"])
        .where((d > 0) | (s > 0))
        .withColumns(
            {
                "supply_demand_ratio": F.when(d > 0, s / d),
                "unmet_demand": F.greatest(d - s, F.lit(0)).cast("long"),
            }
        )
        .withColumn("is_gap", F.col("unmet_demand") >= F.lit(max(gap_min_unmet, 1)))
    )
