"""The open datasets: one module per dataset, named like its catalogue entry, found automatically.

A dataset module exposes:

    K_COLUMN: str | None      the column counting travellers or vehicles per cell; cells with fewer
                              than k (ITLAKE_K_ANONYMITY) are withheld and counted. None for data
                              about things (roads, stations), not people.
    PRIVACY: dict[str, str]   {"en": ..., "zh": ...}: how times and places were generalised.
    build(spark, day) -> DataFrame
                              the rows for service date `day` (for a snapshot contract, one without
                              `partition_by`, the whole table), with the contract's columns, before
                              suppression.

Its catalogue entry (layer `open`, `related` naming the resources it reads) and its contract in
schemas/ complete it; the publish job, the gate, the release folder, the DAG task and the portal page
follow. DATASET_NAMES is found without importing the modules, so DAG files can list it at parse time.
"""

from __future__ import annotations

from importlib import import_module
from pkgutil import iter_modules
from types import ModuleType

DATASET_NAMES = tuple(sorted(m.name for m in iter_modules(__path__) if not m.name.startswith("_")))


def get_dataset(name: str) -> ModuleType:
    if name not in DATASET_NAMES:
        raise KeyError(f"no open dataset builder {name!r}; builders exist for {', '.join(DATASET_NAMES)}")
    module = import_module(f"itlake.publish.datasets.{name}")
    missing = [attr for attr in ("K_COLUMN", "PRIVACY", "build") if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"itlake/publish/datasets/{name}.py lacks {', '.join(missing)}")
    return module


def releasable(catalog) -> list:
    """Catalogue entries that may leave the lake and have a builder: one publish task each."""
    return [e for e in catalog.entries if e.is_published and e.name in DATASET_NAMES]


def source_tables(catalog, entry) -> list[str]:
    """The lake tables a dataset reads: every table of the entries its `related` names."""
    tables = []
    for code in entry.related:
        source = catalog.get(code)
        tables += [f"{source.layer}.{contract}" for contract in source.schema]
    return tables


__all__ = ["DATASET_NAMES", "get_dataset", "releasable", "source_tables"]
