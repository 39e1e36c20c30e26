"""Road network lines from GeoJSON or a GeoPackage layer (any line layer GDAL reads).

Bronze keeps each feature's properties as text and its geometry as received (WKB) with `src_crs`.
Silver checks every geometry with shapely (a LineString, or a MultiLineString whose parts join into
one; `is_valid`; `is_simple`), stores it as WKB in WGS-84 and measures `length_m` in the local UTM
zone, not in degrees. A feature that fails is quarantined with the rule, its feature number and
road_id, e.g. "self_intersecting: feature 4 (road_id=R4) fails shapely is_simple: ...".
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds._geometry import conform_geometry, read_vector
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, first_error, select_contract

PROPERTIES = ["road_id", "name", "road_class", "lanes", "speed_limit_kmh"]


class RoadNetworkFeed:
    name = "road_network"
    contracts = ("road_network",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        return {"road_network": read_vector(path, ctx, PROPERTIES)}

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract

        contract = load_contract(contract_name)
        typed = cast_sourced_columns(bronze, contract, timezone=ctx.timezone).transform(
            conform_geometry("LineString", id_column="road_id")
        )
        typed = typed.withColumn("_parse_error", first_error(F.col("_parse_error"), F.col("_geometry_error")))
        return select_contract(typed, contract)


FEED = RoadNetworkFeed()
