"""Ride-hailing orders: one CSV row per order with the time of each of its events.

The layout follows the field names of the national ride-hailing regulatory data exchange
(网约车监管信息交互平台): the platform reports, per order, the request (`OrderTime`, requested
pickup `DepLongitude/DepLatitude`, destination `DestLongitude/DestLatitude`), the driver's
acceptance (`DistributeTime`, `LicenseId`, `VehicleNo`), the pickup (`DepTime`), the drop-off
(`DestTime`, `DriveMile` in km, `FactPrice` in yuan) or the cancellation (`CancelTime`,
`CancelOperator`: 1 passenger, 2 driver, 3 platform, which means no driver took the order).
`Encrypt` flags the coordinate system of each row (1 GCJ-02, 2 WGS-84, 3 BD-09; empty means the
catalogue's declared system). A daily file holds the orders requested that day; an order still
under way at the end of the export is `in_progress`.

Silver is one row per order so that the MaaS matching reads the request time and place and the
accept and pickup times together, and so that the order's invariants (pickup not before the
request, drop-off not before pickup, not both completed and cancelled) are row rules that
quarantine with the rule's name. Phone numbers, licence numbers and plates become HMAC
pseudonyms; coordinates become WGS-84 with the originals and their system kept.
"""

from __future__ import annotations

from itlake.feeds.skeleton import ContractFeed

HEADER = [
    "CompanyId",
    "OrderId",
    "PassengerPhone",
    "LicenseId",
    "VehicleNo",
    "OrderTime",
    "DepLongitude",
    "DepLatitude",
    "DestLongitude",
    "DestLatitude",
    "Encrypt",
    "DistributeTime",
    "DepTime",
    "DestTime",
    "CancelTime",
    "CancelOperator",
    "DriveMile",
    "FactPrice",
]
PSEUDONYMISED = {"passenger_id": "PassengerPhone", "driver_id": "LicenseId", "plate_id": "VehicleNo"}
ENCRYPT = {"1": "GCJ-02", "2": "WGS-84", "3": "BD-09"}
CANCELLED_BY = {"1": "cancelled_by_passenger", "2": "cancelled_by_driver", "3": "no_driver"}


def order(typed, contract, ctx):
    """Pseudonyms, the order's coordinate system and status, its date, and WGS-84 positions."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null, first_error, lookup
    from itlake.geo.crs import to_wgs84_by_crs_column
    from itlake.privacy.pseudonyms import hmac_sha256_col

    encrypt = blank_to_null(F.col("Encrypt"))
    operator = blank_to_null(F.col("CancelOperator"))
    src_crs = F.coalesce(lookup(ENCRYPT, encrypt), F.when(encrypt.isNull(), F.lit(ctx.crs)))
    status = (
        F.when(F.col("cancel_time").isNotNull(), lookup(CANCELLED_BY, operator))
        .when(F.col("dropoff_time").isNotNull(), F.lit("completed"))
        .otherwise(F.lit("in_progress"))
    )
    code_errors = first_error(
        F.when(
            encrypt.isNotNull() & src_crs.isNull(),
            F.concat(F.lit("Encrypt='"), encrypt, F.lit("' is not 1 (GCJ-02), 2 (WGS-84) or 3 (BD-09)")),
        ),
        F.when(
            F.col("cancel_time").isNotNull() & lookup(CANCELLED_BY, operator).isNull(),
            F.concat(
                F.lit("CancelOperator='"),
                F.coalesce(operator, F.lit("")),
                F.lit("' is not 1 (passenger), 2 (driver) or 3 (platform) on a cancelled order"),
            ),
        ),
    )
    typed = (
        typed.withColumns(
            {
                **{
                    name: hmac_sha256_col(blank_to_null(F.col(source)), ctx.pseudonym_key)
                    for name, source in PSEUDONYMISED.items()
                },
                "src_crs": src_crs,
                "status": status,
                "order_date": F.to_date("order_time"),
            }
        )
        .transform(
            to_wgs84_by_crs_column("src_pickup_lon", "src_pickup_lat", "src_crs", "pickup_lon", "pickup_lat")
        )
        .transform(
            to_wgs84_by_crs_column(
                "src_dropoff_lon", "src_dropoff_lat", "src_crs", "dropoff_lon", "dropoff_lat"
            )
        )
    )
    return typed, [code_errors]


FEED = ContractFeed(
    "ridehail_order",
    header=HEADER,
    derived=tuple(PSEUDONYMISED),
    derive=order,
    # DriveMile is in km (the exchange's unit); the contract keeps metres.
    source_units={"distance_m": "km"},
)
