"""Biometric data is refused at ingest: a contract marking a column `pii: biometric`, a column named
like faces or templates, and face images in the values, each with an error naming where."""

from __future__ import annotations

import base64
import re
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from itlake.catalog.resources import load_catalog
from itlake.config import get_settings
from itlake.feeds import FeedError
from itlake.feeds.biometric import (
    BiometricDataRefused,
    image_kind,
    is_biometric_name,
    refuse_biometric_values,
)
from itlake.feeds.csv_reader import read_csv_strings
from itlake.ingest.flow import ingest_file
from itlake.lake.paths import table_path
from itlake.lake.system import read_system

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = date(2026, 11, 27)
# The first bytes of a JPEG (SOI, APP0 "JFIF") and of a PNG, as a camera export would encode them.
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00").decode()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").decode()


@pytest.mark.parametrize(
    "name",
    [
        "face_image",
        "faceTemplate",
        "feature_vector",
        "featureVector",
        "driver_portrait",
        "FaceID",
        "iris_code",
        "fingerprint",
        "人脸照片",
        "司机头像",
        "特征向量",
        "biometric_template",
    ],
)
def test_biometric_column_names(name):
    assert is_biometric_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "surface",
        "road_surface_type",
        "interface_id",
        "face_value",
        "VehicleNum",
        "车牌号",
        "deal_value",
        "shape_id",
    ],
)
def test_ordinary_column_names(name):
    assert not is_biometric_name(name)


def test_image_values():
    assert JPEG.startswith("/9j/") and PNG.startswith("iVBORw0KGgo")
    assert image_kind(JPEG) == "a base64 JPEG image"
    assert image_kind("  " + PNG) == "a base64 PNG image"
    assert image_kind("data:image/webp;base64,UklGR") == "an image"
    assert image_kind("粤B00001") is None and image_kind("/9") is None


def test_csv_header_with_a_face_column_is_refused_naming_file_and_column():
    data = (
        "VehicleNum,time,lon,lat,OpenStatus,Speed,司机人脸\n"
        "粤B00001,2026-11-27 08:00:00,114.05,22.54,0,30,x\n"
    )
    with pytest.raises(
        BiometricDataRefused, match=r"^taxi.csv: refused: column 司机人脸 is named like biometric"
    ):
        read_csv_strings(
            data.encode(), encoding="utf-8", expected=data.split("\n")[0].split(",")[:6], source="taxi.csv"
        )
    # Also where a format allows extra columns (GTFS): the face column would otherwise be dropped quietly.
    with pytest.raises(BiometricDataRefused, match="column 司机人脸"):
        read_csv_strings(
            data.encode(), encoding="utf-8", expected=["VehicleNum"], source="taxi.csv", allow_extra=True
        )


def test_image_values_are_refused_naming_file_column_and_row():
    table = pa.table(
        {
            "VehicleNum": ["粤B00001", "粤B00002", "粤B00003"],
            "remark": ["", None, "data:image/jpeg;base64," + JPEG],
            "_row_number": pa.array([1, 2, 3], pa.int64()),
        }
    )
    with pytest.raises(
        BiometricDataRefused,
        match=r"^gate.csv: refused: column remark, row 3 holds an image; biometric data is refused at ingest",
    ):
        refuse_biometric_values({"taxi_gps": table}, "gate.csv")
    clean = table.set_column(1, "remark", pa.array(["", None, "ok"]))
    refuse_biometric_values({"taxi_gps": clean}, "gate.csv")


def _ledger(spark):
    return [(r.status, r.message) for r in read_system(spark, "ingest_ledger").collect()]


def test_a_contract_marking_biometric_data_refuses_the_feed_before_landing(
    spark, lake, tmp_path, monkeypatch
):
    # A feed kept inside the lake (sharing none: the catalogue refuses biometric columns in any
    # resource that leaves it), whose contract declares a biometric column.
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", catalog)
    entry = catalog / "03.02.001_taxi_gps.yaml"
    entry.write_text(
        re.sub(
            r"sharing:\n.*?\nopen:",
            "sharing:\n  type: none\n  method: []\nopen:",
            entry.read_text(),
            flags=re.S,
        )
    )
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(catalog))
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "taxi_gps.yaml"
    text = contract.read_text(encoding="utf-8")
    assert "{name: vehicle_id, type: string, nullable: false, pii: indirect" in text
    contract.write_text(
        text.replace(
            "{name: vehicle_id, type: string, nullable: false, pii: indirect",
            "{name: vehicle_id, type: string, nullable: false, pii: biometric",
        )
    )
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    message = (
        "taxi_gps_tiny.csv: refused: contract taxi_gps marks column vehicle_id as pii: biometric; "
        "biometric data is refused at ingest: transport data has no need for it"
    )
    with pytest.raises(BiometricDataRefused) as refused:
        ingest_file(spark, load_catalog().get("taxi_gps"), FIXTURES / "taxi_gps_tiny.csv", DAY)
    assert str(refused.value) == message
    assert _ledger(spark) == [("refused", message)]
    assert not Path(table_path("landing", "taxi_gps")).exists()
    assert not Path(table_path("bronze", "taxi_gps")).exists()


def test_face_images_in_a_feed_are_refused_and_leave_nothing_in_the_lake(spark, lake, tmp_path):
    lines = (FIXTURES / "taxi_gps_tiny.csv").read_text(encoding="utf-8").splitlines()
    fields = lines[3].split(",")
    lines[3] = ",".join([JPEG, *fields[1:]])  # an in-cab camera's capture where the plate should be
    received = tmp_path / "taxi_gps_cam.csv"
    received.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FeedError) as refused:
        ingest_file(spark, load_catalog().get("taxi_gps"), received, DAY)
    assert isinstance(refused.value, BiometricDataRefused)
    assert str(refused.value).startswith(
        "taxi_gps_cam.csv: refused: column VehicleNum, row 3 holds a base64 JPEG image; biometric data"
    )
    assert [status for status, _ in _ledger(spark)] == ["refused"]
    assert list(Path(table_path("landing", "taxi_gps")).rglob("*.csv")) == []
    assert not Path(table_path("bronze", "taxi_gps")).exists()
