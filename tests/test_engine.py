"""The warm engine: a real Spark Connect server started by `itlake engine start` on a free port.

Jobs attach to it (ITLAKE_SPARK_REMOTE), two sessions share no views or settings, a job whose
engine is killed fails with one clear line and succeeds once the engine is back, and `stop` leaves
no process behind.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import date

import pytest

from itlake.config import get_settings

pytestmark = pytest.mark.slow

DAY = date(2026, 11, 27)
HEADER = "VehicleNum,time,lon,lat,OpenStatus,Speed\n"


def taxi_file(folder, plate: str, fixes: int = 6):
    rows = [
        f"{plate},2026-11-27 08:{m:02d}:00,{114.05 + m * 0.002:.6f},22.540000,{m % 2},30\n"
        for m in range(fixes)
    ]
    path = folder / f"taxi_{plate[-2:]}.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """One engine for the module, on a free port, with its pid file and log in a temp folder."""
    from itlake.lake import engine as engine_module
    from tests._services import free_port

    saved = {k: os.environ.get(k) for k in ("ITLAKE_ENGINE_PORT", "ITLAKE_ENGINE_DIR")}
    os.environ["ITLAKE_ENGINE_PORT"] = str(free_port())
    os.environ["ITLAKE_ENGINE_DIR"] = str(tmp_path_factory.mktemp("engine"))
    get_settings.cache_clear()
    state = engine_module.start()
    yield state
    engine_module.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


@pytest.fixture
def attached(engine, lake, monkeypatch):
    """Jobs of this test attach to the engine; afterwards the process is back on the session it had
    (local, or attached to the run's engine)."""
    from itlake.lake import session

    # The process's session of the run's engine, if any, is put back (not stopped) afterwards.
    monkeypatch.setattr(session, "_attached", None)
    monkeypatch.setenv("ITLAKE_SPARK_REMOTE", engine.url)
    # Set here so that monkeypatch removes it afterwards: attaching sets it for pyspark's functions.
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    get_settings.cache_clear()
    yield engine
    session.drop_attached()
    get_settings.cache_clear()


def test_start_is_idempotent_and_answers(engine):
    from itlake.lake.engine import start, status

    begun = time.monotonic()
    again = start()
    assert again.pid == engine.pid
    assert time.monotonic() - begun < 30
    assert status().answers


def test_two_attached_sessions_share_no_views_and_no_settings(attached):
    from itlake.lake.session import remote_session

    first, second = remote_session(attached.url, "a"), remote_session(attached.url, "b")
    first.range(3).createOrReplaceTempView("only_in_first")
    first.conf.set("spark.sql.shuffle.partitions", "7")
    assert first.sql("SELECT count(*) AS n FROM only_in_first").first()["n"] == 3
    assert not second.catalog.tableExists("only_in_first")
    assert second.conf.get("spark.sql.shuffle.partitions") != "7"
    first.stop()
    second.stop()


def test_a_job_attached_ingests_and_reconciles(attached, lake, tmp_path):
    from itlake.lake.delta import read_arrow
    from itlake.orchestration.submit import submit

    path = taxi_file(tmp_path, "粤B40001")
    result = submit("ingest", ["--code", "taxi_gps", "--logical-date", DAY.isoformat(), str(path)])
    assert result["ok"] and result["rows_inserted"] == 6
    assert read_arrow(str(lake / "silver" / "taxi_gps")).num_rows == 6


def test_two_attached_ingests_of_one_new_table_both_land(attached, lake, tmp_path, caplog):
    from itlake.lake.session import get_spark
    from tests.test_faults import two_ingests_at_once

    two_ingests_at_once(get_spark(), lake, tmp_path, caplog)


def test_a_job_whose_engine_is_killed_fails_clearly_and_its_retry_succeeds(attached, lake, tmp_path):
    from itlake.lake import engine
    from itlake.lake.delta import read_arrow
    from itlake.orchestration.submit import JobFailedError, submit

    path = taxi_file(tmp_path, "粤B40002", fixes=40)
    args = ["--code", "taxi_gps", "--logical-date", DAY.isoformat(), str(path)]
    failures: list[str] = []

    def run() -> None:
        try:
            submit("ingest", args)
        except JobFailedError as err:
            failures.append(str(err))

    job = threading.Thread(target=run)
    job.start()
    # Bronze is committed from the task's process; the engine is killed while it types and merges.
    bronze_log = lake / "bronze" / "taxi_gps" / "_delta_log"
    deadline = time.monotonic() + 300
    while not bronze_log.is_dir() and time.monotonic() < deadline and job.is_alive():
        time.sleep(0.05)
    os.killpg(engine.status().pid, signal.SIGKILL)
    job.join(timeout=300)
    assert len(failures) == 1
    [message] = failures
    assert "went away" in message and "itlake engine start" in message
    assert "Traceback" not in message and len(message.splitlines()) == 1

    # No engine: the next attempt is refused at once with the same advice.
    with pytest.raises(JobFailedError, match="start it with `itlake engine start`"):
        submit("ingest", args)

    engine.start()
    result = submit("ingest", args)
    assert result["ok"]
    [row] = result["ledger"]
    assert (row["status"], row["rows_read"], row["rows_inserted"]) == ("promoted", 40, 40)
    assert read_arrow(str(lake / "silver" / "taxi_gps")).num_rows == 40
    # Bronze holds the file once, although the killed attempt had committed it.
    assert read_arrow(str(lake / "bronze" / "taxi_gps")).num_rows == 40


def test_stop_leaves_no_process_behind(engine, monkeypatch):
    from itlake.lake import engine as engine_module
    from tests._services import session_members

    pid = engine_module.status().pid
    assert session_members(pid)
    assert engine_module.stop()
    assert session_members(pid) == []
    assert not engine_module.status().running
    assert not engine_module.stop()
