"""Keyed pseudonyms computed in Spark agree with Python's hmac, and the key is required in production."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from itlake.config import MissingSecretError, get_settings
from itlake.privacy import hmac_sha256_col


def test_spark_hmac_matches_python_hmac(spark):
    from pyspark.sql import functions as F

    key = b"a-test-key"
    long_key = b"k" * 100  # longer than the 64-byte block: hashed first, as RFC 2104 says
    values = ["粤B12345", "", None]
    df = spark.createDataFrame([(v,) for v in values], "plate string")
    got = df.select(
        hmac_sha256_col(F.col("plate"), key).alias("short"),
        hmac_sha256_col(F.col("plate"), long_key).alias("long"),
    ).collect()
    for row, value in zip(got, values, strict=True):
        if value is None:
            assert row.short is None and row.long is None
        else:
            assert row.short == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
            assert row.long == hmac.new(long_key, value.encode(), hashlib.sha256).hexdigest()
    # A known vector written by hand (RFC 4231 test case 2).
    vector = spark.createDataFrame([("what do ya want for nothing?",)], "m string")
    assert vector.select(hmac_sha256_col(F.col("m"), b"Jefe")).first()[0] == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


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
