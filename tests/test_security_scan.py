"""`itlake security scan` inside the lake: personal data past its retention, and the pseudonym key in
Airflow's task logs, the engine's log, Spark's event logs and the plans of pseudonymised columns.

Every place the scan reads is a folder of the test (AIRFLOW_HOME, ITLAKE_ENGINE_DIR,
ITLAKE_SPARK_EVENT_LOG_DIR, the lake), so that nothing of the machine it runs on counts.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from typer.testing import CliRunner

from itlake.catalog.resources import load_catalog
from itlake.cli import app
from itlake.config import get_settings

KEY = "scan-probe-key-7d3f0a9c21b4"
IPAD_HEX = bytes(b ^ 0x36 for b in KEY.encode()).hex().upper()
OPAD_BASE64 = base64.b64encode(bytes(b ^ 0x5C for b in KEY.encode().ljust(64, b"\0"))).decode()
TASK_LOG = "logs/dag_id=itlake_ingest_mobility/run_id=manual__2026-12-07/task_id=ingest/attempt=1.log"
PSEUDONYMISED = [
    ("truck_position", "plate_id", "车牌号"),
    ("smartcard_tap", "card_id", "card_no"),
    ("taxi_gps", "vehicle_id", "VehicleNum"),
    ("ridehail_order", "passenger_id", "PassengerPhone"),
    ("ridehail_order", "driver_id", "LicenseId"),
    ("ridehail_order", "plate_id", "VehicleNo"),
    ("waybill", "shipper_id", "托运人"),
    ("waybill", "consignee_id", "收货人"),
    ("waybill", "plate_id", "车牌号"),
]


@pytest.fixture
def places(lake, tmp_path, monkeypatch):
    """Empty Airflow home, engine folder and event-log folder, and the key in the environment."""
    folders = {name: tmp_path / name for name in ("airflow", "engine", "events")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("AIRFLOW_HOME", str(folders["airflow"]))
    monkeypatch.delenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", raising=False)
    monkeypatch.setenv("ITLAKE_ENGINE_DIR", str(folders["engine"]))
    monkeypatch.setenv("ITLAKE_SPARK_EVENT_LOG_DIR", folders["events"].as_uri())
    monkeypatch.setenv("ITLAKE_PSEUDONYM_KEY", KEY)
    get_settings.cache_clear()
    yield {"lake": lake, **folders}
    get_settings.cache_clear()


def scan(*args: str):
    return CliRunner().invoke(app, ["security", "scan", *args], env={"COLUMNS": "200"})


def test_the_key_planted_in_logs_is_found_in_each_and_nowhere_else(places):
    import zstandard

    airflow, engine, events = places["airflow"], places["engine"], places["events"]
    task_log = airflow / TASK_LOG
    task_log.parent.mkdir(parents=True)
    task_log.write_text(f"[2026-12-07T10:00:01] INFO - ITLAKE_PSEUDONYM_KEY={KEY}\n", encoding="utf-8")
    (airflow / "demo-logs").mkdir()
    (airflow / "demo-logs" / "itlake_ingest_mobility.log").write_text("INFO - 3 files ingested\n")
    # A plan of the HMAC built from Spark expressions: the inner pad is a binary literal.
    (engine / "engine.log").write_text(
        f"== Physical Plan ==\n*(1) Project [sha2(concat(0x{IPAD_HEX}, encode(VehicleNum#1, UTF-8)), 256)]\n"
    )
    event = json.dumps({"Event": "SparkListenerSQLExecutionStart", "physicalPlanDescription": OPAD_BASE64})
    (events / "local-1765101600000.zstd").write_bytes(zstandard.ZstdCompressor().compress(event.encode()))
    (events / "app-20261207100000-0001").write_text('{"Event": "SparkListenerApplicationStart"}\n')

    found = scan("--no-plans", "--json", "--date", "2026-12-07")

    assert found.exit_code == 1, found.output
    report = json.loads(found.output)["lake"]
    assert (report["logs"], report["plans"], report["not_read"]) == (5, 0, [])
    assert report["findings"] == [
        {"kind": "key in log", "where": str(task_log), "detail": "airflow task log holds the key (raw)"},
        {
            "kind": "key in log",
            "where": str(engine / "engine.log"),
            "detail": "engine log holds the key xor ipad (hex)",
        },
        {
            "kind": "key in log",
            "where": str(events / "local-1765101600000.zstd"),
            "detail": "spark event log holds the key xor opad (base64)",
        },
    ]
    assert KEY not in found.output and IPAD_HEX.lower() not in found.output.lower()

    shown = scan("--no-plans", "--date", "2026-12-07")
    assert shown.exit_code == 1
    assert "Checked retention on 2026-12-07, 5 log files (no plans)." in shown.output
    assert "engine log holds the key xor ipad (hex)" in shown.output
    assert "✗ 3 findings in the lake, its logs and plans" in shown.output

    task_log.write_text("[2026-12-07T10:00:01] INFO - settings read\n", encoding="utf-8")
    (engine / "engine.log").write_text("== Physical Plan ==\n*(1) Project [hmac_sha256(VehicleNum#1)]\n")
    (events / "local-1765101600000.zstd").unlink()
    clean = scan("--no-plans", "--date", "2026-12-07")
    assert clean.exit_code == 0, clean.output
    assert "Checked retention on 2026-12-07, 4 log files (no plans)." in clean.output
    assert "✓ no personal data past its retention, no pseudonym key in logs or plans" in clean.output


def test_an_expired_landing_file_is_found(places):
    # taxi_gps keeps landing files 30 days: on 2026-12-07 the folder of 2026-11-06 is one day over.
    landing = places["lake"] / "landing" / "taxi_gps"
    for day in ("2026-11-06", "2026-11-07"):
        (landing / day).mkdir(parents=True)
        (landing / day / f"0123456789abcdef_taxi_{day}.csv").write_text("VehicleNum,time\n", encoding="utf-8")

    found = scan("--no-plans", "--json", "--date", "2026-12-07")

    assert found.exit_code == 1, found.output
    assert json.loads(found.output)["lake"]["findings"] == [
        {
            "kind": "past retention",
            "where": "landing.taxi_gps/2026-11-06",
            "detail": "1 file from before 2026-11-07 (03.02.001 keeps P30D)",
        }
    ]
    # A day earlier, the same folder is still within its 30 days.
    assert scan("--no-plans", "--json", "--date", "2026-12-06").exit_code == 0


def test_a_form_of_the_key_across_two_chunks_is_found(tmp_path, monkeypatch):
    from itlake.privacy import security_scan
    from itlake.privacy.pseudonyms import key_forms

    monkeypatch.setattr(security_scan, "CHUNK_BYTES", 16)
    log = tmp_path / "task.log"
    log.write_bytes(b"x" * 10 + KEY.encode() + b"y" * 40)  # the key spans the first three chunks
    assert security_scan.key_forms_in_file(log, key_forms(KEY.encode())) == ["key (raw)"]
    log.write_bytes(b"x" * 10 + KEY.encode()[:-1] + b"y" * 40)
    assert security_scan.key_forms_in_file(log, key_forms(KEY.encode())) == []


def test_no_plan_of_a_pseudonymised_column_holds_the_key_and_the_old_ones_did(spark, places, monkeypatch):
    from bench.bench_pseudonyms import expression_hmac_col
    from itlake.privacy import security_scan

    catalog = load_catalog()
    assert security_scan.pseudonymised_columns(catalog) == PSEUDONYMISED

    done = scan("--json", "--date", "2026-12-07")  # plans on: the test's Spark session
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)["lake"]
    assert (report["plans"], report["findings"]) == (9, [])

    # The HMAC as Spark expressions, as pseudonyms were computed before: both pads are in every plan.
    monkeypatch.setattr(security_scan, "hmac_sha256_col", expression_hmac_col)
    old = security_scan.LakeScan()
    security_scan.scan_plans(spark, PSEUDONYMISED, KEY.encode(), old)
    assert old.plans == 9
    assert [(f.where, f.detail) for f in old.findings] == [
        (f"{contract}.{column}", f"explain extended holds the key xor {pad} (hex)")
        for contract, column, _ in PSEUDONYMISED
        for pad in ("ipad", "opad")
    ]


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    from types import SimpleNamespace

    from rich.console import Console

    from itlake.cli import progress as progress_module

    def stdout_is_a_terminal(answer: bool) -> None:
        stdout = SimpleNamespace(isatty=lambda: answer)
        monkeypatch.setattr(progress_module, "sys", SimpleNamespace(stdout=stdout))

    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=100)
    stdout_is_a_terminal(False)  # a pipe, a test runner, an Airflow task log
    with progress_module.progress("security scan", 3, console=terminal) as advance:
        advance(3)
    assert out.getvalue() == ""

    stdout_is_a_terminal(True)
    with progress_module.progress("security scan", 3, console=terminal, enabled=False) as advance:
        advance(3)
    assert out.getvalue() == ""  # --json asks for none
    with progress_module.progress("security scan", 3, unit="files", console=terminal) as advance:
        advance(2)
    drawn = out.getvalue()
    assert "security scan" in drawn and "2/3" in drawn and "files" in drawn
