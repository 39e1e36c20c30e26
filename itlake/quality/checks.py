"""What the ingest stage records about the quality of each batch it promotes or refuses.

    domain = entry_domain(load_catalog().get("taxi_gps"), date(2026, 11, 27))  # coverage bbox + date
    record_run(spark, report)        # _system.quality_results rows and the run's Data Docs page

A batch that quarantines more than its contract's threshold is refused before the suite runs; its
`threshold_report` still records why, with the rules that held rows back, so an analyst reading
`_system.quality_results` sees every run, refused ones included.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from itlake.quality.suites import ERROR, Domain
from itlake.quality.validate import ExpectationResult, QualityReport, build_data_docs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from itlake.catalog.contracts import Contract
    from itlake.feeds.base import BatchContext

THRESHOLD = "quarantine_threshold"


def run_id(ctx: BatchContext) -> str:
    """One validation run: a batch on its logical date."""
    return f"{ctx.batch_id}-{ctx.logical_date.isoformat()}"


def entry_domain(entry, logical_date: date) -> Domain:
    """The spatial coverage of a catalogue entry, and the batch date."""
    return Domain(bbox=tuple(entry.spatial_coverage.bbox), batch_date=logical_date)


def threshold_report(
    contract: Contract, ctx: BatchContext, rows_read: int, rule_counts: dict[str, int]
) -> QualityReport:
    """The report of a batch refused for quarantining too much: one failed error result whose
    sample lists the rules that quarantined rows (`rule_counts`), most frequent first."""
    quarantined = sum(rule_counts.values())
    share = quarantined / rows_read if rows_read else 0.0
    most = sorted(rule_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    result = ExpectationResult(
        expectation=THRESHOLD,
        rule=THRESHOLD,
        column=None,
        severity=ERROR,
        success=False,
        observed_value=(
            f"{quarantined} of {rows_read} rows quarantined ({share:.2%}), "
            f"over the threshold of {contract.quarantine_threshold:.2%}"
        ),
        unexpected_count=quarantined,
        unexpected_sample=json.dumps(dict(most)),
    )
    return QualityReport(
        run_id=run_id(ctx), dataset=contract.name, batch_id=ctx.batch_id, success=False, results=[result]
    )


def data_docs_dir() -> str:
    """Where the Data Docs pages of the lake's runs are written: `<lake>/_system/data_docs`."""
    from itlake.lake.paths import system_table_path

    return system_table_path("data_docs")


def record_run(spark: SparkSession, report: QualityReport) -> None:
    """Append the report's rows to `_system.quality_results` and write its Data Docs page."""
    from itlake.lake.system import record_quality

    record_quality(spark, report.rows())
    build_data_docs([report], data_docs_dir())
