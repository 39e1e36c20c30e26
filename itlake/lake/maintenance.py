"""Lake upkeep from the catalogue: expire what is past its retention, compact small files,
checkpoint and vacuum. Every action is a row of `_system.maintenance_log`.

    from itlake.lake.maintenance import maintain_lake
    maintain_lake(spark, load_catalog(), date(2026, 12, 7))    # the DAG itlake_maintenance runs this

Retention comes from each catalogue entry (`retention` in catalog/*.yaml), counted back from the
logical date, never from the clock, so a re-run of a day does the same:
- landing: the folders `landing/<resource>/<logical date>/` older than `retention.landing`;
- bronze and quarantine: raw rows that entered the lake (`_ingested_at`, `_quarantined_at`) before
  `retention.bronze`;
- silver and gold: rows whose date partition (the contract's first `partition_by`, when it is a
  date) is older than the layer's retention. Tables without a date partition (GTFS versions, the
  road network) hold reference data that is replaced, not expired.

Then every Delta table with at least SMALL_FILES files averaging under SMALL_FILE_BYTES is
compacted (OPTIMIZE, bin-packing), VACUUM deletes the files no version within
`retention.time_travel` needs, and a table whose last checkpoint is behind its version gets one.

Every change is SQL on the session (`DELETE FROM delta.\\`path\\``, `OPTIMIZE`, `VACUUM ... RETAIN n
HOURS`), so it runs the same over Spark Connect; checkpoints are written with the `deltalake`
package, as Delta's SQL has no checkpoint command. What to do is decided before any of it: on a
local lake the `deltalake` package reads each table's log in this process (its files and sizes,
the rows past a cutoff, the files a VACUUM would delete), so a table with nothing to expire,
compact or vacuum costs no Spark job.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from itlake.catalog.contracts import load_contract
from itlake.catalog.resources import Catalog, CatalogEntry, approximate_days, before
from itlake.lake.delta import append_rows, is_local
from itlake.lake.paths import system_table_path, table_path
from itlake.lake.storage import LakeStorage, open_delta

SMALL_FILES = 16
SMALL_FILE_BYTES = 32 * 1024 * 1024
DEFAULT_TIME_TRAVEL = "P7D"
# Delta refuses a VACUUM that keeps less than its deleted-file retention (7 days) unless told not to.
DELTA_DEFAULT_RETENTION_HOURS = 168
TABLE_LAYERS = ("bronze", "quarantine", "silver", "gold", "open", "_system")
RAW_TIME_COLUMN = {"bronze": "_ingested_at", "quarantine": "_quarantined_at"}

MAINTENANCE_LOG_SCHEMA = (
    "run_id STRING, action STRING, `table` STRING, code STRING, rows_removed LONG, files_before LONG, "
    "files_after LONG, detail STRING, logical_date DATE, started_at TIMESTAMP, finished_at TIMESTAMP"
)


@dataclass
class MaintenanceAction:
    """One row of `_system.maintenance_log`: what was done to which table or landing folder."""

    run_id: str
    action: str
    table: str
    code: str | None
    logical_date: date
    rows_removed: int | None = None
    files_before: int | None = None
    files_after: int | None = None
    detail: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    def done(self, **figures) -> MaintenanceAction:
        for name, value in figures.items():
            setattr(self, name, value)
        self.finished_at = datetime.now(UTC)
        return self


def record_actions(spark, actions: list[MaintenanceAction]) -> None:
    if actions:
        rows = [asdict(a) for a in actions]
        append_rows(spark, rows, MAINTENANCE_LOG_SCHEMA, system_table_path("maintenance_log"))


def new_run_id(kind: str, logical_date: date) -> str:
    return f"{kind}-{logical_date.isoformat()}-{uuid.uuid4().hex[:8]}"


def quoted(path: str) -> str:
    """A table path as SQL names it: delta.`path`."""
    return "delta.`" + path.replace("`", "``") + "`"


def is_delta_table(path: str) -> bool:
    return LakeStorage.for_uri(path).exists(f"{path}/_delta_log")


def lake_tables(root: str | None = None) -> list[tuple[str, str, str]]:
    """(layer, name, path) of every Delta table of the lake, layer by layer."""
    found = []
    for layer in TABLE_LAYERS:
        base = table_path(layer, "x", root).rsplit("/", 1)[0]
        storage = LakeStorage.for_uri(base)
        for folder in storage.folders(base):
            if storage.exists(f"{folder}/_delta_log"):
                found.append((layer, folder.rsplit("/", 1)[1], folder))
    return found


def table_detail(spark, path: str) -> tuple[int, int]:
    """(number of live files, their total bytes) of a Delta table."""
    if is_local(path):
        import pyarrow as pa

        sizes = pa.table(open_delta(path).get_add_actions(flatten=True))["size_bytes"]
        return len(sizes), sum(sizes.to_pylist())
    row = spark.sql(f"DESCRIBE DETAIL {quoted(path)}").select("numFiles", "sizeInBytes").first()
    return int(row.numFiles), int(row.sizeInBytes)


def data_files(path: str) -> int:
    """Files under the table's folder other than its log: live ones and those VACUUM may delete."""
    storage = LakeStorage.for_uri(path)
    files = storage.files(path, recursive=True)
    return sum(1 for f in files if "/_delta_log/" not in f and not f.endswith(".crc"))


@contextlib.contextmanager
def retention_check_off(spark, hours: int):
    """Let VACUUM keep fewer hours than Delta's default when asked to, for this session only."""
    name = "spark.databricks.delta.retentionDurationCheck.enabled"
    if hours >= DELTA_DEFAULT_RETENTION_HOURS:
        yield
        return
    before_value = spark.conf.get(name, "true")
    spark.conf.set(name, "false")
    try:
        yield
    finally:
        spark.conf.set(name, before_value)


def keep_deleted_files(spark, path: str, hours: int) -> None:
    """Make `hours` the table's deleted-file retention. Delta's VACUUM honours its RETAIN clause only
    when it is 0 and otherwise keeps the table's `delta.deletedFileRetentionDuration` (7 days unless
    set), so a time-travel window other than 7 days is set on the table, once."""
    name = "delta.deletedFileRetentionDuration"
    if is_local(path):
        current = open_delta(path).metadata().configuration.get(name, "")
    else:
        rows = spark.sql(f"SHOW TBLPROPERTIES {quoted(path)} ('{name}')").collect()
        current = rows[0].value if rows else ""
    wanted = f"interval {hours} hours"
    if current == wanted or (hours == DELTA_DEFAULT_RETENTION_HOURS and not current.startswith("interval")):
        return
    spark.sql(f"ALTER TABLE {quoted(path)} SET TBLPROPERTIES ('{name}' = '{wanted}')").collect()


def vacuum(spark, path: str, hours: int, run: MaintenanceAction) -> MaintenanceAction:
    """VACUUM keeping `hours` of time travel; the row counts the table's data files before and after."""
    files_before = data_files(path)
    if not _vacuum_would_delete(path, hours):
        return run.done(files_before=files_before, files_after=files_before, detail=f"kept {hours} hours")
    if hours:
        keep_deleted_files(spark, path, hours)
    with retention_check_off(spark, hours):
        spark.sql(f"VACUUM {quoted(path)} RETAIN {int(hours)} HOURS").collect()
    return run.done(files_before=files_before, files_after=data_files(path), detail=f"kept {hours} hours")


def _vacuum_would_delete(path: str, hours: int) -> bool:
    """Whether a VACUUM keeping `hours` has any file to delete: removed files past the window, or
    files of no version at all (a dry run of `deltalake` on a local lake; assumed so elsewhere)."""
    if not is_local(path):
        return True
    return bool(open_delta(path).vacuum(hours, dry_run=True, enforce_retention_duration=False, full=True))


def checkpoint(path: str, run: MaintenanceAction) -> MaintenanceAction | None:
    """A checkpoint at the table's version unless it has one there already; None when it had."""
    table = open_delta(path)
    version = table.version()
    storage = LakeStorage.for_uri(path)
    if storage.exists(f"{path}/_delta_log/{version:020d}.checkpoint.parquet"):
        return None
    table.create_checkpoint()
    return run.done(detail=f"checkpoint at version {version}")


def compact(spark, path: str, run: MaintenanceAction) -> MaintenanceAction | None:
    """OPTIMIZE (bin-packing) a table with many small files; None when it has few or large ones."""
    files, size = table_detail(spark, path)
    if files < SMALL_FILES or size / files >= SMALL_FILE_BYTES:
        return None
    spark.sql(f"OPTIMIZE {quoted(path)}").collect()
    after, _ = table_detail(spark, path)
    detail = f"{files} files averaging {size // files:,} bytes"
    return run.done(files_before=files, files_after=after, detail=detail)


@dataclass(frozen=True)
class Expiry:
    """The rows of a table past their retention: those whose `column` is before `cutoff` (a
    timestamp at midnight UTC for the raw layers' arrival times, a date for a date partition)."""

    column: str
    cutoff: date | datetime

    @property
    def sql(self) -> str:
        if isinstance(self.cutoff, datetime):
            return f"`{self.column}` < TIMESTAMP '{self.cutoff:%Y-%m-%d %H:%M:%S}'"
        return f"`{self.column}` < DATE '{self.cutoff.isoformat()}'"


def expired_rows(path: str, expiry: Expiry) -> int:
    """How many rows of the table are past `expiry`, read by `deltalake` in this process (the
    files' statistics and partitions skip most of the table)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    dataset = open_delta(path).to_pyarrow_dataset()
    limit = pa.scalar(expiry.cutoff, type=dataset.schema.field(expiry.column).type)
    return dataset.count_rows(filter=ds.field(expiry.column) < limit)


def delete_where(spark, path: str, expiry: Expiry, run: MaintenanceAction) -> MaintenanceAction | None:
    """DELETE the rows past `expiry`; None when there are none."""
    expired = expired_rows(path, expiry)
    if not expired:
        return None
    spark.sql(f"DELETE FROM {quoted(path)} WHERE {expiry.sql}").collect()
    return run.done(rows_removed=int(expired), detail=expiry.sql)


def expire_landing(entry: CatalogEntry, logical_date: date, run_id: str) -> list[MaintenanceAction]:
    """Delete the landing folders of `entry` whose logical date is past `retention.landing`."""
    cutoff = before(logical_date, entry.retention.landing)
    base = table_path("landing", entry.name)
    storage = LakeStorage.for_uri(base)
    actions = []
    for folder in storage.folders(base):
        try:
            day = date.fromisoformat(folder.rsplit("/", 1)[1])
        except ValueError:
            continue  # not a logical-date folder: not the lake's to expire
        if day >= cutoff:
            continue
        run = MaintenanceAction(run_id, "expire_landing", f"landing.{entry.name}", entry.code, logical_date)
        files = len(storage.files(folder, recursive=True))
        storage.delete_folder(folder)
        actions.append(
            run.done(files_before=files, files_after=0, detail=f"logical date {day} before {cutoff}")
        )
    return actions


def expiry_of(entry: CatalogEntry, layer: str, contract_name: str, logical_date: date) -> Expiry | None:
    """The expired rows of one table, or None when it has no date to expire by."""
    kept = entry.retention.of(layer)
    if kept is None:
        return None
    cutoff = before(logical_date, kept)
    if layer in RAW_TIME_COLUMN:
        return Expiry(RAW_TIME_COLUMN[layer], datetime.combine(cutoff, datetime.min.time(), UTC))
    contract = load_contract(contract_name)
    if not contract.partition_by:
        return None
    column = next(c for c in contract.columns if c.name == contract.partition_by[0])
    if column.type != "date":
        return None
    return Expiry(column.name, cutoff)


def expire_tables(spark, catalog: Catalog, logical_date: date, run_id: str) -> list[MaintenanceAction]:
    """DELETE the expired rows of every bronze, quarantine, silver and gold table of the catalogue."""
    actions = []
    for entry in catalog.entries:
        layers = ("bronze", "quarantine", entry.layer) if entry.feed else (entry.layer,)
        for layer in layers:
            if layer == "open":
                continue  # releases are versioned folders, withdrawn by the publication stage
            for contract_name in entry.schema:
                path = table_path(layer, contract_name)
                expiry = expiry_of(entry, layer, contract_name, logical_date)
                if expiry is None or not is_delta_table(path):
                    continue
                table = f"{layer}.{contract_name}"
                run = MaintenanceAction(run_id, f"expire_{layer}", table, entry.code, logical_date)
                done = delete_where(spark, path, expiry, run)
                if done:
                    actions.append(done)
    return actions


def time_travel_hours(catalog: Catalog, layer: str, name: str) -> int:
    """How many hours of history VACUUM keeps for a table: its entry's `retention.time_travel`."""
    kept = DEFAULT_TIME_TRAVEL
    if layer != "_system":
        with contextlib.suppress(KeyError):
            kept = catalog.by_contract(name).retention.time_travel
    return approximate_days(kept) * 24


def upkeep_tables(spark, catalog: Catalog, logical_date: date, run_id: str) -> list[MaintenanceAction]:
    """OPTIMIZE where files are small, VACUUM, and checkpoint where the log has moved on, every table."""
    actions = []
    for layer, name, path in lake_tables():
        code = None
        with contextlib.suppress(KeyError):
            code = catalog.by_contract(name).code if layer != "_system" else None
        table = f"{layer}.{name}"
        hours = time_travel_hours(catalog, layer, name)
        compacted = compact(spark, path, MaintenanceAction(run_id, "optimize", table, code, logical_date))
        vacuumed = vacuum(spark, path, hours, MaintenanceAction(run_id, "vacuum", table, code, logical_date))
        # Last, so that the log ends at a checkpoint after VACUUM's own commits.
        checkpointed = checkpoint(path, MaintenanceAction(run_id, "checkpoint", table, code, logical_date))
        actions += [a for a in (compacted, vacuumed, checkpointed) if a is not None]
    return actions


def maintain_lake(spark, catalog: Catalog, logical_date: date) -> list[MaintenanceAction]:
    """Expire, compact, checkpoint and vacuum the whole lake; returns (and logs) every action."""
    run_id = new_run_id("maintenance", logical_date)
    actions = []
    for entry in catalog.feeds():
        actions += expire_landing(entry, logical_date, run_id)
    actions += expire_tables(spark, catalog, logical_date, run_id)
    record_actions(spark, actions)
    upkeep = upkeep_tables(spark, catalog, logical_date, run_id)
    record_actions(spark, upkeep)
    return actions + upkeep


@dataclass(frozen=True)
class Overdue:
    """Personal data kept past its retention: landing files of one logical date, or raw rows."""

    where: str
    code: str
    retention: str
    cutoff: date
    count: int
    unit: str


def _personal_contracts(entry: CatalogEntry) -> list[str]:
    return [name for name in entry.schema if any(c.pii != "none" for c in load_contract(name).columns)]


def overdue_personal_data(catalog: Catalog, logical_date: date) -> list[Overdue]:
    """Landing files and bronze or quarantined rows with personal data past their retention on
    `logical_date`: what the maintenance DAG should have deleted. Read with `deltalake`, no Spark."""
    found = []
    for entry in catalog.feeds():
        contracts = _personal_contracts(entry)
        if not contracts:
            continue
        cutoff = before(logical_date, entry.retention.landing)
        base = table_path("landing", entry.name)
        storage = LakeStorage.for_uri(base)
        for folder in storage.folders(base):
            name = folder.rsplit("/", 1)[1]
            with contextlib.suppress(ValueError):
                if date.fromisoformat(name) < cutoff:
                    files = len(storage.files(folder, recursive=True))
                    where = f"landing.{entry.name}/{name}"
                    found.append(Overdue(where, entry.code, entry.retention.landing, cutoff, files, "files"))
        for layer in RAW_TIME_COLUMN:
            kept = entry.retention.of(layer)
            for name in contracts:
                path = table_path(layer, name)
                expiry = expiry_of(entry, layer, name, logical_date)
                if not is_delta_table(path):
                    continue
                rows = expired_rows(path, expiry)
                if rows:
                    where = f"{layer}.{name}"
                    found.append(Overdue(where, entry.code, kept, expiry.cutoff.date(), rows, "rows"))
    return found
