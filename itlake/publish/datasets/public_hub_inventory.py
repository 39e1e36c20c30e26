"""Public inventory of stations, hubs and ports, from silver.transport_hub.

Each railway or metro station, bus terminal, coach station, airport, port area and logistics hub
keeps its type, district, opening date and WGS-84 position with a point geometry; the coordinates
as received stay in the lake for audit.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

K_COLUMN = None
PRIVACY = {
    "en": "No personal data: public transport facilities.",
    "zh": "不含个人信息：公共交通设施。",
}


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import conform, read_lake_table

    return read_lake_table(spark, "transport_hub").transform(conform("public_hub_inventory"))
