"""Pseudonyms: the HMAC-SHA256 pandas UDF (itlake/privacy/pseudonyms.py) against the Spark-expression HMAC it
replaced.

The expression form built HMAC from `sha2` over `key xor ipad` and `key xor opad` literals, so the
key could be read from every plan; it is kept here only as the baseline. Both pseudonymise the
same plates (a string column of distinct values, so no dictionary or cache helps either) and
write the count of distinct pseudonyms, which forces every value to be computed; the ratio is the
UDF's time over the expression's. Scale 1 is two million values.
"""

from __future__ import annotations

from bench.common import median_time, result, spark_session

GOAL = "<= 4"
VALUES_AT_SCALE_1 = 2_000_000
BLOCK_SIZE = 64


def expression_hmac_col(column, key: bytes):
    """The pseudonym of `column` as Spark expressions (the key's pads are literals of the plan)."""
    import hashlib

    from pyspark.sql import functions as F

    padded = (hashlib.sha256(key).digest() if len(key) > BLOCK_SIZE else key).ljust(BLOCK_SIZE, b"\0")
    inner_pad = F.lit(bytes(b ^ 0x36 for b in padded))
    outer_pad = F.lit(bytes(b ^ 0x5C for b in padded))
    value = F.encode(column.cast("string"), "UTF-8")
    inner = F.unhex(F.sha2(F.concat(inner_pad, value), 256))
    return F.when(column.isNull(), F.lit(None)).otherwise(F.sha2(F.concat(outer_pad, inner), 256))


def run(scale: float) -> list[dict]:
    from pyspark.sql import functions as F

    from itlake.config import get_settings
    from itlake.privacy.pseudonyms import hmac_sha256_col

    spark = spark_session()
    key = get_settings().pseudonym_key()
    n = max(20_000, round(VALUES_AT_SCALE_1 * scale))
    plates = spark.range(n).select(
        F.concat(F.lit("粤B"), F.lpad(F.col("id").cast("string"), 7, "0")).alias("p")
    )

    def distinct_count(make_col) -> int:
        return plates.select(make_col(F.col("p"), key).alias("h")).distinct().count()

    # The first run of each warms up (Python workers, code generation) and checks they agree.
    udf_count = distinct_count(hmac_sha256_col)
    expression_count = distinct_count(expression_hmac_col)
    same = plates.where(hmac_sha256_col(F.col("p"), key) != expression_hmac_col(F.col("p"), key)).count()
    udf_s = median_time(lambda: distinct_count(hmac_sha256_col), 3)
    expression_s = median_time(lambda: distinct_count(expression_hmac_col), 3)
    return [
        result(
            "pseudonyms: HMAC pandas UDF vs Spark expressions",
            n / udf_s,
            "values/s",
            n / expression_s,
            udf_s / expression_s,
            GOAL,
            f"{n:,} plates, median of 3: UDF {udf_s:.2f} s, expressions {expression_s:.2f} s; "
            f"{udf_count:,} and {expression_count:,} distinct pseudonyms, {same} values differ",
        )
    ]
