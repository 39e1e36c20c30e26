"""Reading and writing lake tables by contract name."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from itlake.catalog.contracts import load_contract
from itlake.lake.delta import overwrite_partition, read_table
from itlake.lake.paths import table_path

SPARK_TYPES = {
    "string": "string",
    "int": "int",
    "long": "bigint",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "binary": "binary",
}


def contract_columns(contract) -> list[Column]:
    """The contract's columns, in its order, cast to its types."""
    return [F.col(c.name).cast(SPARK_TYPES[c.type]).alias(c.name) for c in contract.columns]


def conform(contract_name: str):
    """Curried transform: keep exactly the contract's columns, typed."""

    def transform(df: DataFrame) -> DataFrame:
        return df.select(*contract_columns(load_contract(contract_name)))

    return transform


def read_lake_table(spark: SparkSession, contract_name: str) -> DataFrame:
    contract = load_contract(contract_name)
    return read_table(spark, table_path(contract.layer, contract_name))


def write_partition(df: DataFrame, contract_name: str, value) -> int:
    """Replace the partition `value` of a derived table (its contract's first partition column).

    Returns the number of rows written.
    """
    contract = load_contract(contract_name)
    rows = df.transform(conform(contract_name)).persist()
    try:
        overwrite_partition(
            rows,
            table_path(contract.layer, contract_name),
            contract.partition_by[0],
            value,
            partition_by=contract.partition_by,
        )
        return rows.count()
    finally:
        rows.unpersist()
