"""Engine: one one-row job as an Airflow task runs it, through spark-submit and attached to the
warm engine, in one run.

Both paths start a new process, as a task does: `spark-submit bench/one_row_job.py` (a JVM of
its own, Delta's jars resolved from the local cache), and a Python process that attaches to a
Spark Connect server started once by the benchmark (`itlake engine start`, on a free port) and
runs the same job with `itlake.orchestration.runner.run_attached`. Each path runs three times; the
ratio is the median spark-submit time over the median attached time. The engine's own start is in the note;
it is paid once per machine, not per task.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
from pathlib import Path

from bench.common import DEMO_DATE, result, scratch_dir, timed

GOAL = ">= 4x"
REPEAT = 3
JOB = Path(__file__).resolve().parent / "one_row_job.py"
ATTACHED = (
    "import sys; from pathlib import Path; from itlake.orchestration.runner import run_attached; "
    "r = run_attached('one_row_job', Path(sys.argv[1]), ['--logical-date', sys.argv[2]]); "
    "sys.exit(0 if r['ok'] else 1)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{command[0]} failed ({done.returncode}): {done.stdout[-800:]}{done.stderr[-800:]}"
        )


def run(scale: float) -> list[dict]:
    from itlake.config import get_settings
    from itlake.lake import engine
    from itlake.lake.session import spark_submit_base, submit_env

    with scratch_dir("engine") as work:
        env = {
            **submit_env(),
            "ITLAKE_LAKE_ROOT": str(work / "lake"),
            "ITLAKE_ENGINE_PORT": str(_free_port()),
            "ITLAKE_ENGINE_DIR": str(work / "engine"),
        }
        saved = dict(os.environ)
        os.environ.update(env)
        get_settings.cache_clear()
        try:
            start_s, state = timed(engine.start)
            day = DEMO_DATE.isoformat()
            submit = [*spark_submit_base("itlake-one_row_job"), str(JOB), "--logical-date", day]
            attached = [sys.executable, "-c", ATTACHED, str(JOB), day]
            # One of each first: the page cache and the engine's first query are not what a task pays.
            _run(submit, env)
            _run(attached, {**env, "ITLAKE_SPARK_REMOTE": state.url})
            submit_s = statistics.median(timed(lambda: _run(submit, env))[0] for _ in range(REPEAT))
            attached_s = statistics.median(
                timed(lambda: _run(attached, {**env, "ITLAKE_SPARK_REMOTE": state.url}))[0]
                for _ in range(REPEAT)
            )
        finally:
            engine.stop()
            os.environ.clear()
            os.environ.update(saved)
            get_settings.cache_clear()
    return [
        result(
            "engine: one-row job, spark-submit vs attached",
            attached_s,
            "s",
            submit_s,
            submit_s / attached_s,
            GOAL,
            f"median of {REPEAT}: spark-submit {submit_s:.1f} s, attached {attached_s:.1f} s; "
            f"the engine started once in {start_s:.0f} s",
        )
    ]
