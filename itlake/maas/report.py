"""What `itlake maas report` prints: the worst gaps, the day's matching KPIs and the map's path.

Read with the `deltalake` package (no JVM): a report is a quick question, not a Spark job.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from itlake.lake.paths import table_path


class NoMaasTablesError(RuntimeError):
    """The MaaS tables have not been built in this lake."""


def _read(name: str, day: date | None) -> pd.DataFrame:
    from deltalake.exceptions import TableNotFoundError

    from itlake.lake.storage import open_delta

    path = table_path("gold", name)
    try:
        table = open_delta(path)
    except TableNotFoundError:
        raise NoMaasTablesError(
            f"gold.{name} is not in the lake ({path}); run the itlake_maas DAG or the step maas_tables "
            "(jobs/step.py) first"
        ) from None
    if day is None:
        return table.to_pandas()
    return table.to_pandas(partitions=[("service_date", "=", day.isoformat())])


def latest_day() -> date:
    days = _read("balance_zone_interval", None)["service_date"]
    if days.empty:
        raise NoMaasTablesError("gold.balance_zone_interval is empty")
    return pd.to_datetime(days).max().date()


def worst_gaps(
    day: date, *, level: str = "district", top: int = 10, tz: str = "Asia/Shanghai"
) -> pd.DataFrame:
    """The `top` cells of `day` with the most unmet demand, local interval times, names for districts."""
    from itlake.geo.zones import zone_names

    balance = _read("balance_zone_interval", day)
    gaps = balance[(balance["zone_level"] == level) & balance["is_gap"]]
    gaps = gaps.sort_values(
        ["unmet_demand", "demand", "zone_id", "interval_start"], ascending=[False, False, True, True]
    )
    gaps = gaps.head(top).copy()
    names = zone_names()
    gaps["zone_name"] = gaps["zone_id"].map(names).fillna("")
    start = pd.to_datetime(gaps["interval_start"])
    start = start.dt.tz_localize("UTC") if start.dt.tz is None else start
    gaps["local_start"] = start.dt.tz_convert(tz).dt.strftime("%H:%M")
    return gaps.reset_index(drop=True)


def city_kpis(day: date) -> dict | None:
    kpi = _read("match_kpi", day)
    row = kpi[(kpi["period"] == "day") & (kpi["zone_id"] == "all")]
    return None if row.empty else row.iloc[0].to_dict()
