"""Units of measure a feed may write a value in, and the factor that turns one into another.

Contracts keep units in column names (`speed_kmh`, `distance_m`, `weight_kg`) or in a column's
`unit`; a feed, or a source profile of the catalogue, says which unit its file writes a column in
(`m/s`, `km`, `fen`), and ingest multiplies by `factor(from_unit, to_unit)`. Pure Python: the
catalogue checks profiles with it at load time, before any engine starts.
"""

from __future__ import annotations

# Per quantity, each unit's size in the quantity's first unit.
QUANTITIES: dict[str, dict[str, float]] = {
    "length": {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048},
    "speed": {"km/h": 1.0, "m/s": 3.6, "mph": 1.609344, "kn": 1.852},
    "mass": {"kg": 1.0, "t": 1000.0, "lb": 0.45359237},
    "duration": {"s": 1.0, "ms": 0.001, "min": 60.0, "h": 3600.0},
    "money": {"CNY": 1.0, "fen": 0.01},
    "angle": {"degree": 1.0, "rad": 57.29577951308232},
    "power": {"kW": 1.0, "W": 0.001},
}
# The unit a contract column's name ends in.
NAME_SUFFIXES = {
    "_kmh": "km/h",
    "_mps": "m/s",
    "_km": "km",
    "_m": "m",
    "_kg": "kg",
    "_t": "t",
    "_s": "s",
    "_cny": "CNY",
    "_deg": "degree",
    "_kw": "kW",
}


class UnitError(ValueError):
    """Two units that do not measure the same thing, or a unit this module does not know."""


def _quantity(unit: str) -> str:
    for quantity, units in QUANTITIES.items():
        if unit in units:
            return quantity
    known = ", ".join(u for units in QUANTITIES.values() for u in units)
    raise UnitError(f"unknown unit {unit!r}; known units are {known}")


def factor(from_unit: str, to_unit: str) -> float:
    """What a value in `from_unit` is multiplied by to be in `to_unit` (`factor("m/s", "km/h")` is 3.6)."""
    quantity = _quantity(from_unit)
    if _quantity(to_unit) != quantity:
        raise UnitError(f"{from_unit} is a {quantity}, {to_unit} is a {_quantity(to_unit)}")
    return QUANTITIES[quantity][from_unit] / QUANTITIES[quantity][to_unit]


def scale(from_unit: str, to_unit: str) -> tuple[str, float]:
    """`factor` as the exact operation: ("*", 1000.0) from km to m, ("/", 100.0) from fen to CNY, so
    that 250 fen is 2.5 CNY to the last digit (multiplying by 0.01 would not be)."""
    size = factor(from_unit, to_unit)
    if size >= 1:
        return "*", size
    quantity = QUANTITIES[_quantity(from_unit)]
    return "/", quantity[to_unit] / quantity[from_unit]


def column_unit(name: str, unit: str | None = None) -> str | None:
    """The unit of a contract column: its declared `unit`, else the one its name ends in."""
    if unit is not None:
        return unit
    for suffix, suffix_unit in NAME_SUFFIXES.items():
        if name.endswith(suffix):
            return suffix_unit
    return None
