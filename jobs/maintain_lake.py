"""Expire, compact, vacuum and checkpoint the lake (itlake/lake/maintenance.py), for one logical date.

spark-submit jobs/maintain_lake.py --logical-date 2026-11-27

Prints how many actions it took; each is a row of `_system.maintenance_log`.
"""

from __future__ import annotations

from itlake.orchestration.runner import main


def body(spark, args) -> dict:
    from itlake.catalog.resources import load_catalog
    from itlake.lake.maintenance import maintain_lake

    return {"actions": len(maintain_lake(spark, load_catalog(), args.logical_date))}


if __name__ == "__main__":
    main("maintain_lake", __doc__, body)
