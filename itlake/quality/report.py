"""The last quality run of each dataset, read from `_system.quality_results` without Spark.

    runs = last_runs(lake_root, dataset=None)   # one LastRun per dataset, sorted by name

The table is small (one row per expectation per run), so it is read with the `deltalake` reader
into pandas: `itlake quality report` answers in about a second, with no JVM to start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from itlake.quality.suites import ERROR

COLUMNS = [
    "run_id",
    "dataset",
    "batch_id",
    "rule",
    "severity",
    "success",
    "observed_value",
    "unexpected_count",
    "checked_at",
]


@dataclass(frozen=True)
class Failure:
    rule: str
    severity: str
    observed_value: str
    unexpected_count: int | None


@dataclass(frozen=True)
class LastRun:
    """The most recent run of one dataset: its verdict (every error expectation met, or not)."""

    dataset: str
    run_id: str
    batch_id: str
    checked_at: datetime
    expectations: int
    passed: bool
    failures: list[Failure]

    @property
    def status(self) -> str:
        warnings = sum(f.severity != ERROR for f in self.failures)
        verdict = "passed" if self.passed else "FAILED"
        return f"{verdict}, {warnings} warning(s)" if warnings else verdict


def read_results(path: str):
    """`_system.quality_results` as pandas, or None when no run has been recorded yet."""
    from deltalake.exceptions import TableNotFoundError

    from itlake.lake.storage import open_delta

    try:
        table = open_delta(path)
    except TableNotFoundError:
        return None
    return table.to_pandas(columns=COLUMNS)


def last_runs(path: str, dataset: str | None = None) -> list[LastRun]:
    """The last run of every dataset in the results at `path` (or of `dataset` only)."""
    frame = read_results(path)
    if frame is None or frame.empty:
        return []
    if dataset is not None:
        frame = frame[frame["dataset"] == dataset]
    runs = []
    for name, rows in frame.groupby("dataset", sort=True):
        latest = rows.loc[rows["checked_at"].idxmax()]
        run = rows[(rows["run_id"] == latest["run_id"]) & (rows["batch_id"] == latest["batch_id"])]
        failed = run[~run["success"]].sort_values(["severity", "rule"])
        runs.append(
            LastRun(
                dataset=str(name),
                run_id=str(latest["run_id"]),
                batch_id=str(latest["batch_id"]),
                checked_at=latest["checked_at"].to_pydatetime(),
                expectations=len(run),
                passed=bool(run[run["severity"] == ERROR]["success"].all()),
                failures=[
                    Failure(
                        r.rule,
                        r.severity,
                        r.observed_value,
                        None if r.unexpected_count != r.unexpected_count else int(r.unexpected_count),
                    )
                    for r in failed.itertuples()
                ],
            )
        )
    return runs
