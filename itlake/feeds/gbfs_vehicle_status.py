"""GBFS vehicle_status (3.x) and free_bike_status (2.x): one row per vehicle per poll.

Both files go to one table: 3.x lists `vehicles` with `vehicle_id`, 2.x lists `bikes` with
`bike_id`. Ids rotate after every trip, as GBFS requires for privacy, so a vehicle cannot be
followed from one trip to the next. The snapshot time is the document's `last_updated`; a poll
that returned an unchanged document repeats its keys and counts as duplicates. See
`itlake.feeds._gbfs` for the archive layout.
"""

from __future__ import annotations

from itlake.feeds._gbfs import GBFS_FILES_BY_FEED, GbfsFeed, typed_records
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import select_contract

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


class GbfsVehicleStatusFeed(GbfsFeed):
    name = "gbfs_vehicle_status"
    contracts = ("gbfs_vehicle_status",)
    gbfs_files = GBFS_FILES_BY_FEED["gbfs_vehicle_status"]
    list_keys = ("vehicles", "bikes")
    fields = FIELDS

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract

        contract = load_contract(contract_name)
        typed = typed_records(
            bronze,
            contract,
            timestamps={"snapshot_time": "last_updated"},
            renamed={"vehicle_id": ("vehicle_id", "bike_id")},
        ).withColumn("snapshot_date", F.to_date("snapshot_time"))
        return select_contract(typed, contract)


FEED = GbfsVehicleStatusFeed()
