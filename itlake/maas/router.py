"""A frequency-based transit router for zone-to-zone skims: direct or with one transfer.

Each route direction (pattern) is represented by one trip of the day, the one of median running
time among those with the most stops; its headway is the day's span of first departures over the
number of trips less one, and the expected wait is half the headway (riders arrive at random),
capped at `max_wait_s`. A journey is: access (walk, or bike for bike + transit) to a boarding stop,
wait, ride, then either egress on foot, or a transfer (a walk of up to `transfer_radius_m`, the
same stop included, a second wait and ride on another route) and egress. This is the classic
skim of transport planning models (frequency-based, not a timetable search): it answers "how long
does this trip take by transit on this day", not "which departure to catch".

Plain pandas and scipy (cKDTree for the stops near a point); everything is in seconds and metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from itlake.geo.distance import haversine_m

M_PER_DEG = 111_195.0


@dataclass(frozen=True)
class Weights:
    """How a journey's parts add up to its score (generalised time, seconds)."""

    wait: float = 1.5
    walk: float = 2.0
    bike: float = 1.5
    transfer_penalty_s: float = 300.0


def pattern_legs(stop_times: pd.DataFrame, trips: pd.DataFrame, max_wait_s: float) -> pd.DataFrame:
    """Every ride between two stops of one pattern: pattern, board_stop, alight_stop, in_vehicle_s, wait_s.

    `stop_times`: trip_id, stop_sequence, stop_id, arrival_s, departure_s (of the active trips);
    `trips`: trip_id, route_id, direction_id.
    """
    st = stop_times.merge(trips[["trip_id", "route_id", "direction_id"]], on="trip_id")
    st["direction_id"] = st["direction_id"].fillna(0).astype(int)
    st["pattern"] = st["route_id"].astype(str) + ":" + st["direction_id"].astype(str)
    st["arrival_s"] = st["arrival_s"].fillna(st["departure_s"])
    st["departure_s"] = st["departure_s"].fillna(st["arrival_s"])
    per_trip = st.groupby(["pattern", "route_id", "trip_id"]).agg(
        stops=("stop_id", "size"), first=("departure_s", "min"), last=("arrival_s", "max")
    )
    per_trip = per_trip.reset_index()
    per_trip["running"] = per_trip["last"] - per_trip["first"]
    rows_of_trip = st.groupby("trip_id").indices
    legs = []
    for (pattern, route_id), group in per_trip.groupby(["pattern", "route_id"]):
        n = len(group)
        starts = np.sort(group["first"].to_numpy())
        headway = (starts[-1] - starts[0]) / (n - 1) if n > 1 else 2 * max_wait_s
        longest = group[group["stops"] == group["stops"].max()].sort_values(["running", "trip_id"])
        rep = longest.iloc[(len(longest) - 1) // 2]["trip_id"]
        seq = st.iloc[rows_of_trip[rep]].sort_values("stop_sequence")
        stops = seq["stop_id"].to_numpy()
        dep, arr = seq["departure_s"].to_numpy(float), seq["arrival_s"].to_numpy(float)
        i, j = np.triu_indices(len(stops), k=1)
        legs.append(
            pd.DataFrame(
                {
                    "pattern": pattern,
                    "route_id": route_id,
                    "board_stop": stops[i],
                    "alight_stop": stops[j],
                    "in_vehicle_s": arr[j] - dep[i],
                    "wait_s": min(headway / 2.0, max_wait_s),
                }
            )
        )
    columns = ["pattern", "route_id", "board_stop", "alight_stop", "in_vehicle_s", "wait_s"]
    return pd.concat(legs, ignore_index=True) if legs else pd.DataFrame(columns=columns)


def near_stops(lon, lat, stops: pd.DataFrame, radius_m: float) -> pd.DataFrame:
    """Stops within `radius_m` (great circle) of each point: point (index), stop_id, distance_m."""
    from scipy.spatial import cKDTree

    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if len(stops) == 0 or len(lon) == 0:
        return pd.DataFrame({"point": [], "stop_id": [], "distance_m": []})
    ref = np.cos(np.radians(float(np.nanmean(stops["lat"]))))
    sx, sy = stops["lon"].to_numpy(float) * ref * M_PER_DEG, stops["lat"].to_numpy(float) * M_PER_DEG
    tree = cKDTree(np.column_stack([sx, sy]))
    # The local projection is within a few % of the sphere over a city; search a little wider and
    # keep the exact great-circle distances.
    hits = tree.query_ball_point(np.column_stack([lon * ref * M_PER_DEG, lat * M_PER_DEG]), radius_m * 1.05)
    point = np.repeat(np.arange(len(lon)), [len(h) for h in hits])
    idx = np.concatenate([np.asarray(h, dtype=int) for h in hits]) if len(point) else np.array([], int)
    d = haversine_m(
        lon[point], lat[point], stops["lon"].to_numpy(float)[idx], stops["lat"].to_numpy(float)[idx]
    )
    out = pd.DataFrame({"point": point, "stop_id": stops["stop_id"].to_numpy()[idx], "distance_m": d})
    return out[out["distance_m"] <= radius_m].reset_index(drop=True)


def _links(points: pd.DataFrame, stops, radius_m: float, speed_mps: float, detour: float, stop_col: str):
    near = near_stops(points["lon"], points["lat"], stops, radius_m)
    near["od_id"] = points["od_id"].to_numpy()[near["point"].to_numpy(int)]
    near["time_s"] = near["distance_m"] * detour / speed_mps
    return near.rename(columns={"stop_id": stop_col})[["od_id", stop_col, "time_s"]]


def best_journeys(
    ends: pd.DataFrame,
    stops: pd.DataFrame,
    legs: pd.DataFrame,
    *,
    access_radius_m: float,
    access_speed_mps: float,
    access_kind: str,
    walk_radius_m: float,
    walk_speed_mps: float,
    transfer_radius_m: float,
    detour: float,
    weights: Weights,
) -> pd.DataFrame:
    """The best direct and the best one-transfer journey of each OD pair.

    `ends`: od_id, origin_lon, origin_lat, destination_lon, destination_lat. `access_kind` is
    `walk` or `bike`: how the rider reaches the first stop. Returns one row per od_id and
    `transfers` (0 or 1) that has a journey: in_vehicle_s, wait_s, walk_s, bike_s, travel_time_s,
    score_s, routes ("B3" or "B3>M1").
    """
    origins = ends.rename(columns={"origin_lon": "lon", "origin_lat": "lat"})
    dests = ends.rename(columns={"destination_lon": "lon", "destination_lat": "lat"})
    access = _links(origins, stops, access_radius_m, access_speed_mps, detour, "board_stop")
    access = access.rename(columns={"time_s": "access_s"})
    egress = _links(dests, stops, walk_radius_m, walk_speed_mps, detour, "alight_stop")
    egress = egress.rename(columns={"time_s": "egress_s"})
    columns = [
        "od_id",
        "transfers",
        "in_vehicle_s",
        "wait_s",
        "walk_s",
        "bike_s",
        "travel_time_s",
        "score_s",
        "routes",
    ]
    if access.empty or egress.empty or legs.empty:
        return pd.DataFrame(columns=columns)
    access_weight = weights.bike if access_kind == "bike" else weights.walk
    results = []

    direct = access.merge(legs, on="board_stop").merge(egress, on=["od_id", "alight_stop"])
    if len(direct):
        direct["in_vehicle_s"] = direct["in_vehicle_s"]
        direct["walk_extra_s"] = direct["egress_s"]
        direct["routes"] = direct["route_id"].astype(str)
        direct["transfers"] = 0
        results.append(direct)

    first = access.merge(legs, on="board_stop")
    first = first.sort_values(["od_id", "alight_stop", "pattern", "in_vehicle_s"])
    first["t1"] = access_weight * first["access_s"] + weights.wait * first["wait_s"] + first["in_vehicle_s"]
    first = first.loc[first.groupby(["od_id", "alight_stop", "pattern"])["t1"].idxmin()]
    second = legs.merge(egress, on="alight_stop")
    second["t2"] = (
        weights.wait * second["wait_s"] + second["in_vehicle_s"] + weights.walk * second["egress_s"]
    )
    second = second.loc[second.groupby(["od_id", "board_stop", "pattern"])["t2"].idxmin()]
    transfers = near_stops(stops["lon"], stops["lat"], stops, transfer_radius_m)
    transfers = pd.DataFrame(
        {
            "alight_stop": stops["stop_id"].to_numpy()[transfers["point"].to_numpy(int)],
            "board_stop": transfers["stop_id"].to_numpy(),
            "transfer_s": transfers["distance_m"].to_numpy() * detour / walk_speed_mps,
        }
    )
    chained = first.merge(transfers, on="alight_stop").merge(
        second, left_on=["od_id", "board_stop_y"], right_on=["od_id", "board_stop"], suffixes=("_1", "_2")
    )
    chained = chained[chained["route_id_1"] != chained["route_id_2"]]
    if len(chained):
        chained = chained.assign(
            access_s=chained["access_s"],
            wait_s=chained["wait_s_1"] + chained["wait_s_2"],
            in_vehicle_s=chained["in_vehicle_s_1"] + chained["in_vehicle_s_2"],
            walk_extra_s=chained["transfer_s"] + chained["egress_s"],
            routes=chained["route_id_1"].astype(str) + ">" + chained["route_id_2"].astype(str),
            transfers=1,
        )
        results.append(chained)
    if not results:
        return pd.DataFrame(columns=columns)
    keep = ["od_id", "transfers", "access_s", "wait_s", "in_vehicle_s", "walk_extra_s", "routes"]
    every = pd.concat([r[keep] for r in results], ignore_index=True)
    bike = access_kind == "bike"
    every["walk_s"] = every["walk_extra_s"] + (0.0 if bike else every["access_s"])
    every["bike_s"] = every["access_s"] if bike else 0.0
    every["travel_time_s"] = every["in_vehicle_s"] + every["wait_s"] + every["walk_s"] + every["bike_s"]
    every["score_s"] = (
        every["in_vehicle_s"]
        + weights.wait * every["wait_s"]
        + weights.walk * every["walk_s"]
        + weights.bike * every["bike_s"]
        + weights.transfer_penalty_s * every["transfers"]
    )
    best = every.loc[
        every.sort_values(["score_s", "routes"]).groupby(["od_id", "transfers"])["score_s"].idxmin()
    ]
    return best[columns].sort_values(["od_id", "transfers"]).reset_index(drop=True)
