"""GBFS station_status (1.x to 3.x): one row per station report, from a document or an archive.

A collector polls every `ttl` seconds, so a station whose `last_reported` has not changed appears
in several polls; those repeats are duplicates of the key (system, station, last_reported) and are
counted as such in the ledger. `num_vehicles_*` (3.x) and `num_bikes_*` (2.x) fill the same
columns. See `itlake.feeds._gbfs` for the documents and archives it reads.
"""

from __future__ import annotations

from itlake.feeds._gbfs import GBFS_FILES_BY_FEED, GbfsFeed, gbfs_times, renamed_fields

FIELDS = [
    "station_id",
    "num_bikes_available",
    "num_vehicles_available",
    "num_bikes_disabled",
    "num_vehicles_disabled",
    "num_docks_available",
    "num_docks_disabled",
    "vehicle_types_available",
    "is_installed",
    "is_renting",
    "is_returning",
    "last_reported",
]
# Contract source field -> the raw fields that carry it, GBFS 3.x name first.
RENAMED = {
    "num_bikes_available": ("num_vehicles_available", "num_bikes_available"),
    "num_bikes_disabled": ("num_vehicles_disabled", "num_bikes_disabled"),
}


FEED = GbfsFeed(
    "gbfs_station_status",
    gbfs_files=GBFS_FILES_BY_FEED["gbfs_station_status"],
    list_keys=("stations",),
    fields=FIELDS,
    prepare=renamed_fields(RENAMED),
    timezone="UTC",
    derived=("last_reported",),
    derive=gbfs_times({"last_reported": "last_reported"}, dated={"report_date": "last_reported"}),
)
