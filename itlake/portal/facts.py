"""What the portal says about one released dataset, read from its release folders and the lake.

The release history joins the version folders of the lake to `_system.publication_log` (when each
version was released, with how many rows, and how many cells were withheld); the preview is the
first rows of the latest data.parquet; the quality lines are the latest check run of the dataset and
of the tables it is built from. Everything is read with pyarrow and delta-rs through the storage
layer (itlake/lake/storage.py), on disk or in a bucket: no JVM. Folders and files are lake paths
(strings), never `pathlib` paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from itlake.lake.storage import LakeStorage, is_delta_table, open_delta
from itlake.publish.release import SYNTHETIC_BANNER

PREVIEW_ROWS = 10
WKT_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class Release:
    """One version of a dataset as its history table shows it."""

    version: int
    folder: str  # the lake path of the version's folder
    released_at: str  # "2026-11-27 03:00 UTC"; "" when the publication log has no row for it
    rows: int
    withheld_cells: int | None
    sha256: str
    files: list[tuple[str, int]]  # (name, size in bytes) of every file of the version

    @property
    def name(self) -> str:
        """The version's folder name, `v3`."""
        return self.folder.rsplit("/", 1)[1]


@dataclass(frozen=True)
class Preview:
    """The first rows of a release: cell texts (None for a null) and the row count of the whole file."""

    columns: list[str]
    rows: list[list[str | None]]
    total_rows: int


def read_delta(path: str):
    """A Delta table as pandas, or None where the lake has no such table yet."""
    if not is_delta_table(path):
        return None
    return open_delta(path).to_pandas()


def _name(path: str) -> str:
    return path.rsplit("/", 1)[1]


def version_folders(folder: str) -> list[str]:
    """The v<N> folders of a dataset, oldest first (v2 before v10)."""
    found = [p for p in LakeStorage.for_uri(folder).folders(folder) if _name(p)[1:].isdigit()]
    return sorted((p for p in found if _name(p).startswith("v")), key=lambda p: int(_name(p)[1:]))


def is_synthetic(folder: str) -> bool:
    """A release made from synthetic data says so at the top of its README."""
    return SYNTHETIC_BANNER in LakeStorage.for_uri(folder).read_text(f"{folder}/README.md")


def release_history(name: str, folders: list[str], log) -> list[Release]:
    """Every version on disk, newest first, with what the publication log says about it."""
    import pyarrow.parquet as pq

    logged = {}
    if log is not None:
        released = log[(log["name"] == name) & (log["status"] == "released")]
        for row in released.sort_values("logged_at").itertuples():
            logged[int(row.version)] = row  # a version logged twice keeps its latest row
    history = []
    for folder in reversed(folders):
        storage = LakeStorage.for_uri(folder)
        number = int(_name(folder)[1:])
        row = logged.get(number)
        if row is None:
            with storage.open_input(f"{folder}/data.parquet") as parquet:
                rows = pq.read_metadata(parquet).num_rows
        history.append(
            Release(
                version=number,
                folder=folder,
                released_at=_utc_minute(row.logged_at) if row is not None else "",
                rows=int(row.rows) if row is not None else rows,
                withheld_cells=int(row.suppressed_cells) if row is not None else None,
                sha256=storage.read_text(f"{folder}/data.sha256").strip(),
                files=sorted((_name(f), storage.size(f)) for f in storage.files(folder)),
            )
        )
    return history


def preview(parquet: str, geometry_columns: list[str], limit: int = PREVIEW_ROWS) -> Preview:
    """The first `limit` rows of a release file, as text the way data.csv writes it."""
    import pyarrow.parquet as pq

    with LakeStorage.for_uri(str(parquet)).open_input(str(parquet)) as source:
        handle = pq.ParquetFile(source)
        columns = handle.schema_arrow.names
        first = next(handle.iter_batches(batch_size=limit), None)
        total = handle.metadata.num_rows
    records = first.to_pylist()[:limit] if first is not None else []
    rows = [[_cell(record[c], c in geometry_columns) for c in columns] for record in records]
    return Preview(columns=columns, rows=rows, total_rows=total)


def _cell(value, geometry: bool) -> str | None:
    if value is None:
        return None
    if geometry:
        import shapely

        text = shapely.to_wkt(shapely.from_wkb(value))
        return text if len(text) <= WKT_PREVIEW_CHARS else text[: WKT_PREVIEW_CHARS - 1] + "…"
    if isinstance(value, datetime):
        # Lake timestamps are UTC; the CSV of the release writes them the same way.
        utc = value.astimezone(UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _utc_minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def quality_lines(results, names: list[str]) -> list[tuple[str, str, str]]:
    """(dataset, status class, text) of the latest quality run of each name that has one."""
    if results is None:
        return []
    lines = []
    for name in names:
        rows = results[results["dataset"] == name]
        if rows.empty:
            continue
        last = rows[rows["checked_at"] == rows["checked_at"].max()]
        errors = int(((~last["success"]) & (last["severity"] == "error")).sum())
        when = _utc_minute(last["checked_at"].max())
        if errors:
            lines.append((name, "failed", f"FAILED: {errors} of {len(last)} checks ({when})"))
        else:
            lines.append((name, "passed", f"passed: {len(last)} checks ({when})"))
    return lines
