"""Bridges and tunnels with their latest inspection, as the highway maintenance system exports them.

`bridge_tunnel/<date>/bridge_tunnel_<YYYYMMDD>.csv`, UTF-8, header
`构造物编码,构造物名称,类型,路段编号,长度m,建成年份,技术状况等级,检查日期,限载t,经度,纬度`. Structures
sit at the middle of links of the demo road network (the same links `roads.py` writes, so 路段编号 joins
to road_id): bridges on any class of road, tunnels on expressways and national or provincial roads.
Condition classes follow Shenzhen's published mix (mostly classes 1 and 2, a few 4s and 5s, older
structures worse); classes are written "2类"; inspections fall in the three years before the date;
class 4 and 5 bridges carry a posted load limit. Coordinates are WGS-84, as the catalogue declares.

Dirt, listed in the manifest: one condition class 7 and one inspection dated after the file's date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from itlake.demo.city import City
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir
from itlake.demo.roads import road_features

FEED = "bridge_tunnel"
HEADER = "构造物编码,构造物名称,类型,路段编号,长度m,建成年份,技术状况等级,检查日期,限载t,经度,纬度"
STRUCTURES_AT_SCALE_1 = 300
# A floor, so that the two planted bad rows stay under the contract's 2 % quarantine threshold.
MIN_STRUCTURES = 120
TUNNEL_SHARE = 0.12
TUNNEL_ROADS = ("expressway", "national", "provincial")
CLASS_SHARE = np.array([0.50, 0.40, 0.07, 0.02, 0.01])
# Age (years) over which the odds of each worse class grow by a factor (1 + age / AGEING_YEARS).
AGEING_YEARS = 60.0
BRIDGE_KINDS = ("立交桥", "高架桥", "跨线桥", "大桥", "人行天桥")
HILLS = list("梧桐塘朗南坪银湖大南羊台凤凰阳台马峦七娘排牙")


def _class_for_age(age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Condition classes 1-5; older structures drift towards the worse classes."""
    out = np.empty(len(age), dtype=int)
    for i, years in enumerate(age):
        weights = CLASS_SHARE * np.power(1.0 + years / AGEING_YEARS, np.arange(5))
        out[i] = rng.choice(5, p=weights / weights.sum()) + 1
    return out


def write_bridges(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 5])
    roads = road_features(city, scale=scale, seed=seed)
    n = max(MIN_STRUCTURES, round(STRUCTURES_AT_SCALE_1 * scale))
    n_tunnels = round(n * TUNNEL_SHARE)
    major = [f for f in roads if f["properties"]["road_class"] in TUNNEL_ROADS] or roads
    links = [major[i] for i in rng.integers(0, len(major), n_tunnels)]
    links += [roads[i] for i in rng.integers(0, len(roads), n - n_tunnels)]
    is_tunnel = np.arange(n) < n_tunnels
    order = rng.permutation(n)
    links = [links[i] for i in order]
    is_tunnel = is_tunnel[order]

    xy = np.array([np.mean(f["geometry"]["coordinates"], axis=0) for f in links])
    # A little off the link's middle, so two structures on one link are not on one spot.
    xy = xy + rng.normal(0.0, 0.0008, xy.shape)
    district = city.district_of(xy[:, 0], xy[:, 1])
    # Built at least four years back, so every inspection of the last three years comes after it.
    built = rng.integers(1985, date.year - 3, n)
    condition = _class_for_age(date.year - built, rng)
    length = np.where(
        is_tunnel,
        np.clip(rng.lognormal(np.log(800), 0.6, n), 150, 4500),
        np.clip(rng.lognormal(np.log(90), 0.9, n), 8, 3000),
    )
    inspected = [date - dt.timedelta(days=int(d)) for d in rng.integers(1, 3 * 365, n)]

    dirt = []
    bad_class_row, future_row = n // 3, 2 * n // 3
    dirt.append(Dirt(FEED, bad_class_row, "condition_class_7"))
    dirt.append(Dirt(FEED, future_row, "inspection_in_future"))

    lines = [HEADER]
    sequence = {}
    for i in range(n):
        props = links[i]["properties"]
        code = city.districts[district[i]].code
        kind = "T" if is_tunnel[i] else "B"
        sequence[code, kind] = sequence.get((code, kind), 0) + 1
        structure_id = f"{code}{kind}{sequence[code, kind]:04d}"
        if is_tunnel[i]:
            a, b = rng.choice(HILLS, 2)
            name, type_zh = f"{a}{b}山隧道", "隧道"
        else:
            name, type_zh = f"{props['name']}{BRIDGE_KINDS[int(rng.integers(0, len(BRIDGE_KINDS)))]}", "桥梁"
        row = i + 1
        condition_text = "7" if row == bad_class_row else f"{condition[i]}类"
        day = date + dt.timedelta(days=40) if row == future_row else inspected[i]
        limit = "" if is_tunnel[i] or condition[i] < 4 else str(int(rng.choice([20, 30])))
        lines.append(
            f"{structure_id},{name},{type_zh},{props['road_id']},{length[i]:.1f},{built[i]},{condition_text},"
            f"{day.isoformat()},{limit},{xy[i, 0]:.6f},{xy[i, 1]:.6f}"
        )

    path = feed_dir(out_dir, FEED, date) / f"bridge_tunnel_{date:%Y%m%d}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return FeedOutput(FEED, path, n, "utf-8", tuple(dirt))
