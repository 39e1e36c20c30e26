"""What leaves the lake holds no personal identifier, and the server gives out nothing it should not.

One small lake for the module: taxi trips (with HMAC pseudonyms of the plates, as gold keeps
them) and two road links, released as od_taxi_hourly and public_road_inventory through the real
publish flow, the portal built over them, and `itlake serve`'s app on a loopback port. The scanner
(itlake/privacy/pii_scan.py) reads the open/ folder, every portal page and download reached by following
the links, and every Delta Sharing response; then a plate planted in a road name and a mobile
number planted in the catalogue are refused by the publish gate.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import shutil
import time
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import pytest
import requests
from typer.testing import CliRunner

from itlake.config import DEMO_PSEUDONYM_KEY, get_settings
from itlake.lake.root import use_lake
from itlake.privacy.pii_scan import scan_bytes, scan_documents, scan_tree

REPO = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 27)
K = 3
SECRET = b"test-secret-not-for-production"
SECRET_TEXT = "lake-internal: not for the web"
VEHICLE_PSEUDONYM = hmac.new(DEMO_PSEUDONYM_KEY.encode(), "粤B10001".encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def site(spark, tmp_path_factory):
    from itlake.catalog.contracts import load_contract
    from itlake.lake.delta import append
    from itlake.lake.paths import system_table_path, table_path
    from itlake.portal.build import build_portal
    from itlake.publish.flow import publish
    from itlake.sharing.recipients import create_recipient
    from itlake.sharing.server import BackgroundServer, create_app
    from tests.test_publish import road_rows, trip_rows

    root = tmp_path_factory.mktemp("security")
    lake = root / "lake"
    with use_lake(lake):
        for name, rows in (("taxi_trip", trip_rows()), ("road_network", road_rows())):
            contract = load_contract(name)
            append(
                spark.createDataFrame(rows, contract.spark_schema()),
                table_path(contract.layer, name),
                partition_by=contract.partition_by or None,
            )
        publications = {
            name: publish(spark, name, DAY, K) for name in ("od_taxi_hourly", "public_road_inventory")
        }
        portal = build_portal()
        # A file of the lake outside open/, which no URL may reach.
        secret_file = Path(system_table_path("secret.txt"))
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(SECRET_TEXT, encoding="utf-8")
        recipients = root / "recipients.json"
        app = create_app(lake_root=str(lake), recipients_file=recipients, secret=SECRET)
        with BackgroundServer(app) as url:
            profile = root / "public.share"
            create_recipient(
                "public-user", ["public"], endpoint=f"{url}/delta-sharing", profile=profile, path=recipients
            )
            token = json.loads(profile.read_text())["bearerToken"]
            yield {"url": url, "lake": lake, "publications": publications, "portal": portal, "token": token}


def test_open_folder_holds_no_identifier_while_gold_does(site):
    assert [p.status for p in site["publications"].values()] == ["released", "released"]
    report = scan_tree(site["lake"] / "open", relative_to=site["lake"])
    assert report.findings == []
    skipped = {Path(w).name for w in report.skipped}
    # Leaflet's control and marker images: not read. The pages, the map layers and the scripts are.
    assert skipped == {
        "layers.png",
        "layers-2x.png",
        "marker-icon.png",
        "marker-icon-2x.png",
        "marker-shadow.png",
    }
    hadoop_sums = list((site["lake"] / "open").rglob(".*.crc"))
    assert report.files == sum(1 for p in (site["lake"] / "open").rglob("*") if p.is_file()) - len(
        hadoop_sums
    )
    # The same scanner on the gold table the OD release is made from finds the six trips' pseudonym.
    gold = scan_tree(site["lake"] / "gold" / "taxi_trip", relative_to=site["lake"])
    data = [f for f in gold.findings if f.where.endswith(".parquet")]
    assert {(f.kind, f.column, f.value) for f in data} == {("pseudonym", "vehicle_id", VEHICLE_PSEUDONYM)}
    assert len(data) == 6


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("href", "src") and v]


def test_every_portal_page_and_download_holds_no_identifier(site):
    start = site["url"] + "/portal/index.html"
    fetched, queue = {}, [start]
    while queue:
        url = queue.pop()
        path = urlparse(url).path
        if path in fetched:
            continue
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, url
        fetched[path] = response.content
        if path.endswith(".html"):
            parser = _Links()
            parser.feed(response.text)
            for link in parser.links:
                target = urljoin(url, link).split("#")[0]
                if target.startswith(site["url"]):
                    queue.append(target)
    report = scan_documents(fetched)
    assert report.findings == []
    # The crawl reached the pages, the map layers and scripts, and every kind of download of both releases.
    kinds = {Path(p).suffix or Path(p).name for p in fetched}
    assert kinds == {
        ".html",
        ".css",
        ".js",
        ".svg",
        ".csv",
        ".parquet",
        ".geojson",
        ".geoparquet",
        ".jsonld",
        ".ttl",
        ".md",
        ".txt",
        ".sha256",
        "SHA256SUMS",
        "LICENSE",  # Leaflet's, linked from every page's footer
    }
    assert sum(p.startswith("/releases/") for p in fetched) == 9 + 11
    assert report.skipped == []
    assert {"/portal/datasets/od_taxi_hourly.map.js", "/portal/static/zones.js"} <= set(fetched)


def test_every_sharing_response_holds_no_identifier(site):
    headers = {"Authorization": f"Bearer {site['token']}"}
    api = site["url"] + "/delta-sharing"
    responses = {}
    for path in ("/shares", "/shares/public", "/shares/public/schemas", "/shares/public/all-tables"):
        responses[path] = requests.get(api + path, headers=headers, timeout=10)
    tables = [t["name"] for t in responses["/shares/public/all-tables"].json()["items"]]
    assert {"od_taxi_hourly", "public_road_inventory"} <= set(tables)
    responses["/shares/public/schemas/open/tables"] = requests.get(
        api + "/shares/public/schemas/open/tables", headers=headers, timeout=10
    )
    files = []
    for name in ("od_taxi_hourly", "public_road_inventory"):
        base = f"/shares/public/schemas/open/tables/{name}"
        responses[base + "/version"] = requests.get(api + base + "/version", headers=headers, timeout=10)
        responses[base + "/metadata"] = requests.get(api + base + "/metadata", headers=headers, timeout=10)
        query = requests.post(api + base + "/query", json={}, headers=headers, timeout=10)
        responses[base + "/query"] = query
        files += [json.loads(line)["file"]["url"] for line in query.text.splitlines()[2:]]
    assert len(files) >= 2  # one Parquet file at least for each table
    for url in files:
        responses["/files " + parse_qs(urlparse(url).query)["p"][0]] = requests.get(url, timeout=10)
    findings, values = [], 0
    for where, response in responses.items():
        assert response.status_code == 200, where
        report = scan_bytes(response.content, where)
        findings += report.findings
        values += report.values
    assert findings == []
    assert sum(r.content[:4] == b"PAR1" for r in responses.values()) == len(files)
    assert values > 50


def test_security_scan_command(site, tmp_path, monkeypatch):
    from itlake.cli import app

    # The lake's own checks read Airflow's and the engine's logs: here, empty folders of the test.
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("ITLAKE_ENGINE_DIR", str(tmp_path / "engine"))
    for name in ("AIRFLOW__LOGGING__BASE_LOG_FOLDER", "ITLAKE_SPARK_EVENT_LOG_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["security", "scan", "--date", "2026-12-07"], env={"COLUMNS": "200"})
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # open/, and silver.road_network, which the public share offers; Leaflet's five images are binary.
    summary = r"Scanned \d+ files \([\d,]+ values\) in .*/lake \(open/ and 1 shared table\); 5 binary files"
    assert re.search(summary, result.output), result.output
    assert "✓ no personal identifiers found" in result.output
    # No log yet; the nine pseudonymised columns of the catalogue explained, none with the key.
    assert "Checked retention on 2026-12-07, 0 log files, 9 plans of pseudonymised columns." in result.output
    assert "✓ no personal data past its retention, no pseudonym key in logs or plans" in result.output
    trips = site["lake"] / "gold" / "taxi_trip"
    result = CliRunner().invoke(app, ["security", "scan", str(trips)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "vehicle_id" in result.output and "pseudonym" in result.output
    assert "6 personal identifiers found" in result.output


RAW_PATHS = [
    "/../_system/secret.txt",
    "/portal/../../_system/secret.txt",
    "/portal/../../../../../../etc/passwd",
    "/%2e%2e/_system/secret.txt",
    "/portal/%2e%2e/%2e%2e/_system/secret.txt",
    "/portal/..%2f..%2f_system%2fsecret.txt",
    "/portal/%2E%2E%2F%2E%2E%2F_system%2Fsecret.txt",
    "/releases/..%5c..%5c_system%5csecret.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/portal//etc/passwd",
    "/delta-sharing/shares/..%2f..%2f_system/schemas",
    "/delta-sharing/shares/public/schemas/..%2f..%2f_system/tables/secret.txt/metadata",
]


@pytest.mark.parametrize("raw", RAW_PATHS)
def test_path_traversal_is_refused(site, raw):
    host, port = urlparse(site["url"]).netloc.split(":")
    paths = [raw, raw.replace("/_system/secret.txt", f"{site['lake']}/_system/secret.txt")]
    for path in dict.fromkeys(paths):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", path, headers={"Authorization": f"Bearer {site['token']}"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        connection.close()
        assert response.status in (400, 401, 404), (path, response.status)
        assert SECRET_TEXT not in body and "root:" not in body, path
    # An absolute path to a file that is inside open/ is not served either: paths are the site's.
    inside = f"/{site['lake']}/open/portal/index.html".replace("//", "/")
    assert requests.get(site["url"] + inside, timeout=10).status_code == 404


def _file_url(site) -> tuple[str, dict]:
    headers = {"Authorization": f"Bearer {site['token']}"}
    query = f"{site['url']}/delta-sharing/shares/public/schemas/open/tables/od_taxi_hourly/query"
    url = json.loads(requests.post(query, json={}, headers=headers, timeout=10).text.splitlines()[2])["file"][
        "url"
    ]
    return url.split("?")[0], {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_file_urls_unsigned_or_tampered_are_refused(site):
    from itlake.sharing.server import sign

    base, params = _file_url(site)
    assert requests.get(f"{base}?{urlencode(params)}", timeout=10).status_code == 200
    unsigned = {k: v for k, v in params.items() if k != "s"}
    response = requests.get(f"{base}?{urlencode(unsigned)}", timeout=10)
    assert response.status_code == 403 and response.json()["message"] == "the file URL is not signed"
    flipped = params["s"][:-1] + ("0" if params["s"][-1] != "0" else "1")
    assert requests.get(f"{base}?{urlencode({**params, 's': flipped})}", timeout=10).status_code == 403
    later = {**params, "e": str(int(params["e"]) + 86_400)}  # a longer life, without a new signature
    response = requests.get(f"{base}?{urlencode(later)}", timeout=10)
    assert response.status_code == 403 and "signature" in response.json()["message"]
    # Signed by someone holding another key.
    forged = {**params, "s": sign(b"another-key", params["t"], params["p"], int(params["e"]))}
    assert requests.get(f"{base}?{urlencode(forged)}", timeout=10).status_code == 403
    # Even correctly signed, a path out of the table's folder finds nothing.
    expires = int(time.time()) + 60
    for path in (
        "../../_system/secret.txt",
        "%2e%2e%2f%2e%2e%2f_system%2fsecret.txt",
        f"{site['lake']}/_system/secret.txt",
        "/etc/passwd",
    ):
        signed = {"t": params["t"], "p": path, "e": expires, "s": sign(SECRET, params["t"], path, expires)}
        response = requests.get(f"{base}?{urlencode(signed)}", timeout=10)
        assert response.status_code == 404 and SECRET_TEXT not in response.text, path


def test_a_planted_plate_refuses_the_release_and_is_logged(spark, site):
    import shapely

    from itlake.catalog.contracts import load_contract
    from itlake.lake.delta import append
    from itlake.lake.paths import table_path
    from itlake.lake.system import read_system
    from itlake.publish.flow import publish
    from itlake.publish.gate import PublicationRefused

    contract = load_contract("road_network")
    planted = {
        "road_id": "r3",
        "name": "事故车辆粤B·D12345停靠点",
        "road_class": "branch",
        "lanes": 2,
        "speed_limit_kmh": 30,
        "length_m": 500.0,
        "geometry": shapely.to_wkb(shapely.LineString([(114.05, 22.55), (114.055, 22.55)])),
        "src_crs": "WGS-84",
    }
    append(spark.createDataFrame([planted], contract.spark_schema()), table_path("silver", "road_network"))
    reason = (
        "05.03.001 public_road_inventory: personal identifiers in the rows: "
        "open.public_road_inventory, column name, row 3: plate 粤B·***345"
    )
    with pytest.raises(PublicationRefused) as refused:
        publish(spark, "public_road_inventory", DAY, K)
    assert str(refused.value) == reason
    log = read_system(spark, "publication_log").orderBy("logged_at").collect()
    assert (log[-1].name, log[-1].status, log[-1].reason) == ("public_road_inventory", "refused", reason)
    releases = site["lake"] / "open" / "releases" / "public_road_inventory"
    assert sorted(p.name for p in releases.iterdir()) == ["v1"]
    # Nothing of the refused rows reached the open table the sharing server serves.
    assert scan_tree(site["lake"] / "open" / "public_road_inventory").clean


def test_a_planted_phone_in_the_catalogue_refuses_the_release_files(spark, site, tmp_path, monkeypatch):
    from pyspark.sql import functions as F

    from itlake.lake.delta import overwrite
    from itlake.lake.paths import table_path
    from itlake.lake.system import read_system
    from itlake.publish.flow import publish
    from itlake.publish.gate import PublicationRefused

    # The plate is taken out again, so the rows are clean and differ from v1 (r3 is new).
    roads = spark.read.format("delta").load(table_path("silver", "road_network"))
    overwrite(
        roads.withColumn("name", F.when(F.col("road_id") == "r3", None).otherwise(F.col("name"))),
        table_path("silver", "road_network"),
    )
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", catalog_dir)
    entry = catalog_dir / "05.03.001_public_road_inventory.yaml"
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text.replace("(data services)", "(data services) 张工 13812345678"), encoding="utf-8")
    monkeypatch.setenv("ITLAKE_CATALOG_DIR", str(catalog_dir))
    get_settings.cache_clear()
    with pytest.raises(PublicationRefused, match="personal identifiers in the release files") as refused:
        publish(spark, "public_road_inventory", DAY, K)
    assert "dcat.jsonld, column dcat:contactPoint.vcard:fn: phone 138*****678" in str(refused.value)
    log = read_system(spark, "publication_log").orderBy("logged_at").collect()
    assert (log[-1].status, log[-1].version, log[-1].rows) == ("refused", 0, 3)
    releases = site["lake"] / "open" / "releases" / "public_road_inventory"
    assert sorted(p.name for p in releases.iterdir()) == ["v1"]  # no v2, and no v2.partial left
    monkeypatch.delenv("ITLAKE_CATALOG_DIR")
    get_settings.cache_clear()
    assert publish(spark, "public_road_inventory", DAY, K).version == 2  # the clean catalogue releases
