"""Ingest throughput: a demo taxi GPS CSV through landing -> bronze -> silver, against a bare copy.

The itlake path is `itlake.ingest.ingest_file` (header and encoding check, bronze append, typing,
HMAC pseudonyms, WGS-84, jump detection, quarantine, the GX gate, MERGE into silver, ledger). The
baseline is the least a Spark job can do with the same file: read the CSV as strings and write
it as Parquet. Both run on the same session and file; rows/s counts the file's data rows.
Scale 1 is the demo city's day (300 taxis, ~433,000 fixes).
"""

from __future__ import annotations

from bench.common import (
    DEMO_DATE,
    lake_at,
    quiet_spark_jobs,
    result,
    scratch_dir,
    spark_session,
    taxi_gps_file,
    timed,
)

GOAL = ">= 0.5"


def bare_copy(spark, csv_path, out_path) -> None:
    spark.read.option("header", "true").csv(str(csv_path)).write.mode("overwrite").parquet(str(out_path))


def run(scale: float) -> list[dict]:
    from itlake.catalog import load_catalog
    from itlake.ingest import ingest_file

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
    return [
        result(
            "ingest: taxi GPS CSV -> silver",
            itlake_rate,
            "rows/s",
            bare_rate,
            itlake_rate / bare_rate,
            GOAL,
            f"{rows:,} rows ({promoted:,} promoted) in {itlake_s:.1f} s; bare Spark CSV -> Parquet "
            f"copy {bare_s:.1f} s",
        )
    ]
