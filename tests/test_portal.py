"""The static portal in headless Chromium (Playwright driving Debian's chromium package).

Two releases are written straight from pandas (no Spark): the OD flows, marked synthetic, and the
public road inventory, which is spatial; the quality results and the publication log are tiny Delta
tables written with delta-rs.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from itlake.catalog import load_catalog
from itlake.config import using_lake
from itlake.contracts import load_contract
from itlake.publish.release import Publication, licence_text, release_dcat, write_release

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def road_frame() -> pd.DataFrame:
    import shapely

    lines = [
        shapely.LineString([(114.04, 22.54), (114.06, 22.54)]),
        shapely.LineString([(113.92, 22.54), (113.94, 22.54)]),
    ]
    return pd.DataFrame(
        {
            "road_id": ["r1", "r2"],
            "name": ["深南大道", None],
            "road_class": ["arterial", "branch"],
            "lanes": pd.array([8, 2], dtype="int32"),
            "speed_limit_kmh": pd.array([60, 30], dtype="int32"),
            "length_m": [2056.0, 2056.0],
            "zone_id": ["440304", "440305"],
            "geometry": [shapely.to_wkb(line) for line in lines],
        }
    )


def od_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service_date": [date(2026, 11, 27)] * 2,
            "hour_start": [datetime(2026, 11, 27, 1)] * 2,
            "origin_zone_id": ["440304", "440305"],
            "destination_zone_id": ["440305", "440304"],
            "trips": [12, 15],
        }
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from deltalake import write_deltalake

    from itlake.lake.paths import system_table_path
    from itlake.portal.build import build_portal
    from itlake.sharing.server import BackgroundServer, create_app

    lake = tmp_path_factory.mktemp("portal") / "lake"
    with using_lake(lake):
        catalog = load_catalog()
        for name, frame, synthetic in (
            ("od_taxi_hourly", od_frame(), True),
            ("public_road_inventory", road_frame(), False),
        ):
            entry = catalog.get(name)
            publication = Publication(code=entry.code, name=name, synthetic=synthetic)
            write_release(
                frame,
                entry,
                load_contract(name),
                publication,
                release_dcat(catalog, entry, synthetic),
                licence_text(entry.licence),
                k=10,
                k_column="trips" if name == "od_taxi_hourly" else None,
            )
        checked = datetime(2026, 11, 27, 3, tzinfo=UTC)
        write_deltalake(
            system_table_path("quality_results"),
            pd.DataFrame(
                {
                    "dataset": ["taxi_trip", "taxi_trip", "road_network"],
                    "expectation": ["a", "b", "c"],
                    "severity": ["error", "error", "error"],
                    "success": [True, True, False],
                    "checked_at": [checked] * 3,
                }
            ),
        )
        result = build_portal()
        app = create_app(lake_root=str(lake), recipients_file=lake / "none.json", secret=b"x")
        with BackgroundServer(app) as url:
            yield {"url": url, "lake": lake, "result": result}


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_portal_pages_are_written(site):
    portal = Path(site["result"]["portal"])
    assert site["result"]["datasets"] == 2
    assert sorted(p.name for p in (portal / "datasets").iterdir()) == [
        "od_taxi_hourly.html",
        "od_taxi_hourly.png",
        "public_road_inventory.html",
        "public_road_inventory.png",
    ]
    for page in portal.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text.replace("https://creativecommons", ""), page


def test_index_and_dataset_page_render_in_chromium(site, browser):
    page = browser.new_page()
    page.goto(site["url"] + "/")
    assert page.title() == "itlake open data 开放数据"
    links = page.locator("main table a")
    assert links.all_inner_texts() == [
        "出租车区县间小时OD流量 / Hourly district-to-district taxi OD flows",
        "公开道路设施清单 / Public road infrastructure inventory",
    ]
    assert page.locator(".badge").all_inner_texts() == ["SYNTHETIC 合成数据"]
    links.first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/portal/datasets/od_taxi_hourly.html")
    assert page.locator("#synthetic").is_visible()
    assert "SYNTHETIC DATA" in page.locator("#synthetic").inner_text()
    schema = page.locator("h2:has-text('Schema') + table")
    schema_rows = schema.locator("tbody tr td:first-child").all_inner_texts()
    assert schema_rows == ["service_date", "hour_start", "origin_zone_id", "destination_zone_id", "trips"]
    assert page.locator("text=taxi_trip: passed: 2 checks").count() == 1
    assert page.evaluate("document.querySelector('img').naturalWidth") > 100
    assert page.locator("text=CC-BY-4.0").count() == 1

    roads = browser.new_page()
    roads.goto(site["url"] + "/portal/datasets/public_road_inventory.html")
    assert roads.locator("#synthetic").count() == 0
    assert roads.locator("text=road_network: FAILED: 1 of 1 checks").count() == 1
    downloads = roads.locator("a[download]").all_inner_texts()
    assert {"data.csv", "data.geojson", "data.geoparquet", "data.parquet", "SHA256SUMS"} <= set(downloads)


def test_download_link_returns_the_file(site, browser):
    page = browser.new_page(accept_downloads=True)
    page.goto(site["url"] + "/portal/datasets/od_taxi_hourly.html")
    with page.expect_download() as info:
        page.locator("a[download]", has_text="data.csv").click()
    saved = Path(info.value.path())
    release = site["lake"] / "open" / "releases" / "od_taxi_hourly" / "v1" / "data.csv"
    assert saved.read_bytes() == release.read_bytes()
    assert (
        saved.read_text(encoding="utf-8").splitlines()[1]
        == "2026-11-27,2026-11-27T01:00:00Z,440304,440305,12"
    )


@pytest.mark.parametrize("zones", [["440303", "440303", None], [None, None, None]])
def test_a_zone_map_shades_counts_and_leaves_zones_without_data_grey(tmp_path, zones):
    # Releases hand counts to the portal as pandas' nullable integers; districts with no row (here
    # even all of them: stations that could not be placed) come out grey, not stop the drawing.
    from itlake.portal.build import draw_map

    frame = pd.DataFrame(
        {
            "station_name": ["A", "B", "C"],
            "zone_id": zones,
            "boardings": pd.array([12, 30, 15], dtype="Int64"),
        }
    )
    out = tmp_path / "map.png"
    assert draw_map(frame, load_contract("boardings_station_day"), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
