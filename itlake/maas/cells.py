"""Space-time cells of the MaaS tables: a zone (district or H3 cell) x a fixed-length interval.

Every demand or supply event is placed in two zones, its district (GB/T 2260 code, as in every
other gold table) and its H3 cell at the configured resolution (8 by default, about 0.74 km2), so
each MaaS table carries a `zone_level` column: `district` or `h3_r8`. Both zones come from one
pandas UDF pass over the coordinates; the interval is the UTC start of the 15-minute slot.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from itlake.geo.zones import assign_zone

DISTRICT = "district"
CELL_STRUCT = "district string, h3 string"


def interval_start(ts: str | Column, interval_s: int) -> Column:
    """The UTC start of the interval of length `interval_s` holding the timestamp `ts`."""
    col = F.col(ts) if isinstance(ts, str) else ts
    return F.timestamp_seconds(F.floor(F.unix_timestamp(col) / interval_s) * interval_s)


def h3_cells(lon, lat, resolution: int) -> np.ndarray:
    """The H3 cell (hex string) of each point, or None where a coordinate is missing."""
    import h3

    out = np.full(len(lon), None, dtype=object)
    for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
        if x == x and y == y:  # not NaN
            out[i] = h3.latlng_to_cell(float(y), float(x), resolution)
    return out


def _cells_frame(lon, lat, resolution):
    """pandas body of the UDF: district and H3 cell of each point, as a two-column frame."""
    import pandas as pd

    x = lon.to_numpy(dtype=np.float64, na_value=np.nan)
    y = lat.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame({"district": assign_zone(x, y), "h3": h3_cells(x, y, int(resolution.iloc[0]))})


def with_cells(lon: str, lat: str, ts: str, *, interval_s: int, h3_resolution: int) -> Callable:
    """Curried transform: one row per (zone_level, zone_id) of each input row, plus `interval_start`.

    A row outside every district keeps its H3 row only; a row without coordinates is dropped.
    """
    h3_level = f"h3_r{h3_resolution}"

    def transform(df: DataFrame) -> DataFrame:
        udf = F.pandas_udf(_cells_frame, CELL_STRUCT)
        cells = udf(F.col(lon).cast("double"), F.col(lat).cast("double"), F.lit(h3_resolution))
        zones = F.array(
            F.struct(F.lit(DISTRICT).alias("zone_level"), F.col("_cell.district").alias("zone_id")),
            F.struct(F.lit(h3_level).alias("zone_level"), F.col("_cell.h3").alias("zone_id")),
        )
        return (
            df.withColumn("_cell", cells)
            .withColumn("_zone", F.explode(zones))
            .where(F.col("_zone.zone_id").isNotNull())
            .withColumns(
                {
                    "zone_level": F.col("_zone.zone_level"),
                    "zone_id": F.col("_zone.zone_id"),
                    "interval_start": interval_start(ts, interval_s),
                }
            )
            .drop("_cell", "_zone")
        )

    return transform
