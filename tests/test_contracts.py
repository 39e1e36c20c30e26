"""Contracts: every file in schemas/ is valid, its Spark and pyarrow schemas agree, and a bad
contract fails with a message that names the file and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from itlake.catalog.contracts import (
    ContractError,
    SchemaMismatchError,
    check_columns,
    load_contract,
    load_contracts,
)
from itlake.config import get_settings

SCHEMA_FILES = sorted(get_settings().schema_dir.glob("*.yaml"))
CONTRACT_NAMES = [p.stem for p in SCHEMA_FILES]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
name: {name}
title: {{zh: 测试, en: Test}}
grain: One row per test.
layer: silver
primary_key: [item_id]
columns:
  - {{name: item_id, type: string, nullable: false, description: {{zh: 编号, en: Id}}}}
{extra}"""


def contract_text(name: str = "probe", extra: str = "") -> str:
    """A valid contract, plus `extra` column lines (written flush left, indented here)."""
    return GOOD.format(name=name, extra=textwrap.indent(textwrap.dedent(extra), "  "))


def test_the_feeds_of_the_catalogue_all_have_contracts():
    assert {
        "taxi_gps",
        "taxi_trip",
        "waybill",
        "road_network",
        "gtfs_stop",
        "gtfs_route",
        "gtfs_trip",
        "gtfs_stop_time",
        "gtfs_calendar",
        "od_taxi_hourly",
        "maas_taxi_zone_hour",
        "bridge_tunnel",
        "transport_hub",
        "nev_charging_station",
        "truck_position",
        "gtfs_rt_vehicle_position",
        "gtfs_rt_trip_update",
        "smartcard_tap",
        "ridehail_order",
        "gbfs_station_information",
        "gbfs_station_status",
        "gbfs_vehicle_status",
        "port_throughput",
    } <= set(CONTRACT_NAMES)


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_contract_is_valid(name):
    contract = load_contract(name)
    assert contract.name == name


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_spark_and_arrow_schemas_agree(name):
    """Spark's own StructType -> Arrow conversion gives the contract's Arrow schema exactly."""
    from pyspark.sql.pandas.types import to_arrow_schema

    contract = load_contract(name)
    spark_schema = contract.spark_schema()
    arrow = contract.arrow_schema()
    assert spark_schema.fieldNames() == arrow.names == contract.column_names
    assert (
        [f.nullable for f in spark_schema]
        == [f.nullable for f in arrow]
        == [c.nullable for c in contract.columns]
    )
    from_spark = to_arrow_schema(spark_schema, timezone="UTC")
    for ours, theirs in zip(arrow, from_spark, strict=True):
        assert (ours.name, ours.type, ours.nullable) == (theirs.name, theirs.type, theirs.nullable)


def test_taxi_gps_types_written_by_hand():
    from pyspark.sql import types as T

    contract = load_contract("taxi_gps")
    arrow = contract.arrow_schema()
    assert arrow.field("vehicle_id").type == pa.string() and not arrow.field("vehicle_id").nullable
    assert arrow.field("fix_time").type == pa.timestamp("us", tz="UTC")
    assert arrow.field("fix_date").type == pa.date32()
    assert arrow.field("open_status").type == pa.int32()
    assert arrow.field("speed_kmh").type == pa.float64() and arrow.field("speed_kmh").nullable
    spark = contract.spark_schema()
    assert spark["fix_time"].dataType == T.TimestampType()
    assert spark["open_status"].dataType == T.IntegerType()
    assert spark["fix_date"].dataType == T.DateType()


def test_long_and_geometry_columns():
    trip = load_contract("taxi_trip")
    assert trip.arrow_schema().field("duration_s").type == pa.int64()
    road = load_contract("road_network").arrow_schema().field("geometry")
    assert road.type == pa.binary()
    assert road.metadata == {b"encoding": b"WKB", b"geometry": b"LineString", b"crs": b"EPSG:4326"}


def test_source_map_and_pii_columns():
    waybill = load_contract("waybill")
    assert waybill.source_map["运单号"] == "waybill_no"
    assert waybill.source_map["重量kg"] == "weight_kg"
    assert "pickup_date" not in waybill.source_map.values()
    assert waybill.pii_columns("indirect") == ["shipper_id", "consignee_id", "plate_id"]
    assert waybill.pii_columns("direct") == []
    assert load_contract("ridehail_order").pii_columns("indirect", exact=True) == [
        "passenger_id",
        "driver_id",
        "plate_id",
    ]
    assert waybill.column("weight_kg").range == (0.001, 200000.0)
    with pytest.raises(KeyError, match="did you mean weight_kg"):
        waybill.column("weight_kgs")


def test_check_columns_lists_missing_and_unexpected_and_ignores_lineage():
    contract = load_contract("gtfs_route")
    check_columns(contract.column_names + ["_batch_id", "_source_file"], contract, where="silver.gtfs_route")
    actual = [
        "feed_version",
        "route_id",
        "agency_id",
        "route_short_name",
        "route_type",
        "route_color",
        "_batch_id",
    ]
    with pytest.raises(SchemaMismatchError) as err:
        check_columns(actual, contract, where="bronze->silver gtfs_route")
    assert err.value.missing == ["route_long_name"]
    assert err.value.unexpected == ["route_color"]
    assert str(err.value) == (
        "bronze->silver gtfs_route: columns do not match contract gtfs_route: "
        "missing ['route_long_name']; unexpected ['route_color']"
    )


def test_bad_type_names_file_and_field(tmp_path):
    path = write(
        tmp_path,
        "probe",
        contract_text(
            extra="""\
        - {name: speed_kmh, type: float, description: {zh: 速度, en: Speed}}
    """
        ),
    )
    with pytest.raises(ContractError) as err:
        load_contract("probe", tmp_path)
    assert str(err.value) == (
        f"{path}: columns[1].type: 'float' is not one of string, int, long, double, boolean, date, "
        "timestamp, binary"
    )


def test_geometry_needs_crs_and_binary(tmp_path):
    write(
        tmp_path,
        "probe",
        contract_text(
            extra="""\
        - {name: geometry, type: string, geometry: Point, description: {zh: 几何, en: Geometry}}
    """
        ),
    )
    with pytest.raises(ContractError) as err:
        load_contract("probe", tmp_path)
    lines = str(err.value).splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["columns[1].type", "columns[1].crs"]
    assert lines[1].endswith("columns[1].crs: required when geometry is set")


def test_keys_must_name_columns(tmp_path):
    write(
        tmp_path,
        "probe",
        contract_text(
            extra="""\
        - {name: item_id, type: string, description: {zh: 重复, en: Duplicate}}
    """
        ).replace("primary_key: [item_id]", "primary_key: [item_id, item_no]\npartition_by: [day]"),
    )
    with pytest.raises(ContractError) as err:
        load_contract("probe", tmp_path)
    message = str(err.value)
    assert "columns[1].name: 'item_id' is defined twice" in message
    assert "primary_key[1]: 'item_no' is not a column" in message
    assert "partition_by[0]: 'day' is not a column" in message


def test_unknown_field_and_missing_description(tmp_path):
    write(
        tmp_path,
        "probe",
        contract_text(
            extra="""\
        - {name: note, type: string, nulable: true, description: {zh: 备注}}
    """
        ),
    )
    with pytest.raises(ContractError) as err:
        load_contract("probe", tmp_path)
    message = str(err.value)
    assert "probe.yaml: columns[1].nulable: unknown field" in message
    assert "probe.yaml: columns[1].description.en: required field is missing" in message


def test_text_cut_at_an_unquoted_comma_names_file_field_and_fix(tmp_path):
    path = write(
        tmp_path,
        "probe",
        contract_text(
            extra="""\
        - {name: fix_time, type: timestamp, description: {zh: 时间, en: Time of the fix, UTC, ISO}}
    """
        ),
    )
    with pytest.raises(ContractError) as err:
        load_contract("probe", tmp_path)
    assert str(err.value) == (
        f"{path}: columns[1].description: unexpected key 'UTC' — a text with a comma must be quoted: "
        'en: "Time of the fix, UTC, ISO"'
    )


def test_other_extra_key_in_a_bilingual_text_is_an_unknown_field(tmp_path):
    text = contract_text().replace("{zh: 测试, en: Test}", "{zh: 测试, en: Test, fr: Essai}")
    write(tmp_path, "probe", text)
    with pytest.raises(ContractError, match=r"probe\.yaml: title\.fr: unknown field$"):
        load_contract("probe", tmp_path)


def test_name_must_match_file_and_errors_are_collected_across_files(tmp_path):
    write(tmp_path, "first", contract_text(name="other"))
    write(tmp_path, "second", contract_text(name="second").replace("layer: silver", "layer: platinum"))
    write(tmp_path, "third", contract_text(name="third"))
    with pytest.raises(ContractError) as err:
        load_contracts(tmp_path)
    lines = str(err.value).splitlines()
    assert lines[0].endswith("first.yaml: name: 'other' differs from the file name 'first'")
    assert lines[1].endswith(
        "second.yaml: layer: 'platinum' is not one of landing, bronze, silver, gold, open"
    )
    assert len(lines) == 2


def test_unknown_contract_suggests_close_names(tmp_path):
    write(tmp_path, "taxi_gps", contract_text(name="taxi_gps"))
    with pytest.raises(ContractError, match="no contract named 'taxi_gsp'; did you mean taxi_gps"):
        load_contract("taxi_gsp", tmp_path)


def test_contracts_module_does_not_import_pyspark():
    import subprocess
    import sys

    code = (
        "import sys, itlake.catalog.contracts, itlake.catalog.resources; "
        "print('pyspark' in sys.modules, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
