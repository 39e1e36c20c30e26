"""Taxi GPS in the common Chinese layout `VehicleNum,time,lon,lat,OpenStatus,Speed`.

Times are local (the catalogue entry's time zone); coordinates are in the entry's declared system
and are converted to WGS-84, with the originals kept in `src_lon`, `src_lat`, `src_crs`. A fix
that implies travel faster than 200 km/h both from the previous fix and to the next one of the
same vehicle is an impossible jump and is quarantined; so are swapped coordinates and fixes dated
after the day following the batch's logical date (itlake/feeds/_positions.py).
"""

from __future__ import annotations

from pathlib import Path

from itlake.feeds._positions import flag_implausible_fixes
from itlake.feeds.base import BatchContext
from itlake.feeds.cast import cast_sourced_columns, select_contract
from itlake.feeds.csv_reader import read_csv_strings, read_file_bytes

HEADER = ["VehicleNum", "time", "lon", "lat", "OpenStatus", "Speed"]
MAX_SPEED_KMH = 200.0


class TaxiGpsFeed:
    name = "taxi_gps"
    contracts = ("taxi_gps",)

    def read(self, path: Path, ctx: BatchContext) -> dict:
        data = read_file_bytes(path)
        return {
            "taxi_gps": read_csv_strings(data, encoding=ctx.encoding, expected=HEADER, source=ctx.source_file)
        }

    def to_silver(self, bronze, contract_name: str, ctx: BatchContext):
        from pyspark.sql import functions as F

        from itlake.contracts import load_contract
        from itlake.feeds.cast import blank_to_null, first_error
        from itlake.geo.crs import to_wgs84_columns
        from itlake.privacy import hmac_sha256_col

        contract = load_contract(contract_name)
        typed = cast_sourced_columns(bronze, contract, timezone=ctx.timezone, skip=("vehicle_id",))
        typed = (
            typed.withColumn(
                "vehicle_id", hmac_sha256_col(blank_to_null(F.col("VehicleNum")), ctx.pseudonym_key)
            )
            .withColumn("src_crs", F.lit(ctx.crs))
            .withColumn("lon", F.col("src_lon"))
            .withColumn("lat", F.col("src_lat"))
            .transform(to_wgs84_columns("lon", "lat", ctx.crs))
            .withColumn("fix_date", F.to_date("fix_time"))
            .transform(flag_implausible_fixes("vehicle_id", MAX_SPEED_KMH, contract, ctx.logical_date))
        )
        typed = typed.withColumn("_parse_error", first_error(F.col("_parse_error"), F.col("_fix_error")))
        return select_contract(typed, contract)


FEED = TaxiGpsFeed()
