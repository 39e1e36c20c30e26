"""Road network: a jittered grid of road links over the city, as GeoJSON LineStrings.

`road_network/<date>/roads.geojson`, a FeatureCollection (WGS-84, one feature per line) with
properties `road_id`, `name`, `road_class`, `lanes`, `speed_limit_kmh`. Junctions sit on a grid
whose spacing is chosen so the link count grows with the scale (~800 at scale 1); a link joins two
neighbouring junctions when both ends and its middle lie in the city. A grid line's class depends on
where it runs, not on the spacing: lines nearest every 16 km are expressways, every 8 km national
(east-west) or provincial (north-south) roads, every 4 km arterials, every 2 km secondary roads,
the rest branches. Each line keeps one name along its length.

Dirt, listed in the manifest: from 40 links on, one link that crosses itself (quarantined by the
shapely is_simple check).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import shapely

from itlake.demo.city import KM_PER_DEG_LAT, KM_PER_DEG_LON, City
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir

FEED = "road_network"
LINKS_AT_SCALE_1 = 800
SELF_INTERSECTING_FROM = 40
# (period km, class of east-west lines, class of north-south lines); the first period that claims a
# grid line decides its class.
CLASS_PERIODS = [
    (16.0, "expressway", "expressway"),
    (8.0, "national", "provincial"),
    (4.0, "arterial", "arterial"),
    (2.0, "secondary", "secondary"),
]
# class: (lane choices, speed limit choices)
CLASS_SPECS = {
    "expressway": ((6, 8), (100, 120)),
    "national": ((4, 6), (70, 80)),
    "provincial": ((4, 6), (60, 80)),
    "arterial": ((6, 8), (60,)),
    "secondary": ((4,), (50,)),
    "branch": ((2,), (30, 40)),
}
NAMED = {
    "expressway": [
        "广深高速",
        "机荷高速",
        "沿江高速",
        "梅观高速",
        "南光高速",
        "龙大高速",
        "盐排高速",
        "水官高速",
        "外环高速",
        "深汕高速",
        "南坪快速",
        "清平高速",
    ],
    "national": ["107国道", "205国道", "228国道", "324国道"],
    "provincial": ["省道S359", "省道S358", "省道S356", "省道S357"],
    "arterial": [
        "深南大道",
        "北环大道",
        "滨海大道",
        "宝安大道",
        "龙岗大道",
        "南海大道",
        "沙河西路",
        "皇岗路",
        "新洲路",
        "彩田路",
        "香蜜湖路",
        "红荔路",
        "月亮湾大道",
        "布龙路",
        "梅龙大道",
        "新区大道",
    ],
}
SYLLABLES = list("桃园松坪华侨科技创业留仙龙井福华莲花景田梅林民治观澜平湖横岗坂田石岩沙井西乡松岗公明凤凰")
SUFFIX = {"east-west": ["路", "大道", "街"], "north-south": ["路", "路", "道"]}


def _line_classes(coords_km: np.ndarray, spacing_km: float, orientation: int) -> list[str]:
    classes = ["branch"] * len(coords_km)
    for period, ew_class, ns_class in reversed(CLASS_PERIODS):
        targets = np.arange(np.ceil(coords_km[0] / period), np.floor(coords_km[-1] / period) + 1) * period
        for line in np.unique(np.rint((targets - coords_km[0]) / spacing_km).astype(int)):
            classes[line] = ew_class if orientation == 0 else ns_class
    return classes


def _line_names(classes: list[str], orientation: int, rng: np.random.Generator, used: set[str]) -> list[str]:
    pools = {c: list(rng.permutation(names)) for c, names in NAMED.items()}
    suffixes = SUFFIX["east-west" if orientation == 0 else "north-south"]
    names = []
    for c in classes:
        if pools.get(c) and pools[c][0] not in used:
            name = str(pools[c].pop(0))
        else:
            while True:
                a, b = rng.choice(SYLLABLES, 2)
                name = f"{a}{b}{suffixes[int(rng.integers(0, len(suffixes)))]}"
                if name not in used:
                    break
        used.add(name)
        names.append(name)
    return names


def _grid(city: City, spacing_deg: tuple[float, float], rng: np.random.Generator):
    minx, miny, maxx, maxy = city.union.bounds
    xs = np.arange(minx, maxx + spacing_deg[0], spacing_deg[0])
    ys = np.arange(miny, maxy + spacing_deg[1], spacing_deg[1])
    gx, gy = np.meshgrid(xs, ys)  # rows run south to north, columns west to east
    gx = gx + rng.uniform(-0.15, 0.15, gx.shape) * spacing_deg[0]
    gy = gy + rng.uniform(-0.15, 0.15, gy.shape) * spacing_deg[1]
    inside = shapely.contains_xy(city.union, gx, gy)
    return xs, ys, gx, gy, inside


def _links(city: City, gx, gy, inside):
    """(orientation, row, col) of links between grid neighbours that stay in the city."""
    found = []
    for orientation, (dr, dc) in enumerate(((0, 1), (1, 0))):
        rows, cols = np.nonzero(inside[: inside.shape[0] - dr, : inside.shape[1] - dc] & inside[dr:, dc:])
        mx = (gx[rows, cols] + gx[rows + dr, cols + dc]) / 2
        my = (gy[rows, cols] + gy[rows + dr, cols + dc]) / 2
        ok = shapely.contains_xy(city.union, mx, my)
        found.append((orientation, rows[ok], cols[ok]))
    return found


def road_features(city: City, *, scale: float, seed: int) -> list[dict]:
    """The GeoJSON features of the road links; the same city, scale and seed give the same links."""
    rng = np.random.default_rng([seed, 4])
    target = max(20, round(LINKS_AT_SCALE_1 * scale))
    area_km2 = city.union.area * KM_PER_DEG_LON * KM_PER_DEG_LAT
    spacing_km = float(np.sqrt(2 * area_km2 / target))

    def grid(spacing_km: float):
        spacing_deg = (spacing_km / KM_PER_DEG_LON, spacing_km / KM_PER_DEG_LAT)
        return _grid(city, spacing_deg, np.random.default_rng([seed, 4, 0]))

    # Coast and borders cut links; two corrections of the spacing bring the count close to the target.
    for _ in range(2):
        count = sum(len(rows) for _, rows, _ in _links(city, *grid(spacing_km)[2:]))
        spacing_km *= float(np.sqrt(count / target))
    xs, ys, gx, gy, inside = grid(spacing_km)

    used: set[str] = set()
    ew_classes = _line_classes(ys * KM_PER_DEG_LAT, spacing_km, 0)
    ns_classes = _line_classes(xs * KM_PER_DEG_LON, spacing_km, 1)
    line_class = [ew_classes, ns_classes]
    line_name = [_line_names(ew_classes, 0, rng, used), _line_names(ns_classes, 1, rng, used)]

    features = []
    for orientation, rows, cols in _links(city, gx, gy, inside):
        dr, dc = (0, 1) if orientation == 0 else (1, 0)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            line = r if orientation == 0 else c
            road_class = line_class[orientation][line]
            lanes, limits = CLASS_SPECS[road_class]
            a = np.array([gx[r, c], gy[r, c]])
            b = np.array([gx[r + dr, c + dc], gy[r + dr, c + dc]])
            # One bend a little off the straight line, so links are not ruler-straight.
            normal = np.array([-(b - a)[1], (b - a)[0]])
            bend = (a + b) / 2 + normal * rng.uniform(-0.05, 0.05)
            coords = [[round(float(x), 6), round(float(y), 6)] for x, y in (a, bend, b)]
            if not shapely.contains_xy(city.union, *coords[1]):
                coords = [coords[0], coords[2]]
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "road_id": f"R{len(features) + 1:06d}",
                        "name": line_name[orientation][line],
                        "road_class": road_class,
                        "lanes": int(rng.choice(lanes)),
                        "speed_limit_kmh": int(rng.choice(limits)),
                    },
                    "geometry": {"type": "LineString", "coordinates": coords},
                }
            )
    return features


def _cross_itself(feature: dict) -> None:
    """Redraw a link as a line that doubles back across itself (a digitising slip)."""
    coords = feature["geometry"]["coordinates"]
    a, b = np.array(coords[0]), np.array(coords[-1])
    mid = (a + b) / 2
    normal = np.array([-(b - a)[1], (b - a)[0]]) * 0.2
    points = (a, b, mid + normal, mid - normal)
    feature["geometry"]["coordinates"] = [[round(float(x), 6), round(float(y), 6)] for x, y in points]


def write_roads(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    features = road_features(city, scale=scale, seed=seed)
    dirt = []
    # One link crosses itself, once the file is big enough for one bad link to stay under the
    # contract's 5 % quarantine threshold.
    if len(features) >= SELF_INTERSECTING_FROM:
        row = len(features) // 2
        _cross_itself(features[row - 1])
        dirt.append(Dirt(FEED, row, "self_intersecting"))

    path = feed_dir(out_dir, FEED, date) / "roads.geojson"
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    head = '{"type":"FeatureCollection","name":"shenzhen_demo_roads","features":[\n'
    path.write_text(head + body + "\n]}\n", encoding="utf-8")
    return FeedOutput(FEED, path, len(features), "utf-8", tuple(dirt))
