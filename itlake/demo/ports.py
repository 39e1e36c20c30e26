"""Monthly throughput of Shenzhen's port areas for the twelve months before the demo date, UTF-8.

`port_throughput/<date>/port_throughput_<YYYYMM>.csv` (the month of the date), header
`港口代码,港口名称,统计月份,进出港,内外贸,集装箱吞吐量万TEU,货物吞吐量万吨`: one row per port area,
month, direction and trade, figures in 10^4 TEU and 10^4 t with two decimals, as the monthly
bulletin prints them. Yearly volumes are in proportion to the port areas' published orders of
magnitude (Shenzhen handles about 30 million TEU a year, Yantian close to half); months follow a
Spring Festival dip in February and an autumn peak; about 52 % is loaded (出港) and 88 % foreign.

Dirt, listed in the manifest: one month written `yyyy/MM` (bad_month) and one negative TEU figure
(negative_teu).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from itlake.demo.city import City
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir

FEED = "port_throughput"
ENCODING = "utf-8"
HEADER = "港口代码,港口名称,统计月份,进出港,内外贸,集装箱吞吐量万TEU,货物吞吐量万吨"
# Port area: (code in the UN/LOCODE style, name, 10^4 TEU a year, tonnes per TEU incl. bulk)
PORTS = [
    ("CNYTN", "盐田港区", 1400.0, 9.5),
    ("CNSHK", "蛇口港区", 650.0, 11.0),
    ("CNCWN", "赤湾港区", 450.0, 11.5),
    ("CNMAW", "妈湾港区", 300.0, 13.0),
    ("CNDCB", "大铲湾港区", 150.0, 10.5),
]
MONTH_FACTOR = [0.97, 0.80, 0.95, 1.00, 1.02, 1.01, 1.04, 1.06, 1.05, 1.04, 1.03, 1.03]  # Jan..Dec
DIRECTIONS = [("出港", 0.52), ("进港", 0.48)]
TRADES = [("外贸", 0.88), ("内贸", 0.12)]
MONTHS = 12


def write_port_throughput(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    """Scale does not change the number of rows: a port's month is a month whatever the city size."""
    rng = np.random.default_rng([seed, 42])
    first = date.replace(day=1)
    months = []
    for back in range(MONTHS, 0, -1):
        index = first.year * 12 + first.month - 1 - back
        months.append(dt.date(index // 12, index % 12 + 1, 1))
    rows: list[list[str]] = []
    for code, name, yearly, tonnes_per_teu in PORTS:
        for month in months:
            base = yearly / 12 * MONTH_FACTOR[month.month - 1] * rng.lognormal(0.0, 0.04)
            for direction, d_share in DIRECTIONS:
                for trade, t_share in TRADES:
                    teu = base * d_share * t_share * rng.lognormal(0.0, 0.03)
                    tonnes = teu * tonnes_per_teu * rng.lognormal(0.0, 0.05)
                    rows.append(
                        [code, name, f"{month:%Y-%m}", direction, trade, f"{teu:.2f}", f"{tonnes:.2f}"]
                    )
    bad_month, negative = (int(k) for k in rng.choice(len(rows), 2, replace=False))
    rows[bad_month][2] = rows[bad_month][2].replace("-", "/")
    rows[negative][5] = f"-{rows[negative][5]}"
    dirt = (Dirt(FEED, bad_month + 1, "bad_month"), Dirt(FEED, negative + 1, "negative_teu"))
    path = feed_dir(out_dir, FEED, date) / f"port_throughput_{date:%Y%m}.csv"
    path.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n", encoding=ENCODING)
    return FeedOutput(FEED, path, len(rows), ENCODING, dirt)
