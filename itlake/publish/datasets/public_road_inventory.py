"""The public infrastructure inventory: the public road layer (silver.road_network) by district.

Each road link keeps its class, lanes, speed limit, length and line geometry, the layer any map
shows, and gains the district of its midpoint. Nothing from bridges, tunnels or other critical
structures is joined in: their generalised inventory is a dataset of its own.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

K_COLUMN = None
PRIVACY = {
    "en": "No personal data: road links of the public road layer only.",
    "zh": "不含个人信息：仅公开道路图层的路段。",
}


def with_district(roads):
    """pandas: road links with `zone_id`, the district holding the midpoint of each line."""
    import shapely

    from itlake.geo.zones import assign_zone

    lines = shapely.from_wkb(roads["geometry"].to_numpy())
    midpoints = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    return roads.assign(zone_id=assign_zone(shapely.get_x(midpoints), shapely.get_y(midpoints)))


def build(spark, day) -> DataFrame:
    from itlake.catalog.contracts import load_contract
    from itlake.lake.tables import read_lake_table

    columns = ["road_id", "name", "road_class", "lanes", "speed_limit_kmh", "length_m", "geometry"]
    roads = with_district(read_lake_table(spark, "road_network").select(*columns).toPandas())
    schema = load_contract("public_road_inventory").spark_schema()
    return spark.createDataFrame(roads[schema.fieldNames()], schema)
