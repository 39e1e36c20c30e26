"""`generate_city`: write the whole synthetic city day under one directory, plus its manifest.

    from itlake.demo import generate_city
    manifest = generate_city(Path("demo-city"), scale=1.0, seed=42, date=date(2026, 11, 27))

Each feed draws from its own `numpy.random.default_rng([seed, feed])` stream, so the same seed,
scale and date give byte-identical files, and changing one feed's code leaves the others alone.
Row counts grow linearly with the scale; the hub network does not depend on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from itlake import __version__
from itlake.demo.bridges import write_bridges
from itlake.demo.charging import write_charging
from itlake.demo.city import City, build_city
from itlake.demo.gbfs import (
    write_gbfs_station_information,
    write_gbfs_station_status,
    write_gbfs_vehicle_status,
)
from itlake.demo.gtfs import write_gtfs
from itlake.demo.gtfs_rt import write_gtfs_rt
from itlake.demo.hubs import write_hubs
from itlake.demo.manifest import FeedFile, FeedOutput, Manifest
from itlake.demo.ports import write_port_throughput
from itlake.demo.ridehail import write_ridehail_orders
from itlake.demo.roads import write_roads
from itlake.demo.smartcard import write_smartcard_taps
from itlake.demo.taxi import write_taxi_gps
from itlake.demo.trucks import write_truck_positions
from itlake.demo.waybill import write_waybills
from itlake.ingest.checksums import file_sha256

DEFAULT_DATE = dt.date(2026, 11, 27)

FeedWriter = Callable[..., FeedOutput]
FEEDS: tuple[tuple[str, FeedWriter], ...] = (
    ("gtfs", write_gtfs),
    ("gtfs_rt", write_gtfs_rt),  # reads the GTFS zip written just before
    ("taxi_gps", write_taxi_gps),
    ("waybill", write_waybills),
    ("truck_position", write_truck_positions),
    ("port_throughput", write_port_throughput),
    ("road_network", write_roads),
    ("gbfs_station_information", write_gbfs_station_information),
    ("gbfs_station_status", write_gbfs_station_status),
    ("gbfs_vehicle_status", write_gbfs_vehicle_status),
    ("ridehail_order", write_ridehail_orders),
    ("smartcard_tap", write_smartcard_taps),  # its metro lines are those of the GTFS zip
    ("bridge_tunnel", write_bridges),
    ("transport_hub", write_hubs),
    ("nev_charging_station", write_charging),
)
STEPS = ("city", *(name for name, _ in FEEDS))


def generate_city(
    out_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 42,
    date: dt.date = DEFAULT_DATE,
    on_step: Callable[[str], None] | None = None,
) -> Manifest:
    """Write every feed for `date` under `out_dir/<feed>/<date>/` and `out_dir/manifest.json`.

    `on_step(name)` is called before each of STEPS starts (for progress display); a step's file is
    in the returned manifest once the next step starts.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if on_step:
        on_step("city")
    city: City = build_city(seed)
    manifest = Manifest(version=__version__, seed=seed, scale=float(scale), date=date.isoformat())
    for name, write in FEEDS:
        if on_step:
            on_step(name)
        written = write(out_dir, city, scale=scale, seed=seed, date=date)
        # A writer returns one FeedOutput, or a list when it writes several files.
        for out in written if isinstance(written, list) else [written]:
            relative = out.path.relative_to(out_dir).as_posix()
            manifest.files.append(FeedFile(out.feed, relative, file_sha256(out.path), out.rows, out.encoding))
            manifest.dirt.extend(out.dirt)
    manifest.files.sort(key=lambda f: f.path)
    manifest.write(out_dir)
    return manifest
