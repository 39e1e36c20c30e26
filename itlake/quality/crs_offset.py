"""Is a batch of positions declared WGS-84 really GCJ-02? A check against the road network.

GCJ-02 shifts positions in China by a few hundred metres, so vehicles recorded in GCJ-02 but
declared WGS-84 drive beside the roads rather than on them. The check measures the median distance
from the batch's positions to the nearest road of `silver.road_network`, as declared and after the
GCJ-02 -> WGS-84 conversion (itlake.geo.crs); when the conversion brings the positions markedly
closer (the median shrinks to under half and by more than MIN_GAIN_M), the declaration is suspect.

    result = check_declared_crs(spark, "taxi_gps", batch_id)
    result.verdict   # "gcj02_suspected", "consistent" or "undetected"
    result.detail    # "median distance to the nearest road 512 m as declared, 3 m as GCJ-02"

Without a road network, or with positions too far from every road to say (over MAX_NEAR_M even
after conversion), the verdict is "undetected" and `detail` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The conversion must at least halve the median and win this many metres (GCJ-02 shifts 100-700 m).
MIN_GAIN_M = 50.0
# Positions whose converted median distance is beyond this are too far from the network to judge.
MAX_NEAR_M = 150.0


@dataclass(frozen=True)
class CrsOffset:
    verdict: str
    detail: str
    median_declared_m: float | None = None
    median_as_gcj02_m: float | None = None


def median_road_distance_m(lon, lat, road_wkb: list[bytes]) -> float:
    """Median distance in metres from WGS-84 points to the nearest of the roads (WKB, WGS-84)."""
    import geopandas as gpd
    import shapely

    from itlake.geo.distance import utm_crs_for

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    utm = utm_crs_for(float(np.median(lon)), float(np.median(lat)))
    roads = gpd.GeoSeries(shapely.from_wkb(road_wkb), crs="EPSG:4326").to_crs(utm)
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(utm)
    tree = shapely.STRtree(roads.values)
    _, distances = tree.query_nearest(points.values, return_distance=True, all_matches=False)
    return float(np.median(distances))


def compare_with_roads(lon, lat, road_wkb: list[bytes]) -> CrsOffset:
    """The verdict for points declared WGS-84, given the road lines (WKB, WGS-84)."""
    from itlake.geo.crs import gcj02_to_wgs84

    if len(lon) == 0:
        return CrsOffset("undetected", "no positions to check")
    if not road_wkb:
        return CrsOffset("undetected", "no road network in the lake to compare the positions with")
    declared = median_road_distance_m(lon, lat, road_wkb)
    converted = median_road_distance_m(*gcj02_to_wgs84(lon, lat), road_wkb)
    detail = (
        f"median distance to the nearest road {declared:.0f} m as declared, "
        f"{converted:.0f} m if the positions are GCJ-02"
    )
    if min(declared, converted) > MAX_NEAR_M:
        return CrsOffset(
            "undetected", f"{detail}: too far from the road network to judge", declared, converted
        )
    if converted < declared / 2 and declared - converted > MIN_GAIN_M:
        return CrsOffset("gcj02_suspected", detail, declared, converted)
    return CrsOffset("consistent", detail, declared, converted)


def check_declared_crs(spark: SparkSession, contract_name: str, batch_id: str) -> CrsOffset:
    """The verdict for the positions (`lon`, `lat`) one batch promoted into `contract_name`."""
    from pyspark.sql import functions as F

    from itlake.catalog.contracts import load_contract
    from itlake.lake.delta import table_exists
    from itlake.lake.paths import table_path
    from itlake.lake.tables import read_lake_table

    points = (
        read_lake_table(spark, contract_name)
        .where(F.col("_batch_id") == batch_id)
        .select("lon", "lat")
        .toPandas()
    )
    roads_path = table_path(load_contract("road_network").layer, "road_network")
    roads = (
        [bytes(r.geometry) for r in read_lake_table(spark, "road_network").select("geometry").collect()]
        if table_exists(spark, roads_path)
        else []
    )
    return compare_with_roads(points["lon"].to_numpy(), points["lat"].to_numpy(), roads)
