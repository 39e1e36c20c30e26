"""Great Expectations gate overhead on a five-million-row taxi GPS promotion.

The same demo taxi GPS file (about 5,000,000 fixes at scale 1) is ingested twice through
`itlake.ingest.flow.ingest_file` into two fresh lakes: once as it runs in production, with the GX
gate (`itlake.quality.validate_frame` and its `_system.quality_results` write), and once with the
gate replaced by a report that passes without checking anything. Overhead = (with - without) /
without. The gate's own time inside the first run is measured too.

When the overhead misses its goal, the gate of a third, smaller promotion is profiled with
pyinstrument and the profile is written next to the results (bench/results/<time>-gx-profile.txt);
the note names the functions where the time goes.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from bench.common import (
    DEMO_DATE,
    lake_at,
    profile_to_file,
    quiet_spark_jobs,
    result,
    scratch_dir,
    spark_session,
    spark_share,
    step_split,
    taxi_gps_file,
)

GOAL = "<= 25%"
ROWS_AT_SCALE_1 = 5_000_000
# Data rows per unit of demo-city scale: 300 taxis x 1440 fixes, plus 0.2 % duplicates.
ROWS_PER_CITY_SCALE = 300 * 1440 * 1.002


@contextlib.contextmanager
def gate(enabled: bool, seconds: list[float]):
    """Run ingest with the real GX gate (timing each call into `seconds`) or with none."""
    import itlake.quality as quality
    from itlake.quality.validate import QualityReport

    real = quality.validate_frame

    def timed_gate(df, contract, **kwargs):
        started = time.perf_counter()
        try:
            return real(df, contract, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    def no_gate(df, contract, *, dataset, batch_id, run_id, **_):
        return QualityReport(run_id=run_id, dataset=dataset, batch_id=batch_id, success=True, results=[])

    quality.validate_frame = timed_gate if enabled else no_gate
    try:
        yield
    finally:
        quality.validate_frame = real


def promote(spark, entry, path: Path, lake: Path, *, with_gate: bool) -> tuple[float, float, int]:
    """Wall seconds of one ingest, seconds inside the gate, rows promoted."""
    from itlake.ingest.flow import ingest_file

    quiet_spark_jobs(spark)
    inside: list[float] = []
    with lake_at(lake), gate(with_gate, inside):
        started = time.perf_counter()
        ledger = ingest_file(spark, entry, path, DEMO_DATE)
        wall = time.perf_counter() - started
    return wall, sum(inside), sum(r.rows_promoted for r in ledger)


def profile_gate(spark, entry, path: Path, lake: Path) -> tuple[Path, str]:
    """Profile the gate of one ingest of `path`; returns the profile file and where its time goes:
    waiting on Spark, and the gate's largest steps."""
    from itlake.ingest.flow import ingest_file

    def ingest() -> None:
        with lake_at(lake):
            ingest_file(spark, entry, path, DEMO_DATE)

    out, profiler = profile_to_file(ingest, "gx", start_in="validate_frame")
    steps = step_split(profiler, ("validate_frame",), top=3)
    return out, f"Spark jobs {spark_share(profiler):.0%}; steps: {steps}"


def run(scale: float) -> list[dict]:
    from itlake.catalog.resources import load_catalog

    spark = spark_session()
    entry = load_catalog().get("taxi_gps")
    with scratch_dir("gx") as work:
        path, rows = taxi_gps_file(work / "feed", ROWS_AT_SCALE_1 * scale / ROWS_PER_CITY_SCALE)
        warm, _ = taxi_gps_file(work / "warm", 0.01)
        promote(spark, entry, warm, work / "warm-lake", with_gate=True)

        without_s, _, promoted = promote(spark, entry, path, work / "lake-without", with_gate=False)
        with_s, gate_s, promoted_gated = promote(spark, entry, path, work / "lake-with", with_gate=True)
        overhead = (with_s - without_s) / without_s
        note = (
            f"{rows:,} rows, {promoted_gated:,} promoted; with gate {with_s:.1f} s "
            f"(gate itself {gate_s:.1f} s), without {without_s:.1f} s"
        )
        if promoted != promoted_gated:
            note += f"; PROMOTED COUNTS DIFFER ({promoted:,} without the gate)"
        row = result("gx: validation overhead on a promotion", with_s, "s", without_s, overhead, GOAL, note)
        if not row["met"]:
            small, _ = taxi_gps_file(work / "profiled", max(0.05, scale))
            profile, top = profile_gate(spark, entry, small, work / "lake-profiled")
            row["note"] += f"; profile {profile.name}: {top}"
    return [row]
