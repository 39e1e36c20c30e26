"""Launching jobs/ with spark-submit against ITLAKE_SPARK_MASTER, for the Airflow tasks.

The Spark provider's SparkSubmitOperator would pull `pyspark-client`, which installs over the
full `pyspark` package; this small launcher runs the spark-submit that pyspark ships instead,
with the same settings as the session factory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

from itlake.config import get_settings
from itlake.runner import RESULT_PREFIX


class JobFailedError(RuntimeError):
    """A job exited non-zero; the message carries its error and the tail of its log."""


def spark_submit_command(job: str, args: list[str]) -> list[str]:
    from itlake.lake.session import spark_conf

    conf = spark_conf(f"itlake-{job}")
    submit = shutil.which("spark-submit", path=str(Path(sys.executable).parent)) or "spark-submit"
    command = [submit, "--master", conf.pop("spark.master"), "--packages", conf.pop("spark.jars.packages")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [*command, str(get_settings().jobs_dir / f"{job}.py"), *args]


def submit_env() -> dict[str, str]:
    """The environment of a spark-submit: this interpreter for the driver and the workers (and for
    spark-submit's own search for SPARK_HOME, which fails with another Python on the PATH)."""
    return {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


def submit(job: str, args: list[str]) -> dict:
    """Run one job to completion, echoing its output; return the result it printed."""
    env = submit_env()
    result: dict = {}
    tail: deque[str] = deque(maxlen=20)
    # Each line is echoed as it comes, so the task log shows a job's progress while it runs (and
    # up to where it got, when the task is killed).
    with subprocess.Popen(
        spark_submit_command(job, args), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
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
