"""The open dataset of hourly district-to-district taxi OD flows, k-anonymous.

    python jobs/publish_od_taxi_hourly.py --logical-date 2026-11-27

Trips are counted per pickup hour, origin district and destination district. A cell with fewer
than k trips (ITLAKE_K_ANONYMITY, default 10) is suppressed; the number of cells and trips
withheld is written in the release README and the publication log.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

NAME = "od_taxi_hourly"


def od_cells(trips: DataFrame) -> DataFrame:
    """Trips per (service_date, hour_start, origin_zone_id, destination_zone_id)."""
    return (
        trips.where(F.col("pickup_zone_id").isNotNull() & F.col("dropoff_zone_id").isNotNull())
        .groupBy(
            F.col("trip_date").alias("service_date"),
            F.date_trunc("hour", "pickup_time").alias("hour_start"),
            F.col("pickup_zone_id").alias("origin_zone_id"),
            F.col("dropoff_zone_id").alias("destination_zone_id"),
        )
        .agg(F.count("*").alias("trips"))
    )


def suppress_small_cells(cells: DataFrame, k: int) -> tuple[DataFrame, DataFrame]:
    """(released cells with at least k trips, withheld cells)."""
    return cells.where(F.col("trips") >= k), cells.where(F.col("trips") < k)


def run(spark, logical_date, k: int):
    """Build, gate and release the day's OD flows; returns the Publication logged."""
    from itlake.catalog import load_catalog, to_dcat
    from itlake.contracts import load_contract
    from itlake.lake.system import synthetic_codes
    from itlake.lake.tables import conform, read_lake_table, write_partition
    from itlake.publish.gate import PublicationRefused, check_release
    from itlake.publish.release import Publication, log_publication, write_release

    catalog = load_catalog()
    entry, contract = catalog.get(NAME), load_contract(NAME)
    synthetic = entry.code in synthetic_codes(spark, catalog)
    publication = Publication(code=entry.code, name=NAME, synthetic=synthetic)
    try:
        check_release(entry, contract)
    except PublicationRefused as refused:
        publication.status, publication.reason = "refused", str(refused)
        log_publication(spark, publication)
        raise
    trips = read_lake_table(spark, "taxi_trip").where(F.col("trip_date") == F.lit(logical_date))
    released, withheld = suppress_small_cells(od_cells(trips), k)
    publication.rows = write_partition(released, NAME, logical_date)
    counts = withheld.agg(
        F.count("*").alias("cells"), F.coalesce(F.sum("trips"), F.lit(0)).alias("trips")
    ).first()
    publication.suppressed_cells, publication.suppressed_trips = counts.cells, counts.trips
    frame = (
        read_lake_table(spark, NAME)
        .transform(conform(NAME))
        .orderBy("service_date", "hour_start", "origin_zone_id", "destination_zone_id")
        .toPandas()
    )
    dcat = to_dcat(catalog, synthetic_codes={entry.code} if synthetic else set())
    publication = write_release(frame, entry, contract, publication, dcat, licence_text(entry.licence))
    log_publication(spark, publication)
    return publication


def licence_text(licence: str) -> str:
    return (
        f"This dataset is released under {licence}.\n"
        "本数据集按上述许可发布；使用时请注明来源（itlake 开放数据）。\n"
    )
