"""Open datasets end to end on one small lake: builders, k-anonymity, release folders, the gate.

The lake is built once for the module (taxi fixes, taxi trips, two road links, a synthetic ledger
row); every expected figure is worked out by hand from those rows.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from itlake.catalog.contracts import Contract, load_contract, load_contracts
from itlake.catalog.resources import load_catalog
from itlake.config import DEMO_PSEUDONYM_KEY, get_settings
from itlake.lake.root import use_lake
from itlake.publish.datasets import DATASET_NAMES, releasable, source_tables
from itlake.publish.gate import PublicationRefused, check_release

REPO = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 27)
K = 3
FUTIAN, NANSHAN = (114.05, 22.545), (113.93, 22.54)


def utc(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, second)


def pseudonym(vehicle: str) -> str:
    return hmac.new(DEMO_PSEUDONYM_KEY.encode(), vehicle.encode(), hashlib.sha256).hexdigest()


VEHICLES = {name: pseudonym(name) for name in ("粤B10001", "粤B10002", "粤B10003", "粤B10004")}


def gps_rows():
    v1, v2, v3, v4 = VEHICLES.values()
    fixes = [  # (vehicle, time, place, speed)
        (v1, utc(1, 0), FUTIAN, 20.0),
        (v1, utc(1, 10), FUTIAN, 40.0),
        (v2, utc(1, 20), FUTIAN, 30.0),
        (v3, utc(1, 30), FUTIAN, 0.0),  # standing: not a road speed
        (v3, utc(1, 40), FUTIAN, 60.0),
        (v4, utc(1, 50), NANSHAN, 25.0),  # one taxi in Nanshan: withheld at k = 3
    ]
    return [
        {
            "vehicle_id": v,
            "fix_time": t,
            "fix_date": DAY,
            "lon": lon,
            "lat": lat,
            "open_status": 1,
            "speed_kmh": speed,
            "src_lon": lon,
            "src_lat": lat,
            "src_crs": "WGS-84",
        }
        for v, t, (lon, lat), speed in fixes
    ]


def trip_rows():
    v1 = VEHICLES["粤B10001"]
    cells = [  # (pickup time, origin, destination)
        (utc(1, 5), "440304", "440305"),
        (utc(1, 17), "440304", "440305"),
        (utc(1, 49), "440304", "440305"),  # 3 trips Futian -> Nanshan at 01:00: released
        (utc(1, 30), "440305", "440304"),  # 1 trip: withheld
        (utc(2, 0), "440304", "440304"),
        (utc(2, 40), "440304", "440304"),  # 2 trips: withheld
    ]
    return [
        {
            "trip_id": f"t{i}",
            "vehicle_id": v1,
            "trip_date": DAY,
            "pickup_time": t,
            "dropoff_time": t,
            "pickup_lon": 114.05,
            "pickup_lat": 22.545,
            "dropoff_lon": 113.93,
            "dropoff_lat": 22.54,
            "pickup_zone_id": o,
            "dropoff_zone_id": d,
            "distance_m": 1000.0,
            "duration_s": 0,
            "fix_count": 2,
            "complete": True,
        }
        for i, (t, o, d) in enumerate(cells)
    ]


def road_rows():
    import shapely

    lines = {
        "r1": ("深南大道", "arterial", 8, 60, [(114.04, 22.54), (114.06, 22.54)]),
        "r2": (None, "branch", 2, 30, [(113.92, 22.54), (113.94, 22.54)]),
    }
    return [
        {
            "road_id": rid,
            "name": name,
            "road_class": cls,
            "lanes": lanes,
            "speed_limit_kmh": limit,
            "length_m": 2056.0,
            "geometry": shapely.to_wkb(shapely.LineString(coords)),
            "src_crs": "WGS-84",
        }
        for rid, (name, cls, lanes, limit, coords) in lines.items()
    ]


@pytest.fixture(scope="module")
def released(spark, tmp_path_factory):
    """A lake with the three inputs, and the three datasets released once (k = 3)."""
    from itlake.lake.delta import append
    from itlake.lake.paths import table_path
    from itlake.lake.system import LedgerRow, record_ledger
    from itlake.publish.flow import publish

    with use_lake(tmp_path_factory.mktemp("publish") / "lake"):
        for name, rows in (
            ("taxi_gps", gps_rows()),
            ("taxi_trip", trip_rows()),
            ("road_network", road_rows()),
        ):
            contract = load_contract(name)
            append(
                spark.createDataFrame(rows, contract.spark_schema()),
                table_path(contract.layer, name),
                partition_by=contract.partition_by or None,
            )
        record_ledger(
            spark, [LedgerRow("b1", "03.02.001", "silver.taxi_gps", "gps.csv", "0", DAY, synthetic=True)]
        )
        # The other datasets have their own lake in tests/test_open_datasets.py.
        names = ("od_taxi_hourly", "public_road_inventory", "road_speed_zone_hour")
        publications = {name: publish(spark, name, DAY, K) for name in names}
        yield publications


def read_csv(folder: str) -> list[dict]:
    with (Path(folder) / "data.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_open_dataset_has_a_builder_and_a_task():
    catalog = load_catalog()
    assert set(DATASET_NAMES) == {
        "od_taxi_hourly",
        "od_ridehail_hourly",
        "od_transit_hourly",
        "road_speed_zone_hour",
        "public_road_inventory",
        "public_hub_inventory",
        "bridge_condition_district",
        "public_charging_stations",
        "boardings_station_day",
        "bike_availability_station_hour",
        "freight_corridor_month",
        "port_throughput_month",
    }
    assert [e.code for e in releasable(catalog)] == [
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
    ]
    assert [e.name for e in catalog if e.layer == "open" and e.name not in DATASET_NAMES] == []
    assert source_tables(catalog, catalog.get("road_speed_zone_hour")) == ["silver.taxi_gps"]


def test_od_release_is_k_anonymous_and_says_what_it_withheld(released):
    od = released["od_taxi_hourly"]
    assert (od.status, od.version, od.rows, od.suppressed_cells, od.suppressed_trips) == (
        "released",
        1,
        1,
        2,
        3,
    )
    rows = read_csv(od.path)
    assert rows == [
        {
            "service_date": "2026-11-27",
            "hour_start": "2026-11-27T01:00:00Z",
            "origin_zone_id": "440304",
            "destination_zone_id": "440305",
            "trips": "3",
        }
    ]
    assert all(int(r["trips"]) >= K for r in rows)
    readme = (Path(od.path) / "README.md").read_text(encoding="utf-8")
    assert "Cells with fewer than k=3 trips are suppressed: 2 cells holding 3 trips were withheld" in readme
    assert "SYNTHETIC DATA — 合成数据" in readme


def test_release_folder_holds_every_file_with_checksums(released):
    folder = Path(released["od_taxi_hourly"].path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "LICENSE.txt",
        "README.md",
        "SHA256SUMS",
        "data.csv",
        "data.parquet",
        "data.sha256",
        "data_dictionary.csv",
        "dcat.jsonld",
        "zones.geojson",
    ]
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    dictionary = (folder / "data_dictionary.csv").read_text(encoding="utf-8").splitlines()
    assert dictionary[0] == "column,type,unit,nullable,说明,description"
    assert dictionary[5] == "trips,long,,false,行程数,Number of taxi trips"
    dcat = json.loads((folder / "dcat.jsonld").read_text(encoding="utf-8"))
    assert dcat["dct:identifier"] == "05.01.001" and "@context" in dcat
    titles = {t["@language"]: t["@value"] for t in dcat["dct:title"]}
    assert titles["en"].endswith("[SYNTHETIC DATA — 合成数据]")
    zones = json.loads((folder / "zones.geojson").read_text(encoding="utf-8"))
    assert len(zones["features"]) == 10
    assert "CC-BY-4.0" in (folder / "LICENSE.txt").read_text(encoding="utf-8")


def test_road_speeds_by_zone_and_hour(released):
    speeds = released["road_speed_zone_hour"]
    assert (speeds.rows, speeds.suppressed_cells, speeds.suppressed_trips, speeds.synthetic) == (
        1,
        1,
        1,
        True,
    )
    # Futian 01:00: moving fixes 20, 40, 30, 60 km/h of 3 taxis (the standing fix is left out).
    assert read_csv(speeds.path) == [
        {
            "service_date": "2026-11-27",
            "hour_start": "2026-11-27T01:00:00Z",
            "zone_id": "440304",
            "vehicles": "3",
            "fixes": "4",
            "mean_speed_kmh": "37.5",
            "median_speed_kmh": "35.0",
        }
    ]


def test_public_road_inventory_is_spatial(released):
    import geopandas as gpd

    roads = released["public_road_inventory"]
    assert (roads.status, roads.rows, roads.synthetic) == ("released", 2, False)
    rows = read_csv(roads.path)
    assert [(r["road_id"], r["zone_id"], r["geometry"]) for r in rows] == [
        ("r1", "440304", "LINESTRING (114.04 22.54, 114.06 22.54)"),
        ("r2", "440305", "LINESTRING (113.92 22.54, 113.94 22.54)"),
    ]
    geo = gpd.read_file(Path(roads.path) / "data.geojson")
    assert list(geo["road_id"]) == ["r1", "r2"] and geo.crs.to_epsg() == 4326
    assert gpd.read_parquet(Path(roads.path) / "data.geoparquet").geometry.to_wkt().tolist() == [
        "LINESTRING (114.04 22.54, 114.06 22.54)",
        "LINESTRING (113.92 22.54, 113.94 22.54)",
    ]
    assert "SYNTHETIC" not in (Path(roads.path) / "README.md").read_text(encoding="utf-8")


def test_no_personal_column_or_pseudonym_is_released(released):
    personal = {c for contract in load_contracts().values() for c in contract.pii_columns("indirect")}
    for publication in released.values():
        text = (Path(publication.path) / "data.csv").read_text(encoding="utf-8")
        header = set(text.splitlines()[0].split(","))
        assert header.isdisjoint(personal), publication.name
        assert not any(p in text for p in VEHICLES.values()), publication.name


def test_unchanged_data_makes_no_new_version(spark, released):
    from itlake.publish.flow import publish

    again = publish(spark, "od_taxi_hourly", DAY, K)
    assert (again.status, again.version) == ("unchanged", 1)
    assert sorted(p.name for p in Path(again.path).parent.iterdir()) == ["v1"]


def test_unicity_falls_with_generalisation(spark):
    """12 trips, every one unique on its exact time and places; 15 minutes and districts leave 2."""
    from pyspark.sql import functions as F

    from itlake.geo.zones import with_zone
    from itlake.publish.anonymity import floor_15min, unicity

    starts = [utc(1, 0, 7), utc(1, 3, 12), utc(1, 9, 30), utc(1, 14, 59)]  # one quarter hour
    rows = [
        (t, FUTIAN[0] + i * 1e-4, FUTIAN[1], NANSHAN[0] + i * 1e-4, NANSHAN[1]) for i, t in enumerate(starts)
    ]
    rows += [(utc(1, 20 + i), NANSHAN[0] + i * 1e-4, NANSHAN[1], FUTIAN[0], FUTIAN[1]) for i in range(6)]
    rows += [(utc(3, 1), FUTIAN[0], FUTIAN[1], FUTIAN[0], FUTIAN[1])]  # alone in its quarter hour
    rows += [(utc(1, 2), FUTIAN[0], FUTIAN[1], FUTIAN[0], FUTIAN[1])]  # alone on its OD pair
    trips = spark.createDataFrame(
        rows, "pickup_time timestamp, o_lon double, o_lat double, d_lon double, d_lat double"
    )
    assert unicity(trips, trips.columns) == 1.0
    general = (
        trips.withColumn("quarter", floor_15min("pickup_time"))
        .transform(with_zone("o_lon", "o_lat", "origin"))
        .transform(with_zone("d_lon", "d_lat", "destination"))
    )
    assert sorted(r.quarter for r in general.select("quarter").distinct().collect()) == [
        utc(1, 0),
        utc(1, 15),
        utc(3, 0),
    ]
    # Groups: 4 Futian->Nanshan at 01:00, 6 Nanshan->Futian at 01:15 (01:20-01:25), 2 singles.
    assert unicity(
        general.select("quarter", "origin", "destination"), ["quarter", "origin", "destination"]
    ) == (pytest.approx(2 / 12))
    assert general.where(F.col("origin").isNull()).count() == 0


def entry_with(name: str, **changes):
    return load_catalog().get(name).model_copy(update=changes)


def test_gate_refuses_graded_unshared_and_critical():
    from itlake.catalog.resources import OpenAccess, Sharing

    od_contract = load_contract("od_taxi_hourly")
    with pytest.raises(PublicationRefused, match=r"security grade is core"):
        check_release(entry_with("od_taxi_hourly", security_grade="core"), od_contract)
    with pytest.raises(PublicationRefused, match=r"security grade is important"):
        check_release(entry_with("od_taxi_hourly", security_grade="important"), od_contract)
    unshared = entry_with("od_taxi_hourly", sharing=Sharing(type="none"), open=OpenAccess(level="open"))
    with pytest.raises(PublicationRefused, match=r"sharing type is none"):
        check_release(unshared, od_contract)
    # Exact bridge locations with their condition, even from an entry graded general and open.
    bridges = load_contract("bridge_tunnel")
    open_bridges = entry_with("bridge_tunnel", security_grade="general", critical_infrastructure=False)
    with pytest.raises(
        PublicationRefused,
        match=r"exact locations \(lon, lat, geometry, src_lon, src_lat\) together with condition",
    ):
        check_release(open_bridges, bridges)


def test_gate_refuses_network_design_beyond_the_public_road_layer():
    catalog = load_catalog()
    bridge_source = (catalog.get("bridge_tunnel"), load_contract("bridge_tunnel"))
    road_source = (catalog.get("road_network"), load_contract("road_network"))
    inventory = entry_with("public_road_inventory")
    contract = load_contract("public_road_inventory")
    check_release(inventory, contract, [road_source])  # the public road layer passes
    with pytest.raises(
        PublicationRefused,
        match=r"network design beyond the public road layer: geometry, road_id from critical infrastructure "
        r"01.02.001 bridge_tunnel",
    ):
        check_release(inventory, contract, [road_source, bridge_source])
    # District x condition class counts carry no location and no structure: they pass.
    counts = Contract.model_validate(
        {
            "name": "bridge_condition_district",
            "title": {"zh": "桥梁技术状况区县统计", "en": "Bridges by district and condition"},
            "grain": "One row per district and condition class.",
            "layer": "open",
            "primary_key": ["zone_id", "condition_class"],
            "columns": [
                {
                    "name": "zone_id",
                    "type": "string",
                    "nullable": False,
                    "description": {"zh": "区", "en": "District"},
                },
                {
                    "name": "condition_class",
                    "type": "int",
                    "nullable": False,
                    "description": {"zh": "等级", "en": "Class"},
                },
                {
                    "name": "bridges",
                    "type": "long",
                    "nullable": False,
                    "description": {"zh": "座数", "en": "Bridges"},
                },
            ],
        }
    )
    check_release(inventory, counts, [bridge_source])


def test_refusals_are_logged_with_their_reason(spark, released, tmp_path, monkeypatch):
    from itlake.lake.system import read_system
    from itlake.publish.flow import publish

    for name, reason in (
        ("bridge_tunnel", "security grade is important"),
        ("taxi_trip", "columns with personal data: vehicle_id"),
        ("maas_taxi_zone_hour", "no open dataset builder"),
    ):
        with pytest.raises(PublicationRefused, match=reason):
            publish(spark, name, DAY, K)
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", catalog_dir)
    entry = catalog_dir / "05.02.001_road_speed_zone_hour.yaml"
    text = entry.read_text(encoding="utf-8").replace(
        "type: unconditional\n  conditions: null\n  method: [download, delta_sharing]",
        "type: none\n  method: []",
    )
    entry.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(catalog_dir))
    get_settings.cache_clear()
    with pytest.raises(PublicationRefused, match="sharing type is none"):
        publish(spark, "road_speed_zone_hour", DAY, K)
    monkeypatch.delenv("ITLAKE_CATALOG_DIR")
    get_settings.cache_clear()
    log = read_system(spark, "publication_log").where("status = 'refused'").orderBy("logged_at").collect()
    assert [(r.name, r.reason.split(": ", 1)[1].split(";")[0]) for r in log] == [
        ("bridge_tunnel", "security grade is important"),
        ("taxi_trip", "columns with personal data: vehicle_id"),
        ("maas_taxi_zone_hour", "no open dataset builder itlake/publish/datasets/maas_taxi_zone_hour.py"),
        ("road_speed_zone_hour", "sharing type is none (不予共享)"),
    ]
