"""Running jobs/ for the Airflow tasks: attached to the warm engine (ITLAKE_SPARK_REMOTE, see
itlake/lake/engine.py), or, without one, launched with spark-submit against ITLAKE_SPARK_MASTER.

The Spark provider's SparkSubmitOperator would pull `pyspark-client`, which installs over the
full `pyspark` package; this small launcher runs the spark-submit that pyspark ships instead,
with the same settings as the session factory.
"""

from __future__ import annotations

import json
import subprocess
from collections import deque

from itlake.config import get_settings
from itlake.orchestration.runner import RESULT_PREFIX, run_attached


class JobFailedError(RuntimeError):
    """A job exited non-zero; the message carries its error and the tail of its log."""


def spark_submit_command(job: str, args: list[str], app: str | None = None) -> list[str]:
    from itlake.lake.session import spark_submit_base

    return [*spark_submit_base(f"itlake-{app or job}"), str(get_settings().jobs_dir / f"{job}.py"), *args]


def submit_step(step: str, logical_date: str) -> dict:
    """Run one derived step (itlake/orchestration/steps.py) through jobs/step.py; its Spark
    application is named for the step."""
    return submit("step", ["--step", step, "--logical-date", logical_date], app=step)


def submit(job: str, args: list[str], app: str | None = None) -> dict:
    """Run one job to completion and return its result: attached to the warm engine when
    ITLAKE_SPARK_REMOTE is set, else through spark-submit (a JVM of its own, about 20 s to start)."""
    settings = get_settings()
    if settings.spark_remote:
        result = run_attached(job, settings.jobs_dir / f"{job}.py", args)
        if not result.get("ok"):
            raise JobFailedError(f"job {job} failed: {result.get('error', '')}")
        print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)
        return result
    return submit_spark(job, args, app)


def submit_spark(job: str, args: list[str], app: str | None = None) -> dict:
    """Run one job with spark-submit, echoing its output; return the result it printed."""
    from itlake.lake.session import submit_env

    env = submit_env()
    result: dict = {}
    tail: deque[str] = deque(maxlen=20)
    # Each line is echoed as it comes, so the task log shows a job's progress while it runs (and
    # up to where it got, when the task is killed).
    with subprocess.Popen(
        spark_submit_command(job, args, app),
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        for line in process.stdout:
            line = line.rstrip("\n")
            print(line, flush=True)
            tail.append(line)
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX) :])
    if process.returncode != 0 or not result.get("ok"):
        raise JobFailedError(
            f"job {job} failed (exit {process.returncode}): {result.get('error', '')}\n" + "\n".join(tail)
        )
    return result
