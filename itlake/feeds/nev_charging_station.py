"""NEV charging stations from the municipal charging-infrastructure monitoring platform: GBK CSV.

Header: 充电站编号,充电站名称,运营商,区县代码,充电接口数,直流接口数,交流接口数,单桩最大功率kW,总功率kW,
是否24小时,经度,纬度. Connectors are counted by type: DC fast charging (GB/T 20234.3) and AC
(GB/T 20234.2), which add up to the total; power is in kW; 是否24小时 is 是 or 否. Coordinates are
GCJ-02 (the platform's map is AMap); silver holds WGS-84 and a WKB point, the originals for audit.
A negative or zero power is quarantined by the contract's range; so are connectors that do not add up.
"""

from __future__ import annotations

from itlake.feeds._geometry import located_at_source_point
from itlake.feeds.skeleton import ContractFeed

YES_NO = {"是": True, "否": False}


def station(typed, contract, ctx):
    """是否24小时 as a boolean (anything but 是 or 否 is refused), and the station's point."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null

    raw = blank_to_null(F.col("是否24小时"))
    open_24h = F.coalesce(*[F.when(raw == text, F.lit(value)) for text, value in YES_NO.items()])
    not_yes_no = F.when(
        raw.isNotNull() & open_24h.isNull(),
        F.concat(F.lit("是否24小时='"), raw, F.lit("' is not 是 or 否")),
    )
    typed = typed.withColumn("open_24h", open_24h).transform(located_at_source_point(ctx.crs))
    return typed, [not_yes_no]


FEED = ContractFeed("nev_charging_station", derived=("open_24h",), derive=station)
