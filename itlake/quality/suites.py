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
And per domain, when the batch's `Domain` is given (warnings: a real feed may stray a little):
  - coordinates (`lon`/`lat`, `<x>_lon`/`<x>_lat`) inside the catalogue entry's spatial coverage;
  - plausible speeds: `*_kmh` columns, and `distance_m` over `duration_s`, at most 200 km/h;
  - the partition dates inside the batch window (the logical date, give or take a day).
Foreign keys need the referenced table, which a batch does not have: they are checked by a join
in `itlake.quality.foreign_keys` and reported next to the suite's results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from itlake.config import export_to_process
from itlake.quality.rules import BETWEEN, IN_SET, INVARIANT, MATCH_REGEX, NOT_NULL

if TYPE_CHECKING:
    import great_expectations as gx

    from itlake.catalog.contracts import Contract

ERROR = "error"
WARNING = "warning"

COLUMNS_MATCH = "expect_table_columns_to_match_set"
UNIQUE = "expect_column_values_to_be_unique"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"
# Rule prefixes of the domain expectations.
COVERAGE = "within_coverage"
PLAUSIBLE_SPEED = "plausible_speed"
BATCH_WINDOW = "within_batch_window"
MAX_PLAUSIBLE_KMH = 200.0


@dataclass(frozen=True)
class Domain:
    """What a batch is expected to look like beyond its contract: the catalogue entry's spatial
    coverage [minlon, minlat, maxlon, maxlat] and the logical date of the batch."""

    bbox: tuple[float, float, float, float] | None = None
    batch_date: date | None = None


def import_gx():
    """great_expectations, imported with analytics off (GX reads the setting from the environment)."""
    export_to_process({"GX_ANALYTICS_ENABLED": "false"}, keep_set=True)
    import great_expectations as gx

    return gx


def _meta(rule: str, severity: str) -> dict[str, str]:
    return {"severity": severity, "rule": rule}


def build_suite(contract: Contract, domain: Domain | None = None) -> gx.ExpectationSuite:
    """The expectation suite of one contract, in a fixed order: columns, key, columns one by one,
    invariants, then the domain expectations when `domain` is given."""
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
    if domain is not None:
        expectations.extend(domain_expectations(contract, domain))
    # Passed to the constructor: add_expectation() would look for a context to save the suite in.
    return gx.ExpectationSuite(name=contract.name, expectations=expectations)


def coordinate_pairs(contract: Contract) -> list[tuple[str, str]]:
    """WGS-84 (lon, lat) column pairs: `lon`/`lat` and `<x>_lon`/`<x>_lat`, but not the
    `src_lon`/`src_lat` audit copies, which are in the feed's own coordinate system."""
    names = set(contract.column_names)
    return [
        (name, name[: -len("lon")] + "lat")
        for name in contract.column_names
        if (name == "lon" or name.endswith("_lon"))
        and not name.startswith("src_")
        and name[: -len("lon")] + "lat" in names
    ]


def domain_expectations(contract: Contract, domain: Domain) -> list:
    """Coverage, plausible speed and batch-window expectations, all warnings."""
    E = import_gx().expectations
    out: list = []
    if domain.bbox is not None:
        minlon, minlat, maxlon, maxlat = domain.bbox
        for lon, lat in coordinate_pairs(contract):
            for column, low, high in ((lon, minlon, maxlon), (lat, minlat, maxlat)):
                out.append(
                    E.ExpectColumnValuesToBeBetween(
                        column=column,
                        min_value=low,
                        max_value=high,
                        meta=_meta(f"{COVERAGE}:{column}", WARNING),
                    )
                )
    for column in contract.column_names:
        if column.endswith("_kmh"):
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=column,
                    min_value=0,
                    max_value=MAX_PLAUSIBLE_KMH,
                    meta=_meta(f"{PLAUSIBLE_SPEED}:{column}", WARNING),
                )
            )
    if {"distance_m", "duration_s"} <= set(contract.column_names):
        out.append(
            E.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "SELECT * FROM {batch} WHERE duration_s > 0 "
                    f"AND distance_m * 3.6 / duration_s > {MAX_PLAUSIBLE_KMH}"
                ),
                description=f"{PLAUSIBLE_SPEED}:distance_m/duration_s at most {MAX_PLAUSIBLE_KMH:.0f} km/h",
                meta=_meta(f"{PLAUSIBLE_SPEED}:distance_m/duration_s", WARNING),
            )
        )
    if domain.batch_date is not None:
        for column in contract.partition_by:
            if contract.column(column).type == "date":
                out.append(
                    E.ExpectColumnValuesToBeBetween(
                        column=column,
                        min_value=(domain.batch_date - timedelta(days=1)).isoformat(),
                        max_value=(domain.batch_date + timedelta(days=1)).isoformat(),
                        meta=_meta(f"{BATCH_WINDOW}:{column}", WARNING),
                    )
                )
    return out
