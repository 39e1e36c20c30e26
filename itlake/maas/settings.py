"""The MaaS tables' settings: packaged defaults (maas.yaml) overridden by $ITLAKE_MAAS_CONFIG.

    from itlake.maas.settings import maas_settings
    maas_settings().seats_for(3)   # seats of one bus departure

An override file holds only the keys it changes (and only the route types it changes in the
seat table); an unknown key is an error naming the file, so a
typo does not silently leave a default in force.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

from itlake.config import get_settings

# Extended route types (Google's list, by hundreds) -> the basic GTFS route_type they belong to:
# 1xx railway, 2xx coach, 4xx urban railway / metro, 7xx bus, 8xx trolleybus, 9xx tram, 10xx water,
# 13xx aerial lift, 14xx funicular.
EXTENDED_TO_BASIC = {1: 2, 2: 3, 4: 1, 7: 3, 8: 11, 9: 0, 10: 4, 13: 6, 14: 7}


class MaasConfigError(ValueError):
    """The MaaS configuration file is unreadable or has unknown or invalid keys."""


@dataclass(frozen=True)
class MaasSettings:
    interval_minutes: int
    h3_resolution: int
    seats_per_route_type: dict[int, int]
    default_seats: int
    gap_min_unmet: int
    match_radius_m: float
    match_window_s: int
    pickup_speed_kmh: float
    walk_speed_kmh: float
    walk_radius_m: float
    transfer_radius_m: float
    bike_speed_kmh: float
    bike_radius_m: float
    detour_factor: float
    max_wait_s: float
    taxi_wait_default_s: float
    weight_wait: float
    weight_walk: float
    weight_bike: float
    transfer_penalty_s: float

    @property
    def interval_s(self) -> int:
        return self.interval_minutes * 60

    @property
    def h3_level(self) -> str:
        """The zone_level name of the H3 cells, e.g. `h3_r8`."""
        return f"h3_r{self.h3_resolution}"

    def seats_for(self, route_type: int) -> int:
        """Seats of one departure of a route of this GTFS route_type (basic or extended)."""
        table = self.seats_per_route_type
        if route_type in table:
            return table[route_type]
        basic = EXTENDED_TO_BASIC.get(route_type // 100)
        return table.get(basic, self.default_seats) if basic is not None else self.default_seats


def _read(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MaasConfigError(f"{path}: cannot read the MaaS configuration: {exc}") from None
    if not isinstance(raw, dict):
        raise MaasConfigError(f"{path}: the MaaS configuration is a mapping of keys")
    known = {f.name for f in fields(MaasSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise MaasConfigError(f"{path}: unknown keys {unknown}; known keys are {sorted(known)}")
    return raw


@lru_cache(maxsize=1)
def maas_settings() -> MaasSettings:
    """The settings in force (cached; tests that change ITLAKE_MAAS_CONFIG call `cache_clear()`)."""
    values = _read(Path(str(files("itlake.maas") / "maas.yaml")))
    override = get_settings().maas_config
    if override:
        changes = _read(override)
        # The seat table merges: an override names only the route types it changes.
        seats = {**values["seats_per_route_type"], **(changes.pop("seats_per_route_type", None) or {})}
        values.update(changes, seats_per_route_type=seats)
    try:
        values["seats_per_route_type"] = {int(k): int(v) for k, v in values["seats_per_route_type"].items()}
        return MaasSettings(**values)
    except (TypeError, ValueError, KeyError) as exc:
        raise MaasConfigError(f"MaaS configuration ({override or 'defaults'}): {exc}") from None
