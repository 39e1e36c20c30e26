"""Point -> zone assignment: `itlake.geo.zones.assign_zone` against `geopandas.sjoin`.

Both start from the same lon/lat arrays and the same district polygons, and both must give each
point the same zone (a point in no zone gets none); the time of each includes everything from
the arrays to one zone id per point (sjoin builds a Point per row first). Points are uniform over
the districts' bounding box, so about half fall in the sea or outside the city. Scale 1 is two
million points.
"""

from __future__ import annotations

from bench.common import median_time, result, timed

GOAL = ">= 1.0"
POINTS_AT_SCALE_1 = 2_000_000


def run(scale: float) -> list[dict]:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from itlake.geo.zones import assign_zone, load_zones

    zones = load_zones()
    n = max(10_000, round(POINTS_AT_SCALE_1 * scale))
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = zones.total_bounds
    lon, lat = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)

    def itlake_zones():
        return assign_zone(lon, lat, zones)

    def sjoin_zones():
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        joined = gpd.sjoin(points, zones[["zone_id", "geometry"]], predicate="within", how="left")
        # A point on two polygons would appear twice; keep its first zone as assign_zone does.
        return joined[~joined.index.duplicated()]["zone_id"].to_numpy(dtype=object)

    # The first run of each warms it up (imports, prepared geometries) and gives the answers compared.
    _, ours = timed(itlake_zones)
    theirs = sjoin_zones()
    same = pd.Series(ours).fillna("").to_numpy() == pd.Series(theirs).fillna("").to_numpy()
    itlake_s = median_time(itlake_zones, 3)
    sjoin_s = median_time(sjoin_zones, 3)
    inside = int(pd.notna(pd.Series(ours)).sum())
    return [
        result(
            "zones: point -> zone assignment",
            n / itlake_s,
            "points/s",
            n / sjoin_s,
            sjoin_s / itlake_s,
            GOAL,
            f"{n:,} points ({inside:,} in a zone), median of 3: assign_zone {itlake_s:.2f} s, "
            f"geopandas sjoin {sjoin_s:.2f} s; same zone for {same.mean():.2%} of points",
        )
    ]
