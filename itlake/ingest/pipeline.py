"""The pipeline's steps as the jobs and the CLI call them, by catalogue code or name."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

from itlake.config import get_settings
from itlake.lake.root import Lake


def inbox_files(feed: str, logical_date: date) -> list[Path]:
    """Files waiting in `$ITLAKE_INBOX/<feed>/<logical date>/` (hidden files ignored)."""
    folder = get_settings().inbox_dir / feed / logical_date.isoformat()
    return sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith("."))


# The ledger's counts a call of ingest adds up, in the order `itlake ingest` prints them.
ROW_COUNTS = ("read", "promoted", "inserted", "updated", "unchanged", "duplicate", "quarantined")


def plan_resource(code_or_name: str, logical_date: date, files: list[str] | None = None):
    """The catalogue entry and what there is to do for the given files (or the inbox folder),
    decided without Spark: which files are new, which were ingested before."""
    from itlake.catalog.resources import load_catalog
    from itlake.ingest.flow import plan

    entry = load_catalog().get(code_or_name)
    if not entry.feed:
        raise ValueError(f"{entry.code} {entry.name} is a derived table; it has no feed to ingest")
    paths = [Path(f) for f in files] if files else inbox_files(entry.feed, logical_date)
    return entry, plan(entry, paths, logical_date)


def ingest_planned(spark, entry, work, logical_date: date, on_batch=None) -> dict:
    """Ingest what `plan_resource` found; the ledger rows and their sums. `on_batch(n)` is called
    after each batch of n files."""
    from itlake.ingest.flow import ingest_paths

    rows = ingest_paths(spark, entry, [], logical_date, work, on_batch)
    return ledger_result(entry, rows)


def ledger_result(entry, rows) -> dict:
    return {
        "code": entry.code,
        "name": entry.name,
        "files": len({r.batch_id for r in rows}),
        "ledger": [asdict(r) for r in rows],
        **{f"rows_{kind}": sum(getattr(r, f"rows_{kind}") for r in rows) for kind in ROW_COUNTS},
    }


def ingest_resource(spark, code_or_name: str, logical_date: date, files: list[str] | None = None) -> dict:
    """Ingest the given files (or the inbox folder) for one catalogue resource."""
    entry, work = plan_resource(code_or_name, logical_date, files)
    return ingest_planned(spark, entry, work, logical_date)


def sync_catalog(spark, lake: Lake) -> dict:
    """Write `_system.catalog` and `_system/dcat.jsonld` of `lake` (synthetic data marked as such)."""
    from itlake.catalog.dcat import to_dcat
    from itlake.catalog.resources import load_catalog
    from itlake.lake.system import synthetic_codes, write_catalog_table

    catalog = load_catalog()
    count = write_catalog_table(spark, catalog, lake)
    target = lake.system_table("dcat.jsonld")
    synthetic = synthetic_codes(spark, catalog, lake)
    dcat = to_dcat(catalog, synthetic_codes=synthetic)
    lake.storage().write_text(target, json.dumps(dcat, ensure_ascii=False, indent=2))
    return {"entries": count, "dcat": target, "synthetic": sorted(synthetic)}
