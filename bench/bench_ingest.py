"""Ingest throughput: a demo taxi GPS CSV through landing -> bronze -> silver, against a bare copy.

The itlake path is `itlake.ingest.flow.ingest_file` (header and encoding check, bronze append, typing,
HMAC pseudonyms, WGS-84, jump detection, quarantine, the GX gate, MERGE into silver, ledger). The
baseline is the least a Spark job can do with the same file: read the CSV as strings and write
it as Parquet. Both run on the same session and file; rows/s counts the file's data rows.
Scale 1 is the demo city's day (300 taxis, ~433,000 fixes).

When the ratio misses its goal, a third ingest of the same file into a fresh lake runs under
pyinstrument; the profile goes to bench/results/<time>-ingest-profile.txt and the note gives the
share of time spent waiting on Spark and the largest steps of `ingest_file` and `promote`.
"""

from __future__ import annotations

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
    timed,
)

GOAL = ">= 0.5"


def bare_copy(spark, csv_path, out_path) -> None:
    spark.read.option("header", "true").csv(str(csv_path)).write.mode("overwrite").parquet(str(out_path))


def run(scale: float) -> list[dict]:
    from itlake.catalog.resources import load_catalog
    from itlake.ingest.flow import ingest_file

    spark = spark_session()
    entry = load_catalog().get("taxi_gps")
    with scratch_dir("ingest") as work:
        path, rows = taxi_gps_file(work / "feed", scale)
        # Warm up both paths on a small file: JIT, Delta's jars and GX's imports are not throughput.
        small, _ = taxi_gps_file(work / "warm", min(scale, 1.0) * 0.02)
        with lake_at(work / "warm-lake"):
            ingest_file(spark, entry, small, DEMO_DATE)
        bare_copy(spark, small, work / "warm.parquet")
        quiet_spark_jobs(spark)

        bare_s, _ = timed(lambda: bare_copy(spark, path, work / "copy.parquet"))
        quiet_spark_jobs(spark)
        with lake_at(work / "lake"):
            itlake_s, ledger = timed(lambda: ingest_file(spark, entry, path, DEMO_DATE))
        promoted = sum(r.rows_promoted for r in ledger)
        itlake_rate, bare_rate = rows / itlake_s, rows / bare_s
        row = result(
            "ingest: taxi GPS CSV -> silver",
            itlake_rate,
            "rows/s",
            bare_rate,
            itlake_rate / bare_rate,
            GOAL,
            f"{rows:,} rows ({promoted:,} promoted) in {itlake_s:.1f} s; bare Spark CSV -> Parquet "
            f"copy {bare_s:.1f} s",
        )
        if not row["met"]:
            quiet_spark_jobs(spark)

            def ingest() -> None:
                with lake_at(work / "profiled-lake"):
                    ingest_file(spark, entry, path, DEMO_DATE)

            profile, profiler = profile_to_file(ingest, "ingest")
            steps = step_split(profiler, ("ingest_file", "promote"))
            row["note"] += f"; profile {profile.name}: Spark jobs {spark_share(profiler):.0%}; steps: {steps}"
    return [row]
