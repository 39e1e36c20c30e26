"""Stations, hubs and ports, as the hub register exports them: GeoJSON points in GCJ-02.

`transport_hub/<date>/transport_hubs.geojson`, one Point feature per hub with properties `hub_id`,
`name`, `type`, `adcode` (GB/T 2260 district) and `opened` (YYYY-MM-DD). Shenzhen's real railway
stations, airport, port areas, coach stations and logistics parks are listed at their approximate
WGS-84 positions (opening dates approximate too); the city's bus terminals sit at hubs of the demo
network. Positions are shifted to GCJ-02, as the catalogue declares; the district code is the
district containing the point, or the nearest one for a quay on the water's edge. The list does not
depend on the scale.

Dirt, listed in the manifest: one port area still in planning, registered without a position.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from itlake.demo.city import City
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir
from itlake.geo.crs import wgs84_to_gcj02

FEED = "transport_hub"
# name, type, WGS-84 lon, lat, opened
REAL_HUBS = [
    ("深圳北站", "rail_station", 114.0295, 22.6097, "2011-12-26"),
    ("深圳站", "rail_station", 114.1177, 22.5316, "1911-10-08"),
    ("福田站", "rail_station", 114.0556, 22.5375, "2015-12-30"),
    ("深圳东站", "rail_station", 114.1208, 22.6035, "1991-06-01"),
    ("深圳坪山站", "rail_station", 114.3385, 22.6880, "2013-12-28"),
    ("光明城站", "rail_station", 113.9185, 22.7454, "2011-12-26"),
    ("深圳机场站", "rail_station", 113.8121, 22.6329, "2019-12-15"),
    ("深圳宝安国际机场", "airport", 113.8107, 22.6393, "1991-10-12"),
    ("盐田港区", "seaport", 114.2700, 22.5720, "1994-07-01"),
    ("蛇口港区", "seaport", 113.9070, 22.4790, "1981-03-01"),
    ("赤湾港区", "seaport", 113.8860, 22.4700, "1984-10-01"),
    ("妈湾港区", "seaport", 113.8720, 22.5030, "1990-01-01"),
    ("大铲湾港区", "seaport", 113.8420, 22.5530, "2007-12-01"),
    ("蛇口邮轮母港", "seaport", 113.9145, 22.4780, "2016-11-12"),
    ("福永码头", "seaport", 113.7950, 22.6560, "1993-01-01"),
    ("罗湖汽车站", "coach_station", 114.1163, 22.5318, "1990-01-01"),
    ("福田汽车客运站", "coach_station", 114.0160, 22.5390, "2003-01-01"),
    ("银湖汽车站", "coach_station", 114.0875, 22.5705, "1992-01-01"),
    ("深圳北汽车客运站", "coach_station", 114.0290, 22.6115, "2011-12-26"),
    ("平湖南综合物流园", "logistics_hub", 114.1300, 22.6700, "2010-01-01"),
    ("前海湾保税港区", "logistics_hub", 113.8950, 22.5250, "2009-07-01"),
    ("深圳机场物流园", "logistics_hub", 113.8160, 22.6460, "2008-01-01"),
    ("盐田综合保税区", "logistics_hub", 114.2550, 22.5900, "2014-01-01"),
]
PLANNED_PORT = "大铲湾港区二期"
BUS_TERMINAL_EVERY = 4


def write_hubs(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 6])
    names = [h[0] for h in REAL_HUBS]
    types = [h[1] for h in REAL_HUBS]
    opened = [h[4] for h in REAL_HUBS]
    lon = [h[2] for h in REAL_HUBS]
    lat = [h[3] for h in REAL_HUBS]
    counter: dict[str, int] = {}
    for k in range(0, len(city.hub_xy), BUS_TERMINAL_EVERY):
        district = city.districts[city.hub_district[k]].name
        counter[district] = counter.get(district, 0) + 1
        names.append(f"{district}第{counter[district]}公交总站")
        types.append("bus_terminal")
        opened.append(dt.date(int(rng.integers(1995, 2025)), int(rng.integers(1, 13)), 1).isoformat())
        lon.append(float(city.hub_xy[k, 0]))
        lat.append(float(city.hub_xy[k, 1]))
    x, y = np.array(lon), np.array(lat)
    district = city.district_of(x, y)
    gx, gy = wgs84_to_gcj02(x, y)

    features = []
    for i in range(len(names)):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "hub_id": f"SZH{i + 1:04d}",
                    "name": names[i],
                    "type": types[i],
                    "adcode": city.districts[district[i]].code,
                    "opened": opened[i],
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(gx[i]), 7), round(float(gy[i]), 7)],
                },
            }
        )
    features.append(
        {
            "type": "Feature",
            "properties": {
                "hub_id": f"SZH{len(features) + 1:04d}",
                "name": PLANNED_PORT,
                "type": "seaport",
                "adcode": "440306",
                "opened": None,
            },
            "geometry": None,
        }
    )
    dirt = (Dirt(FEED, len(features), "missing_geometry"),)

    path = feed_dir(out_dir, FEED, date) / "transport_hubs.geojson"
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    head = '{"type":"FeatureCollection","name":"shenzhen_transport_hubs","features":[\n'
    path.write_text(head + body + "\n]}\n", encoding="utf-8")
    return FeedOutput(FEED, path, len(features), "utf-8", dirt)
