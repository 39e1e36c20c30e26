"""Real time: a day of 20-second GTFS-Realtime trip-update polls through the pipeline's own path.

The demo generator writes the day: 4,320 `.pb` files of about 1,000 stop-time updates each
(itlake/demo/gtfs_rt.py `write_trip_update_day`), against the demo city's static GTFS, which is
ingested first and not timed. Then `itlake.ingest.flow.plan` and `ingest_paths` (what the ingest job
runs) take them: the first file alone, then the other files of the day, in batches; then every
file once more, which must change nothing. Scale s takes the first s x 4,320 files (at least 20).

Rows: the day's wall time against the goal of 5 minutes (ratio = time / 300 s, goal <= 1); the
marginal cost of a file, the time of the files after the first over their number (goal <= 0.07 s);
and the second run over the same files (goal <= 30 s, and the silver table's version unchanged).
The note says whether the ledger reconciles: every row, and the sum of inserted rows against
silver's row count.
"""

from __future__ import annotations

from bench.common import DEMO_DATE, lake_at, result, scratch_dir, spark_session, timed

DAY_FILES = 4320
DAY_GOAL_S = 300.0
MARGINAL_GOAL_S = 0.07
AGAIN_GOAL_S = 30.0


def run(scale: float) -> list[dict]:
    from deltalake import DeltaTable

    from itlake.catalog.resources import load_catalog
    from itlake.demo.city import build_city
    from itlake.demo.gtfs import write_gtfs
    from itlake.demo.gtfs_rt import write_trip_update_day
    from itlake.ingest.flow import ingest_paths, plan
    from itlake.lake.delta import read_arrow
    from itlake.lake.paths import system_table_path, table_path

    spark = spark_session()
    catalog = load_catalog()
    entry = catalog.get("gtfs_rt_trip_update")
    count = max(20, round(DAY_FILES * scale))
    with scratch_dir("realtime") as work:
        static = write_gtfs(work / "inbox", build_city(42), scale=1.0, seed=42, date=DEMO_DATE)
        files = write_trip_update_day(work / "inbox", seed=42, date=DEMO_DATE, files=count)
        with lake_at(work / "lake"):
            ingest_paths(spark, catalog.get("gtfs"), [static.path], DEMO_DATE)
            first_s, first = timed(lambda: ingest_paths(spark, entry, files[:1], DEMO_DATE))
            rest_s, rest = timed(lambda: ingest_paths(spark, entry, files[1:], DEMO_DATE))
            silver_path = table_path("silver", "gtfs_rt_trip_update")
            version_before = DeltaTable(silver_path).version()
            again_s, again = timed(lambda: plan(entry, files, DEMO_DATE))
            rows = [*first, *rest]
            silver_rows = read_arrow(silver_path, ["trip_id"]).num_rows
            ledger = read_arrow(system_table_path("ingest_ledger"), ["code", "rows_inserted"])
            inserted = sum(r["rows_inserted"] or 0 for r in ledger.to_pylist() if r["code"] == entry.code)
            unchanged = DeltaTable(silver_path).version() == version_before and not again.arrivals
    day_s = first_s + rest_s
    marginal_s = rest_s / (count - 1)
    reconciles = all(r.reconciles for r in rows) and inserted == silver_rows
    updates = sum(r.rows_read for r in rows)
    note = (
        f"{count} files, {updates:,} stop-time updates ({updates / count:,.0f} a file); first file "
        f"{first_s:.1f} s; ledger reconciles: {'yes' if reconciles else 'NO'} (inserted {inserted:,}, "
        f"silver {silver_rows:,})"
    )
    return [
        result(
            "realtime: a day of 20 s GTFS-RT polls", day_s, "s", DAY_GOAL_S, day_s / DAY_GOAL_S, "<= 1", note
        ),
        result(
            "realtime: marginal cost of a file",
            marginal_s,
            "s",
            MARGINAL_GOAL_S,
            marginal_s / MARGINAL_GOAL_S,
            "<= 1",
            f"{count - 1} files after the first in {rest_s:.1f} s",
        ),
        result(
            "realtime: the same files again",
            again_s,
            "s",
            AGAIN_GOAL_S,
            again_s / AGAIN_GOAL_S,
            "<= 1",
            f"{len(again.already)} files already ingested, {len(again.arrivals)} to do; "
            f"silver unchanged: {'yes' if unchanged else 'NO'}",
        ),
    ]
