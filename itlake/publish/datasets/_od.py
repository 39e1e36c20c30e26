"""Hourly zone-to-zone OD cells, the shape every OD dataset releases, whatever the mode.

A trip counts in the hour its journey starts, between the zone it starts in and the zone it ends in;
a trip with either zone unknown (outside every district, or at a place that cannot be located) is
in no cell. The hour is UTC, so it sits on a quarter hour as the gate requires.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def hourly_od(
    service_date: str, start: str, origin: str, destination: str
) -> Callable[[DataFrame], DataFrame]:
    """Curried transform: trips -> trips per (service_date, hour_start, origin_zone_id,
    destination_zone_id), from the trips' columns of those meanings."""

    def transform(trips: DataFrame) -> DataFrame:
        return (
            trips.where(F.col(origin).isNotNull() & F.col(destination).isNotNull())
            .groupBy(
                F.col(service_date).alias("service_date"),
                F.date_trunc("hour", start).alias("hour_start"),
                F.col(origin).alias("origin_zone_id"),
                F.col(destination).alias("destination_zone_id"),
            )
            .agg(F.count("*").alias("trips"))
        )

    return transform
