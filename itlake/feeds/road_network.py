"""Road network lines from GeoJSON or a GeoPackage layer (any line layer GDAL reads).

Bronze keeps each feature's properties as text and its geometry as received (WKB) with `src_crs`.
Silver checks every geometry with shapely (a LineString, or a MultiLineString whose parts join into
one; `is_valid`; `is_simple`), stores it as WKB in WGS-84 and measures `length_m` in the local UTM
zone, not in degrees. A feature that fails is quarantined with the rule, its feature number and
road_id, e.g. "self_intersecting: feature 4 (road_id=R4) fails shapely is_simple: ...".
"""

from __future__ import annotations

from itlake.feeds._geometry import checked_geometry_feed

PROPERTIES = ["road_id", "name", "road_class", "lanes", "speed_limit_kmh"]

FEED = checked_geometry_feed("road_network", PROPERTIES, "LineString", id_column="road_id")
