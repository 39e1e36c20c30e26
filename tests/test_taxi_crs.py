"""Taxi GPS declared GCJ-02 in the catalogue: silver holds WGS-84, with the fixes as received kept.

The catalogue is a test-local copy in which 03.02.001 declares `crs: GCJ-02`. The expected WGS-84
values are published reference pairs: Tiananmen GCJ-02 (116.4036716, 39.9106335) is WGS-84
(116.397428, 39.90923); GCJ-02 (128.54820547949757, 37.065651049489816) is WGS-84 (128.543, 37.065).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from itlake.catalog.resources import load_catalog
from itlake.config import get_settings
from itlake.ingest.flow import ingest_file
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def gcj02_catalog(tmp_path, monkeypatch):
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", catalog)
    entry = catalog / "03.02.001_taxi_gps.yaml"
    text = entry.read_text(encoding="utf-8")
    assert "crs: WGS-84" in text
    entry.write_text(text.replace("crs: WGS-84", "crs: GCJ-02"), encoding="utf-8")
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(catalog))
    get_settings.cache_clear()
    yield catalog
    get_settings.cache_clear()


def test_taxi_fixes_declared_gcj02_become_wgs84(spark, lake, gcj02_catalog):
    entry = load_catalog().get("taxi_gps")
    assert entry.crs == "GCJ-02"
    [row] = ingest_file(spark, entry, REPO / "tests" / "fixtures" / "taxi_gps_gcj02.csv", date(2026, 11, 27))
    assert (row.rows_read, row.rows_promoted, row.rows_quarantined) == (3, 3, 0)
    fixes = read_table(spark, table_path("silver", "taxi_gps")).orderBy("fix_time").collect()
    assert [f.src_crs for f in fixes] == ["GCJ-02"] * 3
    assert [(f.src_lon, f.src_lat) for f in fixes] == [
        (116.4036716, 39.9106335),
        (128.54820547949757, 37.065651049489816),
        (116.4036716, 39.9106335),
    ]
    for fix, (lon, lat) in zip(
        fixes, [(116.397428, 39.90923), (128.543, 37.065), (116.397428, 39.90923)], strict=True
    ):
        assert fix.lon == pytest.approx(lon, abs=1e-6)
        assert fix.lat == pytest.approx(lat, abs=1e-6)
