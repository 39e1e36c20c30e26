"""The warm engine: one long-lived Spark Connect server, with Delta, that every task attaches to.

    itlake engine start     # idempotent; returns once the server answers a query
    itlake engine status    # pid, url, log, and whether it answers
    itlake engine stop      # the server and every process it started

A task attaches with `ITLAKE_SPARK_REMOTE=sc://localhost:15002` (the session factory,
itlake/lake/session.py, then builds a Connect session instead of a local JVM), so it pays a few
hundred milliseconds instead of a JVM start and Delta's jar resolution (about 20 s). The server
is the session factory's settings passed to `spark-submit --class SparkConnectServer`: the same
master, Delta extension and catalog, time zone and memory. Its pid, port and log live in
ITLAKE_ENGINE_DIR (default ~/.cache/itlake/engine).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from itlake.config import get_settings
from itlake.lake.storage import name_holder, take_writer_lock

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 30.0


class EngineUnavailableError(RuntimeError):
    """No engine answers at the configured address; the message says how to start one."""


@dataclass(frozen=True)
class EngineState:
    pid: int | None
    url: str
    log: Path
    running: bool
    answers: bool

    @property
    def summary(self) -> str:
        if self.answers:
            return f"running (pid {self.pid}) at {self.url}"
        if self.running:
            return f"starting (pid {self.pid}); not answering at {self.url} yet"
        return "stopped"


def engine_url(port: int | None = None) -> str:
    return f"sc://localhost:{port or get_settings().engine_port}"


def log_path() -> Path:
    """The engine's log: the server's stdout and stderr, rewritten at each start."""
    return get_settings().engine_dir / "engine.log"


def _files() -> tuple[Path, Path, Path]:
    folder = get_settings().engine_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "engine.pid", log_path(), folder / "engine.lock"


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    """True while the process group of `pid` has a process in it (the server leads its group)."""
    if pid is None:
        return False
    # Reap the server if it is an exited child of this process, so that it does not count.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def answers(url: str) -> bool:
    """True when a session attached at `url` runs a query (the port alone opens before Delta loads)."""
    from itlake.lake.session import connect_mode, remote_session

    # A health check leaves this process as it was: a local session keeps working after it.
    with connect_mode():
        try:
            session = remote_session(url, "itlake-engine-health")
            ok = session.sql("SELECT 1 AS one").collect()[0]["one"] == 1
            session.stop()
            return ok
        except Exception:
            return False


def server_command(port: int) -> list[str]:
    """spark-submit of the Connect server with every setting of the session factory."""
    from itlake.lake.session import spark_submit_base

    bind = get_settings().engine_bind
    return [
        *spark_submit_base("itlake-engine"),
        "--class",
        SERVER_CLASS,
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        # Loopback by default: the engine runs every job it is sent, so it is not for an open
        # network (compose binds it inside the stack's own network, with no port published).
        "--conf",
        f"spark.connect.grpc.binding.address={bind}",
        "spark-internal",
    ]


def status() -> EngineState:
    pid_file, log_file, _ = _files()
    pid = _read_pid(pid_file)
    url = engine_url()
    running = _alive(pid)
    return EngineState(
        pid=pid if running else None,
        url=url,
        log=log_file,
        running=running,
        answers=running and port_open(get_settings().engine_port) and answers(url),
    )


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """One `start` at a time on this machine; a second waits, then finds the engine running."""
    *_, lock_file = _files()
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start(timeout_s: float = START_TIMEOUT_S) -> EngineState:
    """Start the engine unless it runs already; return once it answers a query."""
    from itlake.lake.session import submit_env

    settings = get_settings()
    with _start_lock():
        state = status()
        if state.answers:
            return state
        pid_file, log_file, _ = _files()
        if not state.running:
            if port_open(settings.engine_port):
                raise EngineUnavailableError(
                    f"port {settings.engine_port} is taken by another program; "
                    "choose another with ITLAKE_ENGINE_PORT"
                )
            # On object storage the server is the lake's one writer: it inherits the writer lock.
            lock = take_writer_lock(settings.lake_root)
            try:
                with log_file.open("w") as log:
                    process = subprocess.Popen(
                        server_command(settings.engine_port),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=submit_env(),
                        # Its own process group, so that `stop` ends the server and its Python workers.
                        start_new_session=True,
                        pass_fds=() if lock is None else (lock,),
                    )
                if lock is not None:
                    name_holder(lock, process.pid)
            finally:
                if lock is not None:
                    os.close(lock)
            partial = pid_file.with_suffix(".partial")
            partial.write_text(str(process.pid))
            partial.rename(pid_file)
        return _wait_until_answering(timeout_s)


def _wait_until_answering(timeout_s: float) -> EngineState:
    deadline = time.monotonic() + timeout_s
    while True:
        state = status()
        if state.answers:
            return state
        if not state.running:
            raise EngineUnavailableError(
                f"the engine stopped while starting; see {state.log}:\n{_tail(state.log)}"
            )
        if time.monotonic() > deadline:
            raise EngineUnavailableError(
                f"the engine did not answer within {timeout_s:.0f} s; see {state.log}:\n{_tail(state.log)}"
            )
        time.sleep(1.0)


def run_in_foreground() -> None:
    """Become the engine's server (for a container's main process): the pid file names this
    process, which `exec` hands to the server, so `status` and `stop` work as for `start`."""
    from itlake.lake.session import submit_env

    pid_file, _, _ = _files()
    # Lead a process group, as a started engine does, so that `status` and `stop` find it
    # (a process that leads its session already may not, and need not).
    with contextlib.suppress(PermissionError):
        os.setsid()
    pid_file.write_text(str(os.getpid()))
    command = server_command(get_settings().engine_port)
    os.execvpe(command[0], command, submit_env())


def stop(timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop the engine and every process of its group; False when none was running."""
    pid_file, _, _ = _files()
    pid = _read_pid(pid_file)
    if not _alive(pid):
        pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
