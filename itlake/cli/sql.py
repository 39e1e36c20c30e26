"""`itlake sql`: one read-only SQL statement over the lake, by catalogue name or code.

itlake sql "SELECT pickup_zone_id, count(*) AS trips FROM gold.taxi_trip GROUP BY 1 ORDER BY 1"
itlake sql --engine fast "SELECT * FROM \\`03.02.002\\` LIMIT 5"
itlake sql --engine fast --version 0 "SELECT count(*) FROM _system.ingest_ledger"
itlake sql --as-of 2026-11-27T12:00:00Z --format csv "SELECT * FROM c_03_02_002" > trips.csv
itlake sql --out trips.parquet "SELECT * FROM gold.taxi_trip"
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer


class Engine(StrEnum):
    spark = "spark"
    fast = "fast"


class Format(StrEnum):
    table = "table"
    csv = "csv"


def sql(
    query: str = typer.Argument(
        ...,
        help="one SELECT; tables by catalogue name (gold.taxi_trip), by code (`03.02.002` or "
        "c_03_02_002), or by layer (bronze.taxi_gps, quarantine.waybill, _system.ingest_ledger)",
    ),
    engine: Engine = typer.Option(
        Engine.spark, help="spark: Spark SQL, every Delta feature; fast: deltalake + DuckDB, no JVM"
    ),
    version: int | None = typer.Option(None, help="read every table at this Delta version"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="read every table as of this time, ISO 8601 (UTC unless an offset is given)"
    ),
    output_format: Format = typer.Option(Format.table, "--format", help="table (aligned) or csv on stdout"),
    out: Path | None = typer.Option(None, "--out", help="write all rows to FILE.csv or FILE.parquet"),
    max_rows: int = typer.Option(50, help="rows shown in the aligned table"),
    as_json: bool = typer.Option(False, "--json", help="print every row as a JSON array of objects"),
) -> None:
    """Run one read-only SQL statement over the lake and print or save the result."""
    from rich.console import Console

    from itlake.query import QueryError
    from itlake.query import sql as run_sql
    from itlake.query.output import print_table, write_csv, write_file

    err = Console(stderr=True)
    try:
        result = run_sql(query, engine=engine.value, version=version, as_of=as_of)
        if out is not None:
            write_file(result, out)
            err.print(f"{result.num_rows:,} rows written to {out}")
        elif as_json:
            from itlake.cli.output import print_json

            print_json(result.to_pylist())
        elif output_format is Format.csv:
            write_csv(result, sys.stdout)
        else:
            print_table(result, max_rows=max_rows)
    except QueryError as exc:
        err.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
