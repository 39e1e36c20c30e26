"""Keyed pseudonyms: RFC 4231 vectors, the same values as the Spark-expression HMAC they replace, the
key checked on the workers, and the key required in production."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from bench.bench_pseudonyms import expression_hmac_col
from itlake.config import MissingSecretError, get_settings
from itlake.privacy.pseudonyms import (
    PseudonymKeyMismatch,
    hmac_sha256_col,
    key_check_value,
    pseudonym,
    pseudonym_series,
)

# RFC 4231, section 4: (key, data, HMAC-SHA256), written out from the RFC. Case 5 (a truncated
# output) is left out: a pseudonym is never truncated.
RFC_4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data. "
        b"The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]
# The cases whose key and data are text, so they can travel in an environment variable and a column.
TEXT_CASES = [(k, d, h) for k, d, h in RFC_4231 if k.isascii() and d.isascii() and k == k.strip()]


@pytest.mark.parametrize(("key", "data", "expected"), RFC_4231)
def test_rfc_4231_vectors(key, data, expected):
    assert hmac.new(key, data, hashlib.sha256).hexdigest() == expected  # the RFC as Python reads it
    if data.isascii():
        assert pseudonym(data.decode("ascii"), key) == expected


@pytest.mark.parametrize(("key", "data", "expected"), TEXT_CASES)
def test_the_worker_body_reads_the_key_from_the_environment(monkeypatch, key, data, expected):
    monkeypatch.setenv("ITLAKE_PSEUDONYM_KEY", key.decode("ascii"))
    got = pseudonym_series(
        pd.Series([data.decode("ascii"), None]), "ITLAKE_PSEUDONYM_KEY", key_check_value(key)
    )
    assert got.iloc[0] == expected
    assert got.iloc[1] is None


def test_a_worker_with_another_key_refuses_without_saying_either(monkeypatch):
    monkeypatch.setenv("ITLAKE_PSEUDONYM_KEY", "the-workers-key")
    with pytest.raises(PseudonymKeyMismatch, match="ITLAKE_PSEUDONYM_KEY on this Spark worker") as err:
        pseudonym_series(pd.Series(["粤B12345"]), "ITLAKE_PSEUDONYM_KEY", key_check_value(b"the-drivers-key"))
    assert "the-workers-key" not in str(err.value) and "the-drivers-key" not in str(err.value)


def test_key_check_values_differ_between_keys():
    assert key_check_value(b"Jefe") != key_check_value(b"jefe")
    assert len(key_check_value(b"Jefe")) == 8


def test_spark_udf_equals_python_hmac_and_the_old_expression(spark):
    from pyspark.sql import functions as F

    key = get_settings().pseudonym_key()  # the key the session's Python workers read
    values = ["粤B12345", "", "13800000000", "440300199001010000", "2901", None]
    df = spark.createDataFrame([(v,) for v in values], "plate string")
    got = df.select(
        hmac_sha256_col(F.col("plate"), key).alias("udf"),
        expression_hmac_col(F.col("plate"), key).alias("expression"),
    ).collect()
    for row, value in zip(got, values, strict=True):
        if value is None:
            assert row.udf is None and row.expression is None
        else:
            assert row.udf == hmac.new(key, value.encode(), hashlib.sha256).hexdigest() == row.expression
    # Written by hand: the demo key's pseudonym of one plate, as the lake held it before.
    assert got[0].udf == "992f785d251e62cc4657b7a7f1d7cb88e7688fb0173ac7b2ed11adcbbc41c423"


def test_a_query_made_with_another_key_fails_naming_the_variable(spark):
    from pyspark.sql import functions as F

    df = spark.createDataFrame([("粤B12345",)], "plate string")
    with pytest.raises(Exception, match="PseudonymKeyMismatch") as err:
        df.select(hmac_sha256_col(F.col("plate"), b"not-the-workers-key")).collect()
    assert "not-the-workers-key" not in str(err.value)


def test_production_mode_refuses_a_missing_key(monkeypatch):
    monkeypatch.setenv("ITLAKE_MODE", "production")
    monkeypatch.delenv("ITLAKE_PSEUDONYM_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(MissingSecretError, match="ITLAKE_PSEUDONYM_KEY is not set"):
            get_settings().pseudonym_key()
    finally:
        get_settings.cache_clear()


def test_local_mode_warns_and_uses_the_labelled_demo_key(monkeypatch):
    monkeypatch.setenv("ITLAKE_MODE", "local")
    monkeypatch.delenv("ITLAKE_PSEUDONYM_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.warns(UserWarning, match="demo key"):
            assert get_settings().pseudonym_key() == b"itlake-demo-key-not-for-real-data"
    finally:
        get_settings.cache_clear()
