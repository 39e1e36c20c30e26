"""The one parser skeleton every feed is built on: contract, header check, casts, derived columns.

A feed module declares what is particular to its format and nothing else:

    FEED = ContractFeed("taxi_gps", header=HEADER, derived=("vehicle_id",), derive=fixes)

`read` checks the header and returns the file's raw records (a CSV file for one contract by
default; `reader` replaces it for other formats). `to_silver` loads the contract, casts every
column read straight from a source field (in the time format and zone of the entry, or of the
source profile the file came with), converts units the file writes differently from the
contract, lets the feed `derive` the rest, and selects the contract's columns. A value that does
not type, and every reason `derive` gives, becomes the row's `_parse_error`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from itlake.feeds.base import BatchContext

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from itlake.catalog.contracts import Contract

    # (typed frame, contract, batch) -> (frame with the derived columns, reasons a row is refused)
    Derive = Callable[[DataFrame, Contract, BatchContext], tuple[DataFrame, list[Column]]]


# eq=False: a feed is one object, compared and hashed by identity.
@dataclass(frozen=True, eq=False)
class ContractFeed:
    """A feed format typed by its contracts.

    `header` is the standard CSV layout (default: the contract's source fields); `derived` the
    contract columns the cast leaves to `derive`; `source_units` the unit the standard layout
    writes a column in when it differs from the contract's (a source profile's `units` win);
    `timezone` replaces the batch's for formats whose times are absolute (POSIX seconds);
    `prepare` reshapes bronze before the cast (fields renamed between versions of a format).
    """

    name: str
    contracts: tuple[str, ...] = ()
    header: list[str] | None = None
    derived: tuple[str, ...] = ()
    derive: Derive | None = None
    reader: Callable[[Path, BatchContext], dict] | None = None
    prepare: Callable[[DataFrame, BatchContext], DataFrame] | None = None
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss"
    date_format: str = "yyyyMMdd"
    timezone: str | None = None
    source_units: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.contracts:
            object.__setattr__(self, "contracts", (self.name,))

    def read(self, path: Path, ctx: BatchContext) -> dict:
        if self.reader is not None:
            return self.reader(path, ctx)
        from itlake.feeds.csv_reader import read_csv_feed

        return read_csv_feed(path, ctx, self.contracts[0], self.header)

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from itlake.catalog.contracts import load_contract
        from itlake.feeds.cast import select_contract

        contract = load_contract(contract_name)
        typed = self.typed(bronze, contract, ctx)
        return select_contract(typed, contract)

    def typed(self, bronze, contract, ctx: BatchContext):
        """Bronze cast by the contract, in the contract's units, with the feed's derived columns."""
        from pyspark.sql import functions as F

        from itlake.feeds.cast import cast_sourced_columns, first_error

        profile = ctx.profile
        frame = self.prepare(bronze, ctx) if self.prepare is not None else bronze
        typed = cast_sourced_columns(
            frame,
            contract,
            timezone=self.timezone or ctx.timezone,
            timestamp_format=(profile and profile.time_format) or self.timestamp_format,
            date_format=(profile and profile.date_format) or self.date_format,
            skip=self.derived,
        )
        converted = unit_conversions(contract, {**self.source_units, **(profile.units if profile else {})})
        if converted:
            typed = typed.withColumns(converted)
        if self.derive is None:
            return typed
        typed, errors = self.derive(typed, contract, ctx)
        if errors:
            typed = typed.withColumn("_parse_error", first_error(F.col("_parse_error"), *errors))
        return typed


def unit_conversions(contract, units: dict[str, str]) -> dict:
    """{column: the column in the contract's unit} for each column (or its source field) whose
    values come in another unit."""
    from pyspark.sql import functions as F

    from itlake.catalog.units import column_unit, scale

    by_key = {c.name: c for c in contract.columns} | {c.source: c for c in contract.columns if c.source}
    out = {}
    for key, unit in units.items():
        column = by_key.get(key)
        if column is None or column.name not in contract.column_names:
            continue
        operation, number = scale(unit, column_unit(column.name, column.unit) or unit)
        if number != 1.0:
            value = F.col(column.name)
            out[column.name] = value * F.lit(number) if operation == "*" else value / F.lit(number)
    return out
