"""The contract of the `itlake` command: --version, --json on every command that reports, exit
status 0 ok / 1 refused or failed checks / 2 usage, fixed choices as enums, and arguments checked
before any Spark session is built."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pyarrow as pa
import pytest
import typer.main
from deltalake import write_deltalake
from typer.testing import CliRunner

from itlake.cli import app
from itlake.lake.root import use_lake

ROOT = Path(__file__).resolve().parents[1]
# Every command that prints a report, and the ones that do not (a server, the whole demo, and
# an export whose output is already a JSON-LD document). A new command must be put in one of them.
REPORTING = {
    "catalog list",
    "catalog show",
    "catalog validate",
    "demo generate",
    "ingest",
    "engine start",
    "engine status",
    "tables",
    "status",
    "quality report",
    "quality docs",
    "maas report",
    "portal build",
    "sharing tables",
    "sharing enable-cdf",
    "security retention",
    "erase",
    "sharing add-recipient",
    "security scan",
    "sql",
    "publish",
}
NOT_REPORTING = {"serve", "demo run", "catalog export", "engine stop", "collect"}


def commands() -> dict[str, object]:
    found = {}

    def walk(command, path):
        subs = getattr(command, "commands", {})
        if not subs:
            found[" ".join(path)] = command
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def invoke(*args: str, lake: Path | None = None):
    runner = CliRunner()
    if lake is None:
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})
    with use_lake(lake):
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_version_is_the_one_the_package_is_built_with():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "itlake.__version__"}
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == "itlake 0.1.0\n"


def test_every_reporting_command_takes_json():
    found = commands()
    assert set(found) == REPORTING | NOT_REPORTING
    without = [name for name in sorted(REPORTING) if not any("--json" in p.opts for p in found[name].params)]
    assert without == []


def test_catalog_json_and_exit_codes():
    entries = len(list((ROOT / "catalog").glob("[0-9]*.yaml")))
    result = invoke("catalog", "validate", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"ok": True, "entries": entries}

    shown = json.loads(invoke("catalog", "show", "taxi_gps", "--json").output)
    assert shown["entry"]["code"] == "03.02.001"
    assert shown["entry"]["table"] == "silver.taxi_gps"
    assert shown["contracts"]["taxi_gps"]["quarantine_threshold"] == 0.05
    assert [c["name"] for c in shown["contracts"]["taxi_gps"]["columns"]][:3] == [
        "vehicle_id",
        "fix_time",
        "fix_date",
    ]

    listed = json.loads(invoke("catalog", "list", "--json").output)
    assert len(listed) == entries
    assert {"code": "03.02.002", "name": "taxi_trip"}.items() <= next(
        e for e in listed if e["code"] == "03.02.002"
    ).items()

    wrong = invoke("catalog", "show", "taxi_gsp")
    assert wrong.exit_code == 2
    assert "did you mean taxi_gps" in wrong.output


def test_fixed_choices_are_enums_and_a_wrong_one_is_a_usage_error(tmp_path):
    assert invoke("catalog", "export", "--format", "rdf").exit_code == 2
    assert invoke("maas", "report", "--level", "street").exit_code == 2
    assert invoke("sql", "--engine", "slow", "SELECT 1").exit_code == 2
    refused = invoke(
        "sharing", "add-recipient", "x", "--share", "everyone", "--profile", str(tmp_path / "x.share")
    )
    assert refused.exit_code == 2
    assert not (tmp_path / "x.share").exists()
    assert invoke("no-such-command").exit_code == 2
    assert invoke("status", "--no-such-option").exit_code == 2


def test_the_share_choices_are_the_shares_of_the_catalogue():
    from itlake.cli.sharing import Share
    from itlake.sharing.shares import SHARE_BY_TYPE

    assert sorted(s.value for s in Share) == sorted(SHARE_BY_TYPE.values()) == ["agencies", "public"]


def test_status_fails_on_stale_only_when_asked(tmp_path):
    lake = tmp_path / "lake"
    plain = invoke("status", "--json", lake=lake)
    assert plain.exit_code == 0
    rows = json.loads(plain.output)
    entries = len(list((ROOT / "catalog").glob("[0-9]*.yaml")))
    assert len(rows) == entries
    taxi = next(r for r in rows if r["code"] == "03.02.001")
    assert taxi["stale"] is True and taxi["last_update"] is None
    assert invoke("status", "--json", "--fail-on-stale", lake=lake).exit_code == 1
    assert invoke("status", "--fail-on-stale", lake=lake).exit_code == 1
    assert invoke("status", "--now", "yesterday", lake=lake).exit_code == 2


def test_sql_json_rows(tmp_path):
    lake = tmp_path / "lake"
    write_deltalake(
        str(lake / "gold" / "taxi_trip"),
        pa.table(
            {"trip_id": ["t2", "t1"], "pickup_zone_id": ["440307", "440303"], "distance_m": [800.0, 1200.5]}
        ),
    )
    query = "SELECT * FROM gold.taxi_trip ORDER BY trip_id"
    result = invoke("sql", "--engine", "fast", "--json", query, lake=lake)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"trip_id": "t1", "pickup_zone_id": "440303", "distance_m": 1200.5},
        {"trip_id": "t2", "pickup_zone_id": "440307", "distance_m": 800.0},
    ]
    assert invoke("sql", "--engine", "fast", "SELECT * FROM gold.taxi_trips", lake=lake).exit_code == 1


def test_security_scan_json_and_exit_codes(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    (release / "data.csv").write_text("zone_id,contact\n440303,13812345678\n440307,\n", encoding="utf-8")
    found = invoke("security", "scan", "--json", str(release), lake=tmp_path / "lake")
    assert found.exit_code == 1
    report = json.loads(found.output)
    assert report["files"] == 1
    assert [(f["file"], f["column"], f["row"], f["kind"]) for f in report["findings"]] == [
        ("release/data.csv", "contact", 1, "phone")
    ]
    assert "13812345678" not in found.output

    (release / "data.csv").write_text("zone_id,trips\n440303,12\n", encoding="utf-8")
    assert invoke("security", "scan", "--json", str(release), lake=tmp_path / "lake").exit_code == 0
    missing = invoke("security", "scan", str(tmp_path / "nowhere"), lake=tmp_path / "lake")
    assert missing.exit_code == 2


def test_sharing_tables_json():
    offered = json.loads(invoke("sharing", "tables", "--json").output)
    assert {"share": "public", "schema": "silver", "table": "road_network", "code": "01.01.001"} in offered
    assert not any(t["table"] in ("taxi_gps", "taxi_trip", "waybill") for t in offered)


def _run_itlake(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `python -m itlake` in a child; its wall time and the CPU time it used."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "itlake", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def _answers_quickly(wall: float, cpu: float) -> None:
    # A Spark session costs a JVM start: several seconds of CPU. The wall time is held to 2 s when
    # the machine has a free core; on a machine loaded past its cores, the CPU time is.
    assert cpu < 2.0, f"{cpu:.2f} s of CPU"
    if os.getloadavg()[0] < (os.cpu_count() or 1):
        assert wall < 2.0, f"{wall:.2f} s"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "taxi_gsp", "x.csv"], "error: no catalogue entry 'taxi_gsp'; did you mean taxi_gps"),
        (["ingest", "taxi_gps", "no-such-file.csv"], "error: no such file: no-such-file.csv"),
        (["ingest", "taxi_trip", "x.csv"], "error: 03.02.002 taxi_trip is a derived table; it has no feed"),
    ],
)
def test_ingest_checks_its_arguments_before_spark(tmp_path, args, message):
    (tmp_path / "x.csv").write_text("VehicleNum,time,lon,lat,OpenStatus,Speed\n", encoding="utf-8")
    done, wall, cpu = _run_itlake(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), done.stderr
    _answers_quickly(wall, cpu)
    assert not (tmp_path / "lake").exists() and not (tmp_path / "spark-warehouse").exists()


def test_a_wrong_logical_date_is_a_usage_error(tmp_path):
    (tmp_path / "x.csv").write_text("", encoding="utf-8")
    result = invoke("ingest", "taxi_gps", str(tmp_path / "x.csv"), "--logical-date", "27/11/2026")
    assert result.exit_code == 2
    assert "expected YYYY-MM-DD, got '27/11/2026'" in result.output


def test_the_exit_codes_are_documented():
    from itlake.cli.exit_codes import EXIT_CODES, FAILED, OK, USAGE

    assert (OK, FAILED, USAGE) == (0, 1, 2)
    assert sorted(EXIT_CODES) == [0, 1, 2]
    assert "did you mean" in EXIT_CODES[USAGE] and "refused" in EXIT_CODES[FAILED]
