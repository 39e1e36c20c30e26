"""Release one open dataset of the catalogue (build, gate, k-anonymity, versioned folder).

spark-submit jobs/publish.py --code 05.01.001 --logical-date 2026-11-27
"""

from __future__ import annotations

from itlake.runner import main


def arguments(parser) -> None:
    parser.add_argument("--code", required=True, help="catalogue code or name of the open dataset")


def body(spark, args) -> dict:
    from dataclasses import asdict

    from itlake.config import get_settings
    from itlake.publish.flow import publish

    return asdict(publish(spark, args.code, args.logical_date, get_settings().k_anonymity))


if __name__ == "__main__":
    main("publish", __doc__, body, arguments)
