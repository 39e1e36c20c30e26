"""Feed parsers, one module per format; `get_feed(name)` finds the one a catalogue entry names.

FEED_NAMES is the list of parsers that exist. It is plain data so that Airflow DAG files can ask
which catalogue entries are ingestible without importing Spark.
"""

from __future__ import annotations

from importlib import import_module

from itlake.feeds.base import BatchContext, Feed, FeedError

FEED_NAMES = ("gtfs", "taxi_gps", "waybill", "road_network")


def get_feed(name: str) -> Feed:
    if name not in FEED_NAMES:
        raise KeyError(f"no parser for feed {name!r}; parsers exist for {', '.join(FEED_NAMES)}")
    return import_module(f"itlake.feeds.{name}").FEED


__all__ = ["FEED_NAMES", "BatchContext", "Feed", "FeedError", "get_feed"]
