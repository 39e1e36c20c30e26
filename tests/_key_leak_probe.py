"""Pseudonymise a few plates in a Spark session of its own, and keep everything that could show the key.

    ITLAKE_PSEUDONYM_KEY=... python tests/_key_leak_probe.py OUT_DIR

Run by tests/test_key_leak.py in a fresh process, so that the key in the environment is the one the
Python workers inherit, and the event log covers the whole session. It writes OUT_DIR/probe.json:
the pseudonyms, every `explain` mode of two queries, and the text of three errors whose message
quotes a plan or an expression; the event log goes to OUT_DIR/events, a Delta table to
OUT_DIR/table. Spark logs at INFO on stderr, which the test keeps too.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

EXPLAIN_MODES = ("simple", "extended", "codegen", "cost", "formatted")


def explained(df) -> dict[str, str]:
    texts = {}
    for mode in EXPLAIN_MODES:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            df.explain(mode=mode)
        texts[mode] = buffer.getvalue()
    return texts


def error_text(action) -> str:
    try:
        action()
    except Exception:
        return traceback.format_exc()
    return "no error"


def main(out_dir: Path) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from itlake.config import get_settings
    from itlake.lake.session import spark_conf
    from itlake.privacy.pseudonyms import hmac_sha256_col

    (out_dir / "events").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for name, value in spark_conf("itlake-key-leak-probe").items():
        builder = builder.config(name, value)
    spark = (
        builder.config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", (out_dir / "events").as_uri())
        # Uncompressed, so that the test reads the events as the history server would show them.
        .config("spark.eventLog.compress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("INFO")
    key = get_settings().pseudonym_key()
    plates = spark.createDataFrame([(p,) for p in ("粤B12345", "粤B67890", "", None)], "plate string")
    pseudonymised = plates.withColumn("vehicle_id", hmac_sha256_col(F.col("plate"), key))
    rows = [r.vehicle_id for r in pseudonymised.collect()]
    pseudonymised.createOrReplaceTempView("pseudonymised")
    grouped = spark.sql("SELECT vehicle_id, count(*) AS fixes FROM pseudonymised GROUP BY vehicle_id")
    grouped.collect()
    pseudonymised.write.format("delta").save(str(out_dir / "table"))
    errors = {
        # A failed assertion quotes the expression it checked.
        "assert_true": error_text(
            lambda: plates.select(F.assert_true(hmac_sha256_col(F.col("plate"), key) == F.lit("x"))).collect()
        ),
        # An unresolved column quotes the plan it could not be resolved in.
        "unresolved_column": error_text(lambda: pseudonymised.select("no_such_column").collect()),
        "unresolved_in_sql": error_text(lambda: spark.sql("SELECT nope FROM pseudonymised").collect()),
    }
    probe = {
        "pseudonyms": rows,
        "explain": {"pseudonymised": explained(pseudonymised), "grouped": explained(grouped)},
        "errors": errors,
    }
    (out_dir / "probe.json").write_text(json.dumps(probe, ensure_ascii=False), encoding="utf-8")
    spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
