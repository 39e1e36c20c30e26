"""Traffic zones of the demo city (Shenzhen's districts) and point-to-zone assignment.

Zones are identified by their GB/T 2260 administrative division code, the same code freight
waybills carry for origin and destination, so trips, waybills and published aggregates join on it.
The polygons ship with the package (itlake/data/shenzhen_districts.geojson, WGS-84; see
itlake/data/ATTRIBUTION.md).

Point-in-polygon runs on shapely 2's vectorised `contains_xy` against each prepared polygon after
a bounding-box prefilter. On 1M random points over Shenzhen's bounding box this measured about
3M points/s, ten times `geopandas.sjoin(predicate="within")` and thirty times
`STRtree.query(points, predicate="within")`, which both build a shapely Point per row first.
A point exactly on a boundary is in no zone (`contains`, not `intersects`).

geopandas and pyspark are imported lazily: this module is importable from Airflow DAG files.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas
    from pyspark.sql import DataFrame

__all__ = ["DISTRICT_CODES", "assign_zone", "load_zones", "with_zone", "zone_names"]

# District name as in the GeoJSON property `qh` (without 区) -> GB/T 2260 code.
# 大鹏新区 is a functional area (功能区) under 龙岗区, not an administrative district, so GB/T 2260
# gives it no code. 440312, the next free code under 4403, is used here so that it is a zone of
# its own; a national feed (e.g. a waybill) that says 440307 may mean a place inside 大鹏.
DISTRICT_CODES: dict[str, str] = {
    "罗湖": "440303",
    "福田": "440304",
    "南山": "440305",
    "宝安": "440306",
    "龙岗": "440307",
    "盐田": "440308",
    "龙华": "440309",
    "坪山": "440310",
    "光明": "440311",
    "大鹏": "440312",
}
# Full names where "name + 区" is wrong.
_FULL_NAMES = {"大鹏": "大鹏新区"}


def _full_name(short: str) -> str:
    return _FULL_NAMES.get(short, f"{short}区")


ZONES_FILE = "shenzhen_districts.geojson"


class _PreparedZones(NamedTuple):
    """Zone ids, prepared polygons and their bounding boxes, ready for `contains_xy`."""

    ids: np.ndarray  # object array of str
    polygons: np.ndarray  # shapely geometries, prepared
    bounds: np.ndarray  # (n, 4) minx, miny, maxx, maxy


@lru_cache(maxsize=1)
def _load_zones_cached() -> geopandas.GeoDataFrame:
    import geopandas as gpd

    path = files("itlake") / "data" / ZONES_FILE
    raw = gpd.read_file(str(path))
    unknown = sorted(set(raw["qh"]) - set(DISTRICT_CODES))
    if unknown:
        raise ValueError(f"{ZONES_FILE}: districts without a code in DISTRICT_CODES: {unknown}")
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [DISTRICT_CODES[name] for name in raw["qh"]],
            "zone_name": [_full_name(name) for name in raw["qh"]],
        },
        geometry=raw.geometry.values,
        crs=raw.crs or "EPSG:4326",
    )
    if zones.crs.to_epsg() != 4326:
        zones = zones.to_crs("EPSG:4326")
    return zones.sort_values("zone_id", ignore_index=True)


def load_zones() -> geopandas.GeoDataFrame:
    """The zones: `zone_id` (GB/T 2260 code), `zone_name` (e.g. 福田区), `geometry` (EPSG:4326).

    Read once per process; each call returns a copy, so callers may modify it freely.
    """
    return _load_zones_cached().copy()


def zone_names() -> dict[str, str]:
    """zone_id -> zone_name, e.g. {"440304": "福田区", ...}."""
    return {code: _full_name(short) for short, code in sorted(DISTRICT_CODES.items(), key=lambda kv: kv[1])}


def _prepare(zones: geopandas.GeoDataFrame) -> _PreparedZones:
    import shapely

    if zones.crs is not None and zones.crs.to_epsg() != 4326:
        zones = zones.to_crs("EPSG:4326")
    polygons = np.array(zones.geometry.values, dtype=object)
    # Copies, so preparing them does not touch the caller's geometries.
    polygons = shapely.from_wkb(shapely.to_wkb(polygons))
    shapely.prepare(polygons)
    return _PreparedZones(
        ids=np.asarray(zones["zone_id"].astype(str), dtype=object),
        polygons=polygons,
        bounds=shapely.bounds(polygons),
    )


@lru_cache(maxsize=1)
def _default_prepared() -> _PreparedZones:
    # Module-level cache: in a Spark Python worker this runs once, on the first batch.
    return _prepare(_load_zones_cached())


def assign_zone(lon, lat, zones: geopandas.GeoDataFrame | None = None) -> np.ndarray:
    """The zone_id containing each (lon, lat) point (WGS-84 degrees), or None outside every zone.

    `lon`/`lat` are array-likes of equal length; NaN gives None. `zones` defaults to
    `load_zones()`; any GeoDataFrame with `zone_id` and polygon geometries works. Where zones
    overlap, the first in the frame's order wins. Returns an object array of str / None.
    """
    import shapely

    x = np.asarray(lon, dtype=np.float64).ravel()
    y = np.asarray(lat, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in length: {x.size} != {y.size}")
    prepared = _default_prepared() if zones is None else _prepare(zones)

    hit = np.full(x.size, -1, dtype=np.int64)
    for k, (polygon, (minx, miny, maxx, maxy)) in enumerate(
        zip(prepared.polygons, prepared.bounds, strict=True)
    ):
        candidates = np.flatnonzero((hit < 0) & (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
        if candidates.size:
            inside = shapely.contains_xy(polygon, x[candidates], y[candidates])
            hit[candidates[inside]] = k

    out = np.full(x.size, None, dtype=object)
    found = hit >= 0
    out[found] = prepared.ids[hit[found]]
    return out


def _zone_series(lon, lat):
    """pandas body of the Spark UDF: two float Series in, a Series of zone_id / None out.

    Module-level, so workers import it (and keep `_default_prepared`'s cache) instead of
    unpickling a copy per task. No type hints: they would have to name pandas at import time,
    and without them `pandas_udf` makes a scalar pandas UDF, which is what this is.
    """
    import pandas as pd

    ids = assign_zone(
        lon.to_numpy(dtype=np.float64, na_value=np.nan),
        lat.to_numpy(dtype=np.float64, na_value=np.nan),
    )
    return pd.Series(ids, index=lon.index, dtype=object)


def with_zone(lon_col: str, lat_col: str, out_col: str) -> Callable[[DataFrame], DataFrame]:
    """A curried Spark transform adding `out_col` (string zone_id, null outside every zone).

    `df.transform(with_zone("pickup_lon", "pickup_lat", "pickup_zone_id"))`. Coordinates must
    already be WGS-84 (see `itlake.geo.crs.to_wgs84_columns`). The zone polygons are not shipped
    with the task: each Python worker loads them from the installed package once.
    """

    def transform(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        udf = F.pandas_udf(_zone_series, "string")
        return df.withColumn(out_col, udf(F.col(lon_col).cast("double"), F.col(lat_col).cast("double")))

    return transform
