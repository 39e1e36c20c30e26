"""Port cargo and container throughput by port and month, from silver.port_throughput.

The whole series is released each time (a snapshot): a late or corrected month replaces its rows,
and the release changes only when a figure does.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

K_COLUMN = None
PRIVACY = {
    "en": "No personal data: official port statistics per port, month, direction and trade.",
    "zh": "不含个人信息：按港口、月份、进出港与内外贸的港口统计。",
}


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import conform, read_lake_table

    # Months after the logical date's month are not known yet on that date (a rerun of the past).
    return (
        read_lake_table(spark, "port_throughput")
        .where(F.col("month") <= F.trunc(F.lit(day), "month"))
        .transform(conform("port_throughput_month"))
    )
