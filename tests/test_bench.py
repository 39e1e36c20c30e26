"""The benchmark harness: a quick run prints every row and writes valid JSON (no timing asserted)."""

from __future__ import annotations

import json
import math

import pytest

from bench import run as harness
from bench.common import goal_met, result

EXPECTED_MODULES = {"bench_gx", "bench_ingest", "bench_query", "bench_scaling", "bench_zones"}


def _refuse(constant: str):
    raise ValueError(f"the results JSON holds {constant}, which is not JSON")


def test_goals_read_as_written():
    assert goal_met(0.5, ">= 0.5") and not goal_met(0.49, ">= 0.5")
    assert goal_met(0.25, "<= 25%") and not goal_met(0.26, "<= 25%")
    assert goal_met(12.0, ">= 10x") and not goal_met(9.9, ">= 10x")
    assert goal_met(3.9, "<= 4") and not goal_met(4.1, "<= 4")
    with pytest.raises(ValueError, match="is not like"):
        goal_met(1.0, "about 1")
    row = result("x", 2.0, "s", 4.0, 0.5, ">= 0.6", "n")
    assert row == {
        "name": "x", "value": 2.0, "unit": "s", "baseline": 4.0, "ratio": 0.5, "goal": ">= 0.6", "met": False,
        "note": "n",
    }  # fmt: skip


def test_a_failing_benchmark_is_a_row_and_the_others_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(harness, "discover", lambda: ["bench_missing", "bench_zones"])
    monkeypatch.setattr("bench.bench_zones.POINTS_AT_SCALE_1", 1_000)
    code = harness.main(["--scale", "0.5", "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    record = json.loads(next(tmp_path.glob("*.json")).read_text(), parse_constant=_refuse)
    failed, zones = record["rows"]
    assert failed["name"] == "missing: FAILED" and failed["met"] is False
    assert failed["value"] is None and "ModuleNotFoundError" in failed["note"]
    assert zones["name"] == "zones: point -> zone assignment" and zones["unit"] == "points/s"
    assert "ModuleNotFoundError" in record["failures"]["bench_missing"]
    assert "missing: FAILED" in out and "zones: point -> zone assignment" in out


@pytest.mark.slow
def test_quick_run_prints_every_row_and_writes_json(spark, tmp_path, capsys):
    # Two real benchmarks at the quick scale check the harness end to end; the ingest, GX and
    # scaling benchmarks run whole demo pipelines, which is `make bench`'s work, not the suite's.
    code = harness.main(["--quick", "--only", "zones,query", "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    (written,) = tmp_path.glob("*.json")
    record = json.loads(written.read_text(encoding="utf-8"), parse_constant=_refuse)
    assert code == 0, record["failures"]
    assert set(record["module_seconds"]) == {"bench_zones", "bench_query"}
    assert record["quick"] is True and record["scale"] == harness.QUICK_SCALE
    assert all(record["versions"][name] for name in ("pyspark", "delta-spark", "deltalake", "duckdb"))
    rows = record["rows"]
    names = {row["name"] for row in rows}
    assert {"zones: point -> zone assignment", "query: fast path vs Spark SQL"} <= names
    printed = out.splitlines()
    for row in rows:
        assert list(row) == list(harness.ROW_KEYS)
        assert "FAILED" not in row["name"]
        assert all(math.isfinite(row[k]) and row[k] > 0 for k in ("value", "baseline", "ratio"))
        assert row["met"] == goal_met(row["ratio"], row["goal"])
        assert any(row["name"] in line and row["goal"] in line for line in printed), row["name"]
    assert f"results: {written}" in out


def test_every_benchmark_module_is_discovered():
    assert EXPECTED_MODULES | {"bench_maas"} <= set(harness.discover())
