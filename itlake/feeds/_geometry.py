"""Geometry of the infrastructure feeds: vector files read as received, checked and conformed in silver.

`read_vector` reads one GeoJSON file or GeoPackage layer with GDAL (pyogrio) into bronze columns:
every property as text, the geometry exactly as received (WKB, not parsed, so a broken one still
lands), and `src_crs`, the coordinate system of the coordinates. A file that states a projected or
national CRS (a GeoPackage in CGCS2000, EPSG:4490 or 4547) is taken at its word; a file that states
WGS-84 or nothing (GeoJSON always says WGS-84) is in the catalogue's declared system, because
Chinese GeoJSON is often GCJ-02 while claiming WGS-84.

`conform_geometry(expected, id_column)` is the silver step, a pandas UDF: it parses the WKB, checks
it with shapely (type, `is_valid` with `explain_validity`, `is_simple` for lines), converts it to
WGS-84 and derives `length_m` (lines, in the local UTM zone) or `lon`/`lat` (points). A geometry that
fails gets `_geometry_error`, a reason naming the rule, the feature number and its identifier, which
the feed folds into `_parse_error` so the ingest stage quarantines the row.

`with_point_geometry` builds WKB points from lon/lat columns, for the feeds that arrive as CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.csv_reader import check_encoding, read_file_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa
    from pyspark.sql import DataFrame

SQLITE_MAGIC = b"SQLite format 3\x00"
DECLARED_SYSTEMS = ("WGS-84", "GCJ-02", "BD-09")

CONFORMED_SCHEMA = (
    "geometry binary, length_m double, lon double, lat double, src_lon double, src_lat double, "
    "geometry_rule string, geometry_problem string"
)


def read_vector(path: Path, ctx: BatchContext, properties: list[str]) -> pa.Table:
    """One vector layer as bronze: `properties` as text, `geometry` (WKB as received), `src_crs`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyogrio

    data = read_file_bytes(path)
    is_geopackage = data.startswith(SQLITE_MAGIC)
    if not is_geopackage:
        # GeoJSON is text: a file in another encoding than declared is refused, naming the byte.
        check_encoding(data, ctx.encoding, ctx.source_file)
    layer = _single_layer(path, ctx) if is_geopackage else None
    try:
        meta, table = pyogrio.read_arrow(path, layer=layer, encoding=None if is_geopackage else ctx.encoding)
    except Exception as err:  # GDAL raises several types for unreadable files
        raise FeedError(f"{ctx.source_file}: not a readable vector file: {err}") from None
    missing = [p for p in properties if p not in table.column_names]
    if missing:
        raise FeedError(
            f"{ctx.source_file}: features lack the properties {missing} (found: {', '.join(meta['fields'])})"
        )
    n = table.num_rows
    columns = {p: pc.cast(table.column(p), pa.string()) for p in properties}
    geometry_name = meta["geometry_name"] or "wkb_geometry"
    columns["geometry"] = table.column(geometry_name).cast(pa.binary())
    columns["src_crs"] = pa.array([source_crs(meta["crs"], ctx)] * n, pa.string())
    columns["_row_number"] = pa.array(range(1, n + 1), pa.int64())
    columns["_raw_error"] = pa.nulls(n, pa.string())
    return pa.table(columns)


def _single_layer(path: Path, ctx: BatchContext) -> str:
    import pyogrio

    layers = [str(name) for name, geometry_type in pyogrio.list_layers(path) if geometry_type]
    if len(layers) != 1:
        raise FeedError(
            f"{ctx.source_file}: a GeoPackage with {len(layers)} geometry layers "
            f"({', '.join(layers) or 'none'}); one feed file holds one layer"
        )
    return layers[0]


def source_crs(file_crs: str | None, ctx: BatchContext) -> str:
    """The coordinate system of a file's coordinates: the catalogue's, or the file's own EPSG code."""
    import pyproj

    if not file_crs:
        return ctx.crs
    crs = pyproj.CRS.from_user_input(file_crs)
    if crs.equals(pyproj.CRS("OGC:CRS84"), ignore_axis_order=True):
        return ctx.crs
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is None:
        raise FeedError(f"{ctx.source_file}: the file's coordinate system {crs.name!r} has no EPSG code")
    return f"EPSG:{epsg}"


def to_wgs84_geometries(geometries: np.ndarray, crs: str) -> np.ndarray:
    """Shapely geometries in `crs` (a declared system or an EPSG code) converted to WGS-84."""
    import shapely

    from itlake.geo.crs import to_wgs84

    if crs == "WGS-84":
        return geometries
    if crs in DECLARED_SYSTEMS:

        def shift(xy: np.ndarray) -> np.ndarray:
            lon, lat = to_wgs84(xy[:, 0], xy[:, 1], crs)
            return np.column_stack([np.atleast_1d(lon), np.atleast_1d(lat)])

        return shapely.transform(geometries, shift)
    import pyproj

    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(
        geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def _crossing(line) -> tuple[float, float]:
    """A point where a non-simple line meets itself: a node of the noded line with more than two ends,
    or an end the line passes through again."""
    import shapely

    parts = shapely.get_parts(shapely.node(line))
    ends = [tuple(p.coords[k]) for p in parts for k in (0, -1)]
    first, last = tuple(line.coords[0]), tuple(line.coords[-1])
    for point in dict.fromkeys(ends):
        count = ends.count(point)
        if count > 2 or (point in (first, last) and count > 1 and first != last):
            return point
    return first


def check_geometry(geometry, expected: str) -> tuple[object | None, str | None, str | None]:
    """(geometry to keep, rule, problem): the rule and problem are None for a good geometry.

    A MultiLineString whose parts join into one line is kept as that LineString.
    """
    import shapely
    from shapely.validation import explain_validity

    if geometry is None or geometry.is_empty:
        return None, "missing_geometry", "has no geometry"
    kind = geometry.geom_type
    if expected == "LineString" and kind == "MultiLineString":
        merged = shapely.line_merge(geometry)
        if merged.geom_type != "LineString":
            parts = len(shapely.get_parts(merged))
            problem = f"is a MultiLineString of {parts} disconnected parts, not one LineString"
            return None, "geometry_type", problem
        geometry, kind = merged, "LineString"
    if kind != expected:
        return None, "geometry_type", f"is a {kind}, not a {expected}"
    if not geometry.is_valid:
        why = explain_validity(geometry)
        return None, "invalid_geometry", f"fails shapely is_valid: {why}"
    if expected == "LineString" and not geometry.is_simple:
        x, y = _crossing(geometry)
        problem = f"fails shapely is_simple: the line crosses itself at ({x:.6f} {y:.6f})"
        return None, "self_intersecting", problem
    return geometry, None, None


def conform_frame(wkb, crs, expected: str):
    """pandas body of the silver UDF: WKB and source CRS Series in, a CONFORMED_SCHEMA frame out."""
    import pandas as pd
    import shapely

    from itlake.geo.distance import length_m

    n = len(wkb)
    kept = np.full(n, None, dtype=object)
    rules = np.full(n, None, dtype=object)
    problems = np.full(n, None, dtype=object)
    for i, raw in enumerate(wkb):
        geometry = None
        if raw is not None:
            try:
                geometry = shapely.from_wkb(bytes(raw))
            except Exception as err:  # GEOS names the defect, e.g. a line of one point
                rules[i], problems[i] = "invalid_geometry", f"fails shapely.from_wkb: {err}"
                continue
        kept[i], rules[i], problems[i] = check_geometry(geometry, expected)
    kept = shapely.force_2d(kept)
    source = kept.copy()
    crs_values = np.asarray(crs, dtype=object)
    present = ~shapely.is_missing(kept)
    for name in set(crs_values[present].tolist()):
        rows = np.flatnonzero((crs_values == name) & present)
        kept[rows] = to_wgs84_geometries(kept[rows], name)
    out = pd.DataFrame(
        {
            "geometry": [None if g is None else bytes(shapely.to_wkb(g, byte_order=1)) for g in kept],
            "length_m": np.nan,
            "lon": shapely.get_x(kept) if expected == "Point" else np.nan,
            "lat": shapely.get_y(kept) if expected == "Point" else np.nan,
            "src_lon": shapely.get_x(source) if expected == "Point" else np.nan,
            "src_lat": shapely.get_y(source) if expected == "Point" else np.nan,
            "geometry_rule": rules,
            "geometry_problem": problems,
        }
    )
    if expected == "LineString":
        import geopandas as gpd

        out["length_m"] = length_m(gpd.GeoSeries(kept, crs="EPSG:4326"))
    return out


def conform_geometry(expected: str, id_column: str) -> Callable[[DataFrame], DataFrame]:
    """Curried silver transform: replaces `geometry` (WKB as received, in `src_crs`) by WGS-84 WKB,
    adds `length_m` (lines) or `lon`, `lat`, `src_lon`, `src_lat` (points), and `_geometry_error`:
    "self_intersecting: feature 4 (road_id=R4) fails shapely is_simple: ...".
    """
    if expected not in ("LineString", "Point"):
        raise ValueError(f"expected geometry is LineString or Point, not {expected!r}")

    def transform(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        def body(wkb, crs):
            return conform_frame(wkb, crs, expected)

        udf = F.pandas_udf(body, CONFORMED_SCHEMA)
        tmp = "__itlake_geometry"
        df = df.withColumn(tmp, udf(F.col("geometry"), F.col("src_crs")))
        derived = ["length_m"] if expected == "LineString" else ["lon", "lat", "src_lon", "src_lat"]
        reason = F.format_string(
            "%s: feature %d (%s=%s) %s",
            F.col(f"{tmp}.geometry_rule"),
            F.col("_row_number"),
            F.lit(id_column),
            F.coalesce(F.col(id_column).cast("string"), F.lit("NULL")),
            F.col(f"{tmp}.geometry_problem"),
        )
        return df.withColumns(
            {
                "geometry": F.col(f"{tmp}.geometry"),
                **{c: F.col(f"{tmp}.{c}") for c in derived},
                "_geometry_error": F.when(F.col(f"{tmp}.geometry_rule").isNotNull(), reason),
            }
        ).drop(tmp)

    return transform


def point_wkb_series(lon, lat):
    """pandas body of `with_point_geometry`: WKB points, None where a coordinate is missing."""
    import pandas as pd
    import shapely

    x = lon.to_numpy(dtype=np.float64, na_value=np.nan)
    y = lat.to_numpy(dtype=np.float64, na_value=np.nan)
    points = shapely.points(x, y)
    points[~(np.isfinite(x) & np.isfinite(y))] = None
    wkb = [None if p is None else bytes(shapely.to_wkb(p, byte_order=1)) for p in points]
    return pd.Series(wkb, index=lon.index)


def with_point_geometry(
    lon_col: str, lat_col: str, out_col: str = "geometry"
) -> Callable[[DataFrame], DataFrame]:
    """Curried transform adding `out_col`, the WKB point of (lon_col, lat_col)."""

    def transform(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        udf = F.pandas_udf(point_wkb_series, "binary")
        return df.withColumn(out_col, udf(F.col(lon_col).cast("double"), F.col(lat_col).cast("double")))

    return transform


def located_at_source_point(crs: str) -> Callable[[DataFrame], DataFrame]:
    """Curried transform for CSV feeds with `src_lon`/`src_lat` in the declared `crs`: adds `src_crs`,
    WGS-84 `lon`/`lat` and their WKB point `geometry`."""

    def transform(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        from itlake.geo.crs import to_wgs84_columns

        return (
            df.withColumns({"src_crs": F.lit(crs), "lon": F.col("src_lon"), "lat": F.col("src_lat")})
            .transform(to_wgs84_columns("lon", "lat", crs))
            .transform(with_point_geometry("lon", "lat"))
        )

    return transform


def checked_geometry_feed(
    name: str, properties: list[str], expected: str, *, id_column: str, date_format: str = "yyyyMMdd"
):
    """The feed of a vector layer for one contract: `properties` as raw text, each feature's
    geometry checked as `expected` and conformed to WGS-84 (a feature that fails is refused with
    its number and `id_column`)."""
    from itlake.feeds.skeleton import ContractFeed

    def read(path: Path, ctx: BatchContext) -> dict:
        return {name: read_vector(path, ctx, properties)}

    def derive(typed, contract, ctx):
        from pyspark.sql import functions as F

        return typed.transform(conform_geometry(expected, id_column=id_column)), [F.col("_geometry_error")]

    return ContractFeed(name, reader=read, derive=derive, date_format=date_format)
