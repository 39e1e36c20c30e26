"""Great Expectations suites generated from the contracts; suites are code, never edited files.

    from itlake.quality.suites import build_suite
    suite = build_suite(load_contract("taxi_gps"))

Each expectation carries `meta.severity` ("error" fails the quality gate, "warning" is recorded
only) and `meta.rule`, the same name a quarantined row carries in `quarantine_rule`.

What the suite checks, per contract:
  - the column set, exactly (error);
  - the primary key is unique (error);
  - per column: not null, range, allowed values (errors); pattern (warning);
  - each invariant, as an UnexpectedRowsExpectation over ``{batch}`` (warning). GX 1.x runs the
    query on the Spark datasource by registering the batch as a temporary view.
Foreign keys need the referenced table, which a batch does not have, so they are not here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from itlake.quality.rules import BETWEEN, IN_SET, INVARIANT, MATCH_REGEX, NOT_NULL

if TYPE_CHECKING:
    import great_expectations as gx

    from itlake.contracts import Contract

ERROR = "error"
WARNING = "warning"

COLUMNS_MATCH = "expect_table_columns_to_match_set"
UNIQUE = "expect_column_values_to_be_unique"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"


def import_gx():
    """great_expectations, imported with analytics off (GX reads the setting from the environment)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def _meta(rule: str, severity: str) -> dict[str, str]:
    return {"severity": severity, "rule": rule}


def build_suite(contract: Contract) -> gx.ExpectationSuite:
    """The expectation suite of one contract, in a fixed order: columns, key, columns one by one,
    invariants."""
    gx = import_gx()
    E = gx.expectations
    expectations: list = []
    add = expectations.append

    add(
        E.ExpectTableColumnsToMatchSet(
            column_set=list(contract.column_names),
            exact_match=True,
            meta=_meta(COLUMNS_MATCH, ERROR),
        )
    )
    key = list(contract.primary_key)
    if len(key) == 1:
        add(E.ExpectColumnValuesToBeUnique(column=key[0], meta=_meta(f"{UNIQUE}:{key[0]}", ERROR)))
    else:
        add(
            E.ExpectCompoundColumnsToBeUnique(
                column_list=key, meta=_meta(f"{COMPOUND_UNIQUE}:{','.join(key)}", ERROR)
            )
        )
    for col in contract.columns:
        if not col.nullable:
            add(E.ExpectColumnValuesToNotBeNull(column=col.name, meta=_meta(f"{NOT_NULL}:{col.name}", ERROR)))
        if col.range is not None:
            low, high = col.range
            add(
                E.ExpectColumnValuesToBeBetween(
                    column=col.name,
                    min_value=low,
                    max_value=high,
                    meta=_meta(f"{BETWEEN}:{col.name}", ERROR),
                )
            )
        if col.allowed is not None:
            add(
                E.ExpectColumnValuesToBeInSet(
                    column=col.name, value_set=list(col.allowed), meta=_meta(f"{IN_SET}:{col.name}", ERROR)
                )
            )
        if col.pattern is not None:
            add(
                E.ExpectColumnValuesToMatchRegex(
                    column=col.name, regex=col.pattern, meta=_meta(f"{MATCH_REGEX}:{col.name}", WARNING)
                )
            )
    for inv in contract.invariants:
        # NULL counts as passing, as in the row rule of the same name.
        add(
            E.UnexpectedRowsExpectation(
                unexpected_rows_query=f"SELECT * FROM {{batch}} WHERE NOT coalesce(({inv.sql}), TRUE)",
                description=f"{INVARIANT}:{inv.name}: {inv.sql}",
                meta=_meta(f"{INVARIANT}:{inv.name}", WARNING),
            )
        )
    # Passed to the constructor: add_expectation() would look for a context to save the suite in.
    return gx.ExpectationSuite(name=contract.name, expectations=expectations)
