"""The pseudonym key is in no plan, event log, log, Delta log or error message.

A Spark session of its own (tests/_key_leak_probe.py, in a fresh process with a random key in
ITLAKE_PSEUDONYM_KEY) pseudonymises a few plates, explains two queries in every mode, writes a
Delta table, fails three queries and writes its event log. Everything it leaves is then searched
for the key and for the key XOR ipad and XOR opad (RFC 2104): raw, as hex in either case (how
Spark renders a binary literal: 0x… or X'…'), as base64, and as a list of byte values. The search
is the one `itlake security scan` runs over the lake's logs and plans (itlake/privacy/pseudonyms.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from itlake.privacy.pseudonyms import HMAC_BLOCK_SIZE, key_forms, key_leaks
from tests._services import free_port, own_spark

PROBE = Path(__file__).with_name("_key_leak_probe.py")


def test_the_key_is_in_no_plan_log_event_log_or_error(tmp_path):
    key = f"leak-probe-{secrets.token_hex(16)}"
    env = {**own_spark(os.environ), "ITLAKE_PSEUDONYM_KEY": key, "ITLAKE_MODE": "local"}
    env.update(ITLAKE_LAKE_ROOT=str(tmp_path / "lake"), PYSPARK_PYTHON=sys.executable)
    out = tmp_path / "probe"
    run = subprocess.run(
        [sys.executable, str(PROBE), str(out)], env=env, capture_output=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
    probe = json.loads((out / "probe.json").read_text(encoding="utf-8"))

    # The Python workers read the key the process started with: the pseudonyms are HMACs under it.
    expected = [
        hmac.new(key.encode(), p.encode(), hashlib.sha256).hexdigest() for p in ("粤B12345", "粤B67890", "")
    ]
    assert probe["pseudonyms"] == [*expected, None]

    haystacks = {"stdout": run.stdout, "stderr (Spark and worker logs)": run.stderr}
    for query, modes in probe["explain"].items():
        for mode, text in modes.items():
            assert "vehicle_id" in text or mode == "codegen", (query, mode)  # the plans are there
            haystacks[f"explain {mode} of {query}"] = text.encode()
    for name, text in probe["errors"].items():
        assert text != "no error", name
        haystacks[f"error {name}"] = text.encode()
    assert "is not true!" in probe["errors"]["assert_true"]  # the message quotes the expression
    files = [p for p in out.rglob("*") if p.is_file() and p.name != "probe.json"]
    assert any("events" in p.relative_to(out).parts[:1] for p in files), "no event log was written"
    assert any(p.parent.name == "_delta_log" for p in files), "no Delta log was written"
    for path in files:
        haystacks[str(path.relative_to(out))] = path.read_bytes()
    event_log = b"".join(data for where, data in haystacks.items() if where.startswith("events"))
    assert b"SparkListenerSQLExecutionStart" in event_log and b"vehicle_id" in event_log

    found = key_leaks(haystacks, key_forms(key.encode()))
    assert not found, "the key can be read from:\n" + "\n".join(found)


def test_the_search_finds_every_form_it_looks_for():
    key = b"leak-probe-0123"
    forms = key_forms(key)
    ipad = bytes(b ^ 0x36 for b in key.ljust(HMAC_BLOCK_SIZE, b"\0"))
    opad = bytes(b ^ 0x5C for b in key.ljust(HMAC_BLOCK_SIZE, b"\0"))
    haystacks = {
        "plan": b"Project [sha2(concat(0x" + ipad.hex().upper().encode() + b", encode(plate)))]",
        "sql": b"X'" + opad.hex().encode() + b"'",
        "log": b"key=" + key,
        "clean": b"Project [hmac_sha256(plate#1) AS vehicle_id#2]",
    }
    assert key_leaks(haystacks, forms) == [
        "plan: key xor ipad (hex)",
        "sql: key xor opad (hex)",
        "log: key (raw)",
    ]


@pytest.mark.slow
def test_over_spark_connect_the_key_stays_in_the_servers_environment(tmp_path, monkeypatch):
    """A Spark Connect server (pyspark's own jars) started with the key; the client holds it only
    to check it, and neither the plan it sends nor the server's log holds the key or its pads."""
    import contextlib
    import io
    import socket
    import time

    import pyspark

    # The client turns on Spark Connect for the whole process; monkeypatch turns it off again
    # afterwards, so that the tests after this one keep their local session.
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    key = f"connect-probe-{secrets.token_hex(16)}"
    port = free_port()
    spark_home = Path(pyspark.__file__).parent
    env = {
        **os.environ,
        "ITLAKE_PSEUDONYM_KEY": key,
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_HOME": str(spark_home),
    }
    server_log = tmp_path / "connect-server.log"
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master", "local[2]",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf", "spark.ui.enabled=false",
        "--conf", f"spark.pyspark.python={sys.executable}",
    ]  # fmt: skip
    with (
        server_log.open("wb") as log,
        subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT) as server,
    ):
        try:
            for _ in range(150):
                time.sleep(2)
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
            from pyspark.sql import SparkSession
            from pyspark.sql import functions as F

            from itlake.privacy.pseudonyms import hmac_sha256_col

            spark = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").create()
            try:
                plates = spark.createDataFrame([("粤B12345",), (None,)], "plate string")
                out = plates.select(hmac_sha256_col(F.col("plate"), key.encode()).alias("vehicle_id"))
                expected = hmac.new(key.encode(), "粤B12345".encode(), hashlib.sha256).hexdigest()
                assert [r.vehicle_id for r in out.collect()] == [expected, None]
                explained = io.StringIO()
                with contextlib.redirect_stdout(explained):
                    out.explain(mode="extended")
                with pytest.raises(Exception, match="ITLAKE_PSEUDONYM_KEY") as mismatch:
                    plates.select(hmac_sha256_col(F.col("plate"), b"not-the-servers-key")).collect()
                sent = out._plan.to_proto(spark.client).SerializeToString()
            finally:
                spark.stop()
        finally:
            server.terminate()
            server.wait(60)
    haystacks = {
        "plan sent over Connect": sent,
        "explain over Connect": explained.getvalue().encode(),
        "mismatch error": str(mismatch.value).encode(),
        "server log": server_log.read_bytes(),
    }
    assert "hmac_sha256" in explained.getvalue()
    found = key_leaks(haystacks, key_forms(key.encode()))
    assert not found, "the key can be read from:\n" + "\n".join(found)
