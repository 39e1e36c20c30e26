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

from itlake.feeds._geometry import located_at_source_point
from itlake.feeds.skeleton import ContractFeed

STRUCTURE_TYPES = {"桥梁": "bridge", "桥": "bridge", "隧道": "tunnel"}


def structure(typed, contract, ctx):
    """Class and type in English; an inspection after the logical date is refused."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null, parse_error

    # "3类" is how the inspection reports write class 3; the suffix is dropped before typing.
    raw_class = F.regexp_replace(blank_to_null(F.col("技术状况等级")), "类$", "")
    condition_class = raw_class.try_cast("int")
    raw_type = blank_to_null(F.col("类型"))
    structure_type = F.coalesce(
        *[F.when(raw_type == zh, F.lit(en)) for zh, en in STRUCTURE_TYPES.items()], raw_type
    )
    in_future = F.when(
        F.col("inspection_date") > F.lit(ctx.logical_date),
        F.format_string(
            "inspection_in_future: 检查日期 %s is after the batch's logical date %s",
            F.col("inspection_date").cast("string"),
            F.lit(ctx.logical_date.isoformat()),
        ),
    )
    typed = typed.withColumns({"condition_class": condition_class, "structure_type": structure_type})
    errors = [parse_error("技术状况等级", F.col("技术状况等级"), condition_class, "int"), in_future]
    return typed.transform(located_at_source_point(ctx.crs)), errors


FEED = ContractFeed(
    "bridge_tunnel",
    derived=("condition_class", "structure_type"),
    derive=structure,
    date_format="yyyy-MM-dd",
)
