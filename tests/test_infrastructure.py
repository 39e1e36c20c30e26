"""Infrastructure feeds (roads, bridges and tunnels, hubs, charging stations), GeoParquet and the
bridge-condition gold table, on hand-written fixtures with hand-computed results.

Each bad input has its own reason: a line that crosses itself, a line that fails shapely's is_valid,
a point where a line belongs, a missing geometry, condition class 7, an inspection after the batch's
logical date, a negative power, and a GBK file declared as UTF-8 (refused, naming the byte offset).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import shapely

from itlake.catalog.resources import load_catalog
from itlake.config import get_settings
from itlake.feeds import FeedError
from itlake.ingest.flow import ingest_file
from itlake.lake.delta import read_table
from itlake.lake.paths import table_path
from itlake.lake.system import read_system

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = date(2026, 11, 27)
INFRASTRUCTURE = ("road_network", "bridge_tunnel", "transport_hub", "nev_charging_station")


@pytest.fixture
def lenient_infrastructure(tmp_path, monkeypatch):
    """The contracts, with the infrastructure tables allowed to quarantine most of a batch: each
    fixture is small and carries several bad rows on purpose."""
    import re

    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    for name in INFRASTRUCTURE:
        path = schemas / f"{name}.yaml"
        text = re.sub(r"quarantine_threshold: [0-9.]+", "quarantine_threshold: 0.6", path.read_text("utf-8"))
        path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()


def quarantine_reasons(spark, name: str) -> dict[int, tuple[str, str]]:
    rows = read_table(spark, table_path("quarantine", name)).collect()
    return {r._row_number: (r.quarantine_rule, r.quarantine_reason) for r in rows}


def counts(row) -> tuple[int, int, int, int]:
    assert row.rows_read == row.rows_promoted + row.rows_duplicate + row.rows_quarantined
    return row.rows_read, row.rows_promoted, row.rows_duplicate, row.rows_quarantined


def test_roads_quarantine_bad_geometries_and_measure_lengths_in_utm(spark, lake, lenient_infrastructure):
    [row] = ingest_file(spark, load_catalog().get("road_network"), FIXTURES / "infra_roads.geojson", DAY)
    assert counts(row) == (6, 3, 0, 3)
    reasons = quarantine_reasons(spark, "road_network")
    assert reasons == {
        4: (
            "parse_error",
            "self_intersecting: feature 4 (road_id=R4) fails shapely is_simple: "
            "the line crosses itself at (114.025000 22.555000)",
        ),
        5: (
            "parse_error",
            "invalid_geometry: feature 5 (road_id=R5) "
            "fails shapely is_valid: Too few points in geometry component[114.04 22.57]",
        ),
        6: ("parse_error", "geometry_type: feature 6 (road_id=R6) is a Point, not a LineString"),
    }
    silver = {r.road_id: r for r in read_table(spark, table_path("silver", "road_network")).collect()}
    assert sorted(silver) == ["R1", "R2", "R3"]
    # Hand computation, WGS-84 ellipsoid (a = 6378137 m, e² = 0.00669438), UTM zone 49N (central
    # meridian 111°E, k0 = 0.9996), point scale k = k0 (1 + cos²φ Δλ² / 2):
    # R1 runs 0.01° north along 114.065°E at φ = 22.535°: meridian arc a(1-e²)/(1-e² sin²φ)^1.5 ×
    #    0.01° = 1107.376 m; k = 1.000820, so 1108.28 m.
    # R2 runs 0.01° east along φ = 22.54° at 114.055°E: parallel arc a cosφ / (1-e² sin²φ)^0.5 ×
    #    0.01° = 1028.666 m; k = 1.000812, so 1029.50 m.
    # The neglected higher-order terms of k are worth under 0.15 m here.
    assert silver["R1"].length_m == pytest.approx(1108.28, abs=0.15)
    assert silver["R2"].length_m == pytest.approx(1029.50, abs=0.15)
    assert (silver["R2"].name, silver["R2"].road_class, silver["R2"].lanes, silver["R2"].speed_limit_kmh) == (
        "深南大道",
        "arterial",
        8,
        60,
    )
    # WKB round trip: the stored bytes are a LineString with the received coordinates.
    r2 = shapely.from_wkb(bytes(silver["R2"].geometry))
    assert r2.geom_type == "LineString" and list(r2.coords) == [(114.05, 22.54), (114.06, 22.54)]
    # A MultiLineString whose two parts meet is stored as the one LineString they form.
    r3 = shapely.from_wkb(bytes(silver["R3"].geometry))
    assert list(r3.coords) == [(113.99, 22.52), (114.0, 22.521), (114.01, 22.522)]
    assert silver["R3"].src_crs == "WGS-84"


def bronze_frame(spark, table, source_file: str):
    """A parser's raw table as the ingest stage hands it to `to_silver` (lineage and `_record` added)."""
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(table)
    raw = [c for c in frame.columns if not c.startswith("_")]
    return frame.withColumns(
        {
            "_batch_id": F.lit("test"),
            "_source_file": F.lit(source_file),
            "_ingested_at": F.current_timestamp(),
            "_record": F.to_json(F.struct(*[F.col(f"`{c}`") for c in raw])),
        }
    )


def test_a_geopackage_in_its_own_projected_crs_is_read_and_converted(spark, tmp_path):
    """A GeoPackage layer in CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547), the national grid
    Chinese survey data comes in: its stated CRS wins over the catalogue's, and silver is WGS-84."""
    import geopandas as gpd

    from itlake.feeds import BatchContext, get_feed

    lines = [
        shapely.LineString([(114.065, 22.53), (114.065, 22.54)]),
        shapely.LineString([(114.05, 22.54), (114.06, 22.54)]),
    ]
    frame = gpd.GeoDataFrame(
        {
            "road_id": ["R1", "R2"],
            "name": ["彩田路", "深南大道"],
            "road_class": ["arterial", "arterial"],
            "lanes": [6, 8],
            "speed_limit_kmh": [60, 60],
        },
        geometry=lines,
        crs="EPSG:4326",
    ).to_crs("EPSG:4547")
    path = tmp_path / "roads_cgcs2000.gpkg"
    frame.to_file(path, layer="roads", driver="GPKG")

    feed = get_feed("road_network")
    ctx = BatchContext("test", "0" * 64, path.name, DAY, b"k", "utf-8", "GCJ-02", "Asia/Shanghai")
    bronze = bronze_frame(spark, feed.read(path, ctx)["road_network"], path.name)
    silver = {r.road_id: r for r in feed.to_silver(bronze, "road_network", ctx).collect()}
    assert {r.src_crs for r in silver.values()} == {"EPSG:4547"}
    assert all(r._parse_error is None for r in silver.values())
    r2 = shapely.from_wkb(bytes(silver["R2"].geometry))
    assert [tuple(round(v, 7) for v in xy) for xy in r2.coords] == [(114.05, 22.54), (114.06, 22.54)]
    # The same lines as in the GeoJSON test, so the same hand-computed lengths.
    assert silver["R1"].length_m == pytest.approx(1108.28, abs=0.15)
    assert silver["R2"].length_m == pytest.approx(1029.50, abs=0.15)


def test_bridges_quarantine_class_7_and_future_inspections_then_gold_by_district(
    spark, lake, lenient_infrastructure
):
    import geopandas as gpd

    from itlake.geo.zones import load_zones
    from itlake.gold.bridge_condition import run

    [row] = ingest_file(spark, load_catalog().get("bridge_tunnel"), FIXTURES / "infra_bridges.csv", DAY)
    assert counts(row) == (6, 4, 0, 2)
    assert quarantine_reasons(spark, "bridge_tunnel") == {
        5: (
            "expect_column_values_to_be_in_set:condition_class",
            "condition_class=7 is not one of [1, 2, 3, 4, 5] (expect_column_values_to_be_in_set)",
        ),
        6: (
            "parse_error",
            "inspection_in_future: 检查日期 2027-01-15 is after the batch's logical date 2026-11-27",
        ),
    }
    silver = {r.structure_id: r for r in read_table(spark, table_path("silver", "bridge_tunnel")).collect()}
    b1 = silver["440304B0001"]
    assert (b1.structure_type, b1.condition_class, b1.inspection_date, b1.road_id) == (
        "bridge",
        2,
        date(2026, 5, 12),
        "R1",
    )
    assert (silver["440303T0001"].structure_type, silver["440303T0001"].condition_class) == ("tunnel", 3)
    assert silver["440306B0003"].load_limit_t == 20.0 and b1.load_limit_t is None
    assert shapely.from_wkb(bytes(b1.geometry)).equals(shapely.Point(114.065, 22.535))

    result = run(spark, DAY)
    gold = {
        (r.district_code, r.structure_type): r
        for r in read_table(spark, table_path("gold", "bridge_condition_by_district")).collect()
    }
    figures = {
        key: (
            r.district_name,
            r.structures,
            [getattr(r, f"class_{k}_structures") for k in range(1, 6)],
            r.class_4_5_share,
            r.total_length_m,
            r.oldest_inspection_date,
        )
        for key, r in gold.items()
    }
    assert figures == {
        ("440303", "tunnel"): ("罗湖区", 1, [0, 0, 1, 0, 0], 0.0, 2238.0, date(2025, 11, 30)),
        ("440304", "bridge"): ("福田区", 1, [0, 1, 0, 0, 0], 0.0, 386.5, date(2026, 5, 12)),
        ("440305", "bridge"): ("南山区", 1, [1, 0, 0, 0, 0], 0.0, 5545.0, date(2026, 3, 20)),
        ("440306", "bridge"): ("宝安区", 1, [0, 0, 0, 1, 0], 1.0, 120.0, date(2026, 8, 1)),
    }
    assert {r.as_of_date for r in gold.values()} == {DAY}

    # The GeoParquet copy: geopandas reads the district boundaries back in WGS-84.
    assert result["rows"] == 4
    copy = gpd.read_parquet(result["geoparquet"])
    assert copy.crs.to_epsg() == 4326 and copy.geometry.name == "geometry"
    assert sorted(copy["district_code"]) == ["440303", "440304", "440305", "440306"]
    futian = copy.loc[copy["district_code"] == "440304", "geometry"].iloc[0]
    zones = load_zones().set_index("zone_id")
    assert futian.geom_type == "MultiPolygon" and futian.equals(zones.loc["440304", "geometry"])


def test_a_structure_in_no_district_counts_under_the_city(spark):
    from itlake.gold.bridge_condition import build_bridge_condition, district_boundaries

    rows = [
        # Two bridges in Futian (classes 1 and 5), one in the Pearl River estuary outside every district.
        ("B1", "bridge", 1, 100.0, date(2026, 1, 10), 114.055, 22.54),
        ("B2", "bridge", 5, 50.0, date(2025, 6, 1), 114.06, 22.55),
        ("B3", "bridge", 2, 900.0, date(2026, 2, 1), 113.70, 22.30),
    ]
    schema = (
        "structure_id string, structure_type string, condition_class int, length_m double, "
        "inspection_date date, lon double, lat double"
    )
    out = (
        spark.createDataFrame(rows, schema)
        .transform(build_bridge_condition(DAY, district_boundaries(spark)))
        .collect()
    )
    figures = {
        r.district_code: (
            r.district_name,
            r.structures,
            r.class_1_structures,
            r.class_5_structures,
            r.class_4_5_share,
            r.total_length_m,
            r.geometry is None,
        )
        for r in out
    }
    assert figures == {
        "440304": ("福田区", 2, 1, 1, 0.5, 150.0, False),
        "440300": ("深圳市（未落入区县）", 1, 0, 0, 0.0, 900.0, True),
    }


def test_charging_stations_gbk_gcj02_with_a_negative_power(spark, lake, lenient_infrastructure):
    from itlake.geo.crs import wgs84_to_gcj02

    entry = load_catalog().get("nev_charging_station")
    assert (entry.encoding, entry.crs) == ("gbk", "GCJ-02")
    [row] = ingest_file(spark, entry, FIXTURES / "infra_charging_gbk.csv", DAY)
    assert counts(row) == (4, 3, 0, 1)
    assert quarantine_reasons(spark, "nev_charging_station") == {
        4: (
            "expect_column_values_to_be_between:max_power_kw",
            "max_power_kw=-120.0 is outside [1.0, 1200.0] (expect_column_values_to_be_between)",
        )
    }
    silver = {
        r.station_id: r for r in read_table(spark, table_path("silver", "nev_charging_station")).collect()
    }
    teld = silver["SZ-TELD-0001"]
    assert (teld.operator, teld.connectors, teld.dc_connectors, teld.ac_connectors) == ("特来电", 24, 20, 4)
    assert (teld.max_power_kw, teld.total_power_kw, teld.open_24h) == (120.0, 2428.0, True)
    assert silver["SZ-STAR-0002"].open_24h is False
    # The file holds the GCJ-02 shift of the WGS-84 point (114.0590, 22.5330), to 7 decimals.
    assert (teld.src_lon, teld.src_lat, teld.src_crs) == (114.0641146, 22.5302841, "GCJ-02")
    assert (teld.lon, teld.lat) == (pytest.approx(114.0590, abs=1e-6), pytest.approx(22.5330, abs=1e-6))
    assert shapely.from_wkb(bytes(teld.geometry)).equals(shapely.Point(teld.lon, teld.lat))
    shifted = wgs84_to_gcj02(114.0590, 22.5330)
    assert (round(float(shifted[0]), 7), round(float(shifted[1]), 7)) == (114.0641146, 22.5302841)


def test_hubs_in_gcj02_geojson_and_their_geoparquet_copy(spark, lake, lenient_infrastructure):
    import geopandas as gpd

    from itlake.lake.geoparquet import export_table

    [row] = ingest_file(spark, load_catalog().get("transport_hub"), FIXTURES / "infra_hubs.geojson", DAY)
    assert counts(row) == (6, 5, 0, 1)
    assert quarantine_reasons(spark, "transport_hub") == {
        6: ("parse_error", "missing_geometry: feature 6 (hub_id=H006) has no geometry")
    }
    silver = {r.hub_id: r for r in read_table(spark, table_path("silver", "transport_hub")).collect()}
    north = silver["H001"]
    assert (north.hub_name, north.hub_type, north.district_code, north.opened_date) == (
        "深圳北站",
        "rail_station",
        "440309",
        date(2011, 12, 26),
    )
    # The register's GCJ-02 point is the shift of Shenzhen North's WGS-84 position (114.0295, 22.6097).
    assert (north.src_lon, north.src_lat, north.src_crs) == (114.03457, 22.6069261, "GCJ-02")
    assert (north.lon, north.lat) == (pytest.approx(114.0295, abs=1e-6), pytest.approx(22.6097, abs=1e-6))

    result = export_table(spark, "transport_hub")
    assert result["rows"] == 5
    copy = gpd.read_parquet(result["path"]).set_index("hub_id")
    assert copy.crs.to_epsg() == 4326
    assert copy.loc["H001", "geometry"].equals(shapely.Point(north.lon, north.lat))
    assert copy.loc["H003", "hub_name"] == "深圳宝安国际机场"


def test_a_gbk_file_declared_as_utf8_is_refused_naming_the_byte(spark, lake, tmp_path):
    gbk = tmp_path / "bridges_gbk.csv"
    gbk.write_bytes((FIXTURES / "infra_bridges.csv").read_text(encoding="utf-8").encode("gbk"))
    entry = load_catalog().get("bridge_tunnel")
    assert entry.encoding == "utf-8"
    # 构 is B9 B9 in GBK and 造 is D4 EC: the very first bytes of the header.
    message = (
        r"bridges_gbk.csv: bytes at offset 0 \(b9 b9 d4 ec\) do not decode as the declared encoding utf-8"
    )
    with pytest.raises(FeedError, match=message):
        ingest_file(spark, entry, gbk, DAY)
    [row] = read_system(spark, "ingest_ledger").collect()
    assert (row.status, row.rows_read, row.rows_promoted, row.rows_quarantined) == ("refused", 0, 0, 0)
    assert "offset 0" in row.message


@pytest.fixture(scope="module")
def demo_city():
    from itlake.demo.city import build_city

    return build_city(42)


def test_demo_writers_plant_exactly_the_listed_dirt(demo_city, tmp_path):
    import csv
    import io
    import json

    import numpy as np

    from itlake.demo.bridges import write_bridges
    from itlake.demo.charging import write_charging
    from itlake.demo.hubs import write_hubs
    from itlake.demo.roads import write_roads
    from itlake.geo.crs import gcj02_to_wgs84

    roads_out = write_roads(tmp_path, demo_city, scale=1.0, seed=42, date=DAY)
    roads = json.loads(roads_out.path.read_text(encoding="utf-8"))["features"]
    [crossing] = roads_out.dirt
    assert crossing.kind == "self_intersecting"
    simple = [shapely.geometry.shape(f["geometry"]).is_simple for f in roads]
    assert [i + 1 for i, ok in enumerate(simple) if not ok] == [crossing.row]

    bridges_out = write_bridges(tmp_path, demo_city, scale=0.05, seed=42, date=DAY)
    rows = list(csv.DictReader(io.StringIO(bridges_out.path.read_text(encoding="utf-8"))))
    assert len(rows) == bridges_out.rows == 120  # the floor: 300 x 0.05 is less
    dirt = {d.kind: d.row for d in bridges_out.dirt}
    assert dirt == {"condition_class_7": 40, "inspection_in_future": 80}
    assert rows[39]["技术状况等级"] == "7" and rows[79]["检查日期"] == "2027-01-06"
    others = [r for i, r in enumerate(rows, 1) if i not in dirt.values()]
    assert {r["技术状况等级"] for r in others} <= {"1类", "2类", "3类", "4类", "5类"}
    assert all(r["检查日期"] <= "2026-11-27" and int(r["建成年份"]) <= int(r["检查日期"][:4]) for r in others)
    scale_005_roads = json.loads(
        write_roads(tmp_path / "small", demo_city, scale=0.05, seed=42, date=DAY).path.read_text()
    )
    road_ids = {f["properties"]["road_id"] for f in scale_005_roads["features"]}
    assert {r["路段编号"] for r in rows} <= road_ids
    assert shapely.contains_xy(
        demo_city.union, [float(r["经度"]) for r in rows], [float(r["纬度"]) for r in rows]
    ).all()

    hubs_out = write_hubs(tmp_path, demo_city, scale=0.05, seed=42, date=DAY)
    hubs = json.loads(hubs_out.path.read_text(encoding="utf-8"))["features"]
    [missing] = hubs_out.dirt
    assert hubs[missing.row - 1]["geometry"] is None and missing.kind == "missing_geometry"
    by_name = {f["properties"]["name"]: f for f in hubs}
    for port in ("盐田港区", "蛇口港区", "赤湾港区", "妈湾港区", "大铲湾港区"):
        assert by_name[port]["properties"]["type"] == "seaport"
    north = by_name["深圳北站"]
    lon, lat = gcj02_to_wgs84(*north["geometry"]["coordinates"])
    assert (round(float(lon), 6), round(float(lat), 6)) == (114.0295, 22.6097)
    assert north["properties"]["adcode"] == "440309"

    charging_out = write_charging(tmp_path, demo_city, scale=0.05, seed=42, date=DAY)
    stations = list(csv.DictReader(io.StringIO(charging_out.path.read_bytes().decode("gbk"))))
    assert len(stations) == charging_out.rows == 100
    assert [(d.row, d.kind) for d in charging_out.dirt] == [(50, "negative_power")]
    power = np.array([float(s["单桩最大功率kW"]) for s in stations])
    assert list(np.flatnonzero(power < 0) + 1) == [50]
    for s in stations:
        dc, ac = int(s["直流接口数"]), int(s["交流接口数"])
        assert dc + ac == int(s["充电接口数"])
        assert float(s["总功率kW"]) == dc * abs(float(s["单桩最大功率kW"])) + ac * 7.0
