"""Airflow's metadata on PostgreSQL: `airflow db migrate` and a DAG test against a local server.

The server is a throw-away cluster (initdb into a temp folder, pg_ctl on 127.0.0.1, a free port),
from the PostgreSQL binaries that .ci/run installs (Debian's postgresql package). As root, the
server runs as the `postgres` user. Where no binaries exist or the server cannot start, the test
is skipped and says why.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests._services import airflow, airflow_env, free_port

pytestmark = pytest.mark.slow


def _pg_bin() -> Path | None:
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian's layout
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package creates the `postgres` user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture
def postgres():
    """A running PostgreSQL on 127.0.0.1; yields the SQLAlchemy URL of database `airflow`."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries (pg_ctl) found; .ci/run installs Debian's postgresql package")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
    root = Path(tempfile.mkdtemp(prefix="itlake-pg-", dir="/tmp"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    started = False
    try:
        steps = [
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "airflow", "-A", "trust", "-E", "UTF8"],
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "120",
                "-o",
                f"-h 127.0.0.1 -p {port} -k {sockets}",
                "start",
            ],
        ]
        for step in steps:
            done = subprocess.run(_as_server_user(step), capture_output=True, text=True, timeout=180)
            if done.returncode != 0:
                log = (
                    (root / "server.log").read_text(errors="replace")
                    if (root / "server.log").exists()
                    else ""
                )
                pytest.skip(
                    f"PostgreSQL could not start ({Path(step[0]).name}): {done.stderr[-500:]} {log[-500:]}"
                )
            started = started or step[-1] == "start"
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE airflow")
        conn.close()
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"
    finally:
        if started:
            subprocess.run(
                _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def test_airflow_metadata_on_postgres_migrates_and_runs_a_dag(postgres, tmp_path):
    import psycopg2

    from itlake.lake.status import table_facts

    extra = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres,
    }
    if importlib.util.find_spec("asyncpg") is None:
        # Airflow 3 builds an async engine at start-up (postgresql+asyncpg); the CLI commands run
        # here never use it. Without asyncpg in the lock, point it at a local SQLite file so the
        # sync metadata path on PostgreSQL is still tested; the api-server needs asyncpg for real.
        extra["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    env = airflow_env(tmp_path / "airflow", tmp_path / "lake", tmp_path / "inbox", **extra)
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS")  # the SQLite lock timeout
    migrated = airflow("db", "migrate", env=env, timeout=600)
    assert migrated.returncode == 0, migrated.stdout[-3000:]

    run = airflow("dags", "test", "itlake_catalog", "2026-11-27", env=env, timeout=900)
    assert run.returncode == 0 and "state=success" in run.stdout, run.stdout[-3000:]

    # The run is recorded in PostgreSQL, and its job wrote the catalogue table.
    with (
        psycopg2.connect(postgres.replace("postgresql+psycopg2", "postgresql")) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT state FROM dag_run WHERE dag_id = 'itlake_catalog'")
        assert [r[0] for r in cur.fetchall()] == ["success"]
        cur.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'itlake_catalog'")
        assert cur.fetchall() == [("sync_catalog", "success")]
    from itlake.catalog.resources import load_catalog

    facts = table_facts(str(tmp_path / "lake" / "_system" / "catalog"))
    assert facts is not None and facts["rows"] == len(load_catalog().entries)
