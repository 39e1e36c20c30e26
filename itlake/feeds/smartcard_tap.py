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

from pathlib import Path

from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, select_contract
from itlake.feeds.csv_reader import read_csv_feed

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


class SmartcardTapFeed:
    name = "smartcard_tap"
    contracts = ("smartcard_tap",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        return read_csv_feed(path, ctx, "smartcard_tap", HEADER)

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import blank_to_null, first_error, lookup
        from itlake.privacy import hmac_sha256_col

        contract = load_contract(contract_name)
        typed = cast_sourced_columns(bronze, contract, timezone=ctx.timezone, skip=("card_id",))
        deal_type = blank_to_null(F.col("deal_type"))
        tap_type = lookup(TAP_TYPES, deal_type)
        typed = typed.withColumns(
            {
                "card_id": hmac_sha256_col(blank_to_null(F.col("card_no")), ctx.pseudonym_key),
                "tap_type": tap_type,
                "mode": lookup(MODES, tap_type),
                "tap_date": F.to_date("tap_time"),
                "fare_cny": F.col("fare_cny") / 100.0,
                "_parse_error": first_error(
                    F.col("_parse_error"),
                    F.when(
                        tap_type.isNull(),
                        F.concat(
                            F.lit("deal_type='"),
                            F.coalesce(deal_type, F.lit("")),
                            F.lit(f"' is not one of {', '.join(TAP_TYPES)}"),
                        ),
                    ),
                ),
            }
        )
        return select_contract(typed, contract)


FEED = SmartcardTapFeed()
