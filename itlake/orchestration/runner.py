"""What every job in jobs/ shares: arguments, the session, one JSON result line, the exit code.

A job runs one of two ways, with the same arguments and the same result:
- launched by spark-submit (`spark-submit jobs/x.py --logical-date D`): it prints its result as the
  last line of standard output, prefixed `ITLAKE_RESULT `, for the Airflow task that launched it;
- attached to the warm engine (ITLAKE_SPARK_REMOTE set, itlake/orchestration/submit.py `submit`): the
  task loads the job's module and calls it in its own process, on a Connect session of its own.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from types import ModuleType

RESULT_PREFIX = "ITLAKE_RESULT "


def job_arguments(
    description: str,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: list[str] | None = None,
):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--logical-date",
        type=date.fromisoformat,
        required=True,
        help="the service date whose partition the job reads and writes (YYYY-MM-DD)",
    )
    if extra:
        extra(parser)
    return parser.parse_args(argv)


def execute(name: str, body: Callable, args, *, stop_session: bool) -> dict:
    """Build or attach the session, run `body(spark, args)`; the result has `ok`, and `error` when
    it failed. In production mode a missing secret fails the job before the session is built."""
    from itlake.config import MissingSecretError, get_settings
    from itlake.feeds.base import FeedError
    from itlake.ingest.flow import BatchRefusedError
    from itlake.lake.session import drop_attached, get_spark

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(f"itlake.jobs.{name}")
    try:
        get_settings().check_secrets()
    except MissingSecretError as err:
        log.error("%s stopped at start: %s", name, err)
        return {"job": name, "ok": False, "error": f"stopped at start: {err}"}
    spark = None
    try:
        # A step job's application is named for its step (`itlake-gold_taxi_trips`).
        spark = get_spark(f"itlake-{getattr(args, 'step', None) or name}")
        result = body(spark, args)
    except Exception as err:
        error = engine_error(err)
        if error:
            drop_attached()
            log.error("%s failed: %s", name, error)
        else:
            # An unexpected failure: the task log keeps the traceback, the result the message.
            error = str(err) or type(err).__name__
            refusal = isinstance(err, (FeedError, BatchRefusedError))
            log.error("%s failed: %s", name, error, exc_info=not refusal)
        return {"job": name, "ok": False, "error": error}
    finally:
        if stop_session and spark is not None:
            spark.stop()
    return {"job": name, "ok": True, **result}


def engine_error(err: Exception) -> str | None:
    """One line for a job whose engine went away (killed, restarted) while it ran, else None."""
    from itlake.config import get_settings
    from itlake.lake.session import EngineNotRunningError

    if isinstance(err, EngineNotRunningError):
        return str(err)
    remote = get_settings().spark_remote
    text = str(err)
    lost = ("UNAVAILABLE", "failed to connect", "Connection refused", "SESSION_NOT_FOUND", "Socket closed")
    if remote and any(marker in text for marker in lost):
        return (
            f"the Spark engine at {remote} went away during the job ({type(err).__name__}); "
            "start it again with `itlake engine start`, and the task's retry runs the job again"
        )
    return None


def run_job(name: str, body: Callable, args) -> int:
    """Run the job, print its result line; 0 on success, 1 on failure."""
    result = execute(name, body, args, stop_session=True)
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, default=str))
    return 0 if result["ok"] else 1


def main(name: str, description: str, body: Callable, extra=None) -> None:
    sys.exit(run_job(name, body, job_arguments(description, extra)))


def load_job(path) -> ModuleType:
    """The module of a job file in jobs/, imported under its own name (not as __main__)."""
    spec = importlib.util.spec_from_file_location(f"itlake_job_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_attached(name: str, path, argv: list[str]) -> dict:
    """Run the job in `path` in this process on the attached engine; returns its result."""
    module = load_job(path)
    args = job_arguments(module.__doc__ or name, getattr(module, "arguments", None), argv)
    # The session stays open: it is this process's, and later calls of the task reuse it.
    result = execute(name, module.body, args, stop_session=False)
    # The same JSON round trip as a spark-submit result, so callers see the same values.
    return json.loads(json.dumps(result, ensure_ascii=False, default=str))
