"""Where each table lives: `{lake_root}/{layer}/{name}`, the same on a local folder or s3a://.

`Lake.table` (itlake/lake/root.py) is the way in for code that is handed its lake; these functions
serve callers that hold a root, a `Lake`, or nothing (then the default lake, see `default_lake`).
"""

from __future__ import annotations

from itlake.lake.root import Lake, default_lake


def _lake(root: Lake | str | None) -> Lake:
    if isinstance(root, Lake):
        return root
    return Lake(root) if root else default_lake()


def table_path(layer: str, name: str, root: Lake | str | None = None) -> str:
    """The storage path of one lake table."""
    return _lake(root).table(layer, name)


def system_table_path(name: str, root: Lake | str | None = None) -> str:
    """A `_system` table: catalog, ingest_ledger, quality_results, publication_log."""
    return _lake(root).system_table(name)
