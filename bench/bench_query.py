"""Query latency: the fast path (deltalake + DuckDB) against Spark SQL, same query, same table.

The table is gold.taxi_trip with the contract's schema and ten million rows over ten service
days (scale 1), written once with deltalake. The query is an analyst's first question -- trips,
mean distance and total duration per pickup district -- through `itlake.query.sql` on a reused
engine of each kind, after one warm-up run: "after start" means the interpreter, the JVM and the
engine are up, while each query still reads the Delta log to find the table's current version and
plans afresh (each engine reuses what it knows of a version it has seen: Spark its Delta snapshot,
the fast path its view of the files). Figures are medians.
"""

from __future__ import annotations

from bench.common import lake_at, median_time, result, scratch_dir, spark_session, timed

GOAL = ">= 10x"
ROWS_AT_SCALE_1 = 10_000_000
DAYS = 10
QUERY = (
    "SELECT pickup_zone_id, count(*) AS trips, avg(distance_m) AS mean_distance_m, "
    "sum(duration_s) AS duration_s FROM gold.taxi_trip GROUP BY pickup_zone_id ORDER BY pickup_zone_id"
)


def write_trips(root, rows: int) -> None:
    """`rows` synthetic gold.taxi_trip rows, generated in DuckDB and written by deltalake."""
    import duckdb
    from deltalake import write_deltalake

    from itlake.catalog.contracts import load_contract

    schema = load_contract("taxi_trip").arrow_schema()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    generated = f"""
        SELECT
            md5(i::VARCHAR) AS trip_id,
            md5((i % 20000)::VARCHAR) || md5((i % 20000)::VARCHAR || 'v') AS vehicle_id,
            (DATE '2026-11-18' + (i % {DAYS})::INTEGER) AS trip_date,
            pickup AS pickup_time,
            pickup + to_seconds(duration) AS dropoff_time,
            113.8 + (hash(i) % 8000) / 10000.0 AS pickup_lon,
            22.5 + (hash(i + 1) % 3000) / 10000.0 AS pickup_lat,
            113.8 + (hash(i + 2) % 8000) / 10000.0 AS dropoff_lon,
            22.5 + (hash(i + 3) % 3000) / 10000.0 AS dropoff_lat,
            CASE WHEN i % 50 = 0 THEN NULL ELSE (440303 + i % 10)::VARCHAR END AS pickup_zone_id,
            CASE WHEN i % 40 = 0 THEN NULL ELSE (440303 + (i // 7) % 10)::VARCHAR END AS dropoff_zone_id,
            (duration * (4.0 + (i % 9))) AS distance_m,
            duration::BIGINT AS duration_s,
            (duration // 60 + 1)::INTEGER AS fix_count,
            TRUE AS complete
        FROM (
            SELECT i, 300 + (hash(i + 4) % 2100)::BIGINT AS duration,
                   TIMESTAMPTZ '2026-11-17 16:00:00+00' + to_days((i % {DAYS})::INTEGER)
                       + to_seconds((hash(i + 5) % 86000)::BIGINT) AS pickup
            FROM range({rows}) AS t(i)
        )
    """
    reader = con.sql(generated).to_arrow_reader(1_000_000)
    import pyarrow as pa

    batches = (pa.Table.from_batches([b]).cast(schema).to_batches()[0] for b in reader)
    write_deltalake(
        str(root / "gold" / "taxi_trip"),
        pa.RecordBatchReader.from_batches(schema, batches),
        partition_by=["trip_date"],
    )
    con.close()


def run(scale: float) -> list[dict]:
    from itlake.query import open_engine, sql

    rows = max(100_000, round(ROWS_AT_SCALE_1 * scale))
    spark = spark_session()
    with scratch_dir("query") as work, lake_at(work / "lake") as root:
        write_s, _ = timed(lambda: write_trips(root, rows))
        fast, slow = open_engine("fast"), open_engine("spark", spark=spark)
        try:
            fast_rows = sql(QUERY, engine=fast).to_pylist()
            spark_rows = sql(QUERY, engine=slow).to_pylist()
            fast_s = median_time(lambda: sql(QUERY, engine=fast), 5)
            spark_s = median_time(lambda: sql(QUERY, engine=slow), 3)
        finally:
            fast.close()
            slow.close()
    agree = _same(fast_rows, spark_rows)
    return [
        result(
            "query: fast path vs Spark SQL",
            fast_s,
            "s",
            spark_s,
            spark_s / fast_s,
            GOAL,
            f"group-by over {rows:,} gold rows (written in {write_s:.0f} s); fast {fast_s:.2f} s "
            f"({'under' if fast_s < 1 else 'OVER'} the 1 s budget), Spark {spark_s:.2f} s; median of 5 / 3; "
            f"results {'agree' if agree else 'DIFFER'}",
        )
    ]


def _same(a: list[dict], b: list[dict]) -> bool:
    """Equal rows, floats to 9 significant digits (the engines sum in different orders)."""

    def norm(rows):
        return [{k: (float(f"{v:.9g}") if isinstance(v, float) else v) for k, v in r.items()} for r in rows]

    return norm(a) == norm(b)
