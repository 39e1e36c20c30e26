"""Helpers for the slow tests that start real services (Airflow, Spark, PostgreSQL, S3Proxy) on
loopback: free ports, process groups that are always stopped, an Airflow environment in a temp
folder, an S3-compatible server with a bucket."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


# Ports for the services the tests start, below Linux's ephemeral range (32768-60999). A port the
# kernel handed out (bind to port 0) could be handed out again to any listener started before the
# service binds it: the scheduler test's engine once found its port taken by another listener.
SERVICE_PORTS = range(20000, 32000)

# What attaches a process to the run's engine (tests/conftest.py): a process that must run a Spark
# of its own (a cluster's driver, a lake on S3, an installed wheel, the key probe) is started
# without them.
ATTACHED = ("ITLAKE_SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")


def own_spark(env: dict[str, str]) -> dict[str, str]:
    """`env` without what attaches a process to the run's engine."""
    return {name: value for name, value in env.items() if name not in ATTACHED}


def free_port() -> int:
    """A port no one listens on, outside the range the kernel hands out by itself."""
    while True:
        port = SERVICE_PORTS.start + secrets.randbelow(len(SERVICE_PORTS))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


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


@contextlib.contextmanager
def s3proxy_server(work: Path, bucket: str):
    """S3Proxy (`.ci/install-s3proxy`, filesystem backend) on 127.0.0.1 on a free port, with one
    bucket and keys made up for this run; yields its endpoint, keys and the bucket's store folder
    (each object is a file there). Skips the test when Java or the jar is missing."""
    import pytest

    if shutil.which("java") is None:
        pytest.skip("no java on PATH: S3Proxy needs a Java 17 runtime")
    installed = subprocess.run(
        [str(REPO / ".ci" / "install-s3proxy")], capture_output=True, text=True, timeout=900
    )
    if installed.returncode != 0:
        pytest.skip(f"S3Proxy could not be fetched from Maven Central: {installed.stderr.strip()[-500:]}")
    jar = installed.stdout.strip().splitlines()[-1]
    store = work / "store"
    (store / bucket).mkdir(parents=True)
    port = free_port()
    keys = {"AWS_ACCESS_KEY_ID": secrets.token_hex(10), "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20)}
    conf = work / "s3proxy.conf"
    conf.write_text(
        f"s3proxy.endpoint=http://127.0.0.1:{port}\n"
        "s3proxy.authorization=aws-v2-or-v4\n"
        f"s3proxy.identity={keys['AWS_ACCESS_KEY_ID']}\n"
        f"s3proxy.credential={keys['AWS_SECRET_ACCESS_KEY']}\n"
        "jclouds.provider=filesystem\n"
        f"jclouds.filesystem.basedir={store}\n",
        encoding="utf-8",
    )
    conf.chmod(0o600)
    group = ProcessGroup(work / "logs")
    try:
        command = ["java", "-Xmx256m", "-jar", jar, "--properties", str(conf)]
        server = group.start("s3proxy", command, dict(os.environ))
        wait_for_port(port, 120, server, work / "logs" / "s3proxy.log")
        yield {"endpoint": f"http://127.0.0.1:{port}", "keys": keys, "store": store / bucket}
    finally:
        group.stop()
        assert group.alive() == []
