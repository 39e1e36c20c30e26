"""The GTFS timetable of one service date: which trips run, and when each leaves each stop.

A GTFS time is seconds after "noon minus 12 h" of the service day in the agency's time zone (the
city's, here; China has no daylight saving, so that is local midnight). One feed version is used
per publisher's feed and date: of the versions of a feed (`gtfs_feed_version.feed_id`) whose
calendar runs a service that day, the one that starts latest (a newer timetable replaces an older
one of the same publisher, never another publisher's). Versions with no feed identity count as
one feed. calendar_dates exceptions are not in silver, so they are not applied.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from itlake.maas.inputs import WEEKDAYS


def active_services(calendar: DataFrame, day: date, feed_versions: DataFrame | None = None) -> DataFrame:
    """(feed_version, service_id) running on `day`, from the one version of each feed in force that
    day; `feed_versions` (feed_version, feed_id) says which feed a version belongs to."""
    weekday = WEEKDAYS[day.weekday()]
    running = calendar.where(
        (F.col("start_date") <= F.lit(day)) & (F.col("end_date") >= F.lit(day)) & (F.col(weekday) == 1)
    )
    latest = running.groupBy("feed_version").agg(F.max("start_date").alias("starts"))
    if feed_versions is not None:
        latest = latest.join(feed_versions.select("feed_version", "feed_id"), "feed_version", "left")
    else:
        latest = latest.withColumn("feed_id", F.lit(None).cast("string"))
    newest = Window.partitionBy(F.coalesce("feed_id", F.lit(""))).orderBy(
        F.col("starts").desc(), F.col("feed_version").desc()
    )
    chosen = latest.withColumn("_n", F.row_number().over(newest)).where("_n = 1").select("feed_version")
    return running.join(chosen, "feed_version").select("feed_version", "service_id")


def active_trips(
    calendar: DataFrame,
    trips: DataFrame,
    routes: DataFrame,
    day: date,
    feed_versions: DataFrame | None = None,
) -> DataFrame:
    """Trips running on `day`: feed_version, trip_id, route_id, direction_id, route_type."""
    services = active_services(calendar, day, feed_versions)
    return (
        trips.join(services, ["feed_version", "service_id"])
        .join(routes.select("feed_version", "route_id", "route_type"), ["feed_version", "route_id"])
        .select("feed_version", "trip_id", "route_id", "direction_id", "route_type")
    )


def local_clock(day: date, seconds: str, tz: str):
    """The UTC timestamp of a GTFS time of `day` (seconds after local midnight)."""
    midnight = F.to_utc_timestamp(F.lit(day).cast("timestamp"), tz)
    return F.timestamp_seconds(F.unix_timestamp(midnight) + F.col(seconds))


def departures(stop_times: DataFrame, trips: DataFrame, stops: DataFrame, day: date, tz: str) -> DataFrame:
    """One row per departure of an active trip from a stop that has a later stop on the trip.

    Columns: trip_id, route_id, route_type, stop_id, lon, lat, departure_time (UTC). The last stop
    of a trip is an arrival only: nobody boards there.
    """
    by_trip = Window.partitionBy("feed_version", "trip_id")
    return (
        stop_times.join(trips, ["feed_version", "trip_id"])
        .withColumn("_last", F.max("stop_sequence").over(by_trip))
        .where((F.col("stop_sequence") < F.col("_last")) & F.col("departure_s").isNotNull())
        .join(stops.select("feed_version", "stop_id", "lon", "lat"), ["feed_version", "stop_id"])
        .withColumn("departure_time", local_clock(day, "departure_s", tz))
        .select("trip_id", "route_id", "route_type", "stop_id", "lon", "lat", "departure_time")
    )
