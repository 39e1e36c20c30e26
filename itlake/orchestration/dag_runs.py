"""Run DAGs one after another in one process, each exactly as `airflow dags test DAG DATE` runs it.

    python -m itlake.orchestration.dag_runs 2026-11-27 itlake_ingest_mobility itlake_gold ...

`itlake demo run` uses it so that Airflow, pyspark, Great Expectations and the DAG files are
imported once for the whole demo, not once for each of its eleven DAGs (about 10 s each on two
cores). Each DAG's output is framed by two lines, `ITLAKE_DAG <dag_id> start` and
`ITLAKE_DAG <dag_id> success|failed`; the run stops at the first DAG that fails (exit 1).
"""

from __future__ import annotations

import sys
import traceback

MARK = "ITLAKE_DAG "


def run_dags(day: str, dag_ids: list[str]) -> int:
    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()
    parser = cli_parser.get_parser()
    for dag_id in dag_ids:
        print(f"{MARK}{dag_id} start", flush=True)
        args = parser.parse_args(["dags", "test", dag_id, day])
        try:
            args.func(args)
            state = "success"
        except SystemExit as stop:  # the command's own verdict: "DagRun failed"
            print(stop, flush=True)
            state = "failed"
        except Exception:
            traceback.print_exc(file=sys.stdout)
            state = "failed"
        print(f"{MARK}{dag_id} {state}", flush=True)
        if state != "success":
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(run_dags(sys.argv[1], sys.argv[2:]))
