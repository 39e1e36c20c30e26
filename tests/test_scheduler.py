"""A real Airflow 3 on loopback: api-server, scheduler, dag-processor and triggerer on SQLite in a
temporary AIRFLOW_HOME, running the project's DAGs on a tiny demo city.

The DAGs are generated from a catalogue with the entries this test runs (copied from catalog/):
taxi GPS and its derived trip and open OD tables (mobility), and waybills (freight). So the
mobility ingest DAG has one task, the freight ingest DAG runs daily (the waybill cycle; the full
freight family runs hourly, at the truck-position cycle) and the publish DAG releases one dataset.

1. The pipeline, triggered through the REST API (/api/v2, a JWT from /auth/token): the mobility
   ingest DAG for the demo date; its asset event schedules gold, whose event schedules publish.
   The test waits for all three, then checks the tables against the ledger.
2. `airflow backfill create` over three demo days of the freight DAG gives the same waybill
   tables (rows and a content hash) as running the ingest for each day in turn.
3. Keeping pace with the taxi feed's 5-minute cadence: a run of the mobility DAG with nothing new
   in the inbox is skipped, starts no Spark job on the engine (its REST API counts the jobs) and
   emits no asset event; a file that lands next is ingested by the next run within the interval,
   and its event runs gold again.

Every task attaches to one warm engine (`itlake engine start`, on free ports), as in production.

The demo days lie in the past, so the runs the scheduler makes on its own for today (the DAGs
are unpaused) find an empty inbox and skip. Every process the test starts leads its own session,
and every process of those sessions is killed in a `finally`.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests._services import (
    BIN,
    REPO,
    ProcessGroup,
    airflow,
    airflow_env,
    free_port,
    run_group,
    session_members,
    wait_for_port,
)
from tests.test_cluster import table_digest

# About 7 minutes on the 2-core machine beside the other tests (410 s on 7 Dec 2026): handed out first.
pytestmark = pytest.mark.slow(minutes=7)

DAY = date(2026, 3, 2)
DAYS = [DAY + timedelta(days=n) for n in range(3)]
MOBILITY = "itlake_ingest_mobility"
PIPELINE = [MOBILITY, "itlake_gold", "itlake_publish"]
FEEDS = ("taxi_gps", "waybill")
# taxi GPS, taxi trips, OD taxi hourly (open data), waybills.
ENTRIES = ("03.02.001", "03.02.002", "05.01.001", "04.01.001")
RUNS_TIMEOUT = 2400  # seconds, from the start of the Airflow processes to the last successful run
INTERVAL_S = 300  # the taxi feed's update cycle, which the mobility DAG runs at
WAYBILL_TABLES = ("bronze/waybill", "silver/waybill", "silver/waybill_leg", "quarantine/waybill")


def _catalog(folder: Path) -> Path:
    """The entries of ENTRIES, copied from the project's catalogue."""
    folder.mkdir()
    shutil.copy(REPO / "catalog" / "classes.yaml", folder)
    for code in ENTRIES:
        (path,) = (REPO / "catalog").glob(f"{code}_*.yaml")
        shutil.copy(path, folder)
    return folder


def _city(inbox: Path) -> None:
    """Three demo days in one inbox, one manifest listing them all (so all count as synthetic).
    Only the feeds the test runs are kept: taxi GPS on the first day, waybills on all three."""
    from itlake.demo import generate_city

    files = []
    for day in DAYS:
        generate_city(inbox, scale=0.05, seed=11, date=day)
        files += json.loads((inbox / "manifest.json").read_text(encoding="utf-8"))["files"]
    for folder in inbox.iterdir():
        if folder.is_dir() and folder.name not in FEEDS:
            shutil.rmtree(folder)
    for day in DAYS[1:]:
        shutil.rmtree(inbox / "taxi_gps" / day.isoformat())
    manifest = json.loads((inbox / "manifest.json").read_text(encoding="utf-8"))
    kept = [f for f in files if (inbox / f["path"]).exists()]
    (inbox / "manifest.json").write_text(json.dumps({**manifest, "files": kept}), encoding="utf-8")


def _taxi_file_arriving(inbox: Path, seed: int) -> Path:
    """Another taxi GPS file of DAY (a fleet of another seed), as the next 5-minute drop."""
    from itlake.demo import generate_city

    other = inbox.parent / f"arriving-{seed}"
    generate_city(other, scale=0.05, seed=seed, date=DAY)
    (source,) = (other / "taxi_gps" / DAY.isoformat()).glob("*.csv")
    target = inbox / "taxi_gps" / DAY.isoformat() / f"arrived_{seed}_{source.name}"
    shutil.copyfile(source, target)
    return target


def _engine_jobs(ui_port: int) -> int:
    """Spark jobs the engine has run so far, from its REST API."""
    base = f"http://127.0.0.1:{ui_port}/api/v1/applications"
    with urllib.request.urlopen(base, timeout=60) as response:
        (application,) = json.load(response)
    with urllib.request.urlopen(f"{base}/{application['id']}/jobs", timeout=60) as response:
        return len(json.load(response))


class Api:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{self.base}/auth/token", timeout=180) as response:
            self.token = json.load(response)["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.base}/api/v2{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=180) as response:
            return json.load(response)

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]

    def trigger(self, dag_id: str, logical_date: str, run_id: str) -> None:
        run = self.call(
            "POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "dag_run_id": run_id}
        )
        assert run["state"] == "queued"

    def run(self, dag_id: str, run_id: str) -> dict | None:
        """The run once it has ended (success or failed), else None."""
        run = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        found = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {t["task_id"]: t["state"] for t in found}

    def events(self, uri: str) -> int:
        """Asset events of the asset `uri` so far."""
        assets = self.call("GET", "/assets?limit=100")["assets"]
        (asset,) = [a for a in assets if a["uri"] == uri]
        return self.call("GET", f"/assets/events?asset_id={asset['id']}&limit=100")["total_entries"]

    def failing(self) -> list[str]:
        """Task instances that failed or wait for a retry, in any run of any DAG (the DAGs retry
        twice, a minute apart: waiting for that would hide the first failure for minutes)."""
        found = self.call("GET", "/dags/~/dagRuns/~/taskInstances?state=failed&state=up_for_retry")
        return [f"{t['dag_id']}.{t['task_id']} ({t['dag_run_id']})" for t in found["task_instances"]]


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _wait(condition, deadline: float, what: str, group: ProcessGroup, api: Api | None = None):
    """Poll `condition` every 5 s until it returns something true or `deadline` (monotonic) passes."""
    while time.monotonic() < deadline:
        if len(group.alive()) < len(group.processes):
            raise RuntimeError(f"an Airflow process died while waiting for {what}; logs in {group.logs}")
        failing = []
        try:
            failing = api.failing() if api else []
            result = None if failing else condition()
        except (TimeoutError, urllib.error.URLError):
            result = None  # the API server answers slowly while Spark jobs hold the CPUs
        assert not failing, f"waiting for {what}: {failing} failed; task logs in {group.logs.parent}"
        if result:
            return result
        time.sleep(5)
    raise TimeoutError(f"{what} did not happen in time; logs in {group.logs}")


def test_scheduler_runs_the_pipeline_and_a_backfill_through_the_api(tmp_path, request):
    from itlake.lake.status import table_facts

    home, lake, inbox = tmp_path / "airflow", tmp_path / "lake", tmp_path / "inbox"
    catalog = _catalog(tmp_path / "catalog")
    _city(inbox)
    port, engine_port, ui_port = free_port(), free_port(), free_port()
    # The engine's Spark UI on a free port, for its REST API (spark-defaults.conf of SPARK_CONF_DIR).
    spark_conf = tmp_path / "spark-conf"
    spark_conf.mkdir()
    (spark_conf / "spark-defaults.conf").write_text(f"spark.ui.port {ui_port}\n", encoding="utf-8")
    env = airflow_env(
        home,
        lake,
        inbox,
        ITLAKE_CATALOG_DIR=str(catalog),
        ITLAKE_ENGINE_DIR=str(tmp_path / "engine"),
        ITLAKE_ENGINE_PORT=str(engine_port),
        ITLAKE_SPARK_REMOTE=f"sc://127.0.0.1:{engine_port}",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        # The log servers of the scheduler and the triggerer, on free ports rather than 8793/8794.
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__CORE__PARALLELISM="2",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET="itlake-test-jwt-secret-not-for-production",
        AIRFLOW__API__SECRET_KEY="itlake-test-secret-key-not-for-production",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="10",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
        # A task's supervisor talks to the API server (on SQLite) all along; the default 5 s wait
        # for an answer killed tasks when the machine was busy (httpx.ReadTimeout in scheduler.log).
        AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="120",
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(home / "openlineage.json"), "append": True}
        ),
        AIRFLOW__OPENLINEAGE__EXTRACTORS="itlake.orchestration.lineage.ItlakeTaskExtractor",
    )
    started = time.monotonic()
    migrated = airflow("db", "migrate", env=env, timeout=900)
    assert migrated.returncode == 0, migrated.stdout[-3000:]

    # The freight backfill: three Shanghai service days. Created before the other processes start,
    # since the CLI writes to the same SQLite file the scheduler holds locked under load.
    reserialized = airflow("dags", "reserialize", env=env, timeout=900)
    assert reserialized.returncode == 0, reserialized.stdout[-3000:]
    backfill = airflow(
        "backfill", "create", "--dag-id", "itlake_ingest_freight",
        "--from-date", f"{DAYS[0].isoformat()}T00:00:00+08:00",
        "--to-date", f"{DAYS[-1].isoformat()}T00:00:00+08:00",
        env=env, timeout=900,
    )  # fmt: skip
    assert backfill.returncode == 0, backfill.stdout[-3000:]

    group = ProcessGroup(tmp_path / "logs")
    # One budget for all the waiting: on an idle machine the runs take a few minutes; the margin is
    # for a machine shared with other work, where the API server may take minutes to start and a
    # Spark job ten.
    deadline = time.monotonic() + RUNS_TIMEOUT
    engine_env = {**env, "ITLAKE_SPARK_UI": "true", "SPARK_CONF_DIR": str(spark_conf)}
    try:
        engine = run_group([str(BIN / "itlake"), "engine", "start"], engine_env, timeout=600)
        assert engine.returncode == 0, engine.stdout[-3000:]
        engine_pid = int((tmp_path / "engine" / "engine.pid").read_text())
        api_server = group.start(
            "api-server",
            [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env,
        )
        for component in ("scheduler", "dag-processor", "triggerer"):
            group.start(component, [str(BIN / "airflow"), component], env)
        wait_for_port(port, deadline - time.monotonic(), api_server, group.logs / "api-server.log")
        api = Api(port)

        def parsed():
            dags = {d["dag_id"] for d in api.call("GET", "/dags?limit=100")["dags"]}
            return set(PIPELINE) | {"itlake_ingest_freight"} <= dags

        _wait(parsed, deadline, "the DAGs to be parsed", group)
        for dag_id in [*PIPELINE, "itlake_ingest_freight"]:
            api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})

        triggered = api.call(
            "POST",
            "/dags/itlake_ingest_mobility/dagRuns",
            {"logical_date": f"{DAY.isoformat()}T00:00:00Z", "dag_run_id": "api-demo-day"},
        )
        assert triggered["state"] == "queued"

        def finished(dag_id, want=1, run_type=None):
            def check():
                runs = [r for r in api.runs(dag_id) if run_type is None or r["run_type"] == run_type]
                failed = [r for r in runs if r["state"] == "failed"]
                assert not failed, f"{dag_id} failed: {failed}; logs in {home / 'logs'}"
                done = [r for r in runs if r["state"] == "success"]
                return done if len(done) >= want else None

            return check

        mobility = _wait(
            finished("itlake_ingest_mobility", run_type="manual"), deadline, "the mobility run", group, api
        )
        gold = _wait(finished("itlake_gold"), deadline, "the gold run", group, api)
        published = _wait(finished("itlake_publish"), deadline, "the publish run", group, api)
        backfilled = _wait(
            finished("itlake_ingest_freight", 3, "backfill"), deadline, "the backfill", group, api
        )
        wall = time.monotonic() - started

        # 3. The next 5-minute interval: nothing new has landed.
        silver_taxi = "itlake://lake/silver/taxi_gps"
        jobs, events = _engine_jobs(ui_port), api.events(silver_taxi)
        api.trigger(MOBILITY, f"{DAY.isoformat()}T00:05:00Z", "nothing-new")
        idle = _wait(lambda: api.run(MOBILITY, "nothing-new"), deadline, "the idle run", group)
        idle_states = api.task_states(MOBILITY, "nothing-new")
        idle_jobs, idle_events = _engine_jobs(ui_port), api.events(silver_taxi)
        # The interval after: a file lands, and the run takes it.
        arrived = _taxi_file_arriving(inbox, seed=12)
        api.trigger(MOBILITY, f"{DAY.isoformat()}T00:10:00Z", "file-arrived")
        busy = _wait(lambda: api.run(MOBILITY, "file-arrived"), deadline, "the next run", group)
        busy_jobs, busy_events = _engine_jobs(ui_port), api.events(silver_taxi)
        busy_states = api.task_states(MOBILITY, "file-arrived")
        regold = _wait(finished("itlake_gold", 2), deadline, "gold after the new file", group, api)
    finally:
        group.stop()
        run_group([str(BIN / "itlake"), "engine", "stop"], engine_env, timeout=120)
    assert group.alive() == []
    assert [session_members(p.pid) for p in group.processes] == [[]] * 4
    assert session_members(engine_pid) == [], "itlake engine stop left processes behind"
    print(f"scheduler run: pipeline and backfill done in {wall:.0f} s")

    # Keeping pace: nothing new -> skipped, no Spark job, no event; a new file -> in its interval.
    assert idle["state"] == "success" and idle_states == {"ingest_taxi_gps": "skipped"}
    assert (idle_jobs, idle_events) == (jobs, events)
    assert busy["state"] == "success"
    assert busy_states == {"ingest_taxi_gps": "success"}
    took = _seconds(busy["end_date"]) - _seconds(busy["start_date"])
    print(f"scheduler run: the run of a new 5-minute file took {took:.0f} s")
    assert took < INTERVAL_S
    assert busy_jobs > idle_jobs and busy_events == idle_events + 1
    assert len(regold) == 2

    assert mobility[0]["logical_date"].startswith(DAY.isoformat())
    assert [r["run_type"] for r in gold] == ["asset_triggered"]
    assert [r["run_type"] for r in published] == ["asset_triggered"]
    assert sorted(r["logical_date"][:10] for r in backfilled) == [
        (d - timedelta(days=1)).isoformat() for d in DAYS
    ]

    # The tables the pipeline wrote agree with the ledger.
    from deltalake import DeltaTable

    ledger = DeltaTable(str(lake / "_system" / "ingest_ledger")).to_pyarrow_dataset().to_table().to_pylist()
    taxi = sorted((r for r in ledger if r["table"] == "taxi_gps"), key=lambda r: r["finished_at"])
    assert [(r["status"], str(r["logical_date"])) for r in taxi] == [("promoted", DAY.isoformat())] * 2
    assert taxi[1]["source_file"] == arrived.name and taxi[1]["rows_inserted"] > 0
    assert table_facts(str(lake / "silver" / "taxi_gps"))["rows"] == sum(r["rows_inserted"] for r in taxi)
    assert table_facts(str(lake / "gold" / "taxi_trip"))["rows"] > 0
    waybills = sorted((str(r["logical_date"]), r["status"]) for r in ledger if r["table"] == "waybill")
    assert waybills == [(d.isoformat(), "promoted") for d in DAYS]

    # Lineage events name the tables by catalogue code.
    events = [json.loads(line) for line in (home / "openlineage.json").read_text().splitlines() if line]
    gold_done = [
        e
        for e in events
        if e["job"]["name"] == "itlake_gold.gold_taxi_trips" and e["eventType"] == "COMPLETE"
    ]
    assert [(d["namespace"], d["name"]) for d in gold_done[0]["inputs"]] == [("itlake", "03.02.001")]
    assert [(d["namespace"], d["name"]) for d in gold_done[0]["outputs"]] == [("itlake", "03.02.002")]

    # The backfill gives the same waybill tables as running the ingest for each day in turn, with
    # the test session's Spark (the body of jobs/ingest.py), now that the Airflow processes are gone.
    from itlake.config import get_settings
    from itlake.ingest.pipeline import ingest_resource

    spark = request.getfixturevalue("spark")
    daily = tmp_path / "daily-lake"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ITLAKE_LAKE_ROOT", str(daily))
        patch.setenv("ITLAKE_INBOX", str(inbox))
        get_settings.cache_clear()
        for day in DAYS:
            ingest_resource(spark, "waybill", day)
    get_settings.cache_clear()
    assert {t: table_digest(lake / t) for t in WAYBILL_TABLES} == {
        t: table_digest(daily / t) for t in WAYBILL_TABLES
    }
