"""The static portal in headless Chromium (Playwright driving Debian's chromium package).

Four releases are written straight from pandas (no Spark): the OD flows twice (v1 and v2, marked
synthetic), the public road inventory (lines) and the public charging stations (points). A
publication log with hand-set times and the quality results are tiny Delta tables written with
delta-rs. The site is served by `itlake serve`'s own app on a free loopback port.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from itlake.catalog.contracts import load_contract
from itlake.catalog.resources import load_catalog
from itlake.lake.root import use_lake
from itlake.publish.release import Publication, licence_text, release_dcat, write_release

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TITLES = {
    "od_taxi_hourly": "出租车区县间小时OD流量 / Hourly district-to-district taxi OD flows",
    "public_road_inventory": "公开道路设施清单 / Public road infrastructure inventory",
    "public_charging_stations": "新能源汽车公共充电站 / Public NEV charging stations",
}
ARTERIAL, BRANCH = (0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)  # the first two category colours of map.js


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


def od_frame(extra: bool = False) -> pd.DataFrame:
    rows = [("440304", "440305", 12), ("440305", "440304", 15)] + (
        [("440303", "440304", 20)] if extra else []
    )
    return pd.DataFrame(
        {
            "service_date": [date(2026, 11, 27)] * len(rows),
            "hour_start": [datetime(2026, 11, 27, 1)] * len(rows),
            "origin_zone_id": [r[0] for r in rows],
            "destination_zone_id": [r[1] for r in rows],
            "trips": [r[2] for r in rows],
        }
    )


def station_frame() -> pd.DataFrame:
    import shapely

    places = [(114.05, 22.53), (113.93, 22.52), (114.12, 22.55)]
    return pd.DataFrame(
        {
            "station_id": ["s1", "s2", "s3"],
            "station_name": ["福田站", "南山站", "罗湖站"],
            "operator": ["特来电", "星星充电", "特来电"],
            "district_code": ["440304", "440305", "440303"],
            "connectors": pd.array([10, 4, 6], dtype="int32"),
            "dc_connectors": pd.array([6, 4, 0], dtype="int32"),
            "ac_connectors": pd.array([4, 0, 6], dtype="int32"),
            "max_power_kw": [120.0, 60.0, 7.0],
            "total_power_kw": [748.0, 240.0, 42.0],
            "open_24h": [True, False, None],
            "lon": [p[0] for p in places],
            "lat": [p[1] for p in places],
            "geometry": [shapely.to_wkb(shapely.Point(p)) for p in places],
        }
    )


def logged(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from deltalake import write_deltalake

    from itlake.lake.paths import system_table_path
    from itlake.portal.build import build_portal
    from itlake.sharing.server import BackgroundServer, create_app

    lake = tmp_path_factory.mktemp("portal") / "lake"
    with use_lake(lake):
        catalog = load_catalog()
        log = []
        for name, frame, synthetic, withheld, at in (
            ("od_taxi_hourly", od_frame(), True, 2, logged(3)),
            ("od_taxi_hourly", od_frame(extra=True), True, 1, logged(4, 30)),
            ("public_road_inventory", road_frame(), False, 0, logged(5)),
            ("public_charging_stations", station_frame(), False, 0, logged(5, 15)),
        ):
            entry = catalog.get(name)
            publication = Publication(
                code=entry.code, name=name, synthetic=synthetic, suppressed_cells=withheld, logged_at=at
            )
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
            log.append(asdict(publication))
        log_frame = pd.DataFrame(log).astype({"version": "int32"})
        write_deltalake(system_table_path("publication_log"), log_frame)
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


class Watched:
    """A page that records every failed response, script error and console error it meets."""

    def __init__(self, context):
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{r.status} {r.url}"))
        self.page.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))


def watched(browser, **options) -> Watched:
    return Watched(browser.new_context(**options))


def ink(png: bytes, darker_than: int = 110) -> int:
    """How many pixels of a screenshot are dark enough to be text on the portal's white."""
    from PIL import Image

    grey = Image.open(io.BytesIO(png)).convert("L")
    return sum(grey.histogram()[:darker_than])


def coloured(png: bytes, rgb: tuple[int, int, int]) -> list[tuple[int, int]]:
    """(x, y) of every pixel of exactly this colour."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width = image.width
    return [(i % width, i // width) for i, p in enumerate(image.getdata()) if p == rgb]


def visible_titles(page) -> list[str]:
    return [
        t
        for t, shown in zip(
            page.locator("li.dataset h2 a").all_inner_texts(),
            [li.is_visible() for li in page.locator("li.dataset").all()],
            strict=True,
        )
        if shown
    ]


def test_portal_files_are_written(site):
    portal = Path(site["result"]["portal"])
    assert site["result"]["datasets"] == 3
    assert sorted(p.name for p in (portal / "datasets").iterdir()) == [
        "od_taxi_hourly.html",
        "od_taxi_hourly.map.js",
        "public_charging_stations.html",
        "public_charging_stations.map.js",
        "public_road_inventory.html",
        "public_road_inventory.map.js",
    ]
    leaflet = portal / "static" / "vendor" / "leaflet"
    assert "BSD 2-Clause License" in (leaflet / "LICENSE").read_text(encoding="utf-8")
    assert (leaflet / "leaflet.js").read_text(encoding="utf-8").startswith("/* @preserve\n * Leaflet 1.9.4")
    # Nothing the pages load or link to is off the site (Leaflet's own files name its home page).
    ours = [p for p in portal.rglob("*") if p.suffix in (".html", ".js", ".css") and "vendor" not in p.parts]
    assert len(ours) == 1 + 3 + 3 + 4  # index, dataset pages, map layers, style and scripts
    for page in ours:
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, page


def test_search_and_filters_narrow_the_list(site, browser):
    w = watched(browser)
    page = w.page
    page.goto(site["url"] + "/portal/")
    assert page.title() == "itlake open data 开放数据"
    everything = [
        TITLES["od_taxi_hourly"],
        TITLES["public_road_inventory"],
        TITLES["public_charging_stations"],
    ]
    assert visible_titles(page) == everything
    assert page.locator("#count").inner_text() == "3 of 3 datasets 个数据集"
    assert page.locator(".badge").all_inner_texts() == ["SYNTHETIC 合成数据"]

    page.fill("#q", "taxi")
    assert visible_titles(page) == [TITLES["od_taxi_hourly"]]
    assert page.locator("#count").inner_text() == "1 of 3 datasets 个数据集"
    page.fill("#q", "充电")
    assert visible_titles(page) == [TITLES["public_charging_stations"]]
    page.fill("#q", "district")  # in all three abstracts
    assert visible_titles(page) == everything
    page.fill("#q", "district power")  # every word must match: only the stations have power columns
    assert visible_titles(page) == [TITLES["public_charging_stations"]]
    page.fill("#q", "")

    page.select_option("#theme", "05.03")
    assert visible_titles(page) == [TITLES["public_road_inventory"], TITLES["public_charging_stations"]]
    page.select_option("#cycle", "monthly")
    assert visible_titles(page) == [TITLES["public_road_inventory"], TITLES["public_charging_stations"]]
    page.fill("#q", "road")
    assert visible_titles(page) == [TITLES["public_road_inventory"]]
    assert page.url.endswith("/portal/?q=road&theme=05.03&cycle=monthly")
    page.fill("#q", "taxi")
    assert visible_titles(page) == []
    assert page.locator("#none").is_visible()
    page.select_option("#theme", "")
    page.select_option("#cycle", "daily")
    assert visible_titles(page) == [TITLES["od_taxi_hourly"]]

    # A filtered list can be linked to: the address carries the choices.
    page.goto(site["url"] + "/portal/index.html?theme=05&cycle=monthly")
    assert page.locator("#theme").input_value() == "05"
    assert visible_titles(page) == [TITLES["public_road_inventory"], TITLES["public_charging_stations"]]
    assert page.locator("#count").inner_text() == "2 of 3 datasets 个数据集"
    assert ink(page.locator("#count").screenshot()) > 100
    assert ink(page.locator("h1").screenshot()) > 500
    assert w.problems == []


def test_road_page_shows_preview_map_and_history(site, browser):
    w = watched(browser, viewport={"width": 1000, "height": 900})
    page = w.page
    page.goto(site["url"] + "/portal/datasets/public_road_inventory.html")
    assert page.locator("#synthetic").count() == 0
    assert page.locator("text=road_network: FAILED: 1 of 1 checks").count() == 1

    preview = page.locator("table.preview")
    assert preview.locator("th").all_inner_texts() == [
        "road_id",
        "name",
        "road_class",
        "lanes",
        "speed_limit_kmh",
        "length_m",
        "zone_id",
        "geometry",
    ]
    assert [r.locator("td").all_inner_texts() for r in preview.locator("tbody tr").all()] == [
        [
            "r1",
            "深南大道",
            "arterial",
            "8",
            "60",
            "2056.0",
            "440304",
            "LINESTRING (114.04 22.54, 114.06 22.54)",
        ],
        ["r2", "null", "branch", "2", "30", "2056.0", "440305", "LINESTRING (113.92 22.54, 113.94 22.54)"],
    ]
    assert page.locator("text=The first 2 of 2 rows of v1.").count() == 1

    # The map: two drawn lines, one colour per road class, the arterial east of the branch road.
    paths = page.locator("#map .leaflet-overlay-pane path.leaflet-interactive")
    assert paths.count() == 2
    assert page.locator("#map").get_attribute("data-features") == "2"
    assert sorted(p.get_attribute("stroke") for p in paths.all()) == ["#0072b2", "#d55e00"]
    assert page.locator("#map .legend").inner_text().split("\n") == ["road_class", "arterial", "branch"]
    shot = page.locator("#map").screenshot(
        mask=[page.locator("#map .legend")]
    )  # its swatches share the colours
    east, west = coloured(shot, ARTERIAL), coloured(shot, BRANCH)
    assert len(east) > 100 and len(west) > 100
    east_x, west_x = [x for x, _ in east], [x for x, _ in west]
    assert min(east_x) > max(west_x)
    # Both lines lie on latitude 22.54, so they share their rows of pixels.
    assert {y for _, y in east} == {y for _, y in west}
    # Each line is 0.02 degrees long out of the 0.14 from the west end to the east end.
    span = max(east_x) - min(west_x)
    assert (max(east_x) - min(east_x)) / span == pytest.approx(0.02 / 0.14, abs=0.02)
    assert (max(west_x) - min(west_x)) / span == pytest.approx(0.02 / 0.14, abs=0.02)

    # The map is interactive: a line opens a popup with its attributes.
    box = page.locator("#map").bounding_box()
    middle = sorted(east)[len(east) // 2]
    page.mouse.click(box["x"] + middle[0], box["y"] + middle[1])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "深南大道" in popup.inner_text() and "arterial" in popup.inner_text()
    assert page.locator("#map .leaflet-control-zoom-in").is_visible()

    history = page.locator("table.history tbody tr")
    assert [r.locator("td").all_inner_texts()[:4] for r in history.all()] == [
        ["v1", "2026-11-27 05:00 UTC", "2", "0"]
    ]
    assert history.locator("td.files a").all_inner_texts() == ["csv", "geojson", "geoparquet", "parquet"]
    downloads = page.locator("h2#download + p + div a[download]").all_inner_texts()
    assert {"data.csv", "data.geojson", "data.geoparquet", "data.parquet", "SHA256SUMS"} <= set(downloads)
    assert ink(page.locator("table.preview").screenshot()) > 1000
    assert w.problems == []


def test_od_page_shades_districts_and_lists_both_versions(site, browser):
    w = watched(browser)
    page = w.page
    page.goto(site["url"] + "/portal/")
    page.locator("li.dataset h2 a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/portal/datasets/od_taxi_hourly.html")
    assert page.locator("#synthetic").is_visible()
    assert "SYNTHETIC DATA" in page.locator("#synthetic").inner_text()
    assert ink(page.locator("#synthetic").screenshot()) > 500
    schema = page.locator("table.schema tbody tr td:first-child").all_inner_texts()
    assert schema == ["service_date", "hour_start", "origin_zone_id", "destination_zone_id", "trips"]
    assert page.locator("text=taxi_trip: passed: 2 checks").count() == 1
    assert page.locator("text=CC-BY-4.0").count() == 1

    assert [r.locator("td").all_inner_texts() for r in page.locator("table.preview tbody tr").all()] == [
        ["2026-11-27", "2026-11-27T01:00:00Z", "440304", "440305", "12"],
        ["2026-11-27", "2026-11-27T01:00:00Z", "440305", "440304", "15"],
        ["2026-11-27", "2026-11-27T01:00:00Z", "440303", "440304", "20"],
    ]
    # Ten districts; trips summed by origin: Luohu 20 (darkest), Futian 12 (lightest), Nanshan 15
    # ((15 - 12) / 1.6 falls in the second of five shades); the other seven have no row.
    zones = page.locator("#map .leaflet-overlay-pane path.leaflet-interactive")
    assert zones.count() == 10
    fills = sorted(p.get_attribute("fill") for p in zones.all())
    assert fills == sorted(["#08306b", "#deebf7", "#9ecae1"] + ["#dddddd"] * 7)
    page.locator("#map path[fill='#08306b']").hover()
    assert page.locator(".leaflet-tooltip").inner_text() == "罗湖区: 20"

    history = page.locator("table.history tbody tr")
    assert [r.locator("td").all_inner_texts()[:4] for r in history.all()] == [
        ["v2", "2026-11-27 04:30 UTC", "3", "1"],
        ["v1", "2026-11-27 03:00 UTC", "2", "2"],
    ]
    assert w.problems == []


def test_station_page_draws_points(site, browser):
    w = watched(browser)
    page = w.page
    page.goto(site["url"] + "/portal/datasets/public_charging_stations.html")
    points = page.locator("#map .leaflet-overlay-pane path.leaflet-interactive")
    assert points.count() == 3
    # Coloured by operator: 星星充电 sorts before 特来电.
    assert sorted(p.get_attribute("fill") for p in points.all()) == ["#0072b2", "#d55e00", "#d55e00"]
    assert page.locator("table.preview tbody tr td:nth-child(10)").all_inner_texts() == [
        "True",
        "False",
        "null",
    ]
    assert w.problems == []


def test_every_link_on_every_page_answers_200_under_serve(site, browser):
    w = watched(browser)
    page = w.page
    base = site["url"]
    start = base + "/portal/"
    queue, crawled, checked = [start], set(), {}
    while queue:
        url = queue.pop(0)
        if url in crawled:
            continue
        crawled.add(url)
        page.goto(url)
        page.wait_for_load_state("load")
        links = page.evaluate(
            """() => [...document.querySelectorAll('a[href], link[href], script[src], img[src]')]
                   .map(e => e.href || e.src)"""
        )
        for link in links:
            link = link.split("#")[0]
            if link.startswith("mailto:"):
                continue
            assert link.startswith(base + "/"), f"{url} links off the site: {link}"
            if link not in checked:
                checked[link] = page.request.get(link).status
            path = urlsplit(link).path
            if path.startswith("/portal/") and (path.endswith(".html") or path.endswith("/")):
                queue.append(link)
    assert {k: v for k, v in checked.items() if v != 200} == {}
    assert sorted(u.removeprefix(base) for u in crawled) == [
        "/portal/",
        "/portal/datasets/od_taxi_hourly.html",
        "/portal/datasets/public_charging_stations.html",
        "/portal/datasets/public_road_inventory.html",
        "/portal/index.html",
        "/portal/index.html?theme=05.01",
        "/portal/index.html?theme=05.03",
    ]
    paths = {urlsplit(u).path for u in checked}
    assert {
        "/releases/od_taxi_hourly/v1/data.csv",
        "/releases/od_taxi_hourly/v2/README.md",
        "/releases/public_road_inventory/v1/dcat.jsonld",
        "/catalog.jsonld",  # the DCAT catalogue that `itlake serve` answers
        "/catalog.ttl",
        "/portal/static/vendor/leaflet/leaflet.js",
        "/portal/datasets/public_road_inventory.map.js",
    } <= paths
    assert w.problems == []


def test_pages_fit_a_phone(site, browser):
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    w = watched(browser, **phone)
    page = w.page
    for path in (
        "/portal/",
        "/portal/datasets/public_road_inventory.html",
        "/portal/datasets/od_taxi_hourly.html",
    ):
        page.goto(site["url"] + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        heading = page.locator("h1").bounding_box()
        assert heading["x"] >= 0 and heading["x"] + heading["width"] <= 390, path
        assert ink(page.locator("h1").screenshot()) > 300, path
    page.goto(site["url"] + "/portal/")
    search = page.locator("#q").bounding_box()
    assert search["width"] > 300  # the filters stack, each as wide as the screen
    page.goto(site["url"] + "/portal/datasets/public_road_inventory.html")
    assert page.locator("#map").bounding_box()["width"] > 330
    assert page.locator("#map .leaflet-overlay-pane path.leaflet-interactive").count() == 2
    assert w.problems == []


def test_the_site_works_opened_from_the_disk(site, browser):
    w = watched(browser)
    page = w.page
    page.goto((Path(site["result"]["portal"]) / "index.html").as_uri())
    page.fill("#q", "road")
    assert visible_titles(page) == [TITLES["public_road_inventory"]]
    page.locator("li.dataset:visible h2 a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/open/portal/datasets/public_road_inventory.html")
    assert page.locator("#map .leaflet-overlay-pane path.leaflet-interactive").count() == 2
    assert w.problems == []


def test_download_link_returns_the_file(site, browser):
    page = browser.new_page(accept_downloads=True)
    page.goto(site["url"] + "/portal/datasets/od_taxi_hourly.html")
    with page.expect_download() as info:
        page.locator("h2#download + p + div a[download]", has_text="data.csv").click()
    saved = Path(info.value.path())
    release = site["lake"] / "open" / "releases" / "od_taxi_hourly" / "v2" / "data.csv"
    assert saved.read_bytes() == release.read_bytes()
    assert (
        saved.read_text(encoding="utf-8").splitlines()[1]
        == "2026-11-27,2026-11-27T01:00:00Z,440304,440305,12"
    )


def test_map_layers_of_the_releases(site, monkeypatch):
    from itlake.portal import maps

    releases = site["lake"] / "open" / "releases"
    od = maps.map_layer(releases / "od_taxi_hourly" / "v2", load_contract("od_taxi_hourly"))
    assert od == {
        "kind": "zones",
        "zone": "origin_zone_id",
        "value": "trips",
        "how": "sum",
        "values": {"440303": 20.0, "440304": 12.0, "440305": 15.0},
    }
    # A long release shows its first features only, and says how many there are.
    monkeypatch.setattr(maps, "MAP_FEATURE_LIMIT", 1)
    roads = maps.map_layer(releases / "public_road_inventory" / "v1", load_contract("public_road_inventory"))
    assert (roads["kind"], roads["total"], roads["category"]) == ("features", 2, None)  # one class shown
    assert [f["properties"]["road_id"] for f in roads["features"]["features"]] == ["r1"]


@pytest.mark.parametrize(
    ("zones", "expected"), [(["440303", "440303", None], {"440303": 42.0}), ([None, None, None], {})]
)
def test_zone_values_sum_counts_and_skip_rows_without_a_zone(zones, expected):
    # Releases hand counts to the portal as pandas' nullable integers; stations that could not be
    # placed in a district (here even all of them) are left off the map, not a reason to fail.
    from itlake.portal.maps import zone_measure, zone_values

    frame = pd.DataFrame(
        {
            "station_name": ["A", "B", "C"],
            "zone_id": zones,
            "boardings": pd.array([12, 30, 15], dtype="Int64"),
        }
    )
    measure = zone_measure(load_contract("boardings_station_day"), list(frame.columns))
    assert measure == ("zone_id", "boardings", "sum")
    assert zone_values(frame, *measure) == expected
