"""The map users see: estimated unmet demand by district at the peak hour, as a PNG in the lake.

The peak hour is the local clock hour of the service day with the most demand (all services,
districts); each district is shaded by its unmet demand summed over that hour's four intervals
and the three services, and labelled with the number. Written to
`<lake>/gold/maas/unmet_demand_peak.png` (and `unmet_demand_peak_<date>.png`, kept per day),
through the lake's storage (a folder or a bucket).
"""

from __future__ import annotations

import io
import logging
from datetime import date

import pandas as pd

log = logging.getLogger("itlake.maas.unmet_map")

MAP_NAME = "unmet_demand_peak.png"


def map_path(day: date | None = None) -> str:
    """The map's lake path: the latest one, or the one kept for `day`."""
    from itlake.lake.paths import table_path

    name = MAP_NAME if day is None else f"unmet_demand_peak_{day.isoformat()}.png"
    return f"{table_path('gold', 'maas')}/{name}"


def peak_unmet(balance: pd.DataFrame, tz: str) -> tuple[pd.Timestamp | None, pd.DataFrame]:
    """(local start of the peak hour, zone_id -> demand and unmet_demand in that hour).

    `balance`: district rows of balance_zone_interval (interval_start in UTC, naive).
    """
    if balance.empty:
        return None, pd.DataFrame(columns=["zone_id", "demand", "unmet_demand"])
    local = pd.to_datetime(balance["interval_start"]).dt.tz_localize("UTC").dt.tz_convert(tz)
    frame = balance.assign(hour=local.dt.floor("h"))
    by_hour = frame.groupby("hour")["demand"].sum()
    peak = by_hour[by_hour == by_hour.max()].index.min()
    cells = frame[frame["hour"] == peak].groupby("zone_id", as_index=False)[["demand", "unmet_demand"]].sum()
    return peak, cells


def draw_unmet_map(spark, day: date, tz: str) -> str | None:
    """Draw the map from the lake's balance_zone_interval of `day`; returns the PNG path (or None)."""
    from pyspark.sql import functions as F

    from itlake.lake.storage import LakeStorage
    from itlake.lake.tables import read_lake_table

    target = map_path()
    balance = (
        read_lake_table(spark, "balance_zone_interval")
        .where((F.col("service_date") == F.lit(day)) & (F.col("zone_level") == "district"))
        .select("zone_id", "interval_start", "demand", "unmet_demand")
        .toPandas()
    )
    peak, cells = peak_unmet(balance, tz)
    png = render(cells, peak, day)
    storage = LakeStorage.for_uri(target)
    storage.write_bytes(target, png)
    storage.write_bytes(map_path(day), png)
    return target


def render(cells: pd.DataFrame, peak, day: date) -> bytes:
    """The map as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from itlake.geo.zones import load_zones

    zones = load_zones().merge(cells, on="zone_id", how="left").fillna({"demand": 0, "unmet_demand": 0})
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    zones.plot(
        column="unmet_demand",
        cmap="OrRd",
        linewidth=0.6,
        edgecolor="#555555",
        legend=True,
        legend_kwds={"label": "unmet demand (trips in the hour)", "shrink": 0.7},
        vmin=0,
        ax=ax,
    )
    for row in zones.itertuples():
        point = row.geometry.representative_point()
        ax.annotate(f"{row.zone_id}\n{int(row.unmet_demand)}", (point.x, point.y), ha="center", fontsize=7)
    when = (
        "no demand"
        if peak is None
        else f"peak hour {peak:%H:%M}-{(peak + pd.Timedelta(hours=1)):%H:%M} local"
    )
    ax.set_title(f"Estimated unmet demand by district, {day.isoformat()}, {when}", fontsize=10)
    ax.set_axis_off()
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()
