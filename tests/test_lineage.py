"""OpenLineage from DAG test runs: the file transport receives START and COMPLETE events whose
input and output datasets are named by catalogue code. The DAGs run as `itlake demo run` runs
them, one after another in one process (itlake/orchestration/dag_runs.py)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from tests._services import REPO, airflow, airflow_env, run_group

pytestmark = pytest.mark.slow


def test_a_dag_test_run_writes_lineage_named_by_catalogue_code(tmp_path):
    from itlake.lake.status import table_facts

    home, lake, inbox = tmp_path / "airflow", tmp_path / "lake", tmp_path / "inbox"
    day = inbox / "road_network" / "2026-11-27"
    day.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "fixtures" / "roads_tiny.geojson", day)
    events_file = home / "openlineage.json"
    env = airflow_env(
        home,
        lake,
        inbox,
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        AIRFLOW__OPENLINEAGE__EXTRACTORS="itlake.orchestration.lineage.ItlakeTaskExtractor",
    )
    assert airflow("db", "migrate", env=env, timeout=600).returncode == 0
    dags = ["itlake_ingest_infrastructure", "itlake_catalog"]
    runs = [sys.executable, "-m", "itlake.orchestration.dag_runs", "2026-11-27"]
    run = run_group([*runs, *dags], env=env, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:]
    marks = [line for line in run.stdout.splitlines() if line.startswith("ITLAKE_DAG ")]
    assert marks == [
        "ITLAKE_DAG itlake_ingest_infrastructure start",
        "ITLAKE_DAG itlake_ingest_infrastructure success",
        "ITLAKE_DAG itlake_catalog start",
        "ITLAKE_DAG itlake_catalog success",
    ]
    # The run stops at the first DAG that fails, here one that does not exist.
    stopped = run_group(
        [*runs, "itlake_no_such_dag", "itlake_catalog"],
        env=env,
        timeout=300,
    )
    assert stopped.returncode == 1
    assert [line for line in stopped.stdout.splitlines() if line.startswith("ITLAKE_DAG ")] == [
        "ITLAKE_DAG itlake_no_such_dag start",
        "ITLAKE_DAG itlake_no_such_dag failed",
    ]
    assert "'itlake_no_such_dag' could not be found" in stopped.stdout
    assert table_facts(str(lake / "silver" / "road_network"))["rows"] > 0

    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    task_events = [
        e for e in events if e["job"]["name"] == "itlake_ingest_infrastructure.ingest_road_network"
    ]
    assert {e["eventType"] for e in task_events} >= {"START", "COMPLETE"}
    (complete,) = [e for e in task_events if e["eventType"] == "COMPLETE"]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [("itlake-inbox", "01.01.001")]
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [("itlake", "01.01.001")]
    assert complete["outputs"][0]["facets"]["documentation"]["description"].startswith("silver.road_network")
