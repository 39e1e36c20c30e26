"""BeiDou truck position reports, as exported by a JT/T 808 monitoring platform (CSV, GB18030).

Header `车牌号,车牌颜色,定位时间,经度,纬度,速度,方向,海拔`: plate, plate colour code (JT/T 808:
1 blue, 2 yellow, ...), local time of the fix, longitude and latitude in decimal degrees, speed in
km/h, heading in degrees clockwise from north and altitude in metres. Platforms export the
location report (0x0200) fields this way, decoded from the protocol's 10^-6 degrees and 1/10 km/h.

Plates become keyed HMAC pseudonyms computed exactly as a waybill's plate, so trips and waybills
join on `plate_id`. Coordinates are converted to WGS-84 from the entry's declared system, with the
originals kept. A report repeated by the terminal (JT/T 808 re-sends unacknowledged reports) has the
same plate and time and is counted as a duplicate; a fix reached and left faster than
MAX_SPEED_KMH is an impossible jump and is quarantined.
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds._positions import flag_implausible_fixes
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, select_contract
from itlake.feeds.csv_reader import read_csv_strings, read_file_bytes

# Heavy trucks are governed to 89-100 km/h; 180 km/h leaves room for noise between close fixes.
MAX_SPEED_KMH = 180.0


class TruckPositionFeed:
    name = "truck_position"
    contracts = ("truck_position",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        from itlake.contracts import load_contract

        header = [c.source for c in load_contract("truck_position").columns if c.source]
        data = read_file_bytes(path)
        return {
            "truck_position": read_csv_strings(
                data, encoding=ctx.encoding, expected=header, source=ctx.source_file
            )
        }

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import blank_to_null, first_error
        from itlake.geo.crs import to_wgs84_columns
        from itlake.privacy import hmac_sha256_col

        contract = load_contract(contract_name)
        typed = cast_sourced_columns(bronze, contract, timezone=ctx.timezone, skip=("plate_id",))
        typed = (
            typed.withColumn("plate_id", hmac_sha256_col(blank_to_null(F.col("车牌号")), ctx.pseudonym_key))
            .withColumn("src_crs", F.lit(ctx.crs))
            .withColumn("lon", F.col("src_lon"))
            .withColumn("lat", F.col("src_lat"))
            .transform(to_wgs84_columns("lon", "lat", ctx.crs))
            .withColumn("fix_date", F.to_date("fix_time"))
            .transform(flag_implausible_fixes("plate_id", MAX_SPEED_KMH, contract, ctx.logical_date))
        )
        typed = typed.withColumn("_parse_error", first_error(F.col("_parse_error"), F.col("_fix_error")))
        return select_contract(typed, contract)


FEED = TruckPositionFeed()
