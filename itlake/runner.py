"""What every job in jobs/ shares: arguments, the session, one JSON result line, the exit code.

A job prints its result as the last line of standard output, prefixed `ITLAKE_RESULT `, so the
Airflow task that launched it through spark-submit can attach the figures to its asset event.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import date

RESULT_PREFIX = "ITLAKE_RESULT "


def job_arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--logical-date",
        type=date.fromisoformat,
        required=True,
        help="the service date whose partition the job reads and writes (YYYY-MM-DD)",
    )
    if extra:
        extra(parser)
    return parser.parse_args()


def run_job(name: str, body: Callable, args) -> int:
    """Build the session, run `body(spark, args)`, print its result; 0 on success, 1 on failure.

    In production mode a missing secret fails the job before the session is built."""
    from itlake.config import MissingSecretError, get_settings
    from itlake.lake.session import get_spark

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(f"itlake.jobs.{name}")
    try:
        get_settings().check_secrets()
    except MissingSecretError as err:
        log.error("%s stopped at start: %s", name, err)
        print(RESULT_PREFIX + json.dumps({"job": name, "ok": False, "error": f"stopped at start: {err}"}))
        return 1
    spark = get_spark(f"itlake-{name}")
    try:
        result = body(spark, args)
    except Exception as err:
        log.error("%s failed: %s", name, err)
        print(RESULT_PREFIX + json.dumps({"job": name, "ok": False, "error": str(err)}, default=str))
        return 1
    finally:
        spark.stop()
    print(RESULT_PREFIX + json.dumps({"job": name, "ok": True, **result}, ensure_ascii=False, default=str))
    return 0


def main(name: str, description: str, body: Callable, extra=None) -> None:
    sys.exit(run_job(name, body, job_arguments(description, extra)))
