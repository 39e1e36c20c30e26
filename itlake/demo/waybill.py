"""Electronic waybills: one row per shipment picked up in Shenzhen's trade on the day, GBK-encoded.

`waybill/<date>/waybill_<YYYYMMDD>.csv`, header
`运单号,托运人,收货人,始发地代码,目的地代码,货物类别,重量kg,体积m3,运输方式,车牌号,揽收时间,送达时间,联运段`.
Every waybill starts or ends in a Shenzhen district (GB/T 2260); the other end is a district or one
of ten cities. The mode follows the distance (road within the province, rail, water and air further
away); the cargo class follows the mode; weight and volume follow the class. Plates are given for
road only. Times are local (UTC+8); the delivery time is empty while the shipment is still under
way at the end of the day. Waybill numbers follow pickup time. Shipments by rail, water or air
travel by road to or from Shenzhen's terminal for the mode (Pinghu rail hub in 龙岗, Yantian port
in 盐田, Bao'an airport), so they carry legs in 联运段 (`road:440305-440308;water:440308-310000`);
road shipments have none. `build_waybills` returns the same rows as arrays, for the truck writer.

Dirt, listed in the manifest: a few unknown admin codes `999999`, one negative weight and one
delivery before pickup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from itlake.demo.city import City, km_between
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir

FEED = "waybill"
ENCODING = "gbk"
HEADER = (
    "运单号,托运人,收货人,始发地代码,目的地代码,货物类别,重量kg,体积m3,运输方式,车牌号,揽收时间,送达时间,联运段"
)
ROWS_AT_SCALE_1 = 5000
UNKNOWN_CODES_AT_SCALE_1 = 3
UNKNOWN_CODE = "999999"

# code: (name, lon, lat, plate prefix, coastal port)
CITIES: dict[str, tuple[str, float, float, str, bool]] = {
    "440100": ("广州", 113.264, 23.129, "粤A", True),
    "440600": ("佛山", 113.122, 23.022, "粤E", False),
    "441900": ("东莞", 113.752, 23.021, "粤S", True),
    "110000": ("北京", 116.407, 39.904, "京A", False),
    "310000": ("上海", 121.473, 31.230, "沪A", True),
    "430100": ("长沙", 112.939, 28.228, "湘A", False),
    "510100": ("成都", 104.066, 30.573, "川A", False),
    "420100": ("武汉", 114.305, 30.593, "鄂A", True),
    "330100": ("杭州", 120.155, 30.274, "浙A", True),
    "350200": ("厦门", 118.089, 24.480, "闽D", True),
}
CARGO = np.array(
    ["general", "container", "bulk", "liquid_bulk", "cold_chain", "dangerous", "vehicles", "parcels"]
)
# Share of each cargo class (in CARGO order) by mode.
CARGO_BY_MODE = {
    "road": [0.35, 0.10, 0.07, 0.05, 0.10, 0.05, 0.03, 0.25],
    "rail": [0.20, 0.35, 0.25, 0.05, 0.00, 0.05, 0.10, 0.00],
    "water": [0.00, 0.60, 0.20, 0.15, 0.00, 0.00, 0.05, 0.00],
    "air": [0.30, 0.00, 0.00, 0.00, 0.10, 0.00, 0.00, 0.60],
}
# Median weight (kg) and density (kg/m3) by cargo class, in CARGO order.
MEDIAN_KG = np.array([800, 15000, 25000, 20000, 2000, 8000, 3000, 15], dtype=float)
DENSITY = np.array([250, 350, 1500, 900, 400, 800, 150, 150], dtype=float)
# Door-to-door speed (km/h) and handling hours by mode.
TRANSIT = {"road": (50.0, 1.0), "rail": (60.0, 12.0), "water": (25.0, 24.0), "air": (600.0, 8.0)}
# Shenzhen's terminal (district code) for each long-distance mode.
TERMINALS = {"rail": "440307", "water": "440308", "air": "440306"}
# Shipments by local hour of pickup: business hours, an evening parcel wave.
PICKUP_BY_HOUR = np.array(
    [1, 1, 1, 1, 1, 2, 4, 6, 9, 10, 10, 9, 7, 8, 9, 9, 9, 8, 8, 7, 6, 4, 2, 1], dtype=float
)

NAME_SYLLABLES = list("华盛达鑫宏顺丰联通泰安恒远航信隆嘉德源海骏昌瑞祥永兴新利发隆创凯")
TRADES = [
    "物流",
    "供应链",
    "贸易",
    "电子",
    "科技",
    "食品",
    "化工",
    "汽车",
    "建材",
    "医药",
    "服装",
    "家具",
    "货运代理",
]


def company_names(city_names: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Company names like 深圳市鑫达物流有限公司, one per given city name."""
    n = len(city_names)
    a = rng.integers(0, len(NAME_SYLLABLES), n)
    b = rng.integers(0, len(NAME_SYLLABLES), n)
    t = rng.integers(0, len(TRADES), n)
    return np.array(
        [
            f"{c}市{NAME_SYLLABLES[i]}{NAME_SYLLABLES[j]}{TRADES[k]}有限公司"
            for c, i, j, k in zip(city_names, a, b, t, strict=True)
        ]
    )


def _places(city: City) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Codes, city names, lon, lat, plate prefixes and port flags: Shenzhen districts, then cities."""
    codes = [d.code for d in city.districts] + list(CITIES)
    names = ["深圳"] * len(city.districts) + [v[0] for v in CITIES.values()]
    lon = [d.centroid[0] for d in city.districts] + [v[1] for v in CITIES.values()]
    lat = [d.centroid[1] for d in city.districts] + [v[2] for v in CITIES.values()]
    plates = ["粤B"] * len(city.districts) + [v[3] for v in CITIES.values()]
    port = [True] * len(city.districts) + [v[4] for v in CITIES.values()]
    return tuple(np.array(v) for v in (codes, names, lon, lat, plates, port))


def _modes(other_city: np.ndarray, road_km: np.ndarray, port: np.ndarray, rng) -> np.ndarray:
    """Road within Shenzhen; mostly road within the province; a mix further away."""
    u = rng.random(len(road_km))
    far = road_km > 300
    mode = np.where(
        far,
        np.select([u < 0.40, u < 0.65, u < 0.85], ["road", "rail", "air"], "water"),
        np.select([u < 0.90, u < 0.95], ["road", "rail"], "water"),
    )
    mode = np.where((mode == "water") & ~port, "rail", mode)
    return np.where(other_city, mode, "road")


@dataclass(frozen=True)
class DemoWaybills:
    """The day's waybills as arrays, in file order (row i is data row i + 1)."""

    number: np.ndarray
    shipper: np.ndarray
    consignee: np.ndarray
    origin_code: np.ndarray
    destination_code: np.ndarray
    origin_lonlat: np.ndarray  # (n, 2), the place's representative point
    destination_lonlat: np.ndarray
    cargo: np.ndarray
    weight: np.ndarray
    volume: np.ndarray
    mode: np.ndarray
    plates: np.ndarray
    pickup_s: np.ndarray  # seconds after local midnight
    delivery_s: np.ndarray
    delivered: np.ndarray
    legs: list[str]
    dirt: tuple[Dirt, ...]


def _legs(mode: str, origin: str, destination: str, outbound: bool) -> str:
    """联运段 of a shipment: empty by road, else road to (or from) Shenzhen's terminal for the mode."""
    if mode == "road":
        return ""
    terminal = TERMINALS[mode]
    if outbound:
        legs = [("road", origin, terminal), (mode, terminal, destination)]
    else:
        legs = [(mode, origin, terminal), ("road", terminal, destination)]
    return ";".join(f"{m}:{a}-{b}" for m, a, b in legs if a != b)


def build_waybills(city: City, *, scale: float, seed: int, date: dt.date) -> DemoWaybills:
    rng = np.random.default_rng([seed, 3])
    n = max(20, round(ROWS_AT_SCALE_1 * scale))
    codes, names, lon, lat, plate_prefix, port = _places(city)
    n_sz = len(city.districts)

    # One end in Shenzhen (weighted to the logistics districts), the other anywhere.
    sz_weight = np.array([2, 3, 3, 5, 4, 3, 3, 1, 2, 1], dtype=float)[:n_sz]
    local = rng.choice(n_sz, n, p=sz_weight / sz_weight.sum())
    other_weight = np.concatenate([np.full(n_sz, 4.0), [8, 6, 7, 2, 3, 2, 2, 2, 2, 2]])
    other = rng.choice(len(codes), n, p=other_weight / other_weight.sum())
    outbound = rng.random(n) < 0.6
    origin = np.where(outbound, local, other)
    destination = np.where(outbound, other, local)
    road_km = 1.3 * km_between(lon[origin], lat[origin], lon[destination], lat[destination]) + 5.0
    mode = _modes(other >= n_sz, road_km, port[other], rng)

    cargo = np.empty(n, dtype=int)
    for m, shares in CARGO_BY_MODE.items():
        rows = mode == m
        cargo[rows] = rng.choice(len(CARGO), rows.sum(), p=np.array(shares) / sum(shares))
    weight = np.clip(MEDIAN_KG[cargo] * rng.lognormal(0.0, 0.6, n), 0.5, 150_000.0)
    volume = np.clip(weight / DENSITY[cargo] * rng.lognormal(0.0, 0.2, n), 0.001, 2000.0)

    hour = rng.choice(24, n, p=PICKUP_BY_HOUR / PICKUP_BY_HOUR.sum())
    pickup_s = np.sort(hour * 3600 + rng.integers(0, 3600, n))
    speed, handling = (np.array([TRANSIT[m][i] for m in mode]) for i in (0, 1))
    transit_s = np.rint((road_km / speed + handling) * 3600 * rng.lognormal(0.0, 0.25, n)).astype(int)
    delivery_s = pickup_s + transit_s
    delivered = delivery_s < 86_400

    plates = np.array(
        [f"{p}{d:05d}" for p, d in zip(plate_prefix[origin], rng.integers(0, 100_000, n), strict=True)]
    )
    plates = np.where(mode == "road", plates, "")
    shipper = company_names(names[origin], rng)
    consignee = company_names(names[destination], rng)
    origin_code, destination_code = codes[origin].astype(object), codes[destination].astype(object)

    # Dirt rows, all different: unknown codes, one negative weight, one delivery before pickup.
    n_unknown = max(1, round(UNKNOWN_CODES_AT_SCALE_1 * scale))
    bad_delivery = int(rng.choice(np.flatnonzero(delivered & (pickup_s >= 3600))))
    others = rng.choice(np.setdiff1d(np.arange(n), [bad_delivery]), n_unknown + 1, replace=False)
    unknown, negative = others[:n_unknown], int(others[-1])
    unknown_end = rng.random(n_unknown) < 0.5
    origin_code[unknown[unknown_end]] = UNKNOWN_CODE
    destination_code[unknown[~unknown_end]] = UNKNOWN_CODE
    weight[negative] = -weight[negative]
    delivery_s[bad_delivery] = pickup_s[bad_delivery] - int(rng.integers(600, 3600))
    dirt = [Dirt(FEED, int(r) + 1, "unknown_admin_code") for r in unknown]
    dirt += [
        Dirt(FEED, negative + 1, "negative_weight"),
        Dirt(FEED, bad_delivery + 1, "delivery_before_pickup"),
    ]

    legs = [
        _legs(m, str(a), str(b), bool(o))
        for m, a, b, o in zip(mode, origin_code, destination_code, outbound, strict=True)
    ]
    return DemoWaybills(
        number=np.array([f"WB{date:%Y%m%d}{i + 1:06d}" for i in range(n)]),
        shipper=shipper,
        consignee=consignee,
        origin_code=origin_code,
        destination_code=destination_code,
        origin_lonlat=np.column_stack([lon[origin], lat[origin]]),
        destination_lonlat=np.column_stack([lon[destination], lat[destination]]),
        cargo=CARGO[cargo],
        weight=weight,
        volume=volume,
        mode=mode,
        plates=plates,
        pickup_s=pickup_s,
        delivery_s=delivery_s,
        delivered=delivered,
        legs=legs,
        dirt=tuple(dirt),
    )


def write_waybills(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    w = build_waybills(city, scale=scale, seed=seed, date=date)
    day = dt.datetime.combine(date, dt.time())

    def stamp(seconds: int) -> str:
        return f"{day + dt.timedelta(seconds=seconds):%Y-%m-%d %H:%M:%S}"

    lines = [HEADER]
    for i in range(len(w.number)):
        delivery = stamp(int(w.delivery_s[i])) if w.delivered[i] else ""
        lines.append(
            ",".join(
                [
                    w.number[i],
                    w.shipper[i],
                    w.consignee[i],
                    w.origin_code[i],
                    w.destination_code[i],
                    w.cargo[i],
                    f"{w.weight[i]:.1f}",
                    f"{w.volume[i]:.3f}",
                    w.mode[i],
                    w.plates[i],
                    stamp(int(w.pickup_s[i])),
                    delivery,
                    w.legs[i],
                ]
            )
        )
    path = feed_dir(out_dir, FEED, date) / f"waybill_{date:%Y%m%d}.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(ENCODING))
    return FeedOutput(FEED, path, len(w.number), ENCODING, w.dirt)
