"""Ingest the files of one catalogue resource for one logical date: landing -> bronze -> silver.

    spark-submit jobs/ingest.py --code 03.02.001 --logical-date 2026-11-27 [FILE ...]

Without files, it reads the inbox folder `$ITLAKE_INBOX/<feed>/<logical date>/`.
"""

from __future__ import annotations

from itlake.orchestration.runner import main


def arguments(parser) -> None:
    parser.add_argument("--code", required=True, help="catalogue code or name of the resource")
    parser.add_argument("files", nargs="*", help="files to ingest (default: the inbox folder)")


def body(spark, args) -> dict:
    from itlake.ingest.pipeline import ingest_resource

    return ingest_resource(spark, args.code, args.logical_date, args.files)


if __name__ == "__main__":
    main("ingest", __doc__, body, arguments)
