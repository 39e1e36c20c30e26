"""Smart-card taps: the clearing house's end-of-day CSV, one row per tap, UTF-8 with a BOM.

The layout is that of the Shenzhen Tong (深圳通) transaction files published on the Shenzhen open
data platform: `deal_date,close_date,card_no,deal_value,deal_type,company_name,car_no,station,
conn_mark,deal_money,equ_no`. `deal_type` is 地铁入站 (metro entry), 地铁出站 (metro exit) or 巴士
(bus, one tap on boarding); `company_name` is the metro line (地铁五号线) or the bus company;
`station` is the metro station (empty for buses); `deal_money` and `deal_value` are the fare
paid and the full fare in fen; `conn_mark` 1 marks a transfer discount; `deal_date` is local time.

Card numbers become keyed HMAC pseudonyms; the fare becomes yuan.
"""

from __future__ import annotations

from itlake.feeds.skeleton import ContractFeed

HEADER = [
    "deal_date",
    "close_date",
    "card_no",
    "deal_value",
    "deal_type",
    "company_name",
    "car_no",
    "station",
    "conn_mark",
    "deal_money",
    "equ_no",
]
TAP_TYPES = {"地铁入站": "metro_entry", "地铁出站": "metro_exit", "巴士": "bus_board"}
MODES = {"metro_entry": "metro", "metro_exit": "metro", "bus_board": "bus"}


def tap(typed, contract, ctx):
    """The card's pseudonym, the tap type and mode in English, and the tap's date."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null, lookup
    from itlake.privacy.pseudonyms import hmac_sha256_col

    deal_type = blank_to_null(F.col("deal_type"))
    tap_type = lookup(TAP_TYPES, deal_type)
    typed = typed.withColumns(
        {
            "card_id": hmac_sha256_col(blank_to_null(F.col("card_no")), ctx.pseudonym_key),
            "tap_type": tap_type,
            "mode": lookup(MODES, tap_type),
            "tap_date": F.to_date("tap_time"),
        }
    )
    unknown_type = F.when(
        tap_type.isNull(),
        F.concat(
            F.lit("deal_type='"),
            F.coalesce(deal_type, F.lit("")),
            F.lit(f"' is not one of {', '.join(TAP_TYPES)}"),
        ),
    )
    return typed, [unknown_type]


# deal_money is in fen; the contract keeps yuan.
FEED = ContractFeed(
    "smartcard_tap", header=HEADER, derived=("card_id",), derive=tap, source_units={"fare_cny": "fen"}
)
