"""Validate a Spark DataFrame against its contract's suite, gate on the result, render a page.

    report = validate_frame(df, contract, dataset="silver.taxi_gps", batch_id=b, run_id=r)
    record_quality(spark, report.rows())    # one row per expectation in _system.quality_results
    assert_passed(report)                   # QualityGateError when an error expectation failed
    build_data_docs([report], out_dir)      # a self-contained HTML page per run

Every expectation's counts come from one aggregation and one grouping for the key
(itlake/quality/metrics.py); an expectation they show met is GX's own validation result with
those counts. The others run in GX, in an ephemeral context (nothing written to disk) on its
Spark datasource, and their offending values are fetched in a second pass. Persisting the frame
here made a cheap frame slower (17 s), so it is off by default: a frame that is expensive to
recompute should be persisted once by the caller and reused for the write. GX's own persist is
switched off because it never unpersists.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itlake.quality.rules import INVARIANT
from itlake.quality.suites import ERROR, Domain, build_suite, import_gx

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from itlake.catalog.contracts import Contract

# A handful of offending values is enough to recognise a problem; more costs driver memory.
SAMPLE_SIZE = 5
# Counts without values: with a limit of 0 GX's per-expectation "unexpected values" query is empty
# and Spark answers it without a job.
COUNTS_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
SAMPLE_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}


class QualityGateError(RuntimeError):
    """An error-severity expectation failed; the message names the dataset, batch and failures."""


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation on one batch.

    `expectation` is the GX expectation type, or ``invariant:<name>`` for a contract invariant;
    `rule` names the check uniquely in its suite, as a quarantined row names the rule it failed
    (``expect_column_values_to_be_between:lat``, ``within_coverage:lat``, ``foreign_key:...``);
    `column` is the column (key columns joined by commas) or None for table-level checks.
    """

    expectation: str
    rule: str
    column: str | None
    severity: str
    success: bool
    observed_value: str
    unexpected_count: int | None
    unexpected_sample: str


@dataclass
class QualityReport:
    """The validation of one batch of one dataset; `success` means every error expectation passed."""

    run_id: str
    dataset: str
    batch_id: str
    success: bool
    results: list[ExpectationResult]
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    def failures(self, severity: str | None = ERROR) -> list[ExpectationResult]:
        """Failed expectations of `severity` (every failed one when severity is None)."""
        return [r for r in self.results if not r.success and (severity is None or r.severity == severity)]

    def rows(self) -> list[dict[str, Any]]:
        """One row per expectation, in the shape of `_system.quality_results`."""
        return [
            {
                "run_id": self.run_id,
                "dataset": self.dataset,
                "batch_id": self.batch_id,
                "expectation": r.expectation,
                "rule": r.rule,
                "column": r.column,
                "severity": r.severity,
                "success": r.success,
                "observed_value": r.observed_value,
                "unexpected_count": r.unexpected_count,
                "unexpected_sample": r.unexpected_sample,
                "checked_at": self.checked_at,
            }
            for r in self.results
        ]


def validate_frame(
    df: DataFrame,
    contract: Contract,
    *,
    dataset: str,
    batch_id: str,
    run_id: str,
    domain: Domain | None = None,
    extra: list[ExpectationResult] = (),
    persist: bool = False,
) -> QualityReport:
    """Validate `df` against the suite generated from `contract` (and `domain`, if given).

    Lineage columns (names starting with ``_``) are left out, as `check_columns` does. `extra`
    holds results checked outside the suite (foreign keys); they count towards the verdict. With
    `persist`, the frame is cached for the validation (unless it is cached already) and released
    afterwards.
    """
    import time

    from pyspark import StorageLevel

    from itlake.quality.metrics import suite_results

    gx = import_gx()
    started = time.perf_counter()
    suite = build_suite(contract, domain)
    frame = df.select(*[f"`{c}`" for c in df.columns if not c.startswith("_")])
    cached_here = persist and not df.is_cached
    if cached_here:
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        # Every count in one pass; GX validates only what that pass did not find met.
        by_rule, unsure = suite_results(frame, suite)
        if unsure:
            by_rule.update(_gx_results(gx, frame, contract.name, unsure))
    finally:
        if cached_here:
            frame.unpersist()
    results = [_result(by_rule[e.meta["rule"]]) for e in suite.expectations] + list(extra)
    return QualityReport(
        run_id=run_id,
        dataset=dataset,
        batch_id=batch_id,
        success=all(r.success for r in results if r.severity == ERROR),
        results=results,
        seconds=time.perf_counter() - started,
    )


def _gx_results(gx, frame, name: str, expectations: list) -> dict:
    """GX's own validation of `expectations` on `frame`, by rule."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    # GX's persist would cache every frame it is given and never release it.
    source = context.data_sources.add_spark(name="itlake", persist=False)
    asset = source.add_dataframe_asset(name=name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(name=name, expectations=expectations)
    # GX returns results in its own order; `meta.rule` is unique within a suite.
    by_rule = {_rule(r): r for r in batch.validate(suite, result_format=COUNTS_FORMAT).results}
    # Samples cost one scan per expectation (a full one when nothing fails), so they are
    # fetched in a second pass, for the expectations that failed only.
    failed = {rule for rule, r in by_rule.items() if not r.success and _has_values(r)}
    if failed:
        retry = gx.ExpectationSuite(
            name=f"{name}.samples", expectations=[e for e in expectations if e.meta["rule"] in failed]
        )
        by_rule.update((_rule(r), r) for r in batch.validate(retry, result_format=SAMPLE_FORMAT).results)
    return by_rule


def _rule(gx_result) -> str:
    return gx_result.expectation_config.meta["rule"]


def _has_values(gx_result) -> bool:
    """Whether a failed result has offending values worth a second look (map expectations do)."""
    return bool((gx_result.result or {}).get("unexpected_count"))


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _result(gx_result) -> ExpectationResult:
    """One GX ExpectationValidationResult, flattened."""
    config = gx_result.expectation_config
    meta = config.meta or {}
    kwargs = config.kwargs
    rule = meta.get("rule", "")
    expectation = rule if rule.startswith(f"{INVARIANT}:") else config.type
    if "column" in kwargs:
        column = kwargs["column"]
    elif "column_list" in kwargs:
        column = ",".join(kwargs["column_list"])
    else:
        column = None
    result = gx_result.result or {}
    exception = gx_result.exception_info or {}
    unexpected_count = result.get("unexpected_count")
    sample: Any = result.get("partial_unexpected_list", [])
    if exception.get("raised_exception"):
        observed = f"error: {exception.get('exception_message')}"
    elif "observed_value" in result:
        value = result["observed_value"]
        observed = value if isinstance(value, str) else _json(value)
        if expectation.startswith(f"{INVARIANT}:") and isinstance(value, int):
            unexpected_count = value
        mismatched = (result.get("details") or {}).get("mismatched")
        if mismatched:
            sample = mismatched
    elif unexpected_count is not None:
        observed = f"{unexpected_count} of {result.get('element_count')} rows unexpected"
    else:
        observed = _json(result)
    if isinstance(sample, list):
        sample = sample[:SAMPLE_SIZE]
    return ExpectationResult(
        expectation=expectation,
        rule=rule,
        column=column,
        severity=meta.get("severity", ERROR),
        success=bool(gx_result.success),
        observed_value=observed,
        unexpected_count=None if unexpected_count is None else int(unexpected_count),
        unexpected_sample=_json(sample),
    )


def assert_passed(report: QualityReport) -> QualityReport:
    """Return `report` if every error expectation passed; raise QualityGateError otherwise."""
    failed = report.failures(ERROR)
    if not failed:
        return report
    listed = "; ".join(f"{r.rule} ({r.observed_value})" for r in failed)
    raise QualityGateError(
        f"quality gate failed for {report.dataset}, batch {report.batch_id} (run {report.run_id}): "
        f"{len(failed)} error expectation(s) failed: {listed}"
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
.pass {{ color: #1a7f37; }} .fail {{ color: #cf222e; font-weight: bold; }} .warn {{ color: #9a6700; }}
code {{ font-size: 0.9em; }}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def _status(r: ExpectationResult) -> tuple[str, str]:
    if r.success:
        return "pass", "passed"
    return ("fail", "FAILED") if r.severity == ERROR else ("warn", "warning")


def _report_html(report: QualityReport) -> str:
    e = html.escape
    verdict = "passed" if report.success else "FAILED"
    rows = "\n".join(
        "<tr><td class='{cls}'>{status}</td><td><code>{exp}</code></td><td>{col}</td><td>{sev}</td>"
        "<td>{obs}</td><td>{count}</td><td><code>{sample}</code></td></tr>".format(
            cls=_status(r)[0],
            status=_status(r)[1],
            exp=e(r.expectation),
            col=e(r.column or ""),
            sev=e(r.severity),
            obs=e(r.observed_value),
            count="" if r.unexpected_count is None else r.unexpected_count,
            sample=e(r.unexpected_sample),
        )
        for r in report.results
    )
    return (
        f"<h2>{e(report.dataset)} <small>batch {e(report.batch_id)}</small></h2>\n"
        f"<p class='{'pass' if report.success else 'fail'}'>{verdict}: "
        f"{sum(r.success for r in report.results)} of {len(report.results)} expectations met; "
        f"checked {report.checked_at:%Y-%m-%d %H:%M:%S} UTC in {report.seconds:.1f} s</p>\n"
        "<table><tr><th>status</th><th>expectation</th><th>column</th><th>severity</th>"
        f"<th>observed</th><th>unexpected</th><th>sample</th></tr>\n{rows}\n</table>"
    )


def _file_name(report: QualityReport) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{report.run_id}__{report.dataset}") + ".html"


def build_data_docs(reports: list[QualityReport], out_dir: str | Path) -> str:
    """Write one self-contained HTML page per run and dataset, then the index of every page in
    `out_dir` (this run's and earlier ones), newest first; return the index's path. `out_dir` is a
    folder or a lake URI on object storage (itlake/lake/storage.py).

    GX's own Data Docs need a file-backed context and its stores; these pages show the same
    content (each expectation, its status, observed value and sample) without either.
    """
    from itlake.lake.storage import LakeStorage

    out = str(out_dir).rstrip("/")
    storage = LakeStorage.for_uri(out)
    for report in reports:
        title = f"itlake quality: {report.dataset}, run {report.run_id}"
        verdict = "passed" if report.success else "FAILED"
        page = _PAGE.format(title=html.escape(title), body=_report_html(report))
        # The verdict rides in a comment so the index can list pages without parsing them.
        storage.write_text(f"{out}/{_file_name(report)}", f"<!-- itlake:{verdict} -->\n{page}")
    pages = [p for p in storage.files_by_age(out) if p.endswith(".html") and not p.endswith("/index.html")]
    links = []
    for page in pages:
        ok = storage.read_text(page)[:40].startswith("<!-- itlake:passed")
        name = page.rsplit("/", 1)[1]
        links.append(
            f"<li><a href='{html.escape(name)}'>{html.escape(name.removesuffix('.html'))}</a> "
            f"<span class='{'pass' if ok else 'fail'}'>{'passed' if ok else 'FAILED'}</span></li>"
        )
    index = f"{out}/index.html"
    storage.write_text(
        index, _PAGE.format(title="itlake quality runs", body="<ul>\n" + "\n".join(links) + "\n</ul>")
    )
    return index
