"""Bridges and tunnels with their technical condition: CSV exported by the highway maintenance system.

Header (Chinese, as exported): 构造物编码,构造物名称,类型,路段编号,长度m,建成年份,技术状况等级,检查日期,
限载t,经度,纬度. 类型 is 桥梁 (bridge) or 隧道 (tunnel); 技术状况等级 is the class of the latest periodic
inspection, 1 (good) to 5 (dangerous), written "2" or "2类" (JTG/T H21-2011 for bridges, JTG H12-2015
for tunnels); 检查日期 is YYYY-MM-DD; 限载t is empty without a posted limit.

Silver quarantines a class outside 1-5 through the contract (`condition_class=7 is not one of
[1, 2, 3, 4, 5]`) and an inspection dated after the batch's logical date (`inspection_in_future`).
Coordinates are in the catalogue's declared system; silver holds WGS-84 and a WKB point.
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds._geometry import located_at_source_point
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, first_error, select_contract
from itlake.feeds.csv_reader import read_csv_feed

STRUCTURE_TYPES = {"桥梁": "bridge", "桥": "bridge", "隧道": "tunnel"}


class BridgeTunnelFeed:
    name = "bridge_tunnel"
    contracts = ("bridge_tunnel",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        return read_csv_feed(path, ctx, "bridge_tunnel")

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import blank_to_null, parse_error

        contract = load_contract(contract_name)
        # "3类" is how the inspection reports write class 3; the suffix is dropped before typing.
        raw_class = F.regexp_replace(blank_to_null(F.col("技术状况等级")), "类$", "")
        condition_class = raw_class.try_cast("int")
        raw_type = blank_to_null(F.col("类型"))
        structure_type = F.coalesce(
            *[F.when(raw_type == zh, F.lit(en)) for zh, en in STRUCTURE_TYPES.items()], raw_type
        )
        typed = cast_sourced_columns(
            bronze,
            contract,
            timezone=ctx.timezone,
            date_format="yyyy-MM-dd",
            skip=("condition_class", "structure_type"),
        )
        in_future = F.when(
            F.col("inspection_date") > F.lit(ctx.logical_date),
            F.format_string(
                "inspection_in_future: 检查日期 %s is after the batch's logical date %s",
                F.col("inspection_date").cast("string"),
                F.lit(ctx.logical_date.isoformat()),
            ),
        )
        typed = typed.withColumns(
            {"condition_class": condition_class, "structure_type": structure_type}
        ).withColumn(
            "_parse_error",
            first_error(
                F.col("_parse_error"),
                parse_error("技术状况等级", F.col("技术状况等级"), condition_class, "int"),
                in_future,
            ),
        )
        return select_contract(typed.transform(located_at_source_point(ctx.crs)), contract)


FEED = BridgeTunnelFeed()
