"""The metrics of a whole expectation suite in one pass over a Spark frame.

GX's Spark engine computes each expectation's metrics with queries of their own: 20 expectations
on a 53-row batch took about 30 s attached to the engine, whatever the batch's size. Here every
count the suite needs comes from one aggregation (plus one grouping for the key), and each
expectation that met them becomes GX's own `ExpectationValidationResult`, with the counts GX
reports for it. Only the expectations that did not are handed to GX to validate, which gives
their observed values and samples as before.

    passed, unsure = suite_results(frame, suite)

`passed` maps each expectation's rule to its validation result; `unsure` lists the expectations
GX must still run (those with unexpected rows, and any type this module does not count).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    import great_expectations as gx
    from pyspark.sql import Column, DataFrame

WHERE = "SELECT * FROM {batch} WHERE "


def _column(name: str) -> Column:
    return F.col(f"`{name}`")


def _unexpected(expectation) -> Column | None:
    """A row's test of failing `expectation` (null values pass column tests, as in GX), or None
    for a type counted elsewhere or not at all."""
    kind = expectation.expectation_type
    if kind == "expect_column_values_to_not_be_null":
        return _column(expectation.column).isNull()
    if kind == "expect_column_values_to_be_between":
        value = _column(expectation.column)
        tests = []
        if expectation.min_value is not None:
            tests.append(value < F.lit(expectation.min_value))
        if expectation.max_value is not None:
            tests.append(value > F.lit(expectation.max_value))
        return value.isNotNull() & _any(tests)
    if kind == "expect_column_values_to_be_in_set":
        value = _column(expectation.column)
        return value.isNotNull() & ~value.isin(list(expectation.value_set))
    if kind == "expect_column_values_to_match_regex":
        value = _column(expectation.column)
        return value.isNotNull() & ~value.cast("string").rlike(expectation.regex)
    if kind == "unexpected_rows_expectation" and expectation.unexpected_rows_query.startswith(WHERE):
        return F.coalesce(F.expr(expectation.unexpected_rows_query[len(WHERE) :]), F.lit(False))
    return None


def _any(tests: list) -> Column:
    found = F.lit(False)
    for test in tests:
        found = found | test
    return found


def _columns_present(expectation, present: set[str], expected: set[str]) -> bool:
    """Whether the columns `expectation` reads are in the frame (a query's are unknown, so it is
    counted only when the frame has every column the suite expects)."""
    if expectation.expectation_type == "unexpected_rows_expectation":
        return present >= expected
    named = getattr(expectation, "column", None)
    listed = getattr(expectation, "column_list", None) or []
    return all(c in present for c in [*([named] if named else []), *listed])


def _key(expectation) -> list[str] | None:
    kind = expectation.expectation_type
    if kind == "expect_column_values_to_be_unique":
        return [expectation.column]
    if kind == "expect_compound_columns_to_be_unique":
        return list(expectation.column_list)
    return None


def suite_results(frame: DataFrame, suite: gx.ExpectationSuite) -> tuple[dict, list]:
    """Validation results of the expectations `frame` meets, by rule; and the others."""
    from great_expectations.core import ExpectationValidationResult

    counted, keys, unsure = {}, {}, []
    present = set(frame.columns)
    expected = {
        c
        for e in suite.expectations
        if e.expectation_type == "expect_table_columns_to_match_set"
        for c in e.column_set
    }
    for expectation in suite.expectations:
        rule = expectation.meta["rule"]
        if not _columns_present(expectation, present, expected):
            unsure.append(expectation)
            continue
        test = _unexpected(expectation)
        if test is not None:
            counted[rule] = (expectation, test)
        elif _key(expectation) is not None:
            keys[rule] = expectation
        elif expectation.expectation_type != "expect_table_columns_to_match_set":
            unsure.append(expectation)
    sums = [
        F.sum(F.when(test, 1).otherwise(0)).alias(f"_{i}") for i, (_, test) in enumerate(counted.values())
    ]
    totals = frame.agg(F.count(F.lit(1)).alias("_rows"), *sums).first()
    rows = totals["_rows"]
    passed = {}

    def met(expectation, result: dict) -> None:
        passed[expectation.meta["rule"]] = ExpectationValidationResult(
            success=True, expectation_config=expectation.configuration, result=result
        )

    for i, (expectation, _) in enumerate(counted.values()):
        unexpected = totals[f"_{i}"] or 0
        if unexpected:
            unsure.append(expectation)
        elif expectation.expectation_type == "unexpected_rows_expectation":
            met(expectation, {"observed_value": 0})
        else:
            met(expectation, _column_counts(rows))
    for expectation in keys.values():
        key = [_column(c) for c in _key(expectation)]
        repeated = frame.groupBy(*key).count().where("count > 1").agg(F.sum("count")).first()[0]
        if repeated:
            unsure.append(expectation)
        else:
            met(expectation, _column_counts(rows))
    for expectation in suite.expectations:
        if expectation.expectation_type == "expect_table_columns_to_match_set":
            if set(frame.columns) == set(expectation.column_set):
                met(expectation, {"observed_value": list(frame.columns)})
            else:
                unsure.append(expectation)
    return passed, unsure


def _column_counts(rows: int) -> dict:
    """What GX reports for a column expectation with nothing unexpected."""
    return {
        "element_count": rows,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
        "partial_unexpected_list": [],
    }
