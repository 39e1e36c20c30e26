"""Electronic waybills: CSV with Chinese headers, usually GBK.

Shipper, consignee and plate are replaced by keyed HMAC pseudonyms in silver; the raw names stay
in bronze only. Administrative codes follow GB/T 2260.
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, select_contract
from itlake.feeds.csv_reader import read_csv_strings, read_file_bytes

PSEUDONYMISED = {"shipper_id": "托运人", "consignee_id": "收货人", "plate_id": "车牌号"}


class WaybillFeed:
    name = "waybill"
    contracts = ("waybill",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        from itlake.contracts import load_contract

        header = [c.source for c in load_contract("waybill").columns if c.source]
        data = read_file_bytes(path)
        return {
            "waybill": read_csv_strings(data, encoding=ctx.encoding, expected=header, source=ctx.source_file)
        }

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import blank_to_null
        from itlake.privacy import hmac_sha256_col

        contract = load_contract(contract_name)
        typed = cast_sourced_columns(bronze, contract, timezone=ctx.timezone, skip=tuple(PSEUDONYMISED))
        pseudonyms = {
            name: hmac_sha256_col(blank_to_null(F.col(f"`{source}`")), ctx.pseudonym_key)
            for name, source in PSEUDONYMISED.items()
        }
        typed = typed.withColumns(pseudonyms).withColumn("pickup_date", F.to_date("pickup_time"))
        return select_contract(typed, contract)


FEED = WaybillFeed()
