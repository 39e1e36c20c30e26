"""Where each table lives: `{lake_root}/{layer}/{name}`, the same on a local folder or s3a://."""

from __future__ import annotations

from itlake.config import get_settings

LAYERS = ("landing", "bronze", "silver", "quarantine", "gold", "open", "_system")


def table_path(layer: str, name: str, root: str | None = None) -> str:
    """The storage path of one lake table."""
    if layer not in LAYERS:
        raise ValueError(f"unknown lake layer {layer!r}; expected one of {', '.join(LAYERS)}")
    base = (root or get_settings().lake_root).rstrip("/")
    return f"{base}/{layer}/{name}"


def system_table_path(name: str, root: str | None = None) -> str:
    """A `_system` table: catalog, ingest_ledger, quality_results, publication_log."""
    return table_path("_system", name, root)
