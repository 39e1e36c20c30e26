"""Public NEV charging stations, as the municipal monitoring platform exports them: GBK CSV, GCJ-02.

`nev_charging_station/<date>/charging_stations_<YYYYMMDD>.csv`, GBK with CRLF line ends, header
`充电站编号,充电站名称,运营商,区县代码,充电接口数,直流接口数,交流接口数,单桩最大功率kW,总功率kW,是否24小时,经度,纬度`.
Stations cluster around the demo city's hubs. Operators are the ones running Shenzhen's network
(TELD, Star Charge, China Southern Power Grid, Shenzhen Bus Group, DiDi, BYD, NIO, Tesla, ...);
each station has DC fast connectors at one power (60-480 kW, Shenzhen's "supercharging city" sites
at 480 kW) and AC connectors at 7 kW; the total is the sum over connectors.

Dirt, listed in the manifest: one station (two from 200 stations on) with a negative power.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import shapely

from itlake.demo.city import City
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir
from itlake.geo.crs import wgs84_to_gcj02

FEED = "nev_charging_station"
ENCODING = "gbk"
HEADER = (
    "充电站编号,充电站名称,运营商,区县代码,充电接口数,直流接口数,交流接口数,"
    "单桩最大功率kW,总功率kW,是否24小时,经度,纬度"
)
STATIONS_AT_SCALE_1 = 400
# A floor, so that one bad row stays under the contract's 2 % quarantine threshold.
MIN_STATIONS = 100
AC_KW = 7.0
# operator: (short code, share of stations, DC powers in kW)
OPERATORS = {
    "特来电": ("TELD", 0.22, (60, 120, 160)),
    "星星充电": ("STAR", 0.14, (60, 120, 160)),
    "南方电网": ("CSG", 0.14, (120, 160, 480)),
    "深圳巴士集团": ("SZBUS", 0.10, (120, 160)),
    "小桔充电": ("XJ", 0.10, (60, 120)),
    "云快充": ("YKC", 0.08, (60, 120)),
    "比亚迪": ("BYD", 0.08, (120, 160)),
    "蔚来": ("NIO", 0.05, (160,)),
    "特斯拉": ("TSLA", 0.05, (250,)),
    "普天新能源": ("PT", 0.04, (60, 120)),
}
PLACES = [
    "广场",
    "停车场",
    "科技园",
    "公交场站",
    "商业中心",
    "体育中心",
    "物流园",
    "产业园",
    "社区",
    "加油站",
]


def _points_near_hubs(city: City, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points scattered about 1 km around random hubs, all inside the city."""
    kept: list[np.ndarray] = []
    count = 0
    while count < n:
        hubs = city.hub_xy[rng.integers(0, len(city.hub_xy), 2 * n)]
        xy = hubs + rng.normal(0.0, 0.009, hubs.shape)
        xy = xy[shapely.contains_xy(city.union, xy[:, 0], xy[:, 1])]
        kept.append(xy)
        count += len(xy)
    return np.concatenate(kept)[:n]


def write_charging(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 7])
    n = max(MIN_STATIONS, round(STATIONS_AT_SCALE_1 * scale))
    names = list(OPERATORS)
    share = np.array([OPERATORS[o][1] for o in names])
    operator = rng.choice(len(names), n, p=share / share.sum())
    xy = _points_near_hubs(city, n, rng)
    district = city.district_of(xy[:, 0], xy[:, 1])
    gx, gy = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    dc = rng.integers(2, 41, n)
    ac = np.where(rng.random(n) < 0.6, rng.integers(0, 13, n), 0)
    bad_rows = [n // 2] + ([n // 4] if n >= 200 else [])
    dirt = tuple(Dirt(FEED, row, "negative_power") for row in sorted(bad_rows))

    lines = [HEADER]
    per_operator: dict[str, int] = {}
    for i in range(n):
        name = names[operator[i]]
        code, _, powers = OPERATORS[name]
        per_operator[code] = per_operator.get(code, 0) + 1
        dc_kw = float(rng.choice(powers))
        total_kw = dc[i] * dc_kw + ac[i] * AC_KW
        max_kw = -dc_kw if i + 1 in bad_rows else dc_kw
        place = f"{city.districts[district[i]].name}{PLACES[int(rng.integers(0, len(PLACES)))]}"
        lines.append(
            f"SZ-{code}-{per_operator[code]:05d},{name}{place}充电站,{name},{city.districts[district[i]].code},"
            f"{dc[i] + ac[i]},{dc[i]},{ac[i]},{max_kw:g},{total_kw:g},{'是' if rng.random() < 0.7 else '否'},"
            f"{float(gx[i]):.7f},{float(gy[i]):.7f}"
        )

    path = feed_dir(out_dir, FEED, date) / f"charging_stations_{date:%Y%m%d}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(ENCODING))
    return FeedOutput(FEED, path, n, ENCODING, dirt)
