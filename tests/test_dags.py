"""DAG integrity and policy: every DAG file imports cleanly, fast, with tags, owner and retries >= 2."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
EXPECTED = {
    "itlake_catalog",
    "itlake_ingest_mobility",
    "itlake_ingest_freight",
    "itlake_ingest_infrastructure",
    "itlake_gold",
    "itlake_gold_infrastructure",
    "itlake_gold_freight",
    "itlake_maas",
    "itlake_publish",
    "itlake_gold_mobility",
    "itlake_maintenance",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


def test_policy_tags_owner_retries(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert "itlake" in dag.tags, dag_id
        assert dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag_id}.{task.task_id}"
            assert task.owner == "itlake", f"{dag_id}.{task.task_id}"
            assert task.max_active_tis_per_dag == 1, f"{dag_id}.{task.task_id}"


def test_ingest_tasks_come_from_the_catalogue(dagbag):
    tasks = {dag_id: sorted(t.task_id for t in dagbag.dags[dag_id].tasks) for dag_id in EXPECTED}
    assert tasks["itlake_ingest_mobility"] == [
        "ingest_gbfs_station_information",
        "ingest_gbfs_station_status",
        "ingest_gbfs_vehicle_status",
        "ingest_gtfs",
        "ingest_gtfs_rt_trip_update",
        "ingest_gtfs_rt_vehicle_position",
        "ingest_ridehail_order",
        "ingest_smartcard_tap",
        "ingest_taxi_gps",
    ]
    assert tasks["itlake_ingest_freight"] == [
        "ingest_port_throughput",
        "ingest_truck_position",
        "ingest_waybill",
    ]
    assert tasks["itlake_ingest_infrastructure"] == [
        "ingest_bridge_tunnel",
        "ingest_nev_charging_station",
        "ingest_road_network",
        "ingest_transport_hub",
    ]
    outlets = {a.name for a in dagbag.dags["itlake_ingest_mobility"].get_task("ingest_gtfs").outlets}
    assert outlets == {
        f"silver.gtfs_{name}"
        for name in (
            "agency",
            "stop",
            "route",
            "trip",
            "stop_time",
            "calendar",
            "calendar_date",
            "shape",
            "frequency",
            "transfer",
            "feed_info",
            "fare_attribute",
            "fare_rule",
            "unsupported_file",
            "feed_version",
        )
    }


def test_a_feed_waits_for_the_related_feed_of_its_family(dagbag):
    mobility = dagbag.dags["itlake_ingest_mobility"]
    for task_id in ("ingest_gtfs_rt_vehicle_position", "ingest_gtfs_rt_trip_update"):
        assert mobility.get_task(task_id).upstream_task_ids == {"ingest_gtfs"}
    assert mobility.get_task("ingest_gbfs_station_status").upstream_task_ids == {
        "ingest_gbfs_station_information"
    }
    infrastructure = dagbag.dags["itlake_ingest_infrastructure"]
    assert infrastructure.get_task("ingest_bridge_tunnel").upstream_task_ids == {"ingest_road_network"}
    assert mobility.get_task("ingest_taxi_gps").upstream_task_ids == set()


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_DIR.glob("*.py")))
def test_dag_files_parse_without_heavy_imports(dag_file):
    code = (
        "import sys, runpy, time; t = time.monotonic(); "
        f"runpy.run_path({str(DAGS_DIR / dag_file)!r}); "
        "heavy = [m for m in ('pyspark', 'pandas', 'geopandas', 'great_expectations') if m in sys.modules]; "
        "print(heavy, time.monotonic() - t)"
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1].startswith("[] "), out
    assert time.monotonic() - started < 60


NEW_ENTRY_DAG_CHECK = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
dag = bag.dags["itlake_ingest_freight"]
print(json.dumps({{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "tasks": sorted(t.task_id for t in dag.tasks),
    "outlets": sorted(a.name for a in dag.get_task("ingest_port_throughput_guangzhou").outlets),
    "schedule": str(dag.timetable.expression),
}}))
"""


def test_a_new_catalogue_entry_gets_its_ingest_task_without_dag_code(tmp_path):
    """A second waybill provider, added to a copy of the catalogue, appears in the freight DAG;
    its 5-minute cycle makes the freight DAG run every 5 minutes."""
    import json
    import os
    import shutil

    repo = DAGS_DIR.parent
    catalog, schemas = tmp_path / "catalog", tmp_path / "schemas"
    shutil.copytree(repo / "catalog", catalog)
    shutil.copytree(repo / "schemas", schemas)
    entry = (catalog / "04.02.001_port_throughput.yaml").read_text(encoding="utf-8")
    entry = (
        entry.replace("code: 04.02.001", "code: 04.02.002")
        .replace("name: port_throughput", "name: port_throughput_guangzhou")
        .replace("schema: [port_throughput]", "schema: [port_throughput_guangzhou]")
        .replace("table: silver.port_throughput", "table: silver.port_throughput_guangzhou")
        .replace("update_cycle: monthly", "update_cycle: 5min")
    )
    (catalog / "04.02.002_port_throughput_guangzhou.yaml").write_text(entry, encoding="utf-8")
    contract = (schemas / "port_throughput.yaml").read_text(encoding="utf-8")
    (schemas / "port_throughput_guangzhou.yaml").write_text(
        contract.replace("name: port_throughput\n", "name: port_throughput_guangzhou\n", 1), encoding="utf-8"
    )
    env = {**os.environ, "ITLAKE_CATALOG_DIR": str(catalog), "ITLAKE_SCHEMA_DIR": str(schemas)}
    done = subprocess.run(
        [sys.executable, "-c", NEW_ENTRY_DAG_CHECK.format(dags=str(DAGS_DIR))],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["errors"] == {}
    assert found["tasks"] == [
        "ingest_port_throughput",
        "ingest_port_throughput_guangzhou",
        "ingest_truck_position",
        "ingest_waybill",
    ]
    assert found["outlets"] == ["silver.port_throughput_guangzhou"]
    assert "*/5 * * * *" in found["schedule"]


def test_schedules_follow_the_update_cycle(dagbag):
    # mobility holds taxi_gps (5min); freight holds truck positions (hourly) and waybills (daily);
    # infrastructure holds road_network (monthly).
    ingest = [d for d in EXPECTED if d.startswith("itlake_ingest")]
    summaries = {d: str(dagbag.dags[d].timetable.expression) for d in ingest}
    assert "*/5 * * * *" in summaries["itlake_ingest_mobility"]
    freight = summaries["itlake_ingest_freight"]
    assert "@hourly" in freight or "0 * * * *" in freight
    assert (
        "@monthly" in summaries["itlake_ingest_infrastructure"]
        or "0 0 1 * *" in summaries["itlake_ingest_infrastructure"]
    )


def test_derived_dags_are_scheduled_on_the_assets_they_read(dagbag):
    from airflow.sdk import Asset

    from itlake.catalog.resources import load_catalog
    from itlake.orchestration.lineage import schedule_assets

    def reads(dag_id):
        return sorted(schedule_assets(dagbag.dags[dag_id]))

    assert reads("itlake_gold") == ["silver.taxi_gps"]
    # From the catalogue's `related`: every table of the GTFS entry, not just the stop times.
    assert reads("itlake_maas") == sorted(
        [
            "gold.taxi_trip",
            "silver.gbfs_station_information",
            "silver.gbfs_station_status",
            "silver.gbfs_vehicle_status",
            "silver.ridehail_order",
            "silver.smartcard_tap",
            "silver.taxi_gps",
            *(f"silver.{t}" for t in load_catalog().get("gtfs").schema),
        ]
    )
    assert reads("itlake_gold_freight") == ["silver.truck_position", "silver.waybill", "silver.waybill_leg"]
    for dag_id in dagbag.dag_ids:
        for task in dagbag.dags[dag_id].tasks:
            assert all(isinstance(o, Asset) and o.uri.startswith("itlake://lake/") for o in task.outlets)


class _Events(dict):
    def __missing__(self, key):
        from types import SimpleNamespace

        self[key] = SimpleNamespace(extra=None)
        return self[key]


def test_emit_carries_the_row_count_and_the_service_date():
    import pendulum

    from itlake.orchestration.dag_support import MissingRowCountError, asset_for, emit, logical_day

    # Midnight in Shanghai is 16:00 UTC the day before: the run works on the Shanghai date.
    context = {"logical_date": pendulum.datetime(2026, 11, 26, 16, 0, tz="UTC"), "outlet_events": _Events()}
    assert logical_day(context) == "2026-11-27"
    emit(context, "silver.waybill", rows_promoted=4995, rows_quarantined=5)
    assert context["outlet_events"][asset_for("silver.waybill")].extra == {
        "logical_date": "2026-11-27",
        "rows_promoted": 4995,
        "rows_quarantined": 5,
        "rows": 4995,
    }
    emit(context, "gold.taxi_trip", rows=0, version=3)
    assert context["outlet_events"][asset_for("gold.taxi_trip")].extra["rows"] == 0
    with pytest.raises(MissingRowCountError, match="open.od_taxi_hourly"):
        emit(context, "open.od_taxi_hourly", version=2)


def test_lineage_names_inputs_and_outputs_by_catalogue_code(dagbag):
    from itlake.orchestration.lineage import task_lineage

    def names(datasets):
        return sorted((d.namespace, d.name) for d in datasets)

    gold = task_lineage(dagbag.dags["itlake_gold"].get_task("gold_taxi_trips"))
    assert names(gold.inputs) == [("itlake", "03.02.001")]
    assert names(gold.outputs) == [("itlake", "03.02.002")]
    gtfs = task_lineage(dagbag.dags["itlake_ingest_mobility"].get_task("ingest_gtfs"))
    assert names(gtfs.inputs) == [("itlake-inbox", "03.01.001")]
    assert names(gtfs.outputs) == [
        ("itlake", f"03.01.001/gtfs_{t}")
        for t in (
            "agency",
            "calendar",
            "calendar_date",
            "fare_attribute",
            "fare_rule",
            "feed_info",
            "feed_version",
            "frequency",
            "route",
            "shape",
            "stop",
            "stop_time",
            "transfer",
            "trip",
            "unsupported_file",
        )
    ]


def test_an_ingest_run_with_nothing_new_is_skipped_before_any_engine(
    dagbag, spark, lake, tmp_path, monkeypatch
):
    """The file in the inbox is in the ledger already: the task decides that from the ledger in its
    own process, starts no Spark session and no job, and is skipped, so it emits no asset event."""
    import pendulum
    from airflow.sdk.exceptions import AirflowSkipException

    from itlake.config import get_settings
    from itlake.ingest.flow import plan
    from itlake.lake import session
    from itlake.lake.system import record_ledger
    from itlake.orchestration import submit as orchestration

    folder = tmp_path / "inbox" / "taxi_gps" / "2026-11-27"
    folder.mkdir(parents=True)
    (folder / "taxi_gps_1.csv").write_text(
        "VehicleNum,time,lon,lat,OpenStatus,Speed\n粤B60001,2026-11-27 08:00:00,114.05,22.54,0,30\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ITLAKE_INBOX", str(tmp_path / "inbox"))
    get_settings.cache_clear()
    from itlake.catalog.resources import load_catalog

    entry = load_catalog().get("taxi_gps")
    [arrival] = plan(entry, [folder / "taxi_gps_1.csv"], date(2026, 11, 27)).arrivals
    # The ledger row an earlier run wrote for this file (a local ledger is appended by deltalake).
    record_ledger(
        None, [replace(arrival.ledger, status="promoted", rows_read=1, rows_promoted=1, rows_inserted=1)]
    )

    def no_engine(*args, **kwargs):
        raise AssertionError("a run with nothing new must not touch Spark")

    monkeypatch.setattr(session, "get_spark", no_engine)
    monkeypatch.setattr(orchestration, "submit", no_engine)
    task = dagbag.dags["itlake_ingest_mobility"].get_task("ingest_taxi_gps")
    context = {"logical_date": pendulum.datetime(2026, 11, 26, 16, 0, tz="UTC"), "outlet_events": _Events()}
    with pytest.raises(AirflowSkipException, match="nothing new for taxi_gps on 2026-11-27: 1 file"):
        task.python_callable(**context)
    assert dict(context["outlet_events"]) == {}
