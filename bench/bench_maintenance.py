"""Table maintenance: a table written by 200 micro-batches, before and after OPTIMIZE.

A 5-minute feed appends one small file per batch to bronze; 200 batches are most of a day. The
table here is taxi-GPS-shaped bronze (plate, time, position, batch and ingest time), appended 200
times with the `deltalake` writer (one file per append, as a micro-batch commits it). Then
itlake/lake/maintenance.py compacts it the way the maintenance DAG does (`compact`: OPTIMIZE,
bin-packing) and vacuums it with no time travel kept, so that the folder holds only live files.

Two rows, each after over before on the same table in the same run:
- live files (DESCRIBE DETAIL) after OPTIMIZE, over the 200 before;
- the median time of a query an analyst runs on it (fixes and last fix per vehicle), over the
  same query before.
The rows are checked to be the same (a digest of the table) before and after. Scale 1 is 2,500
rows per batch (500,000 rows); the number of batches stays 200 at every scale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.common import lake_at, median_time, quiet_spark_jobs, result, scratch_dir, spark_session

BATCHES = 200
ROWS_PER_BATCH_AT_SCALE_1 = 2_500
VEHICLES = 400
FILES_GOAL = "<= 2.5%"  # at most 5 files from 200
QUERY_GOAL = "< 1"
QUERY = "SELECT VehicleNum, count(*) AS fixes, max(time) AS last_fix FROM {table} GROUP BY VehicleNum"


def batch_table(batch: int, rows: int):
    """One micro-batch: `rows` fixes five minutes after the batch before, as bronze keeps them."""
    import pyarrow as pa

    start = datetime(2026, 12, 6, tzinfo=UTC) + timedelta(minutes=5 * batch)
    vehicles = [f"粤B{(batch * rows + i) % VEHICLES:05d}" for i in range(rows)]
    return pa.table(
        {
            "VehicleNum": vehicles,
            "time": [(start + timedelta(seconds=i % 300)).strftime("%Y-%m-%d %H:%M:%S") for i in range(rows)],
            "lon": [f"{114.0 + (i % 997) / 10_000:.6f}" for i in range(rows)],
            "lat": [f"{22.5 + (i % 991) / 10_000:.6f}" for i in range(rows)],
            "_batch_id": [f"taxi_gps-{batch:04d}"] * rows,
            "_ingested_at": pa.array([start] * rows, pa.timestamp("us", tz="UTC")),
        }
    )


def run(scale: float) -> list[dict]:
    from deltalake import write_deltalake

    from itlake.lake.integrity import table_digest
    from itlake.lake.maintenance import MaintenanceAction, compact, data_files, quoted, table_detail, vacuum
    from itlake.lake.paths import table_path

    spark = spark_session()
    rows = max(50, round(ROWS_PER_BATCH_AT_SCALE_1 * scale))
    with scratch_dir("maintenance") as folder, lake_at(folder / "lake"):
        path = table_path("bronze", "taxi_gps")
        for batch in range(BATCHES):
            write_deltalake(path, batch_table(batch, rows), mode="append")
        query = QUERY.format(table=quoted(path))

        def answer() -> list:
            return spark.sql(query).collect()

        files_before, bytes_before = table_detail(spark, path)
        digest_before = table_digest(path)
        expected = sorted(answer())  # also the warm-up
        before_s = median_time(answer, 5)

        day = datetime.now(UTC).date()
        compacted = compact(spark, path, MaintenanceAction("bench", "optimize", "bronze.taxi_gps", None, day))
        vacuum(spark, path, 0, MaintenanceAction("bench", "vacuum", "bronze.taxi_gps", None, day))
        files_after, bytes_after = table_detail(spark, path)
        on_disk = data_files(path)
        quiet_spark_jobs(spark)
        same_answer = sorted(answer()) == expected
        after_s = median_time(answer, 5)
        same_rows = table_digest(path) == digest_before
    total = rows * BATCHES
    checked = (
        f"rows {'unchanged' if same_rows else 'CHANGED'}, answer {'the same' if same_answer else 'DIFFERENT'}"
    )
    return [
        result(
            "maintenance: live files after OPTIMIZE",
            files_after,
            "files",
            files_before,
            files_after / files_before,
            FILES_GOAL,
            f"{BATCHES} appends of {rows:,} rows ({total:,} rows, {bytes_before:,} bytes in {files_before} "
            f"files; {bytes_after:,} bytes after); optimized: {compacted is not None}; {on_disk} data "
            f"files on disk after VACUUM RETAIN 0 HOURS; {checked}",
        ),
        result(
            "maintenance: query time after OPTIMIZE",
            after_s,
            "s",
            before_s,
            after_s / before_s,
            QUERY_GOAL,
            f"fixes and last fix per vehicle ({VEHICLES} vehicles), median of 5 after a warm-up: "
            f"{before_s:.3f} s on {files_before} files, {after_s:.3f} s on {files_after}; {checked}",
        ),
    ]
