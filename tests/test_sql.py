"""`itlake sql` and itlake.query: both engines on the same small Delta tables, with hand-written rows.

One lake for the module (Delta writes are the slow part here): gold.taxi_trip in two versions
written by the real gold write path, a ledger row, and two tables with Delta features the fast
engine must refuse (deletion vectors, column mapping).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from itlake.cli import app
from itlake.config import get_settings
from itlake.query import QueryError, UnknownTableError, UnsupportedFeatureError, read_table, resolve, sql

DAY = date(2026, 11, 27)
TRIP_SCHEMA = (
    "trip_id string, vehicle_id string, trip_date date, pickup_time timestamp, dropoff_time timestamp, "
    "pickup_lon double, pickup_lat double, dropoff_lon double, dropoff_lat double, pickup_zone_id string, "
    "dropoff_zone_id string, distance_m double, duration_s long, fix_count int, complete boolean"
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, tzinfo=UTC)


def trip(trip_id, zone, start, minutes, distance_m, dropoff_zone):
    end = start + timedelta(minutes=minutes)
    return (trip_id, f"veh-{trip_id}", DAY, start, end, 114.05, 22.54, 114.06, 22.55, zone, dropoff_zone,
            distance_m, minutes * 60, minutes + 1, True)  # fmt: skip


V0 = [
    trip("t1", "440304", at(1), 10, 3000.5, "440305"),
    trip("t2", "440304", at(2), 20, 8000.25, "440304"),
    trip("t3", "440305", at(3), 5, 1500.0, None),
]
V1 = [*V0, trip("t4", "440305", at(4), 30, 12000.0, "440304")]


@pytest.fixture(scope="module")
def qlake(spark, tmp_path_factory):
    """The lake root, and a time between version 0 and version 1 of gold.taxi_trip."""
    from itlake.lake.paths import table_path
    from itlake.lake.system import LedgerRow, record_ledger
    from itlake.lake.tables import write_partition

    root = tmp_path_factory.mktemp("query-lake")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITLAKE_LAKE_ROOT", str(root))
        get_settings.cache_clear()
        # Spark reads the Python datetimes in the session time zone, UTC.
        naive = [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in r) for r in V1]
        write_partition(spark.createDataFrame(naive[:3], TRIP_SCHEMA), "taxi_trip", DAY)
        time.sleep(1.2)
        between = datetime.now(UTC)
        time.sleep(1.2)
        write_partition(spark.createDataFrame(naive, TRIP_SCHEMA), "taxi_trip", DAY)
        record_ledger(
            spark,
            [LedgerRow("b1", "03.02.001", "taxi_gps", "gps.csv", "ab" * 32, DAY, 5, 4, 0, 1, synthetic=True)],
        )
        # An erasure request deleted one fix; with deletion vectors the data file still holds it.
        fixes = spark.createDataFrame([("A", 1), ("B", 2), ("C", 3)], "vehicle_id string, fix_count int")
        dv_path = table_path("silver", "taxi_gps")
        fixes.write.format("delta").option("delta.enableDeletionVectors", "true").save(dv_path)
        spark.sql(f"DELETE FROM delta.`{dv_path}` WHERE vehicle_id = 'B'")
        (
            fixes.write.format("delta")
            .option("delta.columnMapping.mode", "name")
            .option("delta.minReaderVersion", "2")
            .option("delta.minWriterVersion", "5")
            .save(table_path("gold", "maas_taxi_zone_hour"))
        )
    get_settings.cache_clear()
    return {"root": str(root), "between": between}


@pytest.fixture
def lake_env(qlake, monkeypatch):
    """The module lake as the settings' lake, for the command line."""
    monkeypatch.setenv("ITLAKE_LAKE_ROOT", qlake["root"])
    get_settings.cache_clear()
    yield qlake
    get_settings.cache_clear()


BY_ZONE = (
    "SELECT pickup_zone_id, count(*) AS trips, sum(duration_s) AS duration_s, "
    "round(sum(distance_m), 2) AS distance_m, min(pickup_time) AS first_pickup "
    "FROM gold.taxi_trip GROUP BY pickup_zone_id ORDER BY pickup_zone_id"
)


@pytest.mark.parametrize("engine", ["spark", "fast"])
def test_both_engines_sort_nulls_first_ascending_and_last_descending(qlake, engine):
    # t3 has no drop-off zone; Spark SQL's order is the one both engines must give.
    def order(direction):
        query = f"SELECT trip_id FROM gold.taxi_trip ORDER BY dropoff_zone_id {direction}, trip_id"
        return [r["trip_id"] for r in sql(query, engine=engine, root=qlake["root"]).to_pylist()]

    assert order("ASC") == ["t3", "t2", "t4", "t1"]
    assert order("DESC") == ["t1", "t2", "t4", "t3"]


@pytest.mark.parametrize("engine", ["spark", "fast"])
def test_engines_give_the_hand_computed_rows(qlake, engine):
    rows = sql(BY_ZONE, engine=engine, root=qlake["root"]).to_pylist()
    columns = ["pickup_zone_id", "trips", "duration_s", "distance_m", "first_pickup"]
    assert rows == [
        dict(zip(columns, ["440304", 2, 1800, 11000.75, at(1)], strict=True)),
        dict(zip(columns, ["440305", 2, 2100, 13500.0, at(3)], strict=True)),
    ]


def test_engines_agree_on_every_column_and_type(qlake):
    query = "SELECT * FROM gold.taxi_trip ORDER BY trip_id"
    fast = sql(query, engine="fast", root=qlake["root"])
    spark = sql(query, engine="spark", root=qlake["root"])
    assert fast.schema.names == spark.schema.names == [c.split()[0] for c in TRIP_SCHEMA.split(", ")]
    assert [(f.name, str(f.type)) for f in fast.schema] == [(f.name, str(f.type)) for f in spark.schema]
    assert fast.to_pylist() == spark.to_pylist()
    t3 = fast.to_pylist()[2]
    assert (t3["trip_id"], t3["trip_date"], t3["dropoff_zone_id"], t3["duration_s"], t3["fix_count"]) == (
        "t3", DAY, None, 300, 6
    )
    assert t3["dropoff_time"] == at(3, 5)


@pytest.mark.parametrize("engine", ["spark", "fast"])
def test_time_travel_by_version_and_timestamp(qlake, engine):
    count = "SELECT count(*) AS n, sum(duration_s) AS s FROM gold.taxi_trip"
    root = qlake["root"]
    assert sql(count, engine=engine, root=root, version=0).to_pylist() == [{"n": 3, "s": 2100}]
    assert sql(count, engine=engine, root=root, version=1).to_pylist() == [{"n": 4, "s": 3900}]
    assert sql(count, engine=engine, root=root, as_of=qlake["between"]).to_pylist() == [{"n": 3, "s": 2100}]
    # A time without an offset is UTC.
    naive = qlake["between"].replace(tzinfo=None).isoformat()
    assert sql(count, engine=engine, root=root, as_of=naive).to_pylist() == [{"n": 3, "s": 2100}]
    with pytest.raises(QueryError, match="gold.taxi_trip"):
        sql(count, engine=engine, root=root, version=7)
    with pytest.raises(QueryError, match="gold.taxi_trip"):
        sql(count, engine=engine, root=root, as_of="2020-01-01T00:00:00Z")


@pytest.mark.parametrize("name", ["`03.02.002`", "c_03_02_002", "gold.taxi_trip", "`gold`.`taxi_trip`"])
def test_a_table_by_catalogue_name_or_code(qlake, name):
    rows = sql(f"SELECT t.trip_id FROM {name} AS t ORDER BY 1", engine="fast", root=qlake["root"])
    assert rows.column("trip_id").to_pylist() == ["t1", "t2", "t3", "t4"]


def test_system_tables_and_read_table(qlake):
    ledger = read_table("_system.ingest_ledger", engine="fast", root=qlake["root"]).to_pylist()
    fields = ("batch_id", "table", "rows_read", "rows_quarantined", "synthetic")
    assert [tuple(r[f] for f in fields) for r in ledger] == [("b1", "taxi_gps", 5, 1, True)]
    assert read_table("03.02.002", engine="fast", root=qlake["root"], version=0).num_rows == 3


def test_names_in_literals_comments_and_aliases_stay(qlake):
    resolved = resolve(
        "SELECT gold.trip_id, 'gold.taxi_trip' AS s -- gold.taxi_trip\n"
        "FROM gold.taxi_trip AS gold /* silver.x */ JOIN `03.02.002` b ON gold.trip_id = b.trip_id",
        root=qlake["root"],
    )
    assert resolved.sql == (
        "SELECT gold.trip_id, 'gold.taxi_trip' AS s -- gold.taxi_trip\n"
        "FROM gold__taxi_trip AS gold /* silver.x */ JOIN gold__taxi_trip b ON gold.trip_id = b.trip_id"
    )
    assert [t.label for t in resolved.tables] == ["gold.taxi_trip"]
    rows = sql(
        "SELECT g.trip_id, 'gold.taxi_trip' AS s FROM gold.taxi_trip g WHERE g.trip_id = 't1'",
        engine="fast",
        root=qlake["root"],
    )
    assert rows.to_pylist() == [{"trip_id": "t1", "s": "gold.taxi_trip"}]


def test_unknown_names_list_close_matches(qlake):
    with pytest.raises(UnknownTableError, match=r"gold\.taxi_trp is not a table .*did you mean gold\.taxi_"):
        resolve("SELECT * FROM gold.taxi_trp", root=qlake["root"])
    with pytest.raises(UnknownTableError, match=r"did you mean `03\.02\.002`"):
        resolve("SELECT * FROM `03.02.020`", root=qlake["root"])
    with pytest.raises(
        UnknownTableError,
        match=r"has 15 tables; name one: `03\.01\.001\.gtfs_agency`, `03\.01\.001\.gtfs_stop`",
    ):
        resolve("SELECT * FROM `03.01.001`", root=qlake["root"])
    with pytest.raises(UnknownTableError, match=r"silver\.waybill is catalogue entry 04\.01\.001, which"):
        resolve("SELECT * FROM silver.waybill", root=qlake["root"])
    with pytest.raises(UnknownTableError, match=r"gold\.taxi_tripz is not a table"):
        resolve("SELECT * FROM gold.taxi_trip AS a, gold.taxi_tripz AS b", root=qlake["root"])
    with pytest.raises(QueryError, match="only read-only queries.*starts with DELETE"):
        resolve("DELETE FROM gold.taxi_trip", root=qlake["root"])
    with pytest.raises(QueryError, match="one statement at a time"):
        resolve("SELECT 1; DROP TABLE gold.taxi_trip", root=qlake["root"])


@pytest.mark.parametrize(
    ("table", "feature"),
    [("silver.taxi_gps", "deletionVectors"), ("gold.maas_taxi_zone_hour", "columnMapping")],
)
def test_fast_engine_refuses_features_it_cannot_read(qlake, table, feature):
    refused = rf"{table} uses the Delta feature '{feature}'.*--engine spark"
    with pytest.raises(UnsupportedFeatureError, match=refused):
        sql(f"SELECT * FROM {table}", engine="fast", root=qlake["root"])
    # Spark reads the same table correctly.
    rows = sql(f"SELECT vehicle_id, fix_count FROM {table} ORDER BY 1", engine="spark", root=qlake["root"])
    expected = [("A", 1), ("C", 3)] if feature == "deletionVectors" else [("A", 1), ("B", 2), ("C", 3)]
    assert [(r["vehicle_id"], r["fix_count"]) for r in rows.to_pylist()] == expected


def test_cli_csv_and_files(lake_env, tmp_path):
    runner = CliRunner()
    query = (
        "SELECT trip_id, pickup_time, dropoff_zone_id, distance_m FROM c_03_02_002 "
        "WHERE trip_id < 't4' ORDER BY 1"
    )
    result = runner.invoke(app, ["sql", "--engine", "fast", "--format", "csv", query])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "trip_id,pickup_time,dropoff_zone_id,distance_m\n"
        "t1,2026-11-27T01:00:00Z,440305,3000.5\n"
        "t2,2026-11-27T02:00:00Z,440304,8000.25\n"
        "t3,2026-11-27T03:00:00Z,,1500.0\n"
    )
    csv_file, parquet_file = tmp_path / "trips.csv", tmp_path / "out" / "trips.parquet"
    options = ["--engine", "spark", "--version", "0", "--out", str(parquet_file)]
    result = runner.invoke(app, ["sql", *options, query])
    assert result.exit_code == 0, result.output
    table = pq.read_table(parquet_file)
    assert table.column("trip_id").to_pylist() == ["t1", "t2", "t3"]
    assert table.column("pickup_time").to_pylist() == [at(1), at(2), at(3)]
    result = runner.invoke(app, ["sql", "--engine", "fast", "--out", str(csv_file), query])
    assert result.exit_code == 0, result.output
    assert csv_file.read_text(encoding="utf-8").splitlines()[1] == "t1,2026-11-27T01:00:00Z,440305,3000.5"


def test_cli_table_and_errors(lake_env):
    runner = CliRunner()
    result = runner.invoke(app, ["sql", "--engine", "fast", BY_ZONE])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "pickup_zone_id" in line)
    assert header.split("┃")[1:-1] == [
        " pickup_zone_id ", " trips ", " duration_s ", " distance_m ", " first_pickup         "
    ]  # fmt: skip
    assert "│ 440304         │     2 │       1800 │   11000.75 │ 2026-11-27T01:00:00Z │" in lines
    assert lines[-1] == "2 rows"
    result = runner.invoke(app, ["sql", "--engine", "fast", "SELECT * FROM silver.taxi_gsp"])
    assert result.exit_code == 1
    assert "silver.taxi_gsp is not a table" in result.output and "silver.taxi_gps" in result.output
    result = runner.invoke(app, ["sql", "--as-of", "yesterday", "SELECT 1"])
    assert result.exit_code == 1 and "is not an ISO 8601 time" in result.output
    result = runner.invoke(app, ["sql", "--out", "x.json", "SELECT 1"])
    assert result.exit_code == 1 and "must end in .csv or .parquet" in result.output
