"""The information resource catalogue: the real entries and the errors a bad entry gives (the DCAT
export is tested in tests/test_dcat.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from itlake.catalog.contracts import display_path
from itlake.catalog.resources import CatalogError, load_catalog
from itlake.config import get_settings

CATALOG_DIR = get_settings().catalog_dir
SCHEMA_DIR = get_settings().schema_dir


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    """A copy of the real catalogue in tmp_path, to break one entry at a time."""
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target)
    return target


def edit(path: Path, change) -> None:
    entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(entry)
    path.write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8")


def errors_of(catalog_dir: Path) -> list[str]:
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir, SCHEMA_DIR)
    return err.value.errors


def test_real_catalogue_is_valid():
    catalog = load_catalog()
    assert len(catalog) == 43


def test_entries_sorted_by_code(catalog):
    assert [e.code for e in catalog.entries] == [
        "01.01.001",
        "01.02.001",
        "01.02.002",
        "01.03.001",
        "01.04.001",
        "02.01.001",
        "03.01.001",
        "03.01.002",
        "03.01.003",
        "03.01.004",
        "03.01.005",
        "03.02.001",
        "03.02.002",
        "03.03.001",
        "03.04.001",
        "03.04.002",
        "03.04.003",
        "03.04.004",
        "04.01.001",
        "04.02.001",
        "04.03.001",
        "04.03.002",
        "04.04.001",
        "04.04.002",
        "05.01.001",
        "05.01.002",
        "05.01.003",
        "05.02.001",
        "05.03.001",
        "05.03.002",
        "05.03.003",
        "05.03.004",
        "05.04.001",
        "05.05.001",
        "05.06.001",
        "05.06.002",
        "06.01.001",
        "06.01.002",
        "06.01.003",
        "06.01.004",
        "06.01.005",
        "06.01.006",
        "06.01.007",
    ]


def test_get_by_code_name_or_table(catalog):
    gps = catalog.get("03.02.001")
    assert catalog.get("taxi_gps") is gps and catalog.get("silver.taxi_gps") is gps
    assert (gps.table, gps.feed, gps.format, gps.update_cycle) == (
        "silver.taxi_gps",
        "taxi_gps",
        "csv",
        "5min",
    )
    assert gps.schema == ["taxi_gps"]
    assert catalog.get("waybill").encoding == "gbk"
    assert catalog.get("gtfs").schema == [
        "gtfs_agency",
        "gtfs_stop",
        "gtfs_route",
        "gtfs_trip",
        "gtfs_stop_time",
        "gtfs_calendar",
        "gtfs_calendar_date",
        "gtfs_shape",
        "gtfs_frequency",
        "gtfs_transfer",
        "gtfs_feed_info",
        "gtfs_fare_attribute",
        "gtfs_fare_rule",
        "gtfs_unsupported_file",
        "gtfs_feed_version",
    ]
    with pytest.raises(KeyError, match="no catalogue entry 'taxi_gsp'; did you mean taxi_gps"):
        catalog.get("taxi_gsp")


def test_family_and_publication(catalog):
    assert catalog.get("road_network").family == "infrastructure"
    assert catalog.get("truck_position").family == "freight"
    assert catalog.get("waybill").family == "freight"
    assert catalog.get("od_taxi_hourly").family == "mobility"
    assert catalog.get("maas_taxi_zone_hour").family == "mobility"
    bridge = catalog.get("bridge_tunnel")
    assert (bridge.security_grade, bridge.critical_infrastructure, bridge.open.level) == (
        "important",
        True,
        "closed",
    )
    assert bridge.is_published  # shared with agencies, on conditions
    assert catalog.classes["03"].name.zh == "客运出行"
    assert catalog.classes["03"].item("04").name.en == "shared bikes"


def test_feeds_leave_out_derived_tables(catalog):
    derived = {e.name for e in catalog.entries} - {e.name for e in catalog.feeds()}
    assert derived == {
        "taxi_trip",
        "od_taxi_hourly",
        "maas_taxi_zone_hour",
        "bike_station_availability_15min",
        "smartcard_trip",
        "road_speed_zone_hour",
        "public_road_inventory",
        "bridge_condition_by_district",
        "freight_corridor_flow",
        "truck_trip_corridor",
        "truck_stay",
        "truck_trip",
        "demand_zone_interval",
        "supply_zone_interval",
        "balance_zone_interval",
        "request_vehicle_match",
        "match_kpi",
        "od_service_options",
        "od_ridehail_hourly",
        "od_transit_hourly",
        "boardings_station_day",
        "bike_availability_station_hour",
        "public_hub_inventory",
        "bridge_condition_district",
        "public_charging_stations",
        "freight_corridor_month",
        "port_throughput_month",
    }


def test_bad_enum_names_file_and_field(catalog_copy):
    edit(catalog_copy / "03.02.001_taxi_gps.yaml", lambda e: e["sharing"].update(type="public"))
    assert errors_of(catalog_copy) == [
        f"{catalog_copy}/03.02.001_taxi_gps.yaml: sharing.type: 'public' is not one of "
        "unconditional, conditional, none"
    ]


def test_contract_text_cut_at_an_unquoted_comma_fails_the_catalogue(catalog_copy, tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    gps = schemas / "taxi_gps.yaml"
    text = gps.read_text(encoding="utf-8")
    gps.write_text(text.replace('"Longitude, WGS-84"', "Longitude, WGS-84"), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_copy, schemas)
    assert err.value.errors == [
        f"{catalog_copy}/03.02.001_taxi_gps.yaml: schema[0]: {gps}: columns[3].description: "
        "unexpected key 'WGS-84' — a text with a comma must be quoted: en: \"Longitude, WGS-84\""
    ]


def test_errors_are_collected_across_files(catalog_copy):
    edit(catalog_copy / "03.02.001_taxi_gps.yaml", lambda e: e.update(update_cycle="fortnightly"))
    edit(
        catalog_copy / "04.01.001_waybill.yaml",
        lambda e: e.update(table="gold.waybill", retention={**e["retention"], "bronze": "2 years"}),
    )
    errors = [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)]
    assert errors == [
        "03.02.001_taxi_gps.yaml: update_cycle: 'fortnightly' is not one of "
        "realtime, 5min, hourly, daily, weekly, monthly, yearly",
        "04.01.001_waybill.yaml: retention.bronze: '2 years' is not an ISO-8601 duration such as P2Y or P90D",
    ]
    # table is checked once the fields parse
    edit(catalog_copy / "04.01.001_waybill.yaml", lambda e: e["retention"].update(bronze="P90D"))
    edit(catalog_copy / "03.02.001_taxi_gps.yaml", lambda e: e.update(update_cycle="5min"))
    assert [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)] == [
        "04.01.001_waybill.yaml: table: 'gold.waybill' should be 'silver.waybill'"
    ]


def test_retention_per_layer(catalog, catalog_copy):
    taxi = catalog.get("taxi_gps").retention
    assert (taxi.landing, taxi.bronze, taxi.silver, taxi.time_travel) == ("P30D", "P90D", "P2Y", "P7D")
    assert taxi.of("quarantine") == "P90D"  # quarantined rows are raw records, kept as bronze
    assert catalog.get("taxi_trip").retention.gold == "P5Y"
    gps, trip = catalog_copy / "03.02.001_taxi_gps.yaml", catalog_copy / "03.02.002_taxi_trip.yaml"
    edit(gps, lambda e: e["retention"].update(landing="P3Y", silver=None))
    edit(trip, lambda e: e["retention"].update(bronze="P1D", silver="P1Y"))
    errors = [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)]
    assert errors == [
        "03.02.001_taxi_gps.yaml: retention.silver: a silver table needs its retention",
        "03.02.002_taxi_trip.yaml: retention.silver: the entry's table is gold, not silver",
        "03.02.002_taxi_trip.yaml: retention.bronze: a derived table (feed null) has no raw data",
    ]
    edit(catalog_copy / "03.02.002_taxi_trip.yaml", lambda e: e.update(retention={"gold": "P5Y"}))
    edit(catalog_copy / "03.02.001_taxi_gps.yaml", lambda e: e["retention"].update(silver="P2Y"))
    assert [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)] == [
        "03.02.001_taxi_gps.yaml: retention.landing: P3Y is longer than silver (P2Y): raw data is kept "
        "no longer than the table made from it"
    ]


def test_retention_cutoffs_follow_the_calendar():
    from datetime import date

    from itlake.catalog.resources import before

    assert before(date(2026, 3, 31), "P1M") == date(2026, 2, 28)
    assert before(date(2024, 2, 29), "P1Y") == date(2023, 2, 28)
    assert before(date(2026, 12, 7), "P90D") == date(2026, 9, 8)
    assert before(date(2026, 12, 7), "P1Y2M1W") == date(2025, 9, 30)


def test_duplicate_code_fails(catalog_copy):
    source = catalog_copy / "03.02.001_taxi_gps.yaml"
    twin = catalog_copy / "03.02.001_taxi_gps_copy.yaml"
    shutil.copy(source, twin)
    edit(twin, lambda e: e.update(name="taxi_gps_copy", table="silver.taxi_gps_copy", schema=["taxi_trip"]))
    errors = errors_of(catalog_copy)
    assert f"{twin}: code: '03.02.001' is also the code of {source}" in errors


def test_unknown_related_code_and_schema_fail(catalog_copy):
    edit(catalog_copy / "03.02.002_taxi_trip.yaml", lambda e: e.update(related=["03.02.001", "03.02.009"]))
    edit(catalog_copy / "04.02.001_port_throughput.yaml", lambda e: e.update(schema=["port_throughputs"]))
    errors = [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)]
    assert "03.02.002_taxi_trip.yaml: related[1]: no entry has the code '03.02.009'" in errors
    missing = display_path(SCHEMA_DIR / "port_throughputs.yaml")
    assert (
        f"04.02.001_port_throughput.yaml: schema[0]: {missing}: no contract named "
        "'port_throughputs'; did you mean port_throughput, port_throughput_month?"
    ) in errors


def test_code_must_match_class_item_and_classes_yaml(catalog_copy):
    edit(catalog_copy / "04.02.001_port_throughput.yaml", lambda e: e.update({"item": "03"}))
    edit(
        catalog_copy / "03.04.001_gbfs_station_information.yaml",
        lambda e: e.update({"code": "03.05.001", "item": "05"}),
    )
    errors = [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)]
    assert (
        "04.02.001_port_throughput.yaml: code: '04.02.001' does not start with class.item '04.03.'" in errors
    )
    assert (
        "03.04.001_gbfs_station_information.yaml: item: '05' is not an item of class 03 (01, 02, 03, 04)"
        in errors
    )


def test_open_resource_refuses_personal_data_and_critical_infrastructure(catalog_copy):
    edit(catalog_copy / "03.02.001_taxi_gps.yaml", lambda e: e["open"].update(level="open"))
    edit(catalog_copy / "01.02.001_bridge_tunnel.yaml", lambda e: e["open"].update(level="open"))
    errors = [line.removeprefix(f"{catalog_copy}/") for line in errors_of(catalog_copy)]
    assert errors == [
        "01.02.001_bridge_tunnel.yaml: open.level: a resource graded important is not open",
        "01.02.001_bridge_tunnel.yaml: open.level: critical infrastructure details are not open",
        "03.02.001_taxi_gps.yaml: open.level: open resource has PII columns ['vehicle_id'] in taxi_gps",
    ]


def test_cli_validate_and_export(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from itlake.cli.catalog import app

    small = tmp_path / "catalog"
    small.mkdir()
    shutil.copy(CATALOG_DIR / "classes.yaml", small)
    shutil.copy(CATALOG_DIR / "04.02.001_port_throughput.yaml", small)
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(small))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["validate"])
        assert (result.exit_code, result.output) == (0, "1 entries OK\n")
        out = tmp_path / "dcat.jsonld"
        result = runner.invoke(app, ["export", "--format", "dcat", "--out", str(out)])
        assert result.exit_code == 0 and '"dct:identifier": "04.02.001"' in out.read_text(encoding="utf-8")
        assert result.output.strip() == f"wrote 1 datasets to {out}"
        ttl = tmp_path / "dcat.ttl"
        result = runner.invoke(app, ["export", "--format", "turtle", "--out", str(ttl)])
        assert result.exit_code == 0 and 'dct:identifier "04.02.001"' in ttl.read_text(encoding="utf-8")
        edit(small / "04.02.001_port_throughput.yaml", lambda e: e.update(layer="bronze"))
        result = runner.invoke(app, ["validate"])
        assert result.exit_code == 1
        assert (
            "04.02.001_port_throughput.yaml: layer: 'bronze' is not one of silver, gold, open"
            in result.output
        )
    finally:
        get_settings.cache_clear()
