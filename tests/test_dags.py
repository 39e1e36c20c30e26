"""DAG integrity and policy: every DAG file imports cleanly, fast, with tags, owner and retries >= 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
EXPECTED = {
    "itlake_catalog",
    "itlake_ingest_mobility",
    "itlake_ingest_freight",
    "itlake_ingest_infrastructure",
    "itlake_gold",
    "itlake_gold_freight",
    "itlake_maas",
    "itlake_publish",
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


def test_ingest_tasks_come_from_the_catalogue(dagbag):
    tasks = {dag_id: sorted(t.task_id for t in dagbag.dags[dag_id].tasks) for dag_id in EXPECTED}
    assert tasks["itlake_ingest_mobility"] == ["ingest_gtfs", "ingest_taxi_gps"]
    assert tasks["itlake_ingest_freight"] == [
        "ingest_port_throughput",
        "ingest_truck_position",
        "ingest_waybill",
    ]
    assert tasks["itlake_ingest_infrastructure"] == ["ingest_road_network"]
    outlets = {a.name for a in dagbag.dags["itlake_ingest_mobility"].get_task("ingest_gtfs").outlets}
    assert outlets == {
        "silver.gtfs_stop",
        "silver.gtfs_route",
        "silver.gtfs_trip",
        "silver.gtfs_stop_time",
        "silver.gtfs_calendar",
    }


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
