"""What the GTFS reference says of each file, as the reader (itlake/feeds/gtfs.py) and the validator
(itlake/feeds/_gtfs_validate.py) both use it: the files the lake types and the contract of each, the
files it keeps as text, the required ones, the ids a record may leave empty, the Time fields."""

from __future__ import annotations

FILES = {
    "gtfs_agency": "agency.txt",
    "gtfs_stop": "stops.txt",
    "gtfs_route": "routes.txt",
    "gtfs_trip": "trips.txt",
    "gtfs_stop_time": "stop_times.txt",
    "gtfs_calendar": "calendar.txt",
    "gtfs_calendar_date": "calendar_dates.txt",
    "gtfs_shape": "shapes.txt",
    "gtfs_frequency": "frequencies.txt",
    "gtfs_transfer": "transfers.txt",
    "gtfs_feed_info": "feed_info.txt",
    "gtfs_fare_attribute": "fare_attributes.txt",
    "gtfs_fare_rule": "fare_rules.txt",
}
# Files of the GTFS reference the lake keeps as text without typing them (`unsupported_file`).
UNSUPPORTED_FILES = frozenset(
    {
        "levels.txt",
        "pathways.txt",
        "translations.txt",
        "attributions.txt",
        "fare_media.txt",
        "fare_products.txt",
        "fare_leg_rules.txt",
        "fare_leg_join_rules.txt",
        "fare_transfer_rules.txt",
        "rider_categories.txt",
        "timeframes.txt",
        "areas.txt",
        "stop_areas.txt",
        "networks.txt",
        "route_networks.txt",
        "location_groups.txt",
        "location_group_stops.txt",
        "locations.geojson",
        "booking_rules.txt",
    }
)
UNSUPPORTED_CONTRACT = "gtfs_unsupported_file"
# One row per version: which publisher's feed it is, its dates, when it came and was ingested.
VERSION_CONTRACT = "gtfs_feed_version"
REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
# One of the two calendars is required (MobilityData: missing_calendar_and_calendar_date_files).
CALENDAR_FILES = ("calendar.txt", "calendar_dates.txt")
# Key columns the GTFS reference lets a record leave empty; stored as '' (see the docstring).
EMPTY_AS_ANY = {
    "gtfs_agency": ("agency_id",),
    "gtfs_transfer": (
        "from_stop_id",
        "to_stop_id",
        "from_route_id",
        "to_route_id",
        "from_trip_id",
        "to_trip_id",
    ),
    "gtfs_fare_rule": ("route_id", "origin_id", "destination_id", "contains_id"),
}
# Raw tables carry these in their schema metadata, for the validator.
META_FILE = b"gtfs.file"
META_ABSENT = b"gtfs.absent_columns"


# GTFS Time fields (H:MM:SS in the file, seconds in silver); min_transfer_time is a duration.
TIME_FIELDS = frozenset({"arrival_time", "departure_time", "start_time", "end_time"})


def time_columns(contract) -> tuple[str, ...]:
    """The contract's columns read from GTFS Time fields."""
    return tuple(c.name for c in contract.columns if c.source in TIME_FIELDS)


def required_fields(contract) -> list[str]:
    """Source fields every record must fill: the contract's non-null columns, except the ids a
    record may leave empty (EMPTY_AS_ANY)."""
    optional = EMPTY_AS_ANY.get(contract.name, ())
    return [c.source for c in contract.columns if c.source and not c.nullable and c.name not in optional]
