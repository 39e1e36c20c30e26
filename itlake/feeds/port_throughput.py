"""Monthly port throughput statistics (港口统计月报), CSV with Chinese headers.

Header `港口代码,港口名称,统计月份,进出港,内外贸,集装箱吞吐量万TEU,货物吞吐量万吨`: one row per port
(UN/LOCODE), month (`yyyy-MM`), direction (进港 / 出港) and trade (外贸 / 内贸), with container
throughput in 10^4 TEU and cargo in 10^4 t, as the statistical bulletins print them. Silver keeps
the month as its first day, directions and trades in English, TEU as a whole number and cargo in
tonnes. A month that is not `yyyy-MM` is a parse error; negative figures break the contract's range.
"""

from __future__ import annotations

from itlake.feeds.skeleton import ContractFeed

DIRECTIONS = {"进港": "inbound", "出港": "outbound"}
TRADES = {"外贸": "foreign", "内贸": "domestic"}
MONTH_PATTERN = r"^\d{4}-\d{2}$"
TEN_THOUSAND = 10_000


def throughput(typed, contract, ctx):
    """The month as its first day, direction and trade in English, TEU and tonnes from 10^4."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null, lookup, parse_error

    raw_month = F.col("统计月份")
    month_text = blank_to_null(raw_month)
    month = F.when(
        month_text.rlike(MONTH_PATTERN), F.to_date(F.try_to_timestamp(month_text, F.lit("yyyy-MM")))
    )
    teu_10k = blank_to_null(F.col("`集装箱吞吐量万TEU`")).try_cast("double")
    tonnes_10k = blank_to_null(F.col("`货物吞吐量万吨`")).try_cast("double")

    def translate(raw, mapping: dict[str, str]):
        value = blank_to_null(raw)
        return F.coalesce(lookup(mapping, value), value)

    typed = typed.withColumns(
        {
            "month": month,
            "direction": translate(F.col("进出港"), DIRECTIONS),
            "trade": translate(F.col("内外贸"), TRADES),
            "teu": F.round(teu_10k * TEN_THOUSAND).cast("long"),
            "tonnage_t": F.round(tonnes_10k * TEN_THOUSAND, 1),
        }
    )
    return typed, [
        parse_error("统计月份", raw_month, month, "month (yyyy-MM)"),
        parse_error("集装箱吞吐量万TEU", F.col("`集装箱吞吐量万TEU`"), teu_10k, "double"),
        parse_error("货物吞吐量万吨", F.col("`货物吞吐量万吨`"), tonnes_10k, "double"),
    ]


FEED = ContractFeed(
    "port_throughput", derived=("month", "direction", "trade", "teu", "tonnage_t"), derive=throughput
)
