"""A real Spark standalone cluster on 127.0.0.1, from the pyspark installation: master and worker
(1 core, 1 GiB), over a lake on object storage. One ingest job and one gold job run on it through
spark-submit, exactly as the Airflow tasks launch them (itlake/orchestration/submit.py against
ITLAKE_SPARK_MASTER); then an ingest killed with SIGKILL mid-write and retried must give the same
tables as the clean run.

The lake is `s3a://itlake/lake` on S3Proxy (tests/_services.py), so the driver, the worker and the
lake share no local folder, as on machines of their own: the worker is started with nothing of the
lake's (no store settings, no keys, no AWS SDK setting in its environment), and its executors get
the s3a settings, the keys and the jars with each job. The driver reads the inbox; the executors
read and write the bucket only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from itlake.config import get_settings
from itlake.lake.integrity import commit_problems, table_digest
from tests._services import ATTACHED, REPO, ProcessGroup, free_port, s3proxy_server, wait_for_port

pytestmark = pytest.mark.slow(minutes=4)

DAY = date(2026, 11, 27)
BUCKET = "itlake"
LAKE = f"s3a://{BUCKET}/lake"
RESULTS: dict[str, dict] = {}
# Where the lake is and how to reach its store, and the AWS SDK's settings: none of it is given to
# the worker. (The pseudonym key is: the workers hash with it, as in production.)
LAKE_ENVIRONMENT = ("ITLAKE_LAKE_ROOT", "ITLAKE_S3_", "AWS_")


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _master_state(webui_port: int) -> dict:
    """The master's state from its web UI; empty while the UI is up but its pages are not yet: for
    a moment after its port opens it answers 404, then a page that is not yet JSON."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{webui_port}/json", timeout=120) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return {}
        raise
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return {}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    from itlake.demo import generate_city

    out = tmp_path_factory.mktemp("inbox")
    generate_city(out, scale=0.05, seed=7, date=DAY)
    return out


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """S3Proxy on loopback with the bucket of the lake; yields its endpoint, keys and store folder."""
    with s3proxy_server(tmp_path_factory.mktemp("s3proxy"), BUCKET) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Master and one worker; yields (master URL, web UI port, the worker's work folder); both are
    stopped afterwards."""
    spark_home = _spark_home()
    work = tmp_path_factory.mktemp("spark")
    classpath = str(spark_home / "jars" / "*")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(LAKE_ENVIRONMENT)},
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        # What bin/load-spark-env.sh sets: without it the worker's launcher looks for a source build.
        "SPARK_SCALA_VERSION": "2.13",
        "SPARK_WORKER_DIR": str(work / "worker"),
        # The worker node has the project importable, as an image with itlake installed would.
        "PYTHONPATH": str(REPO),
    }
    port, webui, worker_ui = free_port(), free_port(), free_port()
    group = ProcessGroup(work / "logs")
    try:
        master = group.start(
            "master",
            [
                "java",
                "-Xmx256m",
                "-cp",
                classpath,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(webui),
            ],
            env,
        )
        # A JVM may take minutes to start when the machine is shared with other work.
        wait_for_port(webui, 600, master, work / "logs" / "master.log")
        worker = group.start(
            "worker",
            [
                "java",
                "-Xmx256m",
                "-cp",
                classpath,
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--webui-port",
                str(worker_ui),
                "--cores",
                "1",
                "--memory",
                "1g",
                f"spark://127.0.0.1:{port}",
            ],
            env,
        )
        deadline = time.monotonic() + 600
        while _master_state(webui).get("aliveworkers", 0) < 1:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((work / "logs" / "worker.log").read_text(errors="replace")[-3000:])
            time.sleep(2)
        yield f"spark://127.0.0.1:{port}", webui, work / "worker"
    finally:
        group.stop()
        assert group.alive() == []


def _use(monkeypatch, lake: str, inbox: Path, master: str, engine_dir: Path, s3: dict | None = None) -> None:
    for name in ATTACHED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ITLAKE_LAKE_ROOT", lake)
    monkeypatch.setenv("ITLAKE_INBOX", str(inbox))
    monkeypatch.setenv("ITLAKE_SPARK_MASTER", master)
    monkeypatch.setenv("ITLAKE_DRIVER_MEMORY", "1g")
    # The writer lock of a lake on object storage lives here (itlake/lake/storage.py).
    monkeypatch.setenv("ITLAKE_ENGINE_DIR", str(engine_dir))
    if s3 is not None:
        monkeypatch.setenv("ITLAKE_S3_ENDPOINT", s3["endpoint"])
        monkeypatch.setenv("ITLAKE_S3_PATH_STYLE", "true")
        for name, value in s3["keys"].items():
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _s3a_folders(*roots: Path) -> list[str]:
    return [str(p) for root in roots for p in root.rglob("s3a:*")]


TABLES = ("bronze/taxi_gps", "silver/taxi_gps", "quarantine/taxi_gps")


def test_ingest_and_gold_jobs_run_on_a_standalone_cluster(cluster, s3, inbox, tmp_path_factory, monkeypatch):
    from itlake.orchestration.submit import submit, submit_step

    master, webui, worker_dir = cluster
    # The worker's work folder and the store's folder hold nothing of each other.
    store = s3["store"].resolve()
    assert not worker_dir.resolve().is_relative_to(store) and not store.is_relative_to(worker_dir.resolve())
    driver = tmp_path_factory.mktemp("driver")
    _use(monkeypatch, LAKE, inbox, master, driver / "engine", s3)
    monkeypatch.chdir(driver)
    started = time.monotonic()
    ingested = submit("ingest", ["--code", "taxi_gps", "--logical-date", DAY.isoformat()])
    gold = submit_step("gold_taxi_trips", DAY.isoformat())
    RESULTS["wall_s"] = {"cluster": round(time.monotonic() - started)}

    apps = {a["name"]: a["state"] for a in _master_state(webui)["completedapps"]}
    assert apps == {"itlake-ingest": "FINISHED", "itlake-gold_taxi_trips": "FINISHED"}
    # Both jobs' tasks ran in executors the worker started, in folders of its own.
    assert len(list(worker_dir.glob("app-*/*/stderr"))) >= 2
    (ledger,) = ingested["ledger"]
    assert ledger["status"] == "promoted" and ledger["rows_read"] > 1000
    assert (
        ledger["rows_read"] == ledger["rows_promoted"] + ledger["rows_duplicate"] + ledger["rows_quarantined"]
    )

    from itlake.lake.status import table_facts

    assert table_facts(f"{LAKE}/silver/taxi_gps")["rows"] == ledger["rows_promoted"]
    assert gold["rows"] > 0
    assert table_facts(f"{LAKE}/gold/taxi_trip")["rows"] == gold["rows"]
    RESULTS["clean"] = {t: table_digest(f"{LAKE}/{t}") for t in TABLES}
    # The tables are in the bucket (the server's store folder), none on this machine's folders:
    # no Delta log under the worker's or the driver's folder, no local folder named `s3a:`.
    assert {t: (store / "lake" / t / "_delta_log").is_dir() for t in TABLES} == dict.fromkeys(TABLES, True)
    assert list(worker_dir.rglob("_delta_log")) == list(driver.rglob("_delta_log")) == []
    assert _s3a_folders(worker_dir, driver, inbox, REPO) == []
    print("cluster run:", RESULTS["wall_s"], "ledger:", ledger, "gold rows:", gold["rows"])


def test_an_ingest_killed_mid_write_and_retried_gives_the_same_tables(inbox, tmp_path, monkeypatch):
    """SIGKILL the spark-submit once bronze is committed (silver is being written), then retry: on
    the test run's engine when there is one (a retry may run where the first try did not), else
    with spark-submit again."""
    from itlake.lake.session import submit_env
    from itlake.orchestration.submit import spark_submit_command, submit

    if "clean" not in RESULTS:
        pytest.skip("needs the clean run of the cluster test")
    # What attaches this process to the run's engine, if anything does (`_use` takes it away).
    run_engine = {name: os.environ[name] for name in ATTACHED if name in os.environ}
    lake = tmp_path / "lake"
    _use(monkeypatch, str(lake), inbox, "local[2]", tmp_path / "engine")
    args = ["--code", "taxi_gps", "--logical-date", DAY.isoformat()]
    job = subprocess.Popen(
        spark_submit_command("ingest", args),
        env=submit_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    bronze_log = lake / "bronze" / "taxi_gps" / "_delta_log"
    try:
        deadline = time.monotonic() + 600
        while not list(bronze_log.glob("*.json")) and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job.poll() is None, "the job ended before it could be killed mid-write"
        os.killpg(job.pid, signal.SIGKILL)
    finally:
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job.wait()

    # The killed run left whole commits only: every table it began has a complete history.
    begun = [t for t in TABLES if (lake / t / "_delta_log").is_dir()]
    assert "bronze/taxi_gps" in begun
    assert {t: commit_problems(lake / t) for t in begun} == {t: [] for t in begun}
    if "ITLAKE_SPARK_REMOTE" in run_engine:
        for name, value in run_engine.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
    retried = submit("ingest", args)
    assert [r["status"] for r in retried["ledger"]] == ["promoted"]
    assert {t: table_digest(lake / t) for t in TABLES} == RESULTS["clean"]
    # A second retry (the task succeeded but Airflow retried it) changes nothing.
    again = submit("ingest", args)
    assert [r["status"] for r in again["ledger"]] == ["already_ingested"]
    assert {t: table_digest(lake / t) for t in TABLES} == RESULTS["clean"]
    assert {t: commit_problems(lake / t) for t in TABLES} == {t: [] for t in TABLES}
