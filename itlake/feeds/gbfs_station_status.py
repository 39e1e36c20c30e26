"""GBFS station_status (1.x to 3.x): one row per station report, from a document or an archive.

A collector polls every `ttl` seconds, so a station whose `last_reported` has not changed appears
in several polls; those repeats are duplicates of the key (system, station, last_reported) and are
counted as such in the ledger. `num_vehicles_*` (3.x) and `num_bikes_*` (2.x) fill the same
columns. See `itlake.feeds._gbfs` for the documents and archives it reads.
"""

from __future__ import annotations

from itlake.feeds._gbfs import GBFS_FILES_BY_FEED, GbfsFeed, typed_records
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import select_contract

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


class GbfsStationStatusFeed(GbfsFeed):
    name = "gbfs_station_status"
    contracts = ("gbfs_station_status",)
    gbfs_files = GBFS_FILES_BY_FEED["gbfs_station_status"]
    list_keys = ("stations",)
    fields = FIELDS

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract

        contract = load_contract(contract_name)
        typed = typed_records(
            bronze, contract, timestamps={"last_reported": "last_reported"}, renamed=RENAMED
        ).withColumn("report_date", F.to_date("last_reported"))
        return select_contract(typed, contract)


FEED = GbfsStationStatusFeed()
