"""GeoParquet copies of spatial lake tables, for GIS tools (QGIS, ArcGIS Pro, GDAL, DuckDB spatial).

Delta stores geometry as plain WKB bytes; the contract says which column is a geometry, of what
type and in which CRS. `write_geoparquet` turns a frame with such columns into a GeoParquet file
(geopandas `to_parquet`: the `geo` metadata names the primary geometry column, its encoding, types
and CRS as PROJJSON), so a reader gets geometries and CRS without knowing the contract:

    from itlake.lake.geoparquet import export_table
    export_table(spark, "road_network")   # -> {lake}/silver/_geoparquet/road_network/road_network.parquet
    geopandas.read_parquet(path).crs      # EPSG:4326

The copies live under `{layer}/_geoparquet/{table}/` beside the Delta tables (a folder that is not
a Delta table, so the table listing skips it), written through the lake's storage: on disk under a
temporary name and moved into place, on object storage as one upload, so a reader never sees half
of one.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from itlake.catalog.contracts import load_contract
from itlake.lake.paths import table_path

if TYPE_CHECKING:
    import geopandas
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from itlake.catalog.contracts import Contract


def geoparquet_path(contract_name: str, label: str | None = None, root: str | None = None) -> str:
    """`{root}/{layer}/_geoparquet/{table}/{label or table}.parquet`."""
    contract = load_contract(contract_name)
    layer_dir = table_path(contract.layer, contract_name, root).rsplit("/", 1)[0]
    return f"{layer_dir}/_geoparquet/{contract_name}/{label or contract_name}.parquet"


def geometry_columns(contract: Contract) -> list[str]:
    """The contract's geometry columns, in contract order (the first is the primary one)."""
    return [c.name for c in contract.columns if c.geometry is not None]


def to_geodataframe(table: pa.Table, contract: Contract) -> geopandas.GeoDataFrame:
    """A GeoDataFrame of `table` whose WKB geometry columns are geometries in the contract's CRS."""
    import geopandas as gpd

    names = geometry_columns(contract)
    if not names:
        raise ValueError(f"contract {contract.name} has no geometry column; nothing spatial to export")
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise ValueError(f"contract {contract.name}: the table lacks its geometry columns {missing}")
    frame = table.to_pandas()
    for name in names:
        crs = contract.column(name).crs
        frame[name] = gpd.GeoSeries.from_wkb(frame[name].map(_bytes_or_none), crs=crs)
    return gpd.GeoDataFrame(frame, geometry=names[0], crs=contract.column(names[0]).crs)


def _bytes_or_none(value):
    return None if value is None else bytes(value)


def write_geoparquet(data: DataFrame | pa.Table, contract_name: str, target: str | Path) -> int:
    """Write `data` (a Spark DataFrame or an Arrow table with the contract's columns) to `target`
    (a file or a lake URI, through the lake's storage) as GeoParquet 1.0; returns the number of rows."""
    from itlake.lake.storage import LakeStorage

    contract = load_contract(contract_name)
    table = data if _is_arrow(data) else data.toArrow()
    frame = to_geodataframe(table, contract)
    frame.attrs.clear()  # Spark Connect's query metrics, which pandas cannot write as metadata
    out = io.BytesIO()
    frame.to_parquet(out, index=False, schema_version="1.0.0")
    LakeStorage.for_uri(str(target)).write_bytes(str(target), out.getvalue())
    return len(frame)


def _is_arrow(data) -> bool:
    import pyarrow as pa

    return isinstance(data, pa.Table)


def export_table(
    spark: SparkSession, contract_name: str, *, where: str | None = None, label: str | None = None
) -> dict:
    """Export a lake table's contract columns (optionally filtered by a SQL `where`) to GeoParquet."""
    from pyspark.sql import functions as F

    from itlake.lake.tables import conform, read_lake_table

    frame = read_lake_table(spark, contract_name)
    if where:
        frame = frame.where(F.expr(where))
    target = geoparquet_path(contract_name, label)
    rows = write_geoparquet(frame.transform(conform(contract_name)), contract_name, target)
    return {"table": contract_name, "path": str(target), "rows": rows}
