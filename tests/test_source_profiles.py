"""Source profiles: another vendor's file mapped onto a contract by the catalogue, without code.

tests/fixtures/truck_trajectory_vendor.csv is a fleet platform's export, written by hand in the
layout of the catalogue's `fleet_trajectory` profile of truck_position: `id,timestamp,longitude,
latitude,speed`, day-first local times, GCJ-02 coordinates and speed in m/s. Its points are
published GCJ-02 / WGS-84 reference pairs: Tiananmen GCJ-02 (116.4036716, 39.9106335) is WGS-84
(116.397428, 39.90923); GCJ-02 (128.54820547949757, 37.065651049489816) is WGS-84 (128.543, 37.065).
The real TransBigData sample (shenzhen_traj_sample.csv: id,lon,lat,time,speed,moveid) does not fit
that profile and is refused naming the columns.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from itlake.catalog.resources import CatalogError, load_catalog
from itlake.catalog.units import UnitError, factor, scale
from itlake.cli import app
from itlake.config import get_settings
from itlake.ingest.flow import ingest_paths, plan
from itlake.lake.tables import read_lake_table
from itlake.privacy.pseudonyms import pseudonym

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
VENDOR = FIXTURES / "truck_trajectory_vendor.csv"
DAY = date(2026, 11, 27)


def test_units_convert_exactly_and_refuse_other_quantities():
    assert factor("m/s", "km/h") == 3.6
    assert factor("km", "m") == 1000.0
    assert scale("fen", "CNY") == ("/", 100.0)
    assert 250 / scale("fen", "CNY")[1] == 2.5
    with pytest.raises(UnitError, match="kg is a mass, km/h is a speed"):
        factor("kg", "km/h")
    with pytest.raises(UnitError, match="unknown unit 'furlong'"):
        factor("furlong", "m")


def test_a_vendor_trajectory_ingests_through_its_profile(spark, lake):
    entry = load_catalog().get("truck_position")
    work = plan(entry, [VENDOR], DAY, "fleet_trajectory")
    [row] = ingest_paths(spark, entry, [], DAY, work)
    assert (row.status, row.rows_read, row.rows_promoted, row.rows_quarantined) == ("promoted", 3, 3, 0)

    fixes = read_lake_table(spark, "truck_position").orderBy("fix_time").collect()
    key = get_settings().pseudonym_key()
    got = [
        (f.plate_id, f.fix_time, f.plate_colour, f.speed_kmh, f.heading_deg, f.altitude_m, f.src_crs)
        for f in fixes
    ]
    assert got == [
        # 27/11/2026 08:20:00 in Shanghai is 00:20 UTC; 0 m/s, 2.5 m/s = 9 km/h, 12.5 m/s = 45 km/h.
        (pseudonym("粤B12345", key), datetime(2026, 11, 27, 0, 20), 2, 0.0, None, None, "GCJ-02"),
        (pseudonym("粤B12345", key), datetime(2026, 11, 27, 0, 21, 30), 2, 9.0, None, None, "GCJ-02"),
        (pseudonym("粤B67890", key), datetime(2026, 11, 27, 15, 59, 59), 2, 45.0, None, None, "GCJ-02"),
    ]
    assert [(f.src_lon, f.src_lat) for f in fixes] == [
        (116.4036716, 39.9106335),
        (116.4036716, 39.9106335),
        (128.54820547949757, 37.065651049489816),
    ]
    for fix, (lon, lat) in zip(
        fixes, [(116.397428, 39.90923), (116.397428, 39.90923), (128.543, 37.065)], strict=True
    ):
        assert fix.lon == pytest.approx(lon, abs=1e-6)
        assert fix.lat == pytest.approx(lat, abs=1e-6)
    assert [str(f.fix_date) for f in fixes] == ["2026-11-27"] * 3


def _ingest(*args: str):
    return CliRunner().invoke(
        app, ["ingest", *args, "--logical-date", DAY.isoformat()], env={"COLUMNS": "250"}
    )


def test_a_file_that_does_not_fit_the_profile_is_one_line_naming_the_columns(spark, lake):
    sample = FIXTURES / "shenzhen_traj_sample.csv"
    result = _ingest("truck_position", str(sample), "--profile", "fleet_trajectory")
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first == (
        f"✗ {sample}: shenzhen_traj_sample.csv: header does not fit source profile 'fleet_trajectory': "
        "missing ['timestamp', 'longitude', 'latitude'], unexpected ['lon', 'lat', 'time', 'moveid'] "
        "(header: id,lon,lat,time,speed,moveid)"
    )
    assert "Traceback" not in result.output


def test_the_vendor_file_without_its_profile_is_refused_by_the_standard_header(spark, lake):
    result = _ingest("truck_position", str(VENDOR))
    assert result.exit_code == 1, result.output
    # Declared GB18030 without the profile, the UTF-8 Chinese plates are named as such.
    assert result.output.splitlines()[0].startswith(
        f"✗ {VENDOR}: truck_trajectory_vendor.csv: declared gb18030"
    )


def test_an_unknown_profile_is_a_usage_error(lake):
    result = _ingest("truck_position", str(VENDOR), "--profile", "fleet")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: truck_position has no source profile 'fleet'; its profiles: fleet_trajectory"
    )


@pytest.fixture
def catalog_copy(tmp_path, monkeypatch):
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", catalog)
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(catalog))
    get_settings.cache_clear()
    yield catalog
    get_settings.cache_clear()


def _edit_profile(catalog: Path, change) -> Path:
    path = catalog / "02.01.001_truck_position.yaml"
    entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(entry["profiles"]["fleet_trajectory"])
    path.write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_profile_that_does_not_fit_the_contract_is_named_in_the_catalogue(catalog_copy):
    def change(profile):
        profile["columns"]["plate"] = "vehicle"
        profile["units"] = {"speed_kmh": "kg", "plate_colour": "m"}

    path = _edit_profile(catalog_copy, change)
    with pytest.raises(CatalogError) as caught:
        load_catalog()
    where = f"{path}: profiles.fleet_trajectory"
    assert caught.value.errors == [
        f"{where}.columns.plate: no column of the contract is read from a field 'plate'",
        f"{where}.units.speed_kmh: kg is a mass, km/h is a speed",
        f"{where}.units.plate_colour: column plate_colour has no unit to convert m to",
    ]


def test_a_column_both_mapped_and_constant_is_named_in_the_catalogue(catalog_copy):
    path = _edit_profile(catalog_copy, lambda p: p["constants"].update({"fix_time": "2026-11-27 08:00:00"}))
    with pytest.raises(CatalogError) as caught:
        load_catalog()
    assert caught.value.errors == [
        f"{path}: profiles.fleet_trajectory.constants: ['fix_time'] are also mapped in columns; "
        "give one or the other"
    ]
