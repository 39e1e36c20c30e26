"""Typing raw string columns by the contract, with a reason for every value that will not type.

A value that is present but cannot be read as its contract type becomes null and the row gets a
`_parse_error` such as "lat='abc' is not a valid double"; the ingest stage quarantines it.
Local times are read in the feed's declared time zone and stored in UTC.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from itlake.lake.tables import SPARK_TYPES, contract_columns


def blank_to_null(raw: Column) -> Column:
    trimmed = F.trim(raw)
    return F.when(trimmed == "", F.lit(None)).otherwise(trimmed)


def typed_value(
    raw: Column, type_name: str, *, timestamp_format: str, date_format: str, timezone: str
) -> Column:
    """`raw` (a string column) as `type_name`; null where it does not parse."""
    value = blank_to_null(raw)
    if type_name == "timestamp":
        local = F.try_to_timestamp(value, F.lit(timestamp_format))
        return F.to_utc_timestamp(local, timezone)
    if type_name == "date":
        return F.to_date(F.try_to_timestamp(value, F.lit(date_format)))
    return value.try_cast(SPARK_TYPES[type_name])


def first_error(*checks: Column) -> Column:
    """The first non-null reason among `checks`, or null when the row is fine."""
    return F.coalesce(*checks) if len(checks) > 1 else checks[0]


def parse_error(raw_name: str, raw: Column, typed: Column, type_name: str) -> Column:
    return F.when(
        blank_to_null(raw).isNotNull() & typed.isNull(),
        F.concat(F.lit(f"{raw_name}='"), raw, F.lit(f"' is not a valid {type_name}")),
    )


def cast_sourced_columns(
    df: DataFrame,
    contract,
    *,
    timezone: str,
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss",
    date_format: str = "yyyyMMdd",
    skip: tuple[str, ...] = (),
) -> DataFrame:
    """Add every contract column that names a `source` field, typed, plus `_parse_error`.

    Columns in `skip` are left for the feed to derive itself. Raw columns stay on the frame (the
    feed drops them when it selects the contract's columns).
    """
    typed: dict[str, Column] = {}
    errors: list[Column] = [F.col("_raw_error")]
    for column in contract.columns:
        if not column.source or column.name in skip:
            continue
        raw = F.col(f"`{column.source}`")
        value = typed_value(
            raw, column.type, timestamp_format=timestamp_format, date_format=date_format, timezone=timezone
        )
        typed[column.name] = value
        errors.append(parse_error(column.source, raw, value, column.type))
    # One projection: the reasons compare each raw value with its typed value, and a typed column
    # may take the name of its raw field (GTFS), so both must be read from the input frame.
    return df.withColumns({**typed, "_parse_error": first_error(*errors)})


LINEAGE_COLUMNS = ["_batch_id", "_source_file", "_row_number", "_ingested_at"]


def select_contract(df: DataFrame, contract) -> DataFrame:
    """The contract's columns in order and type, then lineage, `_record` and `_parse_error`."""
    return df.select(*contract_columns(contract), *LINEAGE_COLUMNS, "_record", "_parse_error")


def lookup(mapping: dict[str, str], key: Column) -> Column:
    """`mapping[key]` as a Column, for feed codes such as 地铁入站 -> metro_entry; null for an
    unknown or null key (the feed turns that into a `_parse_error`)."""
    return F.try_element_at(F.create_map(*[F.lit(x) for kv in mapping.items() for x in kv]), key)
