"""`itlake status`: every catalogue resource with its last update, freshness, quality and rows.

    itlake status            # a table; stale or failing resources are marked
    itlake status --json

For each catalogue entry it reports

- the last successful update: the newest `promoted` batch in `_system.ingest_ledger` for an
  ingested resource, the newest commit of its tables for a derived one;
- the freshness of that update against the entry's `update_cycle`: `fresh`, or `stale` with the
  number of cycles missed (`never` when nothing arrived yet);
- the last ledger status, so a refused batch or a failed ingest shows even while older data is
  still fresh;
- the last quality result of its tables (`_system.quality_results`);
- its row count, from the Delta log (the `numRecords` statistics of the live files).

It reads the Delta logs with the `deltalake` package, without a JVM, so it answers in a second or
two. The freshness rules are shared with `itlake tables` (itlake/lake/report.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from itlake.lake.root import Lake

CYCLE_LENGTH = {
    "realtime": timedelta(minutes=5),
    "5min": timedelta(minutes=5),
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=31),
    "yearly": timedelta(days=366),
}
# Ledger statuses that mean the last attempt did not deliver new data.
FAILED_STATUSES = ("refused", "failed")


@dataclass(frozen=True)
class Freshness:
    state: str  # fresh | stale | never
    cycles_missed: int

    @property
    def stale(self) -> bool:
        return self.state != "fresh"

    def __str__(self) -> str:
        if self.state == "stale":
            return f"STALE ({self.cycles_missed} cycle{'s' if self.cycles_missed != 1 else ''} missed)"
        return self.state if self.state == "fresh" else "STALE (never updated)"


def freshness(updated_at: datetime | None, update_cycle: str, now: datetime) -> Freshness:
    """Fresh while the last update is less than one `update_cycle` old; after that, one more
    cycle missed for every full cycle that passed without an update."""
    if updated_at is None:
        return Freshness("never", 0)
    missed = int((now - updated_at) / CYCLE_LENGTH[update_cycle])
    return Freshness("fresh", 0) if missed < 1 else Freshness("stale", missed)


def table_facts(path: str) -> dict | None:
    """rows, version and last commit time of a Delta table from its log; None if it is not one."""
    import pyarrow as pa
    from deltalake.exceptions import TableNotFoundError

    from itlake.lake.storage import open_delta

    try:
        table = open_delta(path)
    except TableNotFoundError:
        return None
    files = pa.table(table.get_add_actions(flatten=True))
    last = table.history(1)[0]
    return {
        "rows": sum(n or 0 for n in files.column("num_records").to_pylist()),
        "version": table.version(),
        "updated_at": datetime.fromtimestamp(last["timestamp"] / 1000, UTC),
    }


def read_system_rows(lake: Lake, name: str) -> list[dict]:
    """Every row of a `_system` table as dicts (these tables stay small)."""
    from deltalake.exceptions import TableNotFoundError

    from itlake.lake.storage import open_delta

    try:
        table = open_delta(lake.system_table(name))
    except TableNotFoundError:
        return []
    return table.to_pyarrow_dataset().to_table().to_pylist()


def record_task_failure(
    lake: Lake,
    dag_id: str,
    task_id: str,
    tables: list[str],
    logical_date: str,
    error: str,
    failed_at: datetime,
) -> None:
    """Append a row to `_system.task_failures` (the Airflow tasks' failure callback calls this, so
    `itlake status` shows a task that failed before its job could write the ledger)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from itlake.lake.storage import delta_location, delta_storage_options

    row = pa.table(
        {
            "dag_id": [dag_id],
            "task_id": [task_id],
            "tables": [",".join(tables)],
            "logical_date": [logical_date],
            "error": [error[:2000]],
            "failed_at": pa.array([_as_utc(failed_at)], pa.timestamp("us", tz="UTC")),
        }
    )
    path = lake.system_table("task_failures")
    write_deltalake(delta_location(path), row, mode="append", storage_options=delta_storage_options(path))


def summarise_quality(rows: list[dict]) -> dict[str, dict]:
    """dataset -> its most recent validation run: `passed`, the number of checks and errors, when."""
    latest: dict[str, datetime] = {}
    for row in rows:
        if row["dataset"] not in latest or row["checked_at"] > latest[row["dataset"]]:
            latest[row["dataset"]] = row["checked_at"]
    summary: dict[str, dict] = {}
    for row in rows:
        if row["checked_at"] != latest[row["dataset"]]:
            continue
        entry = summary.setdefault(
            row["dataset"], {"checks": 0, "errors": 0, "checked_at": row["checked_at"]}
        )
        entry["checks"] += 1
        entry["errors"] += int(not row["success"] and row["severity"] == "error")
    for entry in summary.values():
        entry["passed"] = entry["errors"] == 0
    return summary


def quality_text(result: dict | None) -> str:
    if result is None:
        return ""
    if result["passed"]:
        return f"passed ({result['checks']} checks)"
    return f"FAILED ({result['errors']} errors)"


@dataclass
class ResourceStatus:
    code: str
    name: str
    tables: list[str]
    update_cycle: str
    rows: int | None
    last_update: datetime | None
    freshness: str
    stale: bool
    last_status: str
    last_message: str
    quality: str
    problem: bool

    def as_json(self) -> dict:
        out = asdict(self)
        out["last_update"] = self.last_update.isoformat() if self.last_update else None
        return out


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def resource_status(lake: Lake, catalog=None, now: datetime | None = None) -> list[ResourceStatus]:
    """One status row per catalogue entry, in code order."""
    from itlake.catalog.resources import load_catalog

    catalog = catalog or load_catalog()
    now = _as_utc(now) or datetime.now(UTC)
    ledger = read_system_rows(lake, "ingest_ledger")
    quality = summarise_quality(read_system_rows(lake, "quality_results"))
    failures = read_system_rows(lake, "task_failures")
    statuses = []
    for entry in catalog.entries:
        tables = [f"{entry.layer}.{name}" for name in entry.schema]
        facts = [table_facts(lake.table(entry.layer, name)) for name in entry.schema]
        present = [f for f in facts if f is not None]
        mine = sorted((r for r in ledger if r["code"] == entry.code), key=lambda r: _as_utc(r["finished_at"]))
        if entry.feed:
            promoted = [r for r in mine if r["status"] == "promoted"]
            last_update = _as_utc(promoted[-1]["finished_at"]) if promoted else None
        else:
            last_update = max((f["updated_at"] for f in present), default=None)
        fresh = freshness(last_update, entry.update_cycle, now)
        results = [quality[name] for name in entry.schema if name in quality]
        combined = (
            {
                "checks": sum(r["checks"] for r in results),
                "errors": sum(r["errors"] for r in results),
                "passed": all(r["passed"] for r in results),
            }
            if results
            else None
        )
        last = mine[-1] if mine else None
        last_status = last["status"] if last else ("written" if present else "")
        last_message = (last["message"] or "") if last else ""
        failed = [f for f in failures if set(f["tables"].split(",")) & set(tables)]
        if failed:
            newest = max(failed, key=lambda f: f["failed_at"])
            if last is None or _as_utc(newest["failed_at"]) > _as_utc(last["finished_at"]):
                last_status = "failed"
                last_message = (
                    f"{newest['dag_id']}.{newest['task_id']} ({newest['logical_date']}): {newest['error']}"
                )
        statuses.append(
            ResourceStatus(
                code=entry.code,
                name=entry.name,
                tables=tables,
                update_cycle=entry.update_cycle,
                rows=sum(f["rows"] for f in present) if present else None,
                last_update=last_update,
                freshness=str(fresh),
                stale=fresh.stale,
                last_status=last_status,
                last_message=last_message,
                quality=quality_text(combined),
                problem=fresh.stale
                or last_status in FAILED_STATUSES
                or (combined is not None and not combined["passed"]),
            )
        )
    return statuses

