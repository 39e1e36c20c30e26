"""Helpers for the slow tests that start real services (Airflow, Spark, PostgreSQL) on loopback:
free ports, process groups that are always stopped, an Airflow environment in a temp folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{tail}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def session_members(sid: int) -> list[int]:
    """Every live process of session `sid`. A process started with `start_new_session` leads its
    session; the Airflow scheduler's task workers move to process groups of their own but stay in
    it, so killing the session (not just the group) reaches them and the JVMs they started."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        # After the command: state, ppid, pgrp, session; a zombie is already dead.
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def kill_session(sid: int) -> None:
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class ProcessGroup:
    """Processes started in their own sessions; `stop()` kills every process of every session,
    even after a failure."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # The session may hold children (task workers, spark-submit) after its leader exits.
            kill_session(process.pid)
            process.wait()

    def alive(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]


def airflow_env(home: Path, lake: Path, inbox: Path, **extra: str) -> dict:
    """An Airflow 3 environment on SQLite in `home`, with the project's DAGs and a temp lake."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "ITLAKE_LAKE_ROOT": str(lake),
        "ITLAKE_INBOX": str(inbox),
        "ITLAKE_SPARK_MASTER": os.environ.get("ITLAKE_SPARK_MASTER", "local[2]"),
        "ITLAKE_SHUFFLE_PARTITIONS": "2",
        "ITLAKE_DRIVER_MEMORY": "1g",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "tests._sqlite_args.CONNECT_ARGS",
        "PATH": str(BIN) + os.pathsep + os.environ.get("PATH", ""),
    }
    env.update(extra)
    return env


def run_group(command: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run a command in its own process group; the whole group is killed if it overruns or the
    test is interrupted (Airflow tasks start spark-submit, which starts a JVM)."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(process.pid)
        out, _ = process.communicate()
        raise TimeoutError(
            f"{' '.join(command[:4])} overran {timeout:.0f} s; its last output:\n{out[-3000:]}"
        ) from None
    finally:
        kill_session(process.pid)
        process.wait()
    return subprocess.CompletedProcess(command, process.returncode, out, "")


def airflow(*args: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return run_group([str(BIN / "airflow"), *args], env=env, timeout=timeout)
