"""The lake a run works on: where it lives, which engine reads it, and the settings in force.

A `Lake` is built once where a run starts (a command of the CLI, a DAG task, a job's entry point)
and passed in to the functions that locate tables, so that no stage decides deep inside which lake
it is working on:

    lake = Lake.from_settings()              # ITLAKE_LAKE_ROOT (or ./lake) and the other settings
    lake = Lake("/tmp/a-test-lake")          # a test's own lake, with the settings in force
    lake.table("silver", "taxi_gps")         # '/tmp/a-test-lake/silver/taxi_gps'
    lake.system_table("ingest_ledger")       # '/tmp/a-test-lake/_system/ingest_ledger'

Code that is not handed a lake yet asks `default_lake()`: the lake of `use_lake` when a caller set
one for the process (a test fixture, a command running several stages), else the one the settings
name. docs/architecture.md lists which modules still do.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from itlake.config import Settings, get_settings

LAYERS = ("landing", "bronze", "silver", "quarantine", "gold", "open", "_system")


class Engine(StrEnum):
    """What reads the lake: Spark (local, or the warm engine ITLAKE_SPARK_REMOTE names), or the fast
    engine (DuckDB over deltalake, read-only, no JVM)."""

    SPARK = "spark"
    FAST = "fast"


@dataclass(frozen=True)
class Lake:
    """One lake: its root (a folder, or s3a://bucket/prefix), the engine that reads it and the
    settings in force (the object store's among them)."""

    root: str
    engine: Engine = Engine.SPARK
    settings: Settings = field(default_factory=get_settings, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A Path is welcome; the root is kept as a string so that s3a:// never becomes a folder.
        object.__setattr__(self, "root", str(self.root).rstrip("/") or "/")
        object.__setattr__(self, "engine", Engine(self.engine))

    @classmethod
    def from_settings(cls, settings: Settings | None = None, engine: Engine | str = Engine.SPARK) -> Lake:
        """The lake the settings name (ITLAKE_LAKE_ROOT, else ./lake)."""
        settings = settings or get_settings()
        return cls(settings.lake_root, Engine(engine), settings)

    @property
    def is_remote(self) -> bool:
        """On object storage (s3a://, s3://) rather than this machine's filesystem."""
        from itlake.lake.storage import is_remote

        return is_remote(self.root)

    def table(self, layer: str, name: str) -> str:
        """The storage path of one table: `{root}/{layer}/{name}`."""
        if layer not in LAYERS:
            raise ValueError(f"unknown lake layer {layer!r}; expected one of {', '.join(LAYERS)}")
        return f"{self.root}/{layer}/{name}"

    def system_table(self, name: str) -> str:
        """A `_system` table: catalog, ingest_ledger, quality_results, publication_log."""
        return self.table("_system", name)

    def folder(self) -> Path:
        """The root as a local folder; a lake on object storage has none."""
        if self.is_remote:
            raise ValueError(f"the lake {self.root} is on object storage, not in a local folder")
        return Path(self.root)

    def storage(self):
        """Its files by URI (itlake/lake/storage.py), with the object store's settings."""
        from itlake.lake.storage import LakeStorage

        return LakeStorage.for_uri(self.root)


_lock = threading.Lock()
_in_use: list[Lake] = []


def default_lake() -> Lake:
    """The lake for code that is not handed one: the innermost `use_lake`, else the settings' lake."""
    with _lock:
        if _in_use:
            return _in_use[-1]
    return Lake.from_settings()


@contextlib.contextmanager
def use_lake(lake: Lake | str | Path) -> Iterator[Lake]:
    """Make `lake` this process's default lake for the block (every thread sees it), then the one
    before it again. Nothing in the environment changes: a process started meanwhile gets the
    lake of its own settings."""
    lake = lake if isinstance(lake, Lake) else Lake(str(lake))
    with _lock:
        _in_use.append(lake)
    try:
        yield lake
    finally:
        with _lock:
            del _in_use[max(i for i, used in enumerate(_in_use) if used is lake)]
