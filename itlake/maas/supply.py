"""supply_zone_interval: service offered per zone x 15-minute interval.

- `transit_departures`, `transit_seats`: departures of active GTFS trips from stops in the zone
  during the interval, and their seats (a capacity per route_type, from the MaaS settings);
- `idle_taxis`: distinct taxis with a vacant fix (OpenStatus = 0) in the zone and interval;
- `bikes_available`, `docks_available`: at each station's last GBFS report in the interval, the
  vehicles it rents out (stations that are renting) and its free docks (stations that are
  returning), plus free-floating vehicles (no station, neither reserved nor disabled) in the last
  vehicle_status snapshot of the interval.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from itlake.maas.cells import with_cells
from itlake.maas.settings import MaasSettings

SUPPLY_COLUMNS = ("transit_departures", "transit_seats", "idle_taxis", "bikes_available", "docks_available")
CELL = ["zone_level", "zone_id", "interval_start"]


def seats_column(route_types: list[int], settings: MaasSettings):
    """A Column of the seats of one departure, looked up by `route_type`."""
    pairs = [F.lit(v) for rt in sorted(set(route_types)) for v in (rt, settings.seats_for(rt))]
    lookup = F.create_map(*pairs) if pairs else F.create_map().cast("map<int,int>")
    return F.coalesce(lookup[F.col("route_type")], F.lit(settings.default_seats))


def transit_supply(departures: DataFrame, settings: MaasSettings) -> DataFrame:
    route_types = [r.route_type for r in departures.select("route_type").distinct().collect()]
    return (
        departures.withColumn("seats", seats_column(route_types, settings))
        .transform(with_cells("lon", "lat", "departure_time", **_cell_args(settings)))
        .groupBy(*CELL)
        .agg(F.count("*").alias("transit_departures"), F.sum("seats").alias("transit_seats"))
    )


def idle_fixes(fixes: DataFrame, settings: MaasSettings) -> DataFrame:
    """Vacant taxi fixes (OpenStatus = 0) in their cells; the matching reuses the district rows."""
    return fixes.where(F.col("open_status") == 0).transform(
        with_cells("lon", "lat", "fix_time", **_cell_args(settings))
    )


def taxi_supply(idle: DataFrame) -> DataFrame:
    return idle.groupBy(*CELL).agg(F.countDistinct("vehicle_id").alias("idle_taxis"))


def bike_supply(
    status: DataFrame, stations: DataFrame, vehicles: DataFrame, settings: MaasSettings
) -> DataFrame:
    cells = _cell_args(settings)
    docked = (
        status.join(stations.select("system_id", "station_id", "lon", "lat"), ["system_id", "station_id"])
        .transform(with_cells("lon", "lat", "reported_at", **cells))
        .groupBy(*CELL, "system_id", "station_id")
        .agg(
            F.max_by(
                F.struct("bikes_available", "docks_available", "is_renting", "is_returning"), "reported_at"
            ).alias("last")
        )
        .groupBy(*CELL)
        .agg(
            F.sum(F.when(F.col("last.is_renting"), F.col("last.bikes_available")).otherwise(0)).alias(
                "docked"
            ),
            F.sum(
                F.when(F.col("last.is_returning"), F.coalesce("last.docks_available", F.lit(0))).otherwise(0)
            ).alias("docks_available"),
        )
    )
    snapshot = Window.partitionBy("system_id", "_interval")
    free = (
        vehicles.withColumn("_interval", F.floor(F.unix_timestamp("snapshot_time") / settings.interval_s))
        .withColumn("_last", F.max("snapshot_time").over(snapshot))
        .where(F.col("snapshot_time") == F.col("_last"))
        .where(F.col("station_id").isNull() & ~F.col("is_reserved") & ~F.col("is_disabled"))
        .transform(with_cells("lon", "lat", "snapshot_time", **cells))
        .groupBy(*CELL)
        .agg(F.count("*").alias("free_floating"))
    )
    return (
        docked.join(free, CELL, "full")
        .fillna(0, ["docked", "free_floating", "docks_available"])
        .select(*CELL, (F.col("docked") + F.col("free_floating")).alias("bikes_available"), "docks_available")
    )


def build_supply(transit: DataFrame, taxis: DataFrame, bikes: DataFrame) -> DataFrame:
    """The three supplies on one row per cell; a supply absent from a cell is 0."""
    joined = transit.join(taxis, CELL, "full").join(bikes, CELL, "full").fillna(0, list(SUPPLY_COLUMNS))
    return joined.select(*CELL, *[F.col(c).cast("long").alias(c) for c in SUPPLY_COLUMNS])


def _cell_args(settings: MaasSettings) -> dict:
    return {"interval_s": settings.interval_s, "h3_resolution": settings.h3_resolution}
