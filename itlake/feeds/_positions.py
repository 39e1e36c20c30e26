"""What the vehicle-position parsers share (taxi GPS, BeiDou truck reports): spotting impossible jumps.

A fix is an impossible jump when the vehicle would have had to travel faster than a limit both to
reach it from its previous fix and to leave it for its next one: a single spike, not a real move.
Only the spike is flagged, so the track around it stays whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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
