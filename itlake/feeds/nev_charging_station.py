"""NEV charging stations from the municipal charging-infrastructure monitoring platform: GBK CSV.

Header: 充电站编号,充电站名称,运营商,区县代码,充电接口数,直流接口数,交流接口数,单桩最大功率kW,总功率kW,
是否24小时,经度,纬度. Connectors are counted by type: DC fast charging (GB/T 20234.3) and AC
(GB/T 20234.2), which add up to the total; power is in kW; 是否24小时 is 是 or 否. Coordinates are
GCJ-02 (the platform's map is AMap); silver holds WGS-84 and a WKB point, the originals for audit.
A negative or zero power is quarantined by the contract's range; so are connectors that do not add up.
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds._geometry import located_at_source_point
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, first_error, select_contract
from itlake.feeds.csv_reader import read_csv_feed

YES_NO = {"是": True, "否": False}


class NevChargingStationFeed:
    name = "nev_charging_station"
    contracts = ("nev_charging_station",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        return read_csv_feed(path, ctx, "nev_charging_station")

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import blank_to_null

        contract = load_contract(contract_name)
        raw = blank_to_null(F.col("是否24小时"))
        open_24h = F.coalesce(*[F.when(raw == text, F.lit(value)) for text, value in YES_NO.items()])
        not_yes_no = F.when(
            raw.isNotNull() & open_24h.isNull(),
            F.concat(F.lit("是否24小时='"), raw, F.lit("' is not 是 or 否")),
        )
        typed = cast_sourced_columns(bronze, contract, timezone=ctx.timezone, skip=("open_24h",))
        typed = typed.withColumn("open_24h", open_24h).withColumn(
            "_parse_error", first_error(F.col("_parse_error"), not_yes_no)
        )
        return select_contract(typed.transform(located_at_source_point(ctx.crs)), contract)


FEED = NevChargingStationFeed()
