"""Time to serve a 1-million-row table to the official Delta Sharing client, against reading the
same Delta table locally with delta-rs in the same run.

    python bench/sharing_1m.py [--rows 1000000] [--files 8]

The table is shaped like gold.maas_taxi_zone_hour (zone, service date, hour, counts, a ratio), in a
temporary local-folder lake, written with delta-rs in `--files` commits; the server runs in a
background thread on a free port, and the client downloads through the signed URLs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def main() -> None:
    import delta_sharing
    import numpy as np
    import pandas as pd
    from deltalake import DeltaTable, write_deltalake

    from itlake.sharing.recipients import create_recipient
    from itlake.sharing.server import BackgroundServer, create_app

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="itlake-bench-sharing-"))
    lake = root / "lake"
    table = lake / "gold" / "maas_taxi_zone_hour"
    rng = np.random.default_rng(42)
    per_file = args.rows // args.files
    for i in range(args.files):
        pickups = rng.integers(0, 500, per_file)
        idle = rng.integers(0, 300, per_file)
        frame = pd.DataFrame(
            {
                "zone_id": rng.choice([f"4403{n:02d}" for n in range(3, 13)], per_file),
                "zone_name": "区",
                "service_date": date(2026, 1, 1) + timedelta(days=i),
                "hour_start": pd.Timestamp("2026-01-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 24, per_file), "h"),
                "taxi_pickups": pickups,
                "idle_taxis": idle,
                "supply_demand_ratio": idle / np.maximum(pickups, 1),
                "unmet_demand": np.maximum(pickups - idle, 0),
                "is_gap": pickups > idle,
            }
        )
        write_deltalake(str(table), frame, partition_by=["service_date"], mode="append")
    size = sum(p.stat().st_size for p in table.rglob("*.parquet"))

    started = time.perf_counter()
    local = DeltaTable(str(table)).to_pandas()
    local_s = time.perf_counter() - started

    app = create_app(lake_root=str(lake), recipients_file=root / "recipients.json", secret=b"bench")
    with BackgroundServer(app) as url:
        profile = root / "bench.share"
        create_recipient(
            "bench",
            ["agencies"],
            endpoint=f"{url}/delta-sharing",
            profile=profile,
            path=root / "recipients.json",
        )
        started = time.perf_counter()
        shared = delta_sharing.load_as_pandas(f"{profile}#agencies.gold.maas_taxi_zone_hour")
        shared_s = time.perf_counter() - started
    assert len(shared) == len(local) == per_file * args.files
    print(f"table: {len(local):,} rows in {args.files} Parquet files, {size / 1e6:.1f} MB")
    print(f"delta-rs local read:            {local_s:6.2f} s")
    print(f"delta-sharing client over HTTP: {shared_s:6.2f} s  ({shared_s / local_s:.1f}x the local read)")


if __name__ == "__main__":
    main()
