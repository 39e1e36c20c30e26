"""Public NEV charging stations, from silver.nev_charging_station.

Each station keeps its operator, district, connectors, power, opening hours and WGS-84 position
with a point geometry; the coordinates as received and their CRS stay in the lake for audit.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

K_COLUMN = None
PRIVACY = {
    "en": "No personal data: public charging sites and their equipment.",
    "zh": "不含个人信息：公共充电站及其设备。",
}


def build(spark, day) -> DataFrame:
    from itlake.lake.tables import conform, read_lake_table

    return read_lake_table(spark, "nev_charging_station").transform(conform("public_charging_stations"))
