"""What the vehicle-position parsers share (taxi GPS, BeiDou truck reports): their derived columns,
and spotting fixes that cannot be right.

Both pseudonymise the vehicle, keep the source coordinates and system and convert to WGS-84, and
date each fix.

A fix is an impossible jump when the vehicle would have had to travel faster than a limit both to
reach it from its previous fix and to leave it for its next one: a single spike, not a real move.
Only the spike is flagged, so the track around it stays whole. Before that, a fix whose longitude
and latitude each fall in the other's range has them swapped (a source writing lat,lon), and a fix
dated after the day following the batch's logical date is in the future (a clock or a date format
gone wrong); both are named as such rather than left to the range check or promoted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from itlake.feeds.skeleton import ContractFeed

if TYPE_CHECKING:
    from datetime import date

    from pyspark.sql import DataFrame

    from itlake.feeds.base import BatchContext


def position_feed(name: str, *, vehicle: str, source: str, max_speed_kmh: float, header=None) -> ContractFeed:
    """The feed of one position layout: the skeleton, with `vehicle` derived from `source`."""
    return ContractFeed(name, header=header, derived=(vehicle,), derive=fixes(vehicle, source, max_speed_kmh))


def fixes(vehicle: str, source: str, max_speed_kmh: float):
    """The derived columns of a fix: `vehicle` is the HMAC of the `source` column (blank is null),
    `lon`/`lat` WGS-84 from `src_lon`/`src_lat` in the batch's system, `fix_date`; implausible
    fixes are refused with their reason."""

    def derive(typed: DataFrame, contract, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.feeds.cast import blank_to_null
        from itlake.geo.crs import to_wgs84_columns
        from itlake.privacy.pseudonyms import hmac_sha256_col

        typed = (
            typed.withColumn(vehicle, hmac_sha256_col(blank_to_null(F.col(source)), ctx.pseudonym_key))
            .withColumn("src_crs", F.lit(ctx.crs))
            .withColumn("lon", F.col("src_lon"))
            .withColumn("lat", F.col("src_lat"))
            .transform(to_wgs84_columns("lon", "lat", ctx.crs))
            .withColumn("fix_date", F.to_date("fix_time"))
            .transform(flag_implausible_fixes(vehicle, max_speed_kmh, contract, ctx.logical_date))
        )
        return typed, [F.col("_fix_error")]

    return derive


def flag_jumps(id_column: str, max_speed_kmh: float) -> Callable[[DataFrame], DataFrame]:
    """Curried transform adding `_jump_error` to fixes reached and left faster than `max_speed_kmh`.

    Fixes are ordered per `id_column` by `fix_time` (then `_row_number`); positions are `lon`/`lat`
    in WGS-84 degrees.
    """

    def transform(df: DataFrame) -> DataFrame:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        from itlake.geo.distance import haversine_m_col

        by_vehicle = Window.partitionBy(id_column).orderBy("fix_time", "_row_number")
        seconds = F.unix_timestamp("fix_time")

        def speed_kmh(other_lon, other_lat, other_seconds):
            metres = haversine_m_col(F.col("lon"), F.col("lat"), other_lon, other_lat)
            dt = F.abs(seconds - other_seconds)
            return F.when(dt > 0, metres / dt * 3.6)

        prev_speed = speed_kmh(
            F.lag("lon").over(by_vehicle), F.lag("lat").over(by_vehicle), F.lag(seconds).over(by_vehicle)
        )
        next_speed = speed_kmh(
            F.lead("lon").over(by_vehicle), F.lead("lat").over(by_vehicle), F.lead(seconds).over(by_vehicle)
        )
        is_jump = (prev_speed > max_speed_kmh) & (
            F.coalesce(next_speed, F.lit(max_speed_kmh + 1)) > max_speed_kmh
        )
        return df.withColumn(
            "_jump_error",
            F.when(
                is_jump,
                F.format_string(
                    "impossible_jump: %.0f km/h from the previous fix (limit %.0f km/h)",
                    prev_speed,
                    F.lit(max_speed_kmh),
                ),
            ),
        )

    return transform


def flag_implausible_fixes(
    id_column: str, max_speed_kmh: float, contract, logical_date: date
) -> Callable[[DataFrame], DataFrame]:
    """Curried transform adding `_fix_error`: swapped coordinates, a fix in the future, or an
    impossible jump (the first that applies). `contract` gives the `lon` and `lat` ranges."""

    def transform(df: DataFrame) -> DataFrame:
        from datetime import timedelta

        from pyspark.sql import functions as F

        (lon_low, lon_high), (lat_low, lat_high) = contract.column("lon").range, contract.column("lat").range
        lon, lat = F.col("src_lon"), F.col("src_lat")
        swapped = F.when(
            ~lon.between(lon_low, lon_high)
            & ~lat.between(lat_low, lat_high)
            & lon.between(lat_low, lat_high)
            & lat.between(lon_low, lon_high),
            F.format_string(
                "lat_lon_swapped: lon=%s lat=%s fit each other's range (lon [%s, %s], lat [%s, %s])",
                lon.cast("string"),
                lat.cast("string"),
                F.lit(lon_low),
                F.lit(lon_high),
                F.lit(lat_low),
                F.lit(lat_high),
            ),
        )
        # A file of day D may hold fixes up to the end of D+1 (late uploads); later ones cannot be.
        limit = logical_date + timedelta(days=2)
        future = F.when(
            F.col("fix_time") >= F.lit(limit).cast("timestamp"),
            F.format_string(
                "fix_in_future: fix_time %s UTC is after %s, the day after the batch's logical date %s",
                F.col("fix_time").cast("string"),
                F.lit((limit - timedelta(days=1)).isoformat()),
                F.lit(logical_date.isoformat()),
            ),
        )
        jumps = df.transform(flag_jumps(id_column, max_speed_kmh))
        return jumps.withColumn("_fix_error", F.coalesce(swapped, future, F.col("_jump_error"))).drop(
            "_jump_error"
        )

    return transform
