"""The pipeline's steps as the jobs and the CLI call them, by catalogue code or name."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

from itlake.config import get_settings


def inbox_files(feed: str, logical_date: date) -> list[Path]:
    """Files waiting in `$ITLAKE_INBOX/<feed>/<logical date>/` (hidden files ignored)."""
    folder = get_settings().inbox_dir / feed / logical_date.isoformat()
    return sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith("."))


def ingest_resource(spark, code_or_name: str, logical_date: date, files: list[str] | None = None) -> dict:
    """Ingest the given files (or the inbox folder) for one catalogue resource."""
    from itlake.catalog import load_catalog
    from itlake.ingest import ingest_paths

    entry = load_catalog().get(code_or_name)
    if not entry.feed:
        raise ValueError(f"{entry.code} {entry.name} is a derived table; it has no feed to ingest")
    paths = [Path(f) for f in files] if files else inbox_files(entry.feed, logical_date)
    rows = ingest_paths(spark, entry, paths, logical_date)
    return {
        "code": entry.code,
        "name": entry.name,
        "files": len(paths),
        "ledger": [asdict(r) for r in rows],
        "rows_promoted": sum(r.rows_promoted for r in rows),
    }


def sync_catalog(spark) -> dict:
    """Write `_system.catalog` and `_system/dcat.jsonld` (synthetic data marked as such)."""
    from itlake.catalog import load_catalog, to_dcat
    from itlake.lake.paths import system_table_path
    from itlake.lake.system import synthetic_codes, write_catalog_table

    catalog = load_catalog()
    count = write_catalog_table(spark, catalog)
    target = Path(system_table_path("dcat.jsonld"))
    target.parent.mkdir(parents=True, exist_ok=True)
    synthetic = synthetic_codes(spark, catalog)
    dcat = to_dcat(catalog, synthetic_codes=synthetic)
    target.write_text(json.dumps(dcat, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"entries": count, "dcat": str(target), "synthetic": sorted(synthetic)}
