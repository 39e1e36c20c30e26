"""`itlake demo run` splits the one process that runs every DAG (itlake/orchestration/dag_runs.py)
into a log per DAG, counts each DAG's rows, and stops at the first DAG that fails. A stand-in for
the runner prints what itlake/orchestration/dag_runs.py prints, so no Airflow is needed here;
tests/test_lineage.py runs the real one."""

from __future__ import annotations

import importlib
import textwrap

import pytest
import typer

# `itlake.cli.demo_run` is also the name of the command's function in itlake/cli/__init__.py.
demo_run = importlib.import_module("itlake.cli.demo_run")

FAKE_RUNNER = """
import sys

day, *dags = sys.argv[1:]
print("loading Airflow")
for dag in dags:
    print(f"ITLAKE_DAG {dag} start")
    print(f"[info] Task started task_id=ingest_{dag} day={day}")
    print('ITLAKE_RESULT {"ok": true, "rows": 7}')
    print('ITLAKE_RESULT {"ok": true, "rows_promoted": 5}')
    state = "failed" if dag.startswith("bad") else "success"
    print(f"DagRun Finished: dag_id={dag}, state={state}")
    print(f"ITLAKE_DAG {dag} {state}")
    if state == "failed":
        sys.exit(1)
print("shutting down")
"""


@pytest.fixture
def runner(tmp_path, monkeypatch):
    (tmp_path / "fake_dag_runs.py").write_text(textwrap.dedent(FAKE_RUNNER))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    logs = tmp_path / "logs"
    logs.mkdir()
    return logs


def test_each_dag_gets_its_own_log_and_its_rows(runner, capsys):
    demo_run._run_dags(["north", "south"], "2026-11-27", runner, 0.0, runner="fake_dag_runs")

    north = (runner / "north.log").read_text()
    assert north.splitlines() == [
        "[info] Task started task_id=ingest_north day=2026-11-27",
        'ITLAKE_RESULT {"ok": true, "rows": 7}',
        'ITLAKE_RESULT {"ok": true, "rows_promoted": 5}',
        "DagRun Finished: dag_id=north, state=success",
    ]
    assert "south" in (runner / "south.log").read_text() and "north" not in (runner / "south.log").read_text()
    assert (runner / "dag-runs.log").read_text().splitlines() == ["loading Airflow", "shutting down"]
    out = capsys.readouterr().out
    assert "DAG 1/2 north" in out and "DAG 2/2 south" in out
    assert out.count("12 rows") == 2


def test_the_run_stops_at_the_first_dag_that_fails(runner, capsys):
    with pytest.raises(typer.Exit) as stopped:
        demo_run._run_dags(["north", "bad_east", "south"], "2026-11-27", runner, 0.0, runner="fake_dag_runs")

    assert stopped.value.exit_code == 1
    assert not (runner / "south.log").exists()
    out = capsys.readouterr().out
    assert "DAG 1/3 north" in out
    assert "DAG bad_east failed" in out and "state=failed" in out
