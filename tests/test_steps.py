"""Derived tables as steps: every derived catalogue entry is built by exactly one step, and a step
run through jobs/step.py returns what it wrote per table."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from itlake.catalog.resources import load_catalog
from itlake.orchestration.steps import StepResult, all_steps, get_step, reads, writes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY = date(2026, 11, 27)


def test_every_derived_entry_has_exactly_one_step():
    catalog = load_catalog()
    built = Counter(name for step in all_steps(catalog) for name in step.builds)
    derived = {e.name for e in catalog.entries if not e.feed}
    assert set(built) == derived
    assert [name for name, times in built.items() if times > 1] == []


def test_a_step_reads_its_related_tables_and_writes_its_schema():
    catalog = load_catalog()
    trucks = get_step("gold_truck_trips", catalog)
    assert writes(catalog, trucks) == ["gold.truck_stay", "gold.truck_trip", "gold.truck_trip_corridor"]
    # truck_trip's `related` names truck_stay, which the step writes itself: not an input.
    assert reads(catalog, trucks) == ["silver.truck_position", "silver.waybill", "silver.waybill_leg"]
    release = get_step("publish_od_taxi_hourly", catalog)
    assert (release.dag, writes(catalog, release), reads(catalog, release)) == (
        "itlake_publish",
        ["open.od_taxi_hourly"],
        ["gold.taxi_trip"],
    )
    with pytest.raises(KeyError, match="no step 'gold_taxi_trip'"):
        get_step("gold_taxi_trip", catalog)


def test_the_taxi_step_through_the_job_entry_point(spark, lake, lenient_taxi_contract):
    from itlake.ingest.flow import ingest_file
    from itlake.orchestration.runner import run_attached

    ingest_file(spark, load_catalog().get("taxi_gps"), FIXTURES / "taxi_gps_tiny.csv", DAY)
    direct = get_step("gold_taxi_trips").run(spark, DAY)
    assert isinstance(direct, StepResult)
    assert (direct.tables, direct.rows) == ({"gold.taxi_trip": 2}, 2)
    assert direct.notes == {"dates_rebuilt": ["2026-11-27"]}
    # jobs/step.py in this process (as a task attached to the engine runs it), on the local session.
    result = run_attached(
        "step",
        Path(__file__).resolve().parents[1] / "jobs" / "step.py",
        ["--step", "gold_taxi_trips", "--logical-date", DAY.isoformat()],
    )
    assert result["ok"] and result["tables"] == {"gold.taxi_trip": 2} and result["rows"] == 2
