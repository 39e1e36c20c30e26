"""od_service_options: for each district pair with demand, the ways to make the trip and the best one.

An OD pair has demand when ride-hailing requests or taxi trips went from one district to the other
on the day; its origin and destination points are the means of those trips' ends. Options:

- `transit_direct`, `transit_transfer`: the best journey with no or one transfer (router.py);
- `bike_transit`: a shared bike to the first stop (within `bike_radius_m`), then transit; only
  where the origin district had bikes available that day (GBFS);
- `taxi`: the median duration of the day's observed taxi trips between the districts, after the
  origin district's mean matching wait (request_vehicle_match), or `taxi_wait_default_s`.

Every option gets a row; an option that cannot make the trip has `available` false and no times.
The score is a generalised time in seconds (in-vehicle time, plus weighted wait, walk and bike
time, plus a penalty per transfer); the available option with the lowest score is recommended.
"""

from __future__ import annotations

import pandas as pd

from itlake.maas.router import Weights, best_journeys
from itlake.maas.settings import MaasSettings

OPTIONS = ("transit_direct", "transit_transfer", "bike_transit", "taxi")
OPTION_COLUMNS = [
    "origin_zone_id",
    "destination_zone_id",
    "option",
    "available",
    "demand_trips",
    "travel_time_s",
    "in_vehicle_s",
    "wait_s",
    "walk_s",
    "bike_s",
    "transfers",
    "routes",
    "score_s",
    "is_recommended",
]


def service_options(
    pairs: pd.DataFrame,
    stops: pd.DataFrame,
    legs: pd.DataFrame,
    taxi_times: pd.DataFrame,
    taxi_waits: dict[str, float],
    bike_zones: set[str],
    settings: MaasSettings,
) -> pd.DataFrame:
    """One row per OD pair and option (OPTION_COLUMNS).

    `pairs`: origin_zone_id, destination_zone_id, demand_trips, origin_lon, origin_lat,
    destination_lon, destination_lat. `taxi_times`: origin_zone_id, destination_zone_id,
    duration_s (the median observed). `taxi_waits`: origin zone -> mean wait.
    """
    if pairs.empty:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    weights = Weights(
        settings.weight_wait, settings.weight_walk, settings.weight_bike, settings.transfer_penalty_s
    )
    ends = pairs.reset_index(drop=True).assign(od_id=lambda df: range(len(df)))
    common = {
        "walk_radius_m": settings.walk_radius_m,
        "walk_speed_mps": settings.walk_speed_kmh / 3.6,
        "transfer_radius_m": settings.transfer_radius_m,
        "detour": settings.detour_factor,
        "weights": weights,
    }
    walk = best_journeys(
        ends,
        stops,
        legs,
        access_radius_m=settings.walk_radius_m,
        access_speed_mps=settings.walk_speed_kmh / 3.6,
        access_kind="walk",
        **common,
    )
    bike = best_journeys(
        ends,
        stops,
        legs,
        access_radius_m=settings.bike_radius_m,
        access_speed_mps=settings.bike_speed_kmh / 3.6,
        access_kind="bike",
        **common,
    )
    rows = []
    walk_by = {(r.od_id, r.transfers): r for r in walk.itertuples()}
    bike_best = bike.sort_values("score_s").groupby("od_id").head(1).set_index("od_id")
    taxi_by = {(r.origin_zone_id, r.destination_zone_id): r.duration_s for r in taxi_times.itertuples()}
    for od in ends.itertuples():
        base = {"origin_zone_id": od.origin_zone_id, "destination_zone_id": od.destination_zone_id}
        base["demand_trips"] = int(od.demand_trips)
        for transfers, option in ((0, "transit_direct"), (1, "transit_transfer")):
            rows.append({**base, **_journey(option, walk_by.get((od.od_id, transfers)))})
        has_bikes = od.origin_zone_id in bike_zones and od.od_id in bike_best.index
        rows.append({**base, **_journey("bike_transit", bike_best.loc[od.od_id] if has_bikes else None)})
        ride = taxi_by.get((od.origin_zone_id, od.destination_zone_id))
        if ride is None or pd.isna(ride):
            rows.append({**base, **_journey("taxi", None)})
        else:
            wait = taxi_waits.get(od.origin_zone_id)
            wait = settings.taxi_wait_default_s if wait is None or pd.isna(wait) else float(wait)
            rows.append(
                {
                    **base,
                    "option": "taxi",
                    "available": True,
                    "travel_time_s": float(ride) + wait,
                    "in_vehicle_s": float(ride),
                    "wait_s": wait,
                    "walk_s": 0.0,
                    "bike_s": 0.0,
                    "transfers": 0,
                    "routes": None,
                    "score_s": float(ride) + settings.weight_wait * wait,
                }
            )
    out = pd.DataFrame(rows, columns=[c for c in OPTION_COLUMNS if c != "is_recommended"])
    scores = out["score_s"].where(out["available"])
    best = scores.groupby([out["origin_zone_id"], out["destination_zone_id"]]).transform("min")
    out["is_recommended"] = out["available"] & (scores == best)
    # One recommendation per pair even on a tie: the first option in OPTIONS order.
    first = out[out["is_recommended"]].groupby(["origin_zone_id", "destination_zone_id"]).head(1).index
    out["is_recommended"] = out.index.isin(first)
    return out[OPTION_COLUMNS]


def _journey(option: str, row) -> dict:
    if row is None:
        return {"option": option, "available": False, "transfers": 1 if option == "transit_transfer" else 0}
    return {
        "option": option,
        "available": True,
        "travel_time_s": float(row.travel_time_s),
        "in_vehicle_s": float(row.in_vehicle_s),
        "wait_s": float(row.wait_s),
        "walk_s": float(row.walk_s),
        "bike_s": float(row.bike_s),
        "transfers": int(row.transfers),
        "routes": row.routes,
        "score_s": float(row.score_s),
    }
