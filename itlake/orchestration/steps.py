"""Derived tables as steps: every gold, MaaS and open table is built by one kind of step.

    spark-submit jobs/step.py --step gold_taxi_trips --logical-date 2026-11-27
    itlake.orchestration.steps.get_step("publish_od_taxi_hourly").run(spark, date(2026, 11, 27))

A step builds the catalogue entries it names for one service date and returns a `StepResult`:
the rows it wrote per lake table, and notes. What it reads comes from the catalogue: the tables
of the entries that its entries' `related` names (less what the step writes itself); what it
writes, from its entries' `schema`. `dags/itlake_derived.py` turns the steps into DAGs, each
scheduled on the Assets its steps read, and `jobs/step.py` runs any of them. Every derived entry
of the catalogue is built by exactly one step (tests/test_steps.py).

The gold and MaaS steps are listed here, each with the function that builds it; the open datasets
are one step each, found from the catalogue (`itlake.publish.datasets.releasable`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from itlake.maas import TABLES as MAAS_TABLES


@dataclass(frozen=True)
class StepResult:
    """What a step wrote for its date: rows per lake table (`gold.taxi_trip`), and notes."""

    tables: dict[str, int]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def as_json(self) -> dict:
        return {"tables": self.tables, "rows": self.rows, "notes": self.notes}


@dataclass(frozen=True)
class Step:
    """One derived step: its name (the task id), the DAG it belongs to, the catalogue entries it
    builds, and the function that builds them for a date."""

    name: str
    dag: str
    builds: tuple[str, ...]
    build: Callable[[Any, date], StepResult]

    def run(self, spark, logical_date: date) -> StepResult:
        return self.build(spark, logical_date)


def _tz() -> str:
    from itlake.config import get_settings

    return get_settings().city_timezone


def _taxi_trips(spark, day: date) -> StepResult:
    from itlake.gold.taxi_trips import run_window

    done = run_window(spark, day, _tz())
    return StepResult({"gold.taxi_trip": done["rows"]}, {"dates_rebuilt": done["dates_rebuilt"]})


def _bike_availability(spark, day: date) -> StepResult:
    from itlake.gold.bike_availability import run

    return StepResult({"gold.bike_station_availability_15min": run(spark, day, _tz())})


def _smartcard_trips(spark, day: date) -> StepResult:
    from itlake.gold.smartcard_trips import run

    done = run(spark, day, _tz())
    return StepResult(
        {"gold.smartcard_trip": done["rows"], "gold.smartcard_unmatched_tap": done["unmatched_taps"]}
    )


def _bridge_condition(spark, day: date) -> StepResult:
    from itlake.gold.bridge_condition import run

    done = run(spark, day)
    return StepResult(
        {"gold.bridge_condition_by_district": done["rows"]}, {"geoparquet": done.get("geoparquet")}
    )


def _freight_corridors(spark, day: date) -> StepResult:
    from itlake.gold.freight_corridors import run

    return StepResult({"gold.freight_corridor_flow": run(spark, day, _tz())})


def _truck_trips(spark, day: date) -> StepResult:
    from itlake.gold.truck_trips import run

    done = run(spark, day, _tz())
    return StepResult(
        {
            "gold.truck_stay": done["stays"],
            "gold.truck_trip": done["trips"],
            "gold.truck_trip_corridor": done["corridors"],
        }
    )


def _taxi_balance(spark, day: date) -> StepResult:
    from itlake.maas.taxi_balance import run

    return StepResult({"gold.maas_taxi_zone_hour": run(spark, day, _tz())})


def _maas_tables(spark, day: date) -> StepResult:
    from itlake.maas.build import run

    done = run(spark, day, _tz())
    tables = {f"gold.{name}": rows for name, rows in done["tables"].items()}
    return StepResult(tables, {k: v for k, v in done.items() if k != "tables"})


def _publish(code: str, table: str, spark, day: date) -> StepResult:
    from dataclasses import asdict

    from itlake.config import get_settings
    from itlake.publish.flow import publish

    release = asdict(publish(spark, code, day, get_settings().k_anonymity))
    return StepResult({table: release["rows"]}, release)


DERIVED = (
    Step(
        "gold_bridge_condition",
        "itlake_gold_infrastructure",
        ("bridge_condition_by_district",),
        _bridge_condition,
    ),
    Step("gold_freight_corridors", "itlake_gold_freight", ("freight_corridor_flow",), _freight_corridors),
    Step(
        "gold_truck_trips",
        "itlake_gold_freight",
        ("truck_stay", "truck_trip", "truck_trip_corridor"),
        _truck_trips,
    ),
    Step("gold_taxi_trips", "itlake_gold", ("taxi_trip",), _taxi_trips),
    Step(
        "gold_bike_availability",
        "itlake_gold_mobility",
        ("bike_station_availability_15min",),
        _bike_availability,
    ),
    Step("gold_smartcard_trips", "itlake_gold_mobility", ("smartcard_trip",), _smartcard_trips),
    Step("maas_taxi_balance", "itlake_maas", ("maas_taxi_zone_hour",), _taxi_balance),
    Step("maas_tables", "itlake_maas", MAAS_TABLES, _maas_tables),
)


def all_steps(catalog) -> list[Step]:
    """Every step of the catalogue: the gold and MaaS steps whose entries it holds, then one per
    open dataset it releases (a catalogue folder may hold only part of the resources)."""
    from itlake.publish.datasets import releasable

    names = {entry.name for entry in catalog}

    published = [
        Step(
            f"publish_{entry.name}",
            "itlake_publish",
            (entry.name,),
            partial(_publish, entry.code, entry.table),
        )
        for entry in releasable(catalog)
    ]
    return [*(s for s in DERIVED if names.issuperset(s.builds)), *published]


def get_step(name: str, catalog=None) -> Step:
    from itlake.catalog.resources import load_catalog

    steps = {s.name: s for s in all_steps(catalog or load_catalog())}
    if name not in steps:
        raise KeyError(f"no step {name!r}; the steps are {', '.join(sorted(steps))}")
    return steps[name]


def writes(catalog, step: Step) -> list[str]:
    """The lake tables a step writes, from its entries' `schema`."""
    return [f"{e.layer}.{t}" for e in map(catalog.get, step.builds) for t in e.schema]


def reads(catalog, step: Step) -> list[str]:
    """The lake tables a step reads: those of the entries its entries' `related` names, less its own."""
    own = set(writes(catalog, step))
    found = {
        f"{source.layer}.{t}"
        for entry in map(catalog.get, step.builds)
        for source in map(catalog.get, entry.related)
        for t in source.schema
    }
    return sorted(found - own)
