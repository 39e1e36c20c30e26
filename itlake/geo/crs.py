"""Chinese coordinate systems: WGS-84 ⇄ GCJ-02 ⇄ BD-09, vectorised with numpy.

GCJ-02 ("Mars coordinates") is the obfuscated datum that Chinese law requires of published maps;
Gaode/AMap, Tencent and most Chinese apps report positions in it. BD-09 is Baidu's further
shift of GCJ-02. Silver tables are always WGS-84, so every feed in GCJ-02 or BD-09 is converted
here (the original coordinates and CRS are kept by the caller for audit).

The forward GCJ-02 formula is the published one: an offset made of the "transformLat" and
"transformLon" polynomials in (lon - 105, lat - 35), scaled to degrees on the Krasovsky 1940
ellipsoid. It has no closed-form inverse; `gcj02_to_wgs84` solves f(w) = g by fixed-point
iteration, w <- w - (f(w) - g), which converges to ~1e-9 degree in a few steps because the offset
varies slowly with position. The common one-step inverse (w = 2g - f(g)) is off by metres.

Points outside the usual rough bounding box of China pass through every function unchanged,
as the published reference implementations do. NaN coordinates stay NaN.

Only numpy is imported at module level; `to_wgs84_columns` imports pyspark when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import DataFrame

__all__ = [
    "CRS_NAMES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "to_wgs84_by_crs_column",
    "to_wgs84_columns",
    "to_wgs84_mixed",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, which the GCJ-02 formula uses.
KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared
# BD-09 constant: pi * 3000 / 180.
X_PI = np.pi * 3000.0 / 180.0
# Rough bounding box of China used by every published GCJ-02 implementation.
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)

# Iterative inverses stop when no coordinate moves by this much (degrees, ~1 cm).
INVERSE_TOLERANCE_DEG = 1e-7
INVERSE_MAX_ITER = 30

CRS_NAMES = ("WGS-84", "GCJ-02", "BD-09")

Array = np.ndarray


def _as_float(lon, lat) -> tuple[Array, Array]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    return lon_a, lat_a


def _result(lon: Array, lat: Array):
    # 0-d arrays come back as numpy scalars, so scalar in gives scalar out.
    return lon[()], lat[()]


def out_of_china(lon, lat) -> Array:
    """True where a point lies outside China's rough bounding box (these are never shifted)."""
    lon_a, lat_a = _as_float(lon, lat)
    return (lon_a < CHINA_LON[0]) | (lon_a > CHINA_LON[1]) | (lat_a < CHINA_LAT[0]) | (lat_a > CHINA_LAT[1])


def _shiftable(lon: Array, lat: Array) -> Array:
    """Finite points inside the box: the ones the transforms act on."""
    return np.isfinite(lon) & np.isfinite(lat) & ~out_of_china(lon, lat)


def _transform_lat(x: Array, y: Array) -> Array:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: Array, y: Array) -> Array:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: Array, lat: Array) -> tuple[Array, Array]:
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS-84 point, without the China test."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = _transform_lat(x, y)
    dlon = _transform_lon(x, y)
    rad_lat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _bd_forward(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 -> BD-09 without the China test."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_inverse_approx(lon: Array, lat: Array) -> tuple[Array, Array]:
    """The published one-step BD-09 -> GCJ-02 (good to a few centimetres)."""
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[Array, Array], tuple[Array, Array]],
    lon: Array,
    lat: Array,
    guess_lon: Array,
    guess_lat: Array,
) -> tuple[Array, Array]:
    """Solve forward(w) = (lon, lat) for w by fixed-point iteration from a first guess.

    Only the points that have not converged are recomputed in each round.
    """
    w_lon = guess_lon.copy()
    w_lat = guess_lat.copy()
    todo = np.arange(lon.size)
    for _ in range(INVERSE_MAX_ITER):
        f_lon, f_lat = forward(w_lon[todo], w_lat[todo])
        step_lon = f_lon - lon[todo]
        step_lat = f_lat - lat[todo]
        w_lon[todo] -= step_lon
        w_lat[todo] -= step_lat
        moving = (np.abs(step_lon) >= INVERSE_TOLERANCE_DEG) | (np.abs(step_lat) >= INVERSE_TOLERANCE_DEG)
        todo = todo[moving]
        if todo.size == 0:
            break
    return w_lon, w_lat


def _apply(lon, lat, fn: Callable[[Array, Array], tuple[Array, Array]]):
    """Apply fn to the shiftable points; everything else passes through."""
    lon_a, lat_a = _as_float(lon, lat)
    out_lon = np.array(lon_a, dtype=np.float64, copy=True)
    out_lat = np.array(lat_a, dtype=np.float64, copy=True)
    mask = _shiftable(lon_a, lat_a)
    if mask.any():
        new_lon, new_lat = fn(lon_a[mask], lat_a[mask])
        out_lon[mask] = new_lon
        out_lat[mask] = new_lat
    return _result(out_lon, out_lat)


def _wgs_to_gcj(lon: Array, lat: Array) -> tuple[Array, Array]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_wgs(lon: Array, lat: Array) -> tuple[Array, Array]:
    dlon, dlat = _gcj_offset(lon, lat)
    # The one-step approximation is the starting point; iteration removes its metres of error.
    return _invert(_wgs_to_gcj, lon, lat, lon - dlon, lat - dlat)


def _bd_to_gcj(lon: Array, lat: Array) -> tuple[Array, Array]:
    g_lon, g_lat = _bd_inverse_approx(lon, lat)
    return _invert(_bd_forward, lon, lat, g_lon, g_lat)


def wgs84_to_gcj02(lon, lat):
    """WGS-84 -> GCJ-02 (published forward formula). Returns (lon, lat)."""
    return _apply(lon, lat, _wgs_to_gcj)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 -> WGS-84 by iterating the forward formula until the step is < 1e-7 degree."""
    return _apply(lon, lat, _gcj_to_wgs)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu). Returns (lon, lat)."""
    return _apply(lon, lat, _bd_forward)


def bd09_to_gcj02(lon, lat):
    """BD-09 -> GCJ-02: the published one-step inverse refined by iteration."""
    return _apply(lon, lat, _bd_to_gcj)


def wgs84_to_bd09(lon, lat):
    """WGS-84 -> GCJ-02 -> BD-09."""
    return _apply(lon, lat, lambda x, y: _bd_forward(*_wgs_to_gcj(x, y)))


def bd09_to_wgs84(lon, lat):
    """BD-09 -> GCJ-02 -> WGS-84 (both steps iterated)."""
    return _apply(lon, lat, lambda x, y: _gcj_to_wgs(*_bd_to_gcj(x, y)))


def _normalise_crs(crs: str) -> str:
    key = crs.strip().upper().replace("_", "-")
    aliases = {
        "WGS-84": "WGS-84",
        "WGS84": "WGS-84",
        "EPSG:4326": "WGS-84",
        "GCJ-02": "GCJ-02",
        "GCJ02": "GCJ-02",
        "BD-09": "BD-09",
        "BD09": "BD-09",
    }
    try:
        return aliases[key]
    except KeyError:
        raise ValueError(
            f"unknown coordinate system {crs!r}: expected one of {', '.join(CRS_NAMES)}"
        ) from None


def to_wgs84(lon, lat, crs: str):
    """Convert coordinates given in `crs` ("WGS-84", "GCJ-02" or "BD-09") to WGS-84.

    WGS-84 input is returned as float arrays unchanged. Raises ValueError on an unknown name.
    """
    name = _normalise_crs(crs)
    if name == "GCJ-02":
        return gcj02_to_wgs84(lon, lat)
    if name == "BD-09":
        return bd09_to_wgs84(lon, lat)
    return _result(*_as_float(lon, lat))


def _to_wgs84_frame(lon, lat, crs: str):
    """pandas body of the Spark UDF: two Series in, a (lon, lat) DataFrame out; nulls stay null."""
    import pandas as pd

    x, y = to_wgs84(
        lon.to_numpy(dtype=np.float64, na_value=np.nan), lat.to_numpy(dtype=np.float64, na_value=np.nan), crs
    )
    return pd.DataFrame({"lon": np.atleast_1d(x), "lat": np.atleast_1d(y)})


def to_wgs84_columns(lon_col: str, lat_col: str, crs: str) -> Callable[[DataFrame], DataFrame]:
    """A curried Spark transform replacing `lon_col`/`lat_col` by their WGS-84 values.

    Use as `df.transform(to_wgs84_columns("lon", "lat", "GCJ-02"))`. A no-op for WGS-84.
    The columns come back as double; a null in either coordinate gives nulls in both.
    """
    name = _normalise_crs(crs)

    def transform(df: DataFrame) -> DataFrame:
        if name == "WGS-84":
            return df
        from pyspark.sql import functions as F

        # A thin closure over the module-level body: workers import itlake.geo.crs for the math.
        def convert(lon, lat):
            return _to_wgs84_frame(lon, lat, name)

        udf = F.pandas_udf(convert, "lon double, lat double")
        tmp = "__itlake_wgs84"
        while tmp in df.columns:
            tmp += "_"
        converted = df.withColumn(tmp, udf(F.col(lon_col).cast("double"), F.col(lat_col).cast("double")))
        return converted.withColumns({lon_col: F.col(f"{tmp}.lon"), lat_col: F.col(f"{tmp}.lat")}).drop(tmp)

    return transform


def to_wgs84_mixed(lon, lat, crs) -> tuple[Array, Array]:
    """Convert points each declared in its own system (`crs`, one name per point) to WGS-84.

    Feeds such as ride-hailing orders flag the system row by row. A point whose system is missing
    (None) comes back as NaN; an unknown name raises ValueError.
    """
    lon_a, lat_a = _as_float(lon, lat)
    names = np.asarray(crs, dtype=object)
    out_lon = np.full(lon_a.shape, np.nan)
    out_lat = np.full(lat_a.shape, np.nan)
    for name in {n for n in names.tolist() if n is not None}:
        mask = names == name
        x, y = to_wgs84(lon_a[mask], lat_a[mask], name)
        out_lon[mask] = x
        out_lat[mask] = y
    return out_lon, out_lat


def _to_wgs84_mixed_frame(lon, lat, crs):
    """pandas body of the per-row Spark UDF; nulls (or a null system) give nulls."""
    import pandas as pd

    x, y = to_wgs84_mixed(
        lon.to_numpy(dtype=np.float64, na_value=np.nan),
        lat.to_numpy(dtype=np.float64, na_value=np.nan),
        crs.astype(object).where(crs.notna(), None).to_numpy(),
    )
    return pd.DataFrame({"lon": x, "lat": y})


def to_wgs84_by_crs_column(
    lon_col: str, lat_col: str, crs_col: str, out_lon: str, out_lat: str
) -> Callable[[DataFrame], DataFrame]:
    """A curried Spark transform adding `out_lon`/`out_lat` in WGS-84 from points whose system is
    named row by row in `crs_col` ("WGS-84", "GCJ-02", "BD-09"; null gives null).

    Use as `df.transform(to_wgs84_by_crs_column("src_lon", "src_lat", "src_crs", "lon", "lat"))`.
    """

    def transform(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        udf = F.pandas_udf(_to_wgs84_mixed_frame, "lon double, lat double")
        tmp = "__itlake_wgs84"
        while tmp in df.columns:
            tmp += "_"
        converted = df.withColumn(
            tmp, udf(F.col(lon_col).cast("double"), F.col(lat_col).cast("double"), F.col(crs_col))
        )
        return converted.withColumns({out_lon: F.col(f"{tmp}.lon"), out_lat: F.col(f"{tmp}.lat")}).drop(tmp)

    return transform
