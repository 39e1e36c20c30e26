"""Road network lines from GeoJSON (or any vector file GDAL reads, such as GeoPackage).

Geometry is stored as WKB in WGS-84; `length_m` is measured in the local UTM zone, not in degrees.
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.cast import cast_sourced_columns, select_contract

PROPERTIES = ["road_id", "name", "road_class", "lanes", "speed_limit_kmh"]


class RoadNetworkFeed:
    name = "road_network"
    contracts = ("road_network",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        import geopandas as gpd
        import pyarrow as pa

        from itlake.geo.distance import length_m

        try:
            frame = gpd.read_file(path)
        except Exception as err:  # GDAL raises several types for unreadable files
            raise FeedError(f"{ctx.source_file}: not a readable vector file: {err}") from None
        missing = [p for p in PROPERTIES if p not in frame.columns]
        if missing:
            raise FeedError(f"{ctx.source_file}: features lack the properties {missing}")
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        wrong = frame.geometry.geom_type.ne("LineString") & frame.geometry.geom_type.ne("MultiLineString")
        n = len(frame)
        columns = {
            p: pa.array([None if v is None else str(v) for v in frame[p]], pa.string()) for p in PROPERTIES
        }
        columns["geometry"] = pa.array(frame.geometry.to_wkb().tolist(), pa.binary())
        columns["length_m"] = pa.array(length_m(frame.geometry), pa.float64())
        columns["_row_number"] = pa.array(range(1, n + 1), pa.int64())
        columns["_raw_error"] = pa.array(
            [
                f"geometry is {t}, not a line" if bad else None
                for t, bad in zip(frame.geometry.geom_type, wrong, strict=True)
            ],
            pa.string(),
        )
        return {"road_network": pa.table(columns)}

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from itlake.contracts import load_contract

        contract = load_contract(contract_name)
        return select_contract(cast_sourced_columns(bronze, contract, timezone=ctx.timezone), contract)


FEED = RoadNetworkFeed()
