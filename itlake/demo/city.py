"""The demo city's shared geometry: districts, hubs and the hub network every feed draws on.

The city is Shenzhen: the ten real district polygons in `itlake/data/shenzhen_districts.geojson`
(WGS-84), each with its GB/T 2260 code. On top of them the generator places a fixed number of
*hubs* (activity centres, transfer points) inside the mainland, and links nearby hubs whose
straight connection stays inside the city. Taxis drive and buses run along shortest paths of this
hub network, so every point they produce lies inside a district.

Distances are in km on a local equirectangular projection, which is accurate to well under 1 %
across a city this size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, shortest_path
from shapely.geometry import shape

from itlake.geo.zones import DISTRICT_CODES

# Where people live and where they work: drives the morning and evening taxi flows.
RESIDENTIAL = ("宝安", "龙华", "龙岗", "光明", "坪山")
CENTRAL = ("福田", "南山", "罗湖")

KM_PER_DEG_LAT = 111.19
KM_PER_DEG_LON = 111.32 * float(np.cos(np.radians(22.6)))

HUB_COUNT = 120
HUB_LINK_MAX_KM = 12.0
# Hubs keep this far (degrees, ~300 m) from district borders so points scattered around them stay
# inside their district; network links keep ~50 m from the city's edge.
HUB_MARGIN_DEG = 0.003
LINK_MARGIN_DEG = 0.0005


@dataclass(frozen=True)
class District:
    name: str
    code: str
    polygon: shapely.Geometry
    centroid: tuple[float, float]


@dataclass(frozen=True)
class City:
    """Districts, their union, and the hub network with all-pairs shortest paths.

    `hub_xy` is (n, 2) lon/lat; `hub_district` indexes `districts`; `hub_dist_km[i, j]` is the
    network distance; `hub_paths[i, j, :hub_path_len[i, j]]` lists the hubs on the path i -> j.
    """

    districts: tuple[District, ...]
    union: shapely.Geometry
    hub_xy: np.ndarray
    hub_district: np.ndarray
    hub_dist_km: np.ndarray
    hub_paths: np.ndarray
    hub_path_len: np.ndarray

    @property
    def district_names(self) -> list[str]:
        return [d.name for d in self.districts]

    def district_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index into `districts` of each point; the nearest district for points on no polygon."""
        found = np.full(len(lon), -1, dtype=np.int64)
        for i, d in enumerate(self.districts):
            found[(found < 0) & shapely.contains_xy(d.polygon, lon, lat)] = i
        missing = np.flatnonzero(found < 0)
        if len(missing):
            points = shapely.points(lon[missing], lat[missing])
            dists = np.stack([shapely.distance(d.polygon, points) for d in self.districts])
            found[missing] = dists.argmin(axis=0)
        return found

    def path_polyline(self, i: int, j: int) -> np.ndarray:
        """Lon/lat vertices of the network path from hub i to hub j."""
        return self.hub_xy[self.hub_paths[i, j, : self.hub_path_len[i, j]]]


def load_districts() -> tuple[District, ...]:
    """The ten districts from the packaged GeoJSON, ordered by GB/T 2260 code."""
    text = resources.files("itlake").joinpath("data/shenzhen_districts.geojson").read_text("utf-8")
    districts = []
    for feature in json.loads(text)["features"]:
        name = feature["properties"]["qh"]
        polygon = shape(feature["geometry"])
        shapely.prepare(polygon)
        c = polygon.centroid
        districts.append(District(name, DISTRICT_CODES[name], polygon, (c.x, c.y)))
    return tuple(sorted(districts, key=lambda d: d.code))


def km_between(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Distance in km between points (arrays broadcast)."""
    dx = (np.asarray(lon2) - np.asarray(lon1)) * KM_PER_DEG_LON
    dy = (np.asarray(lat2) - np.asarray(lat1)) * KM_PER_DEG_LAT
    return np.hypot(dx, dy)


def sample_in(geometry: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random lon/lat points inside a (prepared) geometry, by rejection in batches."""
    minx, miny, maxx, maxy = geometry.bounds
    shapely.prepare(geometry)
    kept: list[np.ndarray] = []
    count = 0
    while count < n:
        batch = max(64, 4 * (n - count))
        xy = np.column_stack([rng.uniform(minx, maxx, batch), rng.uniform(miny, maxy, batch)])
        xy = xy[shapely.contains_xy(geometry, xy[:, 0], xy[:, 1])]
        kept.append(xy)
        count += len(xy)
    return np.concatenate(kept)[:n]


def _mainland(union: shapely.Geometry) -> shapely.Geometry:
    parts = getattr(union, "geoms", [union])
    return max(parts, key=lambda p: p.area)


def build_city(seed: int) -> City:
    """Districts plus a hub network whose layout depends on the seed only (not on the scale)."""
    rng = np.random.default_rng([seed, 0])
    districts = load_districts()
    union = shapely.union_all([d.polygon for d in districts])
    shapely.prepare(union)
    mainland = _mainland(union)

    # Hubs per district grow with the square root of its area: dense cores, sparse outskirts.
    areas = np.array([d.polygon.intersection(mainland).area for d in districts])
    weights = np.sqrt(areas) / np.sqrt(areas).sum()
    counts = np.maximum(6, np.floor(weights * HUB_COUNT).astype(int))
    hubs, hub_district = [], []
    for i, (d, k) in enumerate(zip(districts, counts, strict=True)):
        inner = d.polygon.intersection(mainland).buffer(-HUB_MARGIN_DEG)
        hubs.append(sample_in(inner, int(k), rng))
        hub_district.append(np.full(int(k), i))
    hub_xy = np.concatenate(hubs)
    hub_district = np.concatenate(hub_district)

    # Link hubs closer than HUB_LINK_MAX_KM whose straight line stays inside the city.
    n = len(hub_xy)
    dist = km_between(hub_xy[:, None, 0], hub_xy[:, None, 1], hub_xy[None, :, 0], hub_xy[None, :, 1])
    ii, jj = np.nonzero(np.triu(dist <= HUB_LINK_MAX_KM, k=1))
    lines = shapely.linestrings(np.stack([hub_xy[ii], hub_xy[jj]], axis=1))
    corridor = mainland.buffer(-LINK_MARGIN_DEG)
    shapely.prepare(corridor)
    ok = shapely.contains(corridor, lines)
    ii, jj = ii[ok], jj[ok]
    graph = csr_matrix((dist[ii, jj], (ii, jj)), shape=(n, n))

    # Keep the largest connected piece of the network (drops hubs cut off by bays).
    _, labels = connected_components(graph, directed=False)
    keep = np.flatnonzero(labels == np.bincount(labels).argmax())
    graph = graph[keep][:, keep]
    hub_xy, hub_district = hub_xy[keep], hub_district[keep]
    dist_km, pred = shortest_path(graph, directed=False, return_predecessors=True)

    n = len(keep)
    paths = np.zeros((n, n, n), dtype=np.int32)
    path_len = np.zeros((n, n), dtype=np.int32)
    for i in range(n):
        for j in range(n):
            walk = [j]
            while walk[-1] != i:
                walk.append(pred[i, walk[-1]])
            path_len[i, j] = len(walk)
            paths[i, j, : len(walk)] = walk[::-1]
    max_len = int(path_len.max())
    return City(
        districts=districts,
        union=union,
        hub_xy=hub_xy,
        hub_district=hub_district,
        hub_dist_km=dist_km,
        hub_paths=paths[:, :, :max_len].copy(),
        hub_path_len=path_len,
    )
