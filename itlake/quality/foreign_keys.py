"""Foreign keys between lake tables, checked by a join against the referenced table.

    flagged = with_foreign_key_errors(spark, typed, contract)   # adds _fk_rule, _fk_error
    results = foreign_key_results(contract, rows_checked, orphans_by_rule, present)

A row whose foreign key columns are all set but match no key of the referenced table fails the
rule ``foreign_key:<columns>-><table>`` and is quarantined with a reason naming the values. A null
foreign key passes (a nullable reference is optional). When the referenced table is not in the lake
yet, the check cannot run: it is reported as a failed warning, and no row is held back for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from itlake.quality.rules import quote_ident
from itlake.quality.suites import ERROR, WARNING
from itlake.quality.validate import ExpectationResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from itlake.catalog.contracts import Contract, ForeignKey

FOREIGN_KEY = "foreign_key"


def fk_rule(fk: ForeignKey) -> str:
    """The rule name of one foreign key: ``foreign_key:feed_version,route_id->gtfs_route``."""
    return f"{FOREIGN_KEY}:{','.join(fk.columns)}->{fk.references}"


def referenced_path(fk: ForeignKey) -> str | None:
    """The lake path of the referenced table; None when it has no contract (a reference list such
    as the zones, which lives in `itlake.geo`)."""
    from itlake.catalog.contracts import ContractError, load_contract
    from itlake.lake.paths import table_path

    try:
        return table_path(load_contract(fk.references).layer, fk.references)
    except ContractError:
        return None


def checked_keys(contract: Contract, same_batch: Iterable[str] = ()) -> list[ForeignKey]:
    """The foreign keys a join checks: not those into tables of the same batch (a GTFS zip's
    trips and routes), which land together and which the feed's own validator checks."""
    skip = set(same_batch)
    return [fk for fk in contract.foreign_keys if fk.references not in skip]


def present_references(spark: SparkSession, contract: Contract, same_batch: Iterable[str] = ()) -> set[str]:
    """Rules of the checked foreign keys whose referenced table exists in the lake."""
    from itlake.lake.delta import table_exists

    present = set()
    for fk in checked_keys(contract, same_batch):
        path = referenced_path(fk)
        if path is not None and table_exists(spark, path):
            present.add(fk_rule(fk))
    return present


def with_foreign_key_errors(
    spark: SparkSession,
    df: DataFrame,
    contract: Contract,
    same_batch: Iterable[str] = (),
    present: set[str] | None = None,
) -> DataFrame:
    """`df` plus `_fk_rule` and `_fk_error`: the first foreign key the row breaks, or nulls.

    Each referenced key set is read once, de-duplicated and left-joined; a lake table of keys is
    small next to the batch, so Spark broadcasts it when it fits. `present` is what
    `present_references` gave, when the caller has it already; otherwise it is looked up.
    """
    from pyspark.sql import functions as F

    from itlake.lake.delta import read_table

    if present is None:
        present = present_references(spark, contract, same_batch)
    checked: list[int] = []
    for i, fk in enumerate(checked_keys(contract, same_batch)):
        rule = fk_rule(fk)
        if rule not in present:
            continue
        found = f"_fk_found_{i}"
        pairs = zip(fk.columns, fk.ref_columns, strict=True)
        keys = (
            read_table(spark, referenced_path(fk))
            .select(*[F.col(quote_ident(ref)).alias(col) for col, ref in pairs])
            .distinct()
            .withColumn(found, F.lit(True))
        )
        df = df.join(keys, on=list(fk.columns), how="left")
        set_columns = [F.col(quote_ident(c)).isNotNull() for c in fk.columns]
        broken = F.col(found).isNull()
        for condition in set_columns:
            broken = broken & condition
        values = F.concat_ws(
            ", ", *[F.concat(F.lit(f"{c}="), F.col(quote_ident(c)).cast("string")) for c in fk.columns]
        )
        # Each key's verdict is materialised before its marker column is dropped.
        df = df.withColumns(
            {
                f"_fk_rule_{i}": F.when(broken, F.lit(rule)),
                f"_fk_error_{i}": F.when(
                    broken, F.concat(values, F.lit(f" has no match in {fk.references} ({rule})"))
                ),
            }
        ).drop(found)
        checked.append(i)
    none = F.lit(None).cast("string")
    return df.withColumns(
        {
            "_fk_rule": F.coalesce(*[F.col(f"_fk_rule_{i}") for i in checked], none),
            "_fk_error": F.coalesce(*[F.col(f"_fk_error_{i}") for i in checked], none),
        }
    ).drop(*[f"_fk_{kind}_{i}" for i in checked for kind in ("rule", "error")])


def foreign_key_results(
    contract: Contract,
    rows_checked: int,
    orphans: dict[str, int],
    present: set[str],
    threshold: float,
    same_batch: Iterable[str] = (),
) -> list[ExpectationResult]:
    """One result per checked foreign key: an error when more than `threshold` of the rows are
    orphans, a warning when the referenced table is not in the lake."""
    results = []
    for fk in checked_keys(contract, same_batch):
        rule = fk_rule(fk)
        column = ",".join(fk.columns)
        if rule not in present:
            results.append(
                ExpectationResult(
                    FOREIGN_KEY,
                    rule,
                    column,
                    WARNING,
                    False,
                    f"not checked: {fk.references} is not in the lake",
                    None,
                    "[]",
                )
            )
            continue
        count = orphans.get(rule, 0)
        share = count / rows_checked if rows_checked else 0.0
        results.append(
            ExpectationResult(
                FOREIGN_KEY,
                rule,
                column,
                ERROR,
                share <= threshold,
                f"{count} of {rows_checked} rows have no match in {fk.references}",
                count,
                "[]",
            )
        )
    return results
