"""Stations, hubs and ports from the hub register: GeoJSON (or GeoPackage) points.

Properties `hub_id`, `name`, `type` (rail_station, metro_station, bus_terminal, coach_station,
airport, seaport, river_port, logistics_hub), `adcode` (GB/T 2260 district) and `opened`
(YYYY-MM-DD). The register exports GCJ-02 coordinates (the catalogue says so); silver holds WGS-84
`lon`, `lat` and a WKB point, with the coordinates as received in `src_lon`, `src_lat`, `src_crs`.
A feature that is not a point, or has no geometry, is quarantined with its number and hub_id.
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds._geometry import conform_geometry, read_vector
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, first_error, select_contract

PROPERTIES = ["hub_id", "name", "type", "adcode", "opened"]


class TransportHubFeed:
    name = "transport_hub"
    contracts = ("transport_hub",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        return {"transport_hub": read_vector(path, ctx, PROPERTIES)}

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract

        contract = load_contract(contract_name)
        typed = cast_sourced_columns(
            bronze, contract, timezone=ctx.timezone, date_format="yyyy-MM-dd"
        ).transform(conform_geometry("Point", id_column="hub_id"))
        typed = typed.withColumn("_parse_error", first_error(F.col("_parse_error"), F.col("_geometry_error")))
        return select_contract(typed, contract)


FEED = TransportHubFeed()
