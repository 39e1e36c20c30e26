"""Quality checks generated from the data contracts: row rules, GX suites, validation and the gate.

    from itlake.quality import row_rules, quarantine_split, validate_frame, assert_passed
    good, bad = quarantine_split(df, row_rules(contract))
    report = validate_frame(good, contract, dataset="silver.taxi_gps", batch_id=b, run_id=r)
    record_quality(spark, report.rows()); assert_passed(report)

Light at import: Airflow DAG files import this package, so great_expectations and pyspark are
imported inside the functions that use them.
"""

from __future__ import annotations

from itlake.quality.rules import RowRule, quarantine_split, row_rules
from itlake.quality.suites import build_suite
from itlake.quality.validate import (
    ExpectationResult,
    QualityGateError,
    QualityReport,
    assert_passed,
    build_data_docs,
    validate_frame,
)

__all__ = [
    "ExpectationResult",
    "QualityGateError",
    "QualityReport",
    "RowRule",
    "assert_passed",
    "build_data_docs",
    "build_suite",
    "quarantine_split",
    "row_rules",
    "validate_frame",
]
