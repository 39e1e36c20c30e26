"""GBFS station_information (1.x to 3.x): one row per station, from a GBFS document or a collector's archive.

The documents and archives it reads, and the version differences, are described in `itlake.feeds._gbfs`. A 3.x
localized name becomes the Chinese text when the feed has one, else its first text. Silver keeps
the current list of stations: a station seen again in a later file replaces its row (within one
file, the first poll's row is kept and later polls of the same station count as duplicates).
"""

from __future__ import annotations

from itlake.feeds._gbfs import GBFS_FILES_BY_FEED, GbfsFeed, gbfs_times, localized_text
from itlake.feeds.base import BatchContext

FIELDS = ["station_id", "name", "lat", "lon", "capacity", "region_id", "is_virtual_station"]


def named(bronze, ctx: BatchContext):
    return bronze.withColumn("name", localized_text("name"))


FEED = GbfsFeed(
    "gbfs_station_information",
    gbfs_files=GBFS_FILES_BY_FEED["gbfs_station_information"],
    list_keys=("stations",),
    fields=FIELDS,
    prepare=named,
    timezone="UTC",
    derived=("last_updated",),
    derive=gbfs_times({"last_updated": "last_updated"}),
)
