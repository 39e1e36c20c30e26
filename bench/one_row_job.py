"""The smallest job there is: append one row to a Delta table (what bench/bench_engine.py times).

spark-submit bench/one_row_job.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.orchestration.runner import main


def body(spark, args) -> dict:
    from itlake.lake.delta import append
    from itlake.lake.paths import table_path

    row = spark.createDataFrame([(args.logical_date.isoformat(), 1)], "day string, value int")
    append(row, table_path("gold", "bench_one_row"))
    return {"rows": 1}


if __name__ == "__main__":
    main("one_row_job", __doc__, body)
