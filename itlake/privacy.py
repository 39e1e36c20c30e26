"""Keyed pseudonyms: HMAC-SHA256 of plates, phone numbers and card ids, computed on the Spark workers.

    from itlake.privacy import hmac_sha256_col, pseudonym
    df.withColumn("vehicle_id", hmac_sha256_col(F.col("VehicleNum"), key))   # in Spark
    pseudonym("粤B12345", key)                                                # one value, in Python

The key never enters a query plan. A plan is shown by `explain`, kept in the Spark UI and the
event log, sent over Spark Connect and quoted in error messages, so an HMAC built from Spark
expressions (sha2 over `key xor ipad` and `key xor opad` literals) would hand the key to whoever
reads one. Here the column is a pandas UDF whose closure holds only the name of the environment
variable that holds the key, and a short key check value. Each Python worker reads the key from
its own environment (itlake/config.py), so the variable must be set where the workers run: in
local mode they inherit the environment of the process that started Spark; a Spark Connect server
or a cluster's workers need it in theirs. A worker whose key is not the driver's stops the query
with an error naming the variable: wrong pseudonyms would silently break every join on them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from itlake.config import get_settings

# The key check value is the start of the HMAC of this message: enough to tell two keys apart,
# and no help in finding the key (as card schemes do with a key's check value).
KEY_CHECK_MESSAGE = b"itlake pseudonym key check"
KEY_CHECK_HEX_CHARS = 8


class PseudonymKeyMismatch(RuntimeError):
    """A Spark worker holds another pseudonym key than the process that built the query."""


def pseudonym(value: str, key: bytes) -> str:
    """The hex HMAC-SHA256 of `value` (UTF-8) under `key` (RFC 2104): the value's pseudonym."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def key_check_value(key: bytes) -> str:
    """A few hex digits that differ between keys, so a worker can tell it holds the driver's key."""
    return pseudonym(KEY_CHECK_MESSAGE.decode("ascii"), key)[:KEY_CHECK_HEX_CHARS]


def worker_key(env_name: str, check: str) -> bytes:
    """The key as this process reads it from `env_name`, refused unless its check value is `check`."""
    import warnings

    with warnings.catch_warnings():
        # The demo-key warning is the driver's to give; every worker repeating it says nothing new.
        warnings.simplefilter("ignore")
        key = replace(get_settings(), pseudonym_key_env=env_name).pseudonym_key()
    if key_check_value(key) != check:
        raise PseudonymKeyMismatch(
            f"the pseudonym key in {env_name} on this Spark worker is not the key of the process "
            f"that built the query (key check value {check}); set the same {env_name} in the "
            "environment of the Spark Connect server or the cluster's workers"
        )
    return key


def pseudonym_series(values, env_name: str, check: str):
    """pandas body of the UDF: a Series of strings in, their pseudonyms out; null stays null."""
    keyed = hmac.new(worker_key(env_name, check), digestmod=hashlib.sha256)

    def one(value: str) -> str:
        digest = keyed.copy()  # the key's inner and outer pads are hashed once per batch, not per value
        digest.update(value.encode("utf-8"))
        return digest.hexdigest()

    return values.map(one, na_action="ignore")


def hmac_sha256_col(column, key: bytes):
    """A Spark Column with the pseudonym of `column` (cast to string) under `key`; null stays null.

    `key` is the key of this process; the workers use the one in their environment, which must be
    the same (it is checked). Neither it nor its pads appear in the plan: it shows
    `hmac_sha256(column)`."""
    from pyspark.sql import functions as F

    env_name = get_settings().pseudonym_key_env
    check = key_check_value(key)

    def hmac_sha256(values):
        return pseudonym_series(values, env_name, check)

    return F.pandas_udf(hmac_sha256, "string")(column.cast("string"))
