"""Distances: great-circle (haversine) in numpy and as a Spark Column, and lengths in UTM metres.

The haversine uses the mean Earth radius R1 = 6,371,008.8 m (IUGG); on the sphere its error against
the ellipsoid is below 0.5 %, which is fine for trip distances and speed checks. For line lengths
(road links, GPS traces) `length_m` projects to the local UTM zone instead.

pyspark and geopandas are imported inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import geopandas
    from pyspark.sql import Column

__all__ = ["EARTH_RADIUS_M", "haversine_m", "haversine_m_col", "length_m", "utm_crs_for"]

EARTH_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres between (lon1, lat1) and (lon2, lat2), in degrees.

    Accepts scalars or numpy arrays (broadcast); NaN in gives NaN out.
    """
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    # Clip guards asin against h a hair above 1 from rounding (antipodal points).
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def haversine_m_col(lon1, lat1, lon2, lat2) -> Column:
    """The same haversine as a Spark Column built from SQL functions (no UDF).

    Each argument is a column name or a Column. Null in any coordinate gives null.
    """
    from pyspark.sql import functions as F

    def rad(c):
        return F.radians(F.col(c) if isinstance(c, str) else c)

    phi1, phi2 = rad(lat1), rad(lat2)
    dphi = phi2 - phi1
    dlmb = rad(lon2) - rad(lon1)
    h = F.pow(F.sin(dphi / 2.0), 2) + F.cos(phi1) * F.cos(phi2) * F.pow(F.sin(dlmb / 2.0), 2)
    h = F.least(F.greatest(h, F.lit(0.0)), F.lit(1.0))
    return F.lit(2.0 * EARTH_RADIUS_M) * F.asin(F.sqrt(h))


def utm_crs_for(lon: float, lat: float) -> str:
    """The EPSG code of the WGS-84 UTM zone containing (lon, lat), e.g. Shenzhen -> "EPSG:32649".

    Uses the regular 6-degree grid (zones 1-60, 326xx north / 327xx south of the equator); the
    Norway and Svalbard exceptions are ignored, which only matters in those places.
    """
    lon = float(lon)
    lat = float(lat)
    if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90.0:
        raise ValueError(f"not a WGS-84 position: lon={lon}, lat={lat}")
    lon = (lon + 180.0) % 360.0 - 180.0
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0.0 else 32700 + zone}"


def length_m(geometries: geopandas.GeoSeries) -> np.ndarray:
    """Lengths in metres of (multi)lines, each measured in the UTM zone of its own centre.

    Geometries without a CRS are taken to be WGS-84 (EPSG:4326). Geometries are grouped by zone
    so a series spanning several zones is still measured locally; empty or missing geometries
    give NaN. Polygons give their perimeter (shapely's `length`).
    """
    import geopandas as gpd

    series = gpd.GeoSeries(geometries)
    if series.crs is None:
        series = series.set_crs("EPSG:4326")
    elif not series.crs.is_geographic:
        # Already projected: assume metres, as every projected CRS used in the lake is.
        return series.length.to_numpy(dtype=np.float64)
    series = series.to_crs("EPSG:4326") if series.crs.to_epsg() != 4326 else series

    out = np.full(len(series), np.nan)
    bounds = series.bounds.to_numpy()
    cx = (bounds[:, 0] + bounds[:, 2]) / 2.0
    cy = (bounds[:, 1] + bounds[:, 3]) / 2.0
    present = np.isfinite(cx) & np.isfinite(cy)
    # The same zone rule as utm_crs_for, vectorised: EPSG 326zz north, 327zz south.
    wrapped = (np.where(present, cx, 0.0) + 180.0) % 360.0
    zone = np.minimum((wrapped // 6.0).astype(np.int64) + 1, 60)
    epsg = np.where(np.where(present, cy, 0.0) >= 0.0, 32600, 32700) + zone
    for code in np.unique(epsg[present]):
        idx = np.flatnonzero(present & (epsg == code))
        out[idx] = series.iloc[idx].to_crs(f"EPSG:{code}").length.to_numpy(dtype=np.float64)
    return out
