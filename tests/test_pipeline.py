"""The walking skeleton end to end on the tiny hand-written city: ingest -> gold -> open -> MaaS.

Every expected value is worked out by hand from tests/fixtures/taxi_gps_tiny.csv (see its README).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from itlake.catalog import load_catalog
from itlake.gold import taxi_trips
from itlake.ingest import ingest_file
from itlake.lake.system import read_system
from itlake.lake.tables import read_lake_table
from itlake.maas import taxi_balance
from itlake.publish import od_flows

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY = date(2026, 11, 27)
TZ = "Asia/Shanghai"


def test_skeleton_from_gps_to_release_and_balance(spark, lake, lenient_taxi_contract):
    ingest_file(spark, load_catalog().get("taxi_gps"), FIXTURES / "taxi_gps_tiny.csv", DAY)

    # Two occupied runs: taxi 1 in Futian (3 fixes), taxi 2 in Nanshan (2 distinct fixes).
    assert taxi_trips.run(spark, DAY, TZ) == 2
    assert taxi_trips.run(spark, DAY, TZ) == 2  # a rerun replaces the partition
    assert read_lake_table(spark, "taxi_trip").count() == 2

    # k = 1 releases both one-trip cells.
    first = od_flows.run(spark, DAY, k=1)
    assert (first.status, first.version, first.rows, first.suppressed_cells, first.synthetic) == (
        "released",
        1,
        2,
        0,
        False,
    )
    release = Path(first.path)
    assert sorted(p.name for p in release.iterdir()) == [
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
    assert (release / "data.csv").read_text(encoding="utf-8") == (
        "service_date,hour_start,origin_zone_id,destination_zone_id,trips\n"
        "2026-11-27,2026-11-27T00:00:00Z,440304,440304,1\n"
        "2026-11-27,2026-11-27T00:00:00Z,440305,440305,1\n"
    )
    assert "vehicle_id" not in (release / "data.csv").read_text(encoding="utf-8")

    # The same data again makes no new version.
    assert od_flows.run(spark, DAY, k=1).status == "unchanged"
    # k = 2 withholds both cells, and says so.
    second = od_flows.run(spark, DAY, k=2)
    assert (second.version, second.rows, second.suppressed_cells, second.suppressed_trips) == (2, 0, 2, 2)
    assert "2 cells holding 2 trips were withheld" in (Path(second.path) / "README.md").read_text(
        encoding="utf-8"
    )
    log = [
        (r.status, r.version) for r in read_system(spark, "publication_log").orderBy("logged_at").collect()
    ]
    assert log == [("released", 1), ("unchanged", 1), ("released", 2)]

    # Hour 00:00-01:00 UTC: one pickup and one vacant taxi in each district, so no gap.
    assert taxi_balance.run(spark, DAY, TZ) == 2
    cells = {r.zone_id: r for r in read_lake_table(spark, "maas_taxi_zone_hour").collect()}
    assert sorted(cells) == ["440304", "440305"]
    for cell in cells.values():
        assert (cell.hour_start, cell.taxi_pickups, cell.idle_taxis, cell.unmet_demand, cell.is_gap) == (
            datetime(2026, 11, 27, 0, 0),
            1,
            1,
            0,
            False,
        )
