"""The data behind a dataset's interactive map: its own features, or the zones its rows refer to.

A release whose contract has a geometry column ships data.geojson; its map draws those features
(the first MAP_FEATURE_LIMIT), coloured by a category column when one fits, over the district
outlines. A release whose rows refer to zones (a column ending in zone_id) has its map shade each
district by one measure of the rows. The page's script (static/map.js) draws either with Leaflet on
a plain background: there is no basemap, so nothing is fetched from the internet.

The layer is written as a small script beside the page (`window.ITLAKE_MAP = {...}`), and the
districts once for the whole site (static/zones.js, `window.ITLAKE_ZONES`), rather than fetched as
JSON, so the maps work under `itlake serve`, any web server, or straight from the disk.
"""

from __future__ import annotations

import json

from itlake.lake.storage import LakeStorage

MAP_FEATURE_LIMIT = 5000
MAX_CATEGORIES = 8


def zone_measure(contract, columns: list[str]) -> tuple[str, str, str] | None:
    """(zone column, value column, "mean" or "sum") for a zone map of a release, or None.

    A measured quantity (a column with a unit) is averaged; failing that, a count (a long column)
    is summed. Coordinates in degrees are not a measure of a zone.
    """
    zone = next((c for c in columns if c.endswith("zone_id")), None)
    if zone is None:
        return None
    measured = [c for c in contract.columns if c.unit and c.unit != "degree" and c.name in columns]
    if measured:
        return zone, measured[0].name, "mean"
    counted = [c for c in contract.columns if c.type == "long" and c.name in columns]
    if counted:
        return zone, counted[0].name, "sum"
    return None


def zone_values(frame, zone: str, value: str, how: str) -> dict[str, float]:
    """zone_id -> the measure over the rows of that zone; rows without a zone are left out."""
    placed = frame[frame[zone].notna()]
    per_zone = placed.groupby(zone)[value].agg(how)
    return {str(z): float(v) for z, v in per_zone.items() if v == v}  # v != v for NaN


def category_column(contract, features: list[dict]) -> str | None:
    """The first string column with 2 to MAX_CATEGORIES values to colour features by.

    Names and identifiers (`*name`, `*_id`) label a feature rather than group it, so they are passed.
    """
    for column in contract.columns:
        if column.type != "string" or column.name.endswith(("name", "_id")):
            continue
        distinct = {f["properties"].get(column.name) for f in features} - {None}
        if 2 <= len(distinct) <= MAX_CATEGORIES:
            return column.name
    return None


def map_layer(folder: str, contract) -> dict | None:
    """What the map of the release in `folder` (a lake path) draws, or None where the data has no place."""
    import pyarrow.parquet as pq

    folder = str(folder)
    storage = LakeStorage.for_uri(folder)
    if any(c.geometry is not None for c in contract.columns):
        if not storage.exists(f"{folder}/data.geojson"):  # releases made before GeoJSON was written
            return None
        collection = json.loads(storage.read_text(f"{folder}/data.geojson"))
        features = [f for f in collection["features"] if f.get("geometry")]
        shown = features[:MAP_FEATURE_LIMIT]
        return {
            "kind": "features",
            "category": category_column(contract, shown),
            "total": len(features),
            "features": {"type": "FeatureCollection", "features": shown},
        }
    with storage.open_input(f"{folder}/data.parquet") as source:
        data = pq.ParquetFile(source)
        measure = zone_measure(contract, data.schema_arrow.names)
        if measure is None:
            return None
        zone, value, how = measure
        frame = data.read(columns=[zone, value]).to_pandas()
    return {"kind": "zones", "zone": zone, "value": value, "how": how, "values": zone_values(frame, *measure)}


def zones_script() -> str:
    """The districts (zone_id, zone_name, outline) as the script every map page loads."""
    from itlake.geo.zones import load_zones

    zones = load_zones()[["zone_id", "zone_name", "geometry"]]
    return f"window.ITLAKE_ZONES = {zones.to_json(drop_id=True, ensure_ascii=False)};\n"


def map_script(layer: dict) -> str:
    """The layer as the script the dataset page loads before static/map.js."""
    body = json.dumps(layer, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return f"window.ITLAKE_MAP = {body};\n"
