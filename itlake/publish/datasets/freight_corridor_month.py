"""Monthly freight flows between cities, by cargo class and mode, from gold.freight_corridor_flow.

The gold table carries no shipper, consignee, plate or waybill number, only counts and sums per
month x origin city x destination city x cargo class x mode. A cell of a few waybills could still
reveal one shipper's business on a corridor, so cells with fewer than k waybills are withheld and
counted. The whole series up to the logical date's month is released each time (a snapshot).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

K_COLUMN = "shipments"
PRIVACY = {
    "en": "Waybills are aggregated per month, city pair, cargo class and mode; no shipper, consignee, "
    "vehicle or waybill identifier is released.",
    "zh": "运单按月份、城市对、货物类别与运输方式汇总；不发布托运人、收货人、车辆与运单标识。",
}


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import conform, read_lake_table

    return (
        read_lake_table(spark, "freight_corridor_flow")
        .where(F.col("month") <= F.trunc(F.lit(day), "month"))
        .transform(conform("freight_corridor_month"))
    )
