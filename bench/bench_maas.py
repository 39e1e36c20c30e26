"""Benchmark: the MaaS build at demo scale x `scale`, and demand_zone_interval against plain DuckDB.

    PYTHONPATH=. python bench/bench_maas.py 10

`run(scale)` generates the demo city at that scale into a temporary folder, ingests the feeds the
MaaS tables read (those with a parser in this tree) in-process, builds the taxi trips, then times:

1. the whole MaaS build (`itlake.maas.build.run`: six gold tables and the map), as input rows per
   second;
2. demand_zone_interval alone in Spark (computed, not written), as input event rows per second;
3. the same demand_zone_interval in plain DuckDB, reading the Parquet files of the silver and
   gold Delta tables (the files of their current version, listed by `deltalake`), with the same
   zone functions registered as vectorised Python UDFs. Both must give the same rows.

Each row of the result: name, value, unit, baseline, ratio (value / baseline), goal, met, note.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from bench.common import lake_at

DAY = date(2026, 11, 27)
# Feeds whose silver tables the MaaS build reads (gold taxi_trip is built from taxi_gps).
MAAS_FEEDS = (
    "gtfs",
    "taxi_gps",
    "ridehail_order",
    "smartcard_tap",
    "gbfs_station_information",
    "gbfs_station_status",
    "gbfs_vehicle_status",
)
DUCK_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "long": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def _prepare_lake(root: Path, scale: float) -> dict:
    """Generate the city, ingest the MaaS feeds and build taxi trips; returns what was ingested."""
    from itlake.catalog.resources import load_catalog
    from itlake.config import get_settings
    from itlake.demo import generate_city
    from itlake.feeds import FEED_NAMES
    from itlake.gold.taxi_trips import run as build_trips
    from itlake.ingest.pipeline import ingest_resource
    from itlake.lake.session import get_spark

    spark = get_spark("itlake-bench-maas")
    manifest = generate_city(root / "city", scale=scale, seed=42, date=DAY)
    by_feed = {e.feed: e.name for e in load_catalog().entries if e.feed}
    ingested = {}
    started = time.monotonic()
    for f in manifest.files:
        if f.feed in MAAS_FEEDS and f.feed in FEED_NAMES and f.feed in by_feed:
            result = ingest_resource(spark, by_feed[f.feed], DAY, [str(root / "city" / f.path)])
            ingested[f.feed] = ingested.get(f.feed, 0) + result["rows_promoted"]
    ingested["taxi_trip"] = build_trips(spark, DAY, get_settings().city_timezone)
    ingested["_seconds"] = time.monotonic() - started
    return ingested


def _duck_views(con, tz: str) -> None:
    """One DuckDB view per MaaS input, with the MaaS column names, from the active Parquet files."""
    from deltalake import DeltaTable

    from itlake.catalog.contracts import load_contract
    from itlake.lake.paths import table_path
    from itlake.maas.build import SPECS

    for name, spec in SPECS.items():
        contract = load_contract(spec.contract)
        path = table_path(contract.layer, spec.contract)
        if Path(path, "_delta_log").is_dir():
            files = DeltaTable(path).file_uris()
        else:
            files = []
        if files:
            listed = ", ".join(f"'{f}'" for f in files)
            select = ", ".join(f'"{theirs}" AS "{ours}"' for ours, theirs in spec.columns.items())
            con.execute(
                f"CREATE VIEW {name} AS SELECT {select} FROM read_parquet([{listed}], hive_partitioning=true)"
            )
        else:
            types = {c.name: DUCK_TYPES[c.type] for c in contract.columns}
            select = ", ".join(
                f'CAST(NULL AS {types[theirs]}) AS "{ours}"' for ours, theirs in spec.columns.items()
            )
            con.execute(f"CREATE VIEW {name} AS SELECT {select} WHERE false")


def duckdb_demand(day: date, tz: str, interval_s: int, h3_resolution: int):
    """demand_zone_interval in plain DuckDB SQL; returns (rows as a DataFrame, seconds, event rows)."""
    import duckdb
    import pyarrow as pa

    from itlake.geo.zones import assign_zone
    from itlake.lake.window import service_day_utc
    from itlake.maas.cells import h3_cells
    from itlake.maas.inputs import BOARDING_TAP_TYPES, WEEKDAYS

    started = time.monotonic()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    def district(lon, lat):
        return pa.array(
            assign_zone(lon.to_numpy(zero_copy_only=False), lat.to_numpy(zero_copy_only=False)), pa.string()
        )

    def h3(lon, lat):
        x, y = lon.to_numpy(zero_copy_only=False), lat.to_numpy(zero_copy_only=False)
        return pa.array(h3_cells(x, y, h3_resolution), pa.string())

    # A point in no district gets NULL, as in Spark ("special": the UDF may return NULL).
    for name, fn in (("district", district), ("h3cell", h3)):
        con.create_function(name, fn, ["DOUBLE", "DOUBLE"], "VARCHAR", type="arrow", null_handling="special")
    _duck_views(con, tz)
    start, end = service_day_utc(day, tz)
    window = f"BETWEEN TIMESTAMP '{start}' AND TIMESTAMP '{end}' - INTERVAL 1 MICROSECOND"
    taps = ", ".join(f"'{t}'" for t in BOARDING_TAP_TYPES)
    sql = f"""
    WITH feed AS (
        SELECT feed_version FROM gtfs_calendar
        WHERE start_date <= DATE '{day}' AND end_date >= DATE '{day}' AND {WEEKDAYS[day.weekday()]} = 1
        GROUP BY feed_version ORDER BY max(start_date) DESC, feed_version DESC LIMIT 1
    ),
    places AS (
        SELECT stop_name, avg(lon) AS lon, avg(lat) AS lat FROM gtfs_stops JOIN feed USING (feed_version)
        WHERE stop_name IS NOT NULL GROUP BY stop_name
    ),
    drops AS (
        SELECT s.reported_at, i.lon, i.lat,
               greatest(lag(s.bikes_available) OVER (
                            PARTITION BY s.system_id, s.station_id ORDER BY s.reported_at
                        ) - s.bikes_available, 0) AS departures
        FROM station_status s JOIN station_info i USING (system_id, station_id)
        WHERE s.reported_at BETWEEN TIMESTAMP '{start}' - INTERVAL 1 HOUR AND TIMESTAMP '{end}'
    ),
    events AS (
        SELECT 'ride_hailing' AS mode, request_time AS t, origin_lon AS lon, origin_lat AS lat, 1 AS trips
        FROM requests WHERE request_time {window}
        UNION ALL
        SELECT 'taxi', pickup_time, origin_lon, origin_lat, 1 FROM taxi_trips WHERE pickup_time {window}
        UNION ALL
        SELECT 'bike', reported_at, lon, lat, departures FROM drops
        WHERE departures > 0 AND reported_at {window}
        UNION ALL
        SELECT 'transit', c.tap_time, p.lon, p.lat, 1
        FROM card_taps c LEFT JOIN places p ON c.station_name = p.stop_name
        WHERE c.tap_type IN ({taps}) AND c.tap_time {window}
    ),
    placed AS (
        SELECT mode, trips, district(lon, lat) AS district, h3cell(lon, lat) AS h3,
               to_timestamp(floor(epoch(t) / {interval_s}) * {interval_s}) AS interval_start
        FROM events WHERE lon IS NOT NULL AND lat IS NOT NULL
    )
    SELECT zone_level, zone_id, interval_start, mode, sum(trips) AS trips FROM (
        SELECT 'district' AS zone_level, district AS zone_id, interval_start, mode, trips FROM placed
        UNION ALL
        SELECT 'h3_r{h3_resolution}', h3, interval_start, mode, trips FROM placed
    ) WHERE zone_id IS NOT NULL
    GROUP BY ALL
    """
    rows = con.execute(sql).df()
    seconds = time.monotonic() - started
    events = con.execute(
        f"""SELECT (SELECT count(*) FROM requests WHERE request_time {window})
                 + (SELECT count(*) FROM taxi_trips WHERE pickup_time {window})
                 + (SELECT count(*) FROM station_status WHERE reported_at {window})
                 + (SELECT count(*) FROM card_taps WHERE tap_time {window})"""
    ).fetchone()[0]
    con.close()
    return rows, seconds, int(events)


def run(scale: float) -> list[dict]:
    """Benchmark rows for the harness (bench/run.py), on a lake of their own."""
    tmp = Path(tempfile.mkdtemp(prefix="itlake-bench-maas-"))
    try:
        with lake_at(tmp / "lake"):
            return _measure(tmp, scale)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(tmp: Path, scale: float) -> list[dict]:
    from itlake.config import get_settings
    from itlake.lake.session import get_spark
    from itlake.maas.build import active_timetable, demand_table, read_inputs, release
    from itlake.maas.build import run as build_maas
    from itlake.maas.settings import maas_settings

    tz = get_settings().city_timezone
    settings = maas_settings()
    ingested = _prepare_lake(tmp, scale)
    spark = get_spark("itlake-bench-maas")

    started = time.monotonic()
    built = build_maas(spark, DAY, tz)
    build_s = time.monotonic() - started
    print(f"maas build: {build_s:.0f} s, {built['rows']:,} rows written", file=sys.stderr, flush=True)
    input_rows = sum(v for k, v in ingested.items() if not k.startswith("_") and k != "gtfs")

    started = time.monotonic()
    inputs = read_inputs(spark, DAY, tz)
    trips, stops = active_timetable(inputs, DAY)
    spark_rows = demand_table(inputs, stops, DAY, tz, settings).toPandas()
    spark_s = time.monotonic() - started
    release({"_persisted": [trips, stops]})

    # DuckDB in a process of its own: once, at demo scale x 10, the process holding both the Spark
    # gateway and DuckDB's Python UDFs aborted in malloc after both had run.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        job = pool.submit(duckdb_demand, DAY, tz, settings.interval_s, settings.h3_resolution)
        duck_rows, duck_s, events = job.result()
    same = len(spark_rows) == len(duck_rows) and int(spark_rows["trips"].sum()) == int(
        duck_rows["trips"].sum()
    )
    spark_rate, duck_rate = events / spark_s, events / duck_s
    build_rate = input_rows / build_s
    feeds = ", ".join(f"{k} {v:,}" for k, v in sorted(ingested.items()) if not k.startswith("_"))
    return [
        {
            "name": "maas_build",
            "value": build_rate,
            "unit": "rows/s",
            "baseline": duck_rate,
            "ratio": build_rate / duck_rate,
            "goal": f"the MaaS build (6 tables + map) finishes at demo scale x {scale:g} on this machine",
            "met": True,
            "note": (
                f"{build_s:.0f} s for {input_rows:,} input rows ({feeds}); wrote {built['rows']:,} rows; "
                f"baseline: DuckDB demand_zone_interval rows/s"
            ),
        },
        {
            "name": "demand_zone_interval_spark_vs_duckdb",
            "value": spark_rate,
            "unit": "rows/s",
            "baseline": duck_rate,
            "ratio": spark_rate / duck_rate,
            "goal": "Spark and plain DuckDB give the same demand_zone_interval (speed ratio for information)",
            "met": bool(same),
            "note": (
                f"{events:,} event rows; Spark {spark_s:.1f} s, DuckDB {duck_s:.1f} s; "
                f"{len(spark_rows):,} vs {len(duck_rows):,} rows, "
                f"{int(spark_rows['trips'].sum()):,} vs {int(duck_rows['trips'].sum()):,} trips"
            ),
        },
    ]


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    for row in run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(
            f"{row['name']}: {row['value']:,.0f} {row['unit']} (baseline {row['baseline']:,.0f}, "
            f"ratio {row['ratio']:.2f}) goal: {row['goal']} met: {row['met']} -- {row['note']}"
        )
