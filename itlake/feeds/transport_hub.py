"""Stations, hubs and ports from the hub register: GeoJSON (or GeoPackage) points.

Properties `hub_id`, `name`, `type` (rail_station, metro_station, bus_terminal, coach_station,
airport, seaport, river_port, logistics_hub), `adcode` (GB/T 2260 district) and `opened`
(YYYY-MM-DD). The register exports GCJ-02 coordinates (the catalogue says so); silver holds WGS-84
`lon`, `lat` and a WKB point, with the coordinates as received in `src_lon`, `src_lat`, `src_crs`.
A feature that is not a point, or has no geometry, is quarantined with its number and hub_id.
"""

from __future__ import annotations

from itlake.feeds._geometry import checked_geometry_feed

PROPERTIES = ["hub_id", "name", "type", "adcode", "opened"]

FEED = checked_geometry_feed(
    "transport_hub", PROPERTIES, "Point", id_column="hub_id", date_format="yyyy-MM-dd"
)
