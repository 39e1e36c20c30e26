"""Write the information resource catalogue to `_system.catalog` and its DCAT export beside it.

spark-submit jobs/sync_catalog.py --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.orchestration.runner import main


def body(spark, args) -> dict:
    from itlake.ingest.pipeline import sync_catalog
    from itlake.lake.root import default_lake

    return sync_catalog(spark, default_lake())


if __name__ == "__main__":
    main("sync_catalog", __doc__, body)
