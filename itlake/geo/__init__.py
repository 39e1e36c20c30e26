"""Geography for the lake: coordinate systems, zones and distances.

- `crs`: WGS-84 ⇄ GCJ-02 ⇄ BD-09 (numpy) and a Spark transform to WGS-84;
- `zones`: the demo city's zones (Shenzhen districts, GB/T 2260 codes), point-to-zone assignment
  in numpy and as a Spark transform;
- `distance`: haversine in numpy and as a Spark Column, UTM zones and line lengths in metres.

Importing this package loads numpy only; geopandas, shapely and pyspark are imported by the
functions that need them, so Airflow DAG files may import it at parse time.
"""

from __future__ import annotations

from itlake.geo.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    to_wgs84_columns,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from itlake.geo.distance import EARTH_RADIUS_M, haversine_m, haversine_m_col, length_m, utm_crs_for
from itlake.geo.zones import DISTRICT_CODES, assign_zone, load_zones, with_zone, zone_names

__all__ = [
    "DISTRICT_CODES",
    "EARTH_RADIUS_M",
    "assign_zone",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "haversine_m",
    "haversine_m_col",
    "length_m",
    "load_zones",
    "out_of_china",
    "to_wgs84",
    "to_wgs84_columns",
    "utm_crs_for",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "with_zone",
    "zone_names",
]
