"""Row rules derived from a contract, and the split of a frame into good and quarantined rows.

A row rule is a Spark SQL boolean expression that a good row satisfies. Rules are named like the
Great Expectations expectation that checks the same thing on the whole table
(``expect_column_values_to_be_between:lat``; invariants are ``invariant:<name>``), so a quarantine
reason and a quality result speak one vocabulary.

    from itlake.quality.rules import row_rules, quarantine_split
    good, bad = quarantine_split(df, row_rules(load_contract("taxi_gps")))

Null semantics: a null value passes every rule except the not-null one, so each fact is reported
once, by the rule about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from itlake.catalog.contracts import Contract

NOT_NULL = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
MATCH_REGEX = "expect_column_values_to_match_regex"
INVARIANT = "invariant"


@dataclass(frozen=True)
class RowRule:
    """One check on one row.

    `condition_sql` holds for a good row; `failure` completes the sentence "<column>=<value> ..."
    (or stands alone for a rule without a column) in the quarantine reason.
    """

    name: str
    column: str | None
    condition_sql: str
    failure: str = "breaks the rule"

    @property
    def kind(self) -> str:
        """The expectation type (or ``invariant``) the rule is named after."""
        return self.name.split(":", 1)[0]


def quote_ident(name: str) -> str:
    """A column name as a Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def sql_literal(value: Any, column_type: str = "") -> str:
    """A Python value as a Spark SQL literal; strings are escaped for Spark's default parser."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    text = "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    if column_type in ("date", "timestamp"):
        return f"{column_type.upper()} {text}"
    return text


def _between(column: str, column_type: str, low: Any, high: Any) -> str:
    ident = quote_ident(column)
    parts = []
    if low is not None:
        parts.append(f"{ident} >= {sql_literal(low, column_type)}")
    if high is not None:
        parts.append(f"{ident} <= {sql_literal(high, column_type)}")
    return f"{ident} IS NULL OR ({' AND '.join(parts)})"


def row_rules(contract: Contract) -> list[RowRule]:
    """The row rules of a contract, column by column in contract order, then the invariants.

    Uniqueness of the key and foreign keys are not row rules: they need other rows or other
    tables, so they live in the suite (key) and in the lead's joins (foreign keys).
    """
    rules: list[RowRule] = []
    for col in contract.columns:
        ident = quote_ident(col.name)
        if not col.nullable:
            rules.append(RowRule(f"{NOT_NULL}:{col.name}", col.name, f"{ident} IS NOT NULL", "is null"))
        if col.range is not None:
            low, high = col.range
            rules.append(
                RowRule(
                    f"{BETWEEN}:{col.name}",
                    col.name,
                    _between(col.name, col.type, low, high),
                    f"is outside [{low}, {high}]",
                )
            )
        if col.allowed is not None:
            values = ", ".join(sql_literal(v, col.type) for v in col.allowed)
            shown = ", ".join(str(v) for v in col.allowed)
            rules.append(
                RowRule(
                    f"{IN_SET}:{col.name}",
                    col.name,
                    f"{ident} IS NULL OR {ident} IN ({values})",
                    f"is not one of [{shown}]",
                )
            )
        if col.pattern is not None:
            rules.append(
                RowRule(
                    f"{MATCH_REGEX}:{col.name}",
                    col.name,
                    f"{ident} IS NULL OR {ident} RLIKE {sql_literal(col.pattern)}",
                    f"does not match {col.pattern}",
                )
            )
    for inv in contract.invariants:
        # An invariant that evaluates to NULL (a null operand) passes, like the column rules.
        rules.append(
            RowRule(f"{INVARIANT}:{inv.name}", None, f"coalesce(({inv.sql}), TRUE)", f"breaks {inv.sql}")
        )
    return rules


def with_first_failure(df: DataFrame, rules: list[RowRule], *, before=()) -> DataFrame:
    """`df` plus `quarantine_rule` (the name of the first rule a row fails, in `rules` order; null
    for a good row) and `quarantine_reason` ("lat=95.2 is outside [3.0, 54.0]
    (expect_column_values_to_be_between)"), in one projection and no Spark action.

    `before` holds (rule, reason) Column pairs checked first, such as a parse error: a row where
    one is set carries it instead of any row rule's."""
    from pyspark.sql import functions as F

    columns = [quote_ident(c) for c in df.columns]
    # coalesce() stops at the first failed rule. An array of every failed name, filtered with a
    # lambda, took twice as long (1M rows, both counts: 25 s against 12 s): higher-order functions
    # fall out of Spark's generated code.
    failures = [(F.coalesce(F.expr(rule.condition_sql), F.lit(True)), rule) for rule in rules]
    none = F.lit(None).cast("string")
    first_rule = F.coalesce(
        *[rule for rule, _ in before], *[F.when(~ok, F.lit(rule.name)) for ok, rule in failures], none
    )
    first_reason = F.coalesce(
        *[reason for _, reason in before], *[F.when(~ok, _reason(rule)) for ok, rule in failures], none
    )
    return df.select(*columns, first_rule.alias("quarantine_rule"), first_reason.alias("quarantine_reason"))


def quarantine_split(df: DataFrame, rules: list[RowRule]) -> tuple[DataFrame, DataFrame]:
    """Split `df` into (good rows, quarantined rows): a good row keeps the original columns, a
    quarantined row adds `quarantine_rule` and `quarantine_reason` (see `with_first_failure`).
    Both frames read the same projection; persist it upstream if both are written.
    """
    from pyspark.sql import functions as F

    checked = with_first_failure(df, rules)
    good = checked.where(F.col("quarantine_rule").isNull()).select(*[quote_ident(c) for c in df.columns])
    bad = checked.where(F.col("quarantine_rule").isNotNull())
    return good, bad


def _reason(rule: RowRule):
    """The quarantine sentence of one rule as a Column: names the rule, the column and the value."""
    from pyspark.sql import functions as F

    if rule.column is None:
        return F.lit(f"{rule.failure} ({rule.name})")
    value = F.coalesce(F.col(quote_ident(rule.column)).cast("string"), F.lit("NULL"))
    return F.concat(F.lit(f"{rule.column}="), value, F.lit(f" {rule.failure} ({rule.kind})"))
