"""Smart-card taps: a day of Shenzhen Tong transactions, as the clearing house's end-of-day file.

`smartcard_tap/<date>/smartcard_tap_<YYYYMMDD>.csv`, UTF-8 with a byte order mark (as the open
data platform's downloads are), the layout of `itlake.feeds.smartcard_tap`. Cardholders make one
to four journeys a day, at the morning and evening peaks and in between; a metro journey is an
entry and an exit tap (two minutes per station plus walking time) on two stations of one metro
line of the demo GTFS zip written before (so every station is a GTFS stop, by name, and the
line is 地铁 plus the route's short name, 地铁1号线), a bus journey one boarding tap. Metro
entries pay nothing, exits pay the fare by distance, buses 2 yuan; Shenzhen Tong takes 5 % off
(deal_money against deal_value, in fen). Rows are sorted by time.

Dirt, listed in the manifest: a few metro exits whose entry tap was lost (exit_without_entry in
gold), a few entries with no exit (entry_without_exit), one duplicated row and one unknown
transaction type (地铁补票, a fare adjustment), which is quarantined.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from itlake.demo.city import City
from itlake.demo.gtfs import METRO, read_schedule
from itlake.demo.manifest import Dirt, FeedOutput, feed_dir

FEED = "smartcard_tap"
HEADER = ",".join(
    ["deal_date", "close_date", "card_no", "deal_value", "deal_type", "company_name", "car_no", "station"]
    + ["conn_mark", "deal_money", "equ_no"]
)
CARDS_AT_SCALE_1 = 8000
LOST_ENTRIES_AT_SCALE_1 = 4
LOST_EXITS_AT_SCALE_1 = 4
BUS_COMPANIES = ("巴士集团", "东部公交", "西部公交")
JOURNEY_HOURS = np.array(
    [0, 0, 0, 0, 0, 0, 3, 10, 12, 6, 4, 4, 4, 4, 4, 4, 5, 9, 11, 7, 5, 4, 3, 1], dtype=float
)


def _fare_fen(stations: np.ndarray) -> np.ndarray:
    """Shenzhen Metro: 2 yuan for the first 4 km, then 1 yuan per 4 km (about 1.2 km a station)."""
    km = stations * 1.2
    return (200 + np.ceil(np.maximum(km - 4, 0) / 4) * 100).astype(int)


def _metro_lines(out_dir: Path, date: dt.date) -> dict[str, list[str]]:
    """Each metro line of the day's demo GTFS (地铁1号线) with its station names in order, those of
    its first trip in direction 0."""
    schedule = read_schedule(out_dir, date)
    metro = schedule[schedule["route_type"] == METRO.route_type]
    first = metro[metro["trip_id"] == metro["route_id"] + "_0_001"]
    return {
        f"地铁{trip['route_short_name'].iat[0]}": trip["stop_name"].tolist()
        for _, trip in first.groupby("route_id", sort=True)
    }


def write_smartcard_taps(out_dir: Path, city: City, *, scale: float, seed: int, date: dt.date) -> FeedOutput:
    rng = np.random.default_rng([seed, 30])
    n_cards = max(10, round(CARDS_AT_SCALE_1 * scale))
    cards = rng.choice(np.arange(290_000_000, 299_999_999), n_cards, replace=False)
    journeys = rng.integers(1, 5, n_cards)
    card = np.repeat(np.arange(n_cards), journeys)
    n = len(card)
    start_s = rng.choice(24, n, p=JOURNEY_HOURS / JOURNEY_HOURS.sum()) * 3600 + rng.uniform(0, 3600, n)
    metro = rng.random(n) < 0.6
    stations = _metro_lines(out_dir, date)
    line_names = list(stations)
    line = rng.integers(0, len(line_names), n)
    devices = {}

    def device(key: str) -> str:
        if key not in devices:
            devices[key] = f"2{rng.integers(10**7, 10**8):08d}"
        return devices[key]

    day = dt.datetime.combine(date, dt.time(0, 0))
    close = f"{date + dt.timedelta(days=1)} 00:00:00"
    rows: list[tuple[float, list[str]]] = []
    lost_entry = set(
        rng.choice(
            np.flatnonzero(metro), max(1, round(LOST_ENTRIES_AT_SCALE_1 * scale)), replace=False
        ).tolist()
    )
    lost_exit = set(
        rng.choice(
            np.flatnonzero(metro), max(1, round(LOST_EXITS_AT_SCALE_1 * scale)), replace=False
        ).tolist()
    )
    lost_exit -= lost_entry
    for j in range(n):
        card_no = str(cards[card[j]])
        t0 = start_s[j]
        if metro[j]:
            name = line_names[line[j]]
            names = stations[name]
            a, b = rng.choice(len(names), 2, replace=False)
            hops = abs(int(a) - int(b))
            t1 = t0 + 300 + hops * 120 + rng.uniform(0, 240)
            value = int(_fare_fen(np.array([hops]))[0])
            entry = [
                card_no,
                str(value),
                "地铁入站",
                name,
                f"AGM-{rng.integers(100, 999)}",
                names[a],
                "0",
                "0",
                device(names[a]),
            ]
            exit_ = [
                card_no,
                str(value),
                "地铁出站",
                name,
                f"AGM-{rng.integers(100, 999)}",
                names[b],
                "0",
                str(round(value * 0.95)),
                device(names[b]),
            ]
            if j not in lost_entry:
                rows.append((t0, entry))
            if j not in lost_exit and t1 < 86_400:
                rows.append((t1, exit_))
        else:
            company = BUS_COMPANIES[rng.integers(0, len(BUS_COMPANIES))]
            bus = f"粤B{rng.integers(0, 10**5):05d}D"
            rows.append(
                (
                    t0,
                    [
                        card_no,
                        "200",
                        "巴士",
                        company,
                        bus,
                        "",
                        str(int(rng.random() < 0.2)),
                        "190",
                        device(bus),
                    ],
                )
            )
    rows.sort(key=lambda r: (r[0], r[1][0]))
    # A duplicated row and an unknown transaction type, placed after the sort.
    dup_at = int(rng.integers(0, len(rows)))
    rows.insert(dup_at + 1, rows[dup_at])
    odd_at = int(rng.integers(0, len(rows)))
    odd = list(rows[odd_at][1])
    odd[2] = "地铁补票"
    rows.insert(odd_at + 1, (rows[odd_at][0], odd))

    dirt = [Dirt(FEED, dup_at + 2, "duplicate_row"), Dirt(FEED, odd_at + 2, "unknown_deal_type")]
    path = feed_dir(out_dir, FEED, date) / f"{FEED}_{date:%Y%m%d}.csv"
    with path.open("w", encoding="utf-8-sig", newline="\n") as f:
        f.write(HEADER + "\n")
        for t, (card_no, value, kind, company, car, station, conn, money, equ) in rows:
            stamp = (day + dt.timedelta(seconds=int(t))).strftime("%Y-%m-%d %H:%M:%S")
            f.write(
                f"{stamp},{close},{card_no},{value},{kind},{company},{car},{station},{conn},{money},{equ}\n"
            )
    return FeedOutput(FEED, path, len(rows), "utf-8-sig", tuple(dirt))
