"""Feed parsers, one module per format; `get_feed(name)` finds the one a catalogue entry names.

FEED_NAMES lists the parsers that exist: every module of this package except the shared helpers,
so a new feed format is one new module named like the catalogue's `feed`. It is found without
importing the modules, so Airflow DAG files can ask which entries are ingestible without Spark.
"""

from __future__ import annotations

from importlib import import_module
from pkgutil import iter_modules

from itlake.feeds.base import BatchContext, Feed, FeedError

# Shared helpers, and modules named `_x` that belong to one parser, are not parsers.
HELPERS = frozenset({"base", "cast", "csv_reader", "skeleton"})
FEED_NAMES = tuple(
    sorted(m.name for m in iter_modules(__path__) if m.name not in HELPERS and not m.name.startswith("_"))
)


def get_feed(name: str) -> Feed:
    if name not in FEED_NAMES:
        raise KeyError(f"no parser for feed {name!r}; parsers exist for {', '.join(FEED_NAMES)}")
    return import_module(f"itlake.feeds.{name}").FEED


__all__ = ["FEED_NAMES", "BatchContext", "Feed", "FeedError", "get_feed"]
