"""The bad-input corpus (tests/fixtures/bad/cases.yaml) through the ingest flow, in one shared lake.

Each case must end as its manifest says (a clear refusal, or quarantine rows with file, row, rule
and reason), its ledger must reconcile with the tables, no row may be lost, and no other table may
change; tools/reliability.py does the checking, `make reliability` prints the same results.
"""

from __future__ import annotations

import pytest

from itlake.lake.root import use_lake
from tools.reliability import CORPUS, format_table, load_cases, run_corpus

_, _, CASES = load_cases()

# The issue's list, bullet by bullet: each must be what some case `covers`.
ISSUE_BULLETS = [
    "a truncated zip",
    "a GTFS feed without stops.txt",
    "a CSV whose column count is wrong on some rows",
    "a GBK file read as UTF-8",
    "a UTF-8 file read as GBK",
    "UTF-16",
    "an empty file",
    "a file with only a header",
    "schema drift, an extra column",
    "schema drift, a missing column",
    "schema drift, a renamed column",
    "latitude and longitude swapped",
    "coordinates out of range",
    "GCJ-02 data declared as WGS-84",
    "local timestamps without a zone",
    "epoch milliseconds where seconds were expected",
    "duplicated rows",
    "future dates",
    "negative weights",
]


@pytest.fixture(scope="module")
def results(spark, tmp_path_factory):
    """Every case, run once in a fresh lake shared by the module; {case id: CaseResult}."""
    lake = tmp_path_factory.mktemp("bad-inputs-lake")
    with use_lake(lake):
        ran = run_corpus(spark, CORPUS / "cases.yaml")
    print("\n" + format_table(ran))
    return {r.case.id: r for r in ran}


def test_the_corpus_covers_every_bullet_of_the_issue():
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)
    covered = " | ".join(c.covers for c in CASES)
    assert [b for b in ISSUE_BULLETS if b not in covered] == []
    assert all(c.file.is_file() for c in CASES)


@pytest.mark.parametrize("case_id", [c.id for c in CASES])
def test_bad_input_case(results, case_id):
    result = results[case_id]
    assert result.problems == []
    assert result.outcome == result.case.outcome
    assert result.lost == 0
    assert result.read == result.promoted + result.duplicate + result.quarantined


def test_refused_files_name_the_file_and_row_level_reasons_are_kept(results):
    refused = [r for r in results.values() if r.outcome == "refused"]
    assert len(refused) >= 9
    assert all(r.case.file.name in r.message for r in refused)
    # Hand-checked figures of three cases: a short record among 20, an exact repeat, GCJ-02 positions.
    short = results["wrong_field_count"]
    assert (short.read, short.promoted, short.quarantined) == (20, 19, 1)
    repeats = results["duplicated_rows"]
    assert (repeats.read, repeats.promoted, repeats.duplicate) == (12, 10, 2)
    assert results["gcj02_declared_wgs84"].message.startswith("gcj02_suspected: median distance")


def test_the_crs_check_is_undetected_without_roads_and_consistent_on_them():
    import shapely

    from itlake.quality.crs_offset import compare_with_roads

    road = shapely.to_wkb(shapely.LineString([(114.00, 22.54), (114.01, 22.54)]))
    lon, lat = [114.002, 114.005, 114.008], [22.54, 22.54, 22.54]
    assert compare_with_roads(lon, lat, []).verdict == "undetected"
    on_road = compare_with_roads(lon, lat, [road])
    assert (on_road.verdict, round(on_road.median_declared_m)) == ("consistent", 0)
    # 0.05 degrees (5.5 km) north of the road: too far to say either way.
    assert compare_with_roads(lon, [22.59] * 3, [road]).verdict == "undetected"
