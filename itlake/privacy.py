"""Keyed pseudonyms: HMAC-SHA256 computed inside Spark, so plates and ids never leave the JVM raw.

HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)), with K' the key padded to SHA-256's
64-byte block (RFC 2104). Spark has sha2 and binary concat, so no Python UDF is needed.
"""

from __future__ import annotations

import hashlib

BLOCK_SIZE = 64


def _padded_key(key: bytes) -> bytes:
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    return key.ljust(BLOCK_SIZE, b"\0")


def hmac_sha256_col(column, key: bytes):
    """A Spark Column with the hex HMAC-SHA256 of `column` (a string); null stays null."""
    from pyspark.sql import functions as F

    padded = _padded_key(key)
    inner_pad = F.lit(bytes(b ^ 0x36 for b in padded))
    outer_pad = F.lit(bytes(b ^ 0x5C for b in padded))
    value = F.encode(column.cast("string"), "UTF-8")
    inner = F.unhex(F.sha2(F.concat(inner_pad, value), 256))
    return F.when(column.isNull(), F.lit(None)).otherwise(F.sha2(F.concat(outer_pad, inner), 256))
