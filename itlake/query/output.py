"""Query results as a terminal table, CSV or Parquet.

Values are written the same way in the table and in CSV: timestamps in ISO 8601 UTC with a `Z`
(microseconds only when there are any), dates as YYYY-MM-DD, floats with the shortest text that
reads back to the same number, NULL as an empty CSV field.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

from itlake.query.names import QueryError

if TYPE_CHECKING:
    import pyarrow as pa

OUT_SUFFIXES = (".csv", ".parquet")


def text(value) -> str:
    """One value as the CSV and the table show it; None is the empty string."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
            suffix = "Z"
        else:
            suffix = ""
        spec = "seconds" if value.microsecond == 0 else "microseconds"
        return value.isoformat(timespec=spec) + suffix
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal | int):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=text, ensure_ascii=False)
    return str(value)


def write_csv(table: pa.Table, stream: IO[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(table.column_names)
    for batch in table.to_batches(max_chunksize=65_536):
        columns = [column.to_pylist() for column in batch.columns]
        writer.writerows([text(v) for v in row] for row in zip(*columns, strict=True))


def write_file(table: pa.Table, path: Path) -> None:
    """Write the result to a .csv (UTF-8) or .parquet file."""
    suffix = path.suffix.lower()
    if suffix not in OUT_SUFFIXES:
        raise QueryError(f"--out {path}: the file must end in .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            write_csv(table, handle)


def print_table(table: pa.Table, *, max_rows: int, title: str | None = None, console=None) -> None:
    """An aligned table of the first `max_rows` rows; numbers right-aligned, NULL dimmed."""
    import pyarrow as pa
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 200)
    shown = table.slice(0, max_rows)
    view = Table(title=title, title_justify="left")
    for field in table.schema:
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        numeric = numeric or pa.types.is_decimal(field.type)
        view.add_column(field.name, justify="right" if numeric else "left")
    columns = [column.to_pylist() for column in shown.columns]
    for row in zip(*columns, strict=True):
        view.add_row(*("[dim]NULL[/]" if v is None else _escape(text(v)) for v in row))
    console.print(view)
    more = ""
    if table.num_rows > max_rows:
        more = f" (showing the first {max_rows}; use --out FILE or --format csv for all)"
    console.print(f"{table.num_rows:,} row{'s' if table.num_rows != 1 else ''}{more}")


def _escape(value: str) -> str:
    from rich.markup import escape

    return escape(value)
