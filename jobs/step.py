"""Run one derived step (itlake/orchestration/steps.py) for one service date: a gold, MaaS or open table.

spark-submit jobs/step.py --step gold_taxi_trips --logical-date 2026-11-27

Prints the step's result: the rows it wrote per lake table, and its notes.
"""

from __future__ import annotations

from itlake.orchestration.runner import main


def arguments(parser) -> None:
    parser.add_argument(
        "--step", required=True, help="the step's name, e.g. gold_taxi_trips or publish_od_taxi_hourly"
    )


def body(spark, args) -> dict:
    from itlake.orchestration.steps import get_step

    return get_step(args.step).run(spark, args.logical_date).as_json()


if __name__ == "__main__":
    main("step", __doc__, body, arguments)
