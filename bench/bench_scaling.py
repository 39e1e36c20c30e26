"""Scaling: the demo pipeline's core -- generate the city, ingest every feed, build gold trips --
at scales 1, 4 and 16, each as a ratio of its wall time to scale 1's.

Scale 1 here is a thirty-second of the demo city's day (BASE), so scale 16 is half the demo day.
Every ingested file also costs a fixed time (Spark jobs, the GX gate and Delta commits: about
12 s on the idle machine for a file of a few rows), and a run ingests 20 files, so this module
takes the larger part of `make bench`; a whole demo day at scale 16 would take it past 30
minutes. The harness's scale multiplies BASE (`python -m bench.run --only scaling --scale 8`
runs a quarter, one and four demo days). In-process on one Spark session (no Airflow, no
spark-submit), each scale into a fresh lake, after a warm-up run on a tiny city. "No worse than
linear" means the time at scale s is at most s times the time at scale 1.
"""

from __future__ import annotations

from bench.common import DEMO_DATE, lake_at, quiet_spark_jobs, result, scratch_dir, spark_session, timed

SCALES = (1, 4, 16)
BASE = 1 / 32  # of the demo city


def pipeline(spark, out_dir, lake_dir, city_scale: float) -> dict:
    """Seconds of each step and the GPS rows of one generate + ingest + gold run."""
    from itlake.catalog.resources import load_catalog
    from itlake.config import get_settings
    from itlake.demo import generate_city
    from itlake.gold import taxi_trips
    from itlake.ingest.flow import BatchRefusedError, ingest_paths

    catalog = load_catalog()
    by_feed = {e.feed: e for e in catalog.feeds()}
    generate_s, manifest = timed(lambda: generate_city(out_dir, scale=city_scale, seed=42, date=DEMO_DATE))
    quiet_spark_jobs(spark)
    with lake_at(lake_dir):

        def ingest_all() -> list[str]:
            # A refused batch is an outcome of the pipeline, as in the DAGs: the ledger holds it and
            # the other feeds go on. A tiny city can cross a quarantine threshold, since every
            # demo feed plants at least one dirty row.
            refused = []
            for feed_file in manifest.files:
                entry = by_feed.get(feed_file.feed)
                if entry is not None:
                    try:
                        ingest_paths(spark, entry, [out_dir / feed_file.path], DEMO_DATE)
                    except BatchRefusedError:
                        refused.append(feed_file.feed)
            return refused

        ingest_s, refused = timed(ingest_all)
        gold_s, trips = timed(lambda: taxi_trips.run(spark, DEMO_DATE, get_settings().city_timezone))
    gps_rows = sum(f.rows for f in manifest.files if f.feed == "taxi_gps")
    return {
        "total": generate_s + ingest_s + gold_s,
        "generate": generate_s,
        "ingest": ingest_s,
        "gold": gold_s,
        "gps_rows": gps_rows,
        "trips": trips,
        "files": len(manifest.files),
        "refused": refused,
    }


def run(scale: float) -> list[dict]:
    spark = spark_session()
    runs: dict[int, dict] = {}
    with scratch_dir("scaling") as work:
        if scale >= 0.1:  # a quick run checks that the steps run; it skips the warm-up
            pipeline(spark, work / "warm-city", work / "warm-lake", 0.005)
        for s in SCALES:
            runs[s] = pipeline(spark, work / f"city-{s}", work / f"lake-{s}", s * BASE * scale)
    base = runs[SCALES[0]]
    rows = []
    for s in SCALES[1:]:
        r = runs[s]
        rows.append(
            result(
                f"scaling: pipeline at scale {s:g} vs 1",
                r["total"],
                "s",
                base["total"],
                r["total"] / base["total"],
                f"<= {s}",
                f"{r['gps_rows']:,} GPS rows, {r['files']} feed files -> {r['trips']:,} trips: generate "
                f"{r['generate']:.0f} s, ingest {r['ingest']:.0f} s, gold {r['gold']:.0f} s "
                f"(scale 1: {base['generate']:.0f} / {base['ingest']:.0f} / {base['gold']:.0f} s, "
                f"{base['gps_rows']:,} GPS rows)" + _refusals(base, r),
            )
        )
    return rows


def _refusals(base: dict, run: dict) -> str:
    said = [
        f"{name}: {', '.join(r['refused'])} refused"
        for name, r in (("scale 1", base), ("this scale", run))
        if r["refused"]
    ]
    return f"; {'; '.join(said)}" if said else ""
