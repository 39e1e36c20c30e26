"""GBFS vehicle_status (3.x) and free_bike_status (2.x): one row per vehicle per poll.

Both files go to one table: 3.x lists `vehicles` with `vehicle_id`, 2.x lists `bikes` with
`bike_id`. Ids rotate after every trip, as GBFS requires for privacy, so a vehicle cannot be
followed from one trip to the next. The snapshot time is the document's `last_updated`; a poll
that returned an unchanged document repeats its keys and counts as duplicates. See
`itlake.feeds._gbfs` for the archive layout.
"""

from __future__ import annotations

from itlake.feeds._gbfs import GBFS_FILES_BY_FEED, GbfsFeed, gbfs_times, renamed_fields

FIELDS = [
    "vehicle_id",
    "bike_id",
    "vehicle_type_id",
    "lat",
    "lon",
    "station_id",
    "is_reserved",
    "is_disabled",
    "current_range_meters",
    "last_reported",
]


FEED = GbfsFeed(
    "gbfs_vehicle_status",
    gbfs_files=GBFS_FILES_BY_FEED["gbfs_vehicle_status"],
    list_keys=("vehicles", "bikes"),
    fields=FIELDS,
    prepare=renamed_fields({"vehicle_id": ("vehicle_id", "bike_id")}),
    timezone="UTC",
    derived=("snapshot_time",),
    derive=gbfs_times({"snapshot_time": "last_updated"}, dated={"snapshot_date": "snapshot_time"}),
)
