"""Keyed pseudonyms: HMAC-SHA256 of plates, phone numbers and card ids, computed on the Spark workers.

    from itlake.privacy.pseudonyms import hmac_sha256_col, pseudonym
    df.withColumn("vehicle_id", hmac_sha256_col(F.col("VehicleNum"), key))   # in Spark
    pseudonym("粤B12345", key)                                                # one value, in Python
    key_leaks({"engine.log": data}, key_forms(key))                           # where the key shows

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

import base64
import hashlib
import hmac
from dataclasses import replace

from itlake.config import get_settings

# The key check value is the start of the HMAC of this message: enough to tell two keys apart,
# and no help in finding the key (as card schemes do with a key's check value).
KEY_CHECK_MESSAGE = b"itlake pseudonym key check"
KEY_CHECK_HEX_CHARS = 8
# RFC 2104: the key, zero-padded to SHA-256's block, is XORed with these bytes for the inner and
# outer hash; either result gives the key back, so each is as secret as the key.
HMAC_BLOCK_SIZE = 64
IPAD, OPAD = 0x36, 0x5C


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


def key_forms(key: bytes) -> dict[str, bytes]:
    """Each way the key or its HMAC pads could be written down, by name: raw, as hex (how Spark
    renders a binary literal, 0x... or X'...'), as base64 and as a list of byte values. Hex forms
    are lower case; `key_leaks` looks for them in any case."""
    padded = key.ljust(HMAC_BLOCK_SIZE, b"\0")
    forms: dict[str, bytes] = {}
    for name, secret in (
        ("key", key),
        ("key xor ipad", bytes(b ^ IPAD for b in padded)),
        ("key xor opad", bytes(b ^ OPAD for b in padded)),
    ):
        # The pads beyond the key's length are the same for every key; the part over the key is the secret.
        part = secret[: len(key)]
        forms[f"{name} (raw)"] = part
        forms[f"{name} (hex)"] = part.hex().encode()
        forms[f"{name} (base64)"] = base64.b64encode(secret)
        forms[f"{name} (byte list)"] = ", ".join(str(b) for b in part).encode()
    return forms


def key_forms_in(data: bytes, forms: dict[str, bytes]) -> list[str]:
    """The names of the forms of `key_forms` found in `data`."""
    lowered = data.lower()
    return [name for name, form in forms.items() if form in data or ("(hex)" in name and form in lowered)]


def key_leaks(haystacks: dict[str, bytes], forms: dict[str, bytes]) -> list[str]:
    """`where: form` for every form of `key_forms` found in the bytes of each haystack."""
    return [f"{where}: {name}" for where, data in haystacks.items() for name in key_forms_in(data, forms)]
