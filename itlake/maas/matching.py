"""request_vehicle_match: ride requests matched to idle vehicles, one optimal assignment per cell.

Per district x 15-minute interval, the requests of that cell meet the idle vehicles of that cell
(each vehicle at its last vacant fix in the cell). A request and a vehicle may be paired when the
vehicle is within `match_radius_m` (straight line) and its fix is within `match_window_s` of the
request. Among the feasible pairs, `scipy.optimize.linear_sum_assignment` finds the assignment
that first serves as many requests as possible and then has the least total pickup distance
(infeasible pairs cost more than any sum of feasible ones). Each vehicle serves at most one
request per cell. The estimated wait is the pickup distance, stretched by `detour_factor` for
the street network, at `pickup_speed_kmh`.

An unmatched request says why: `no_vehicle_in_radius` (no idle vehicle within the radius and the
window) or `all_nearby_vehicles_taken` (there were some, all assigned to other requests).

The assignment runs in a grouped pandas UDF (`applyInPandas`), one group per cell, so it scales
with the cells, not with the city.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from itlake.geo.distance import haversine_m
from itlake.maas.cells import interval_start
from itlake.maas.settings import MaasSettings

NO_VEHICLE = "no_vehicle_in_radius"
ALL_TAKEN = "all_nearby_vehicles_taken"
PARTIES_SCHEMA = (
    "kind string, party_id string, event_time timestamp, lon double, lat double, "
    "zone_id string, interval_start timestamp"
)
MATCH_SCHEMA = (
    "zone_id string, interval_start timestamp, request_id string, request_time timestamp, "
    "origin_lon double, origin_lat double, vehicle_id string, vehicle_lon double, vehicle_lat double, "
    "vehicle_fix_time timestamp, candidate_vehicles int, matched boolean, pickup_distance_m double, "
    "estimated_wait_s double, unmatched_reason string"
)
MATCH_COLUMNS = [part.split()[0] for part in MATCH_SCHEMA.split(", ")]


def match_cell(parties, *, radius_m: float, window_s: float, speed_mps: float, detour: float):
    """pandas: the requests and vehicles of one cell -> one row per request (MATCH_SCHEMA).

    `parties` has the columns of PARTIES_SCHEMA; `kind` is `request` or `vehicle`.
    """
    import pandas as pd
    from scipy.optimize import linear_sum_assignment

    requests = (
        parties[parties["kind"] == "request"].sort_values(["event_time", "party_id"]).reset_index(drop=True)
    )
    vehicles = parties[parties["kind"] == "vehicle"].sort_values("party_id").reset_index(drop=True)
    n, m = len(requests), len(vehicles)
    out = pd.DataFrame(
        {
            "zone_id": requests["zone_id"],
            "interval_start": requests["interval_start"],
            "request_id": requests["party_id"],
            "request_time": requests["event_time"],
            "origin_lon": requests["lon"],
            "origin_lat": requests["lat"],
            "vehicle_id": pd.Series([None] * n, dtype=object),
            "vehicle_lon": np.nan,
            "vehicle_lat": np.nan,
            "vehicle_fix_time": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
            "candidate_vehicles": np.zeros(n, dtype=np.int32),
            "matched": np.zeros(n, dtype=bool),
            "pickup_distance_m": np.nan,
            "estimated_wait_s": np.nan,
            "unmatched_reason": pd.Series([NO_VEHICLE] * n, dtype=object),
        }
    )
    if n == 0 or m == 0:
        return out
    distance = haversine_m(
        requests["lon"].to_numpy()[:, None],
        requests["lat"].to_numpy()[:, None],
        vehicles["lon"].to_numpy()[None, :],
        vehicles["lat"].to_numpy()[None, :],
    )
    gap_s = np.abs(
        (requests["event_time"].to_numpy()[:, None] - vehicles["event_time"].to_numpy()[None, :])
        / np.timedelta64(1, "s")
    )
    feasible = (distance <= radius_m) & (gap_s <= window_s)
    out["candidate_vehicles"] = feasible.sum(axis=1).astype(np.int32)
    out.loc[out["candidate_vehicles"] > 0, "unmatched_reason"] = ALL_TAKEN
    # Any infeasible pair costs more than every feasible pair of the cell together, so the solver
    # first maximises the number of feasible matches, then minimises their total distance.
    big = radius_m * (min(n, m) + 1) + 1.0
    rows, cols = linear_sum_assignment(np.where(feasible, distance, big))
    keep = feasible[rows, cols]
    rows, cols = rows[keep], cols[keep]
    out.loc[rows, "vehicle_id"] = vehicles.loc[cols, "party_id"].to_numpy()
    out.loc[rows, "vehicle_lon"] = vehicles.loc[cols, "lon"].to_numpy()
    out.loc[rows, "vehicle_lat"] = vehicles.loc[cols, "lat"].to_numpy()
    out.loc[rows, "vehicle_fix_time"] = vehicles.loc[cols, "event_time"].to_numpy()
    out.loc[rows, "matched"] = True
    out.loc[rows, "pickup_distance_m"] = distance[rows, cols]
    out.loc[rows, "estimated_wait_s"] = distance[rows, cols] * detour / speed_mps
    out.loc[rows, "unmatched_reason"] = None
    return out


def match_parties(requests: DataFrame, idle: DataFrame, settings: MaasSettings) -> DataFrame:
    """The two sides of every cell, in PARTIES_SCHEMA.

    `requests`: request_id, request_time, origin_lon, origin_lat, zone_id (district);
    `idle`: vacant fixes in their district cells (vehicle_id, fix_time, lon, lat, zone_id,
    interval_start), of which each vehicle's last in the cell is kept.
    """
    asked = requests.where(F.col("zone_id").isNotNull()).select(
        F.lit("request").alias("kind"),
        F.col("request_id").alias("party_id"),
        F.col("request_time").alias("event_time"),
        F.col("origin_lon").alias("lon"),
        F.col("origin_lat").alias("lat"),
        "zone_id",
        interval_start("request_time", settings.interval_s).alias("interval_start"),
    )
    idle = (
        idle.groupBy("vehicle_id", "zone_id", "interval_start")
        .agg(F.max_by(F.struct("fix_time", "lon", "lat"), "fix_time").alias("last"))
        .select(
            F.lit("vehicle").alias("kind"),
            F.col("vehicle_id").alias("party_id"),
            F.col("last.fix_time").alias("event_time"),
            F.col("last.lon").alias("lon"),
            F.col("last.lat").alias("lat"),
            "zone_id",
            "interval_start",
        )
    )
    return asked.unionByName(idle)


def match_requests(parties: DataFrame, settings: MaasSettings) -> DataFrame:
    """One row per request with its vehicle, pickup distance and wait, or its unmatched reason."""
    radius_m, window_s = float(settings.match_radius_m), float(settings.match_window_s)
    speed_mps, detour = settings.pickup_speed_kmh / 3.6, settings.detour_factor

    def body(parties):
        return match_cell(parties, radius_m=radius_m, window_s=window_s, speed_mps=speed_mps, detour=detour)

    return parties.groupBy("zone_id", "interval_start").applyInPandas(body, MATCH_SCHEMA)
