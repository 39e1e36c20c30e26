"""The Delta Sharing server against the official `delta-sharing` client, on a local-folder lake.

The tables are written with delta-rs (no Spark): gold.maas_taxi_zone_hour (shared conditionally,
share `agencies`) on two service dates; open.od_taxi_hourly (share `public`); open.port_throughput_month
(share `public`) with its change data feed on, through four versions: created with three ports,
Shekou updated, Chiwan deleted, Dachan Bay appended; and two tables the server refuses, one with
deletion vectors and one with column mapping. The other tables the catalogue shares do not exist.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlencode, urlparse

import pandas as pd
import pytest
import requests

from itlake.sharing.recipients import create_recipient, load_recipients
from itlake.sharing.server import BackgroundServer, create_app, sign

SECRET = b"test-secret-not-for-production"
DAYS = [date(2026, 11, 27), date(2026, 11, 28)]


def balance_rows() -> pd.DataFrame:
    rows = []
    for day in DAYS:
        for i, zone in enumerate(["440303", "440304", "440305"]):
            rows.append(
                {
                    "zone_id": zone,
                    "zone_name": ["罗湖区", "福田区", "南山区"][i],
                    "service_date": day,
                    "hour_start": pd.Timestamp(datetime(day.year, day.month, day.day, 1), tz="UTC"),
                    "taxi_pickups": 10 * (i + 1) + day.day,
                    "idle_taxis": 5,
                    "supply_demand_ratio": 5 / (10 * (i + 1) + day.day),
                    "unmet_demand": 10 * (i + 1) + day.day - 5,
                    "is_gap": True,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def sharing(tmp_path_factory):
    from deltalake import DeltaTable, write_deltalake

    root = tmp_path_factory.mktemp("sharing")
    lake = root / "lake"
    for day in DAYS:  # one commit per day: two files, one per partition
        frame = balance_rows()
        write_deltalake(
            str(lake / "gold" / "maas_taxi_zone_hour"),
            frame[frame.service_date == day].reset_index(drop=True),
            partition_by=["service_date"],
            mode="append",
        )
    od = pd.DataFrame(
        {
            "service_date": [DAYS[0]] * 2,
            "hour_start": [pd.Timestamp(datetime(2026, 11, 27, 1), tz="UTC")] * 2,
            "origin_zone_id": ["440304", "440305"],
            "destination_zone_id": ["440305", "440304"],
            "trips": [12, 15],
        }
    )
    write_deltalake(str(lake / "open" / "od_taxi_hourly"), od, partition_by=["service_date"])
    ports = str(lake / "open" / "port_throughput_month")
    moments = {}
    write_deltalake(
        ports,
        pd.DataFrame({"port": ["Yantian", "Shekou", "Chiwan"], "teu": [120, 80, 40]}),
        configuration={"delta.enableChangeDataFeed": "true"},
    )
    time.sleep(0.05)
    DeltaTable(ports).update(predicate="port = 'Shekou'", updates={"teu": "85"})  # version 1
    time.sleep(0.05)
    moments["after_update"] = datetime.now(UTC)
    time.sleep(0.05)
    DeltaTable(ports).delete("port = 'Chiwan'")  # version 2
    time.sleep(0.05)
    write_deltalake(ports, pd.DataFrame({"port": ["Dachan Bay"], "teu": [7]}), mode="append")  # version 3
    frame = pd.DataFrame({"agency_id": ["SZBUS"]})
    write_deltalake(
        str(lake / "silver" / "gtfs_agency"), frame, configuration={"delta.enableDeletionVectors": "true"}
    )
    write_deltalake(
        str(lake / "silver" / "gtfs_route"),
        pd.DataFrame({"route_id": ["M1"]}),
        configuration={"delta.columnMapping.mode": "name"},
    )
    recipients = root / "recipients.json"
    app = create_app(lake_root=str(lake), recipients_file=recipients, secret=SECRET)
    with BackgroundServer(app) as url:
        endpoint = f"{url}/delta-sharing"
        profiles = {}
        for name, shares, days in (
            ("transport-bureau", ["agencies", "public"], 365),
            ("public-user", ["public"], 30),
            ("lapsed-agency", ["agencies"], -1),
        ):
            profiles[name] = root / f"{name}.share"
            create_recipient(
                name, shares, endpoint=endpoint, profile=profiles[name], days=days, path=recipients
            )
        yield {
            "url": url,
            "endpoint": endpoint,
            "profiles": profiles,
            "recipients": recipients,
            "moments": moments,
        }


def token(sharing, name: str) -> str:
    return json.loads(sharing["profiles"][name].read_text())["bearerToken"]


def sorted_rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted((str(r.service_date)[:10], r.zone_id, int(r.taxi_pickups)) for r in frame.itertuples())


def test_tokens_are_stored_hashed_only(sharing):
    stored = sharing["recipients"].read_text()
    assert token(sharing, "transport-bureau") not in stored
    assert [r.name for r in load_recipients(sharing["recipients"])] == [
        "transport-bureau",
        "public-user",
        "lapsed-agency",
    ]


def test_client_lists_only_the_recipients_shares(sharing):
    import delta_sharing

    bureau = delta_sharing.SharingClient(str(sharing["profiles"]["transport-bureau"]))
    assert sorted(s.name for s in bureau.list_shares()) == ["agencies", "public"]
    public = delta_sharing.SharingClient(str(sharing["profiles"]["public-user"]))
    assert [s.name for s in public.list_shares()] == ["public"]
    tables = {f"{t.share}.{t.schema}.{t.name}" for t in public.list_all_tables()}
    # Only the tables the lake holds: public.silver.gtfs_frequency and the rest are not listed.
    assert tables == {
        "public.open.od_taxi_hourly",
        "public.open.port_throughput_month",
        "public.silver.gtfs_agency",
        "public.silver.gtfs_route",
    }


def test_load_as_pandas_returns_the_source_rows(sharing):
    import delta_sharing

    url = f"{sharing['profiles']['transport-bureau']}#agencies.gold.maas_taxi_zone_hour"
    frame = delta_sharing.load_as_pandas(url)
    assert sorted_rows(frame) == sorted_rows(balance_rows())
    assert set(frame.columns) == set(balance_rows().columns)
    assert len(delta_sharing.load_as_pandas(url, limit=2)) == 2
    # The hint names the second day's partition: the server lists only that day's file.
    hint = {
        "op": "equal",
        "children": [
            {"op": "column", "name": "service_date", "valueType": "date"},
            {"op": "literal", "value": "2026-11-28", "valueType": "date"},
        ],
    }
    hinted = delta_sharing.load_as_pandas(url, jsonPredicateHints=json.dumps(hint))
    assert sorted_rows(hinted) == [
        ("2026-11-28", "440303", 38),
        ("2026-11-28", "440304", 48),
        ("2026-11-28", "440305", 58),
    ]
    od = delta_sharing.load_as_pandas(f"{sharing['profiles']['public-user']}#public.open.od_taxi_hourly")
    assert sorted(od.trips.tolist()) == [12, 15]


def test_version_and_metadata(sharing):
    headers = {"Authorization": f"Bearer {token(sharing, 'transport-bureau')}"}
    base = f"{sharing['endpoint']}/shares/agencies/schemas/gold/tables/maas_taxi_zone_hour"
    assert requests.get(f"{base}/version", headers=headers, timeout=10).headers["delta-table-version"] == "1"
    response = requests.get(f"{base}/metadata", headers=headers, timeout=10)
    protocol, metadata = (json.loads(line) for line in response.text.splitlines())
    assert protocol == {"protocol": {"minReaderVersion": 1}}
    assert metadata["metaData"]["partitionColumns"] == ["service_date"]
    assert metadata["metaData"]["numFiles"] == 2
    assert response.headers["content-type"].startswith("application/x-ndjson")


def test_wrong_or_expired_token_is_refused(sharing):
    shares = f"{sharing['endpoint']}/shares"
    assert requests.get(shares, timeout=10).status_code == 401
    assert (
        requests.get(shares, headers={"Authorization": "Bearer not-a-token"}, timeout=10).status_code == 401
    )
    lapsed = requests.get(
        shares, headers={"Authorization": f"Bearer {token(sharing, 'lapsed-agency')}"}, timeout=10
    )
    assert lapsed.status_code == 401 and "expired" in lapsed.json()["message"]


def test_a_table_outside_the_share_is_not_found(sharing):
    headers = {"Authorization": f"Bearer {token(sharing, 'public-user')}"}
    base = f"{sharing['endpoint']}/shares/agencies/schemas/gold/tables/maas_taxi_zone_hour"
    assert requests.post(f"{base}/query", json={}, headers=headers, timeout=10).status_code == 404
    # Nor through another share's name: the table is only in `agencies`.
    other = f"{sharing['endpoint']}/shares/public/schemas/gold/tables/maas_taxi_zone_hour/query"
    assert requests.post(other, json={}, headers=headers, timeout=10).status_code == 404


def test_file_urls_are_signed_and_expire(sharing):
    headers = {"Authorization": f"Bearer {token(sharing, 'transport-bureau')}"}
    query = f"{sharing['endpoint']}/shares/agencies/schemas/gold/tables/maas_taxi_zone_hour/query"
    lines = requests.post(query, json={"limitHint": 1}, headers=headers, timeout=10).text.splitlines()
    files = [json.loads(line)["file"] for line in lines[2:]]
    assert len(files) == 1
    url = files[0]["url"]
    assert requests.get(url, timeout=10).content[:4] == b"PAR1"
    params = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    base = url.split("?")[0]
    tampered = {**params, "p": params["p"].replace("2026-11-2", "2026-11-3")}
    assert requests.get(f"{base}?{urlencode(tampered)}", timeout=10).status_code == 403
    other_table = {**params, "t": "public.open.od_taxi_hourly"}
    assert requests.get(f"{base}?{urlencode(other_table)}", timeout=10).status_code == 403
    past = int(time.time()) - 1
    expired = {**params, "e": past, "s": sign(SECRET, params["t"], params["p"], past)}
    response = requests.get(f"{base}?{urlencode(expired)}", timeout=10)
    assert response.status_code == 403 and "expired" in response.json()["message"]


PORTS = "public.open.port_throughput_month"


def ports(frame: pd.DataFrame) -> list[tuple]:
    return sorted((r.port, int(r.teu)) for r in frame.itertuples())


def test_load_as_pandas_at_a_version_and_at_a_timestamp(sharing):
    import delta_sharing

    url = f"{sharing['profiles']['public-user']}#{PORTS}"
    assert ports(delta_sharing.load_as_pandas(url)) == [("Dachan Bay", 7), ("Shekou", 85), ("Yantian", 120)]
    assert ports(delta_sharing.load_as_pandas(url, version=0)) == [
        ("Chiwan", 40),
        ("Shekou", 80),
        ("Yantian", 120),
    ]
    assert ports(delta_sharing.load_as_pandas(url, version=2)) == [("Shekou", 85), ("Yantian", 120)]
    after_update = sharing["moments"]["after_update"].strftime("%Y-%m-%d %H:%M:%S.%f")
    assert ports(delta_sharing.load_as_pandas(url, timestamp=after_update)) == [
        ("Chiwan", 40),
        ("Shekou", 85),
        ("Yantian", 120),
    ]
    # The version endpoint answers the first version committed at or after a timestamp.
    headers = {"Authorization": f"Bearer {token(sharing, 'public-user')}"}
    version = f"{sharing['endpoint']}/shares/public/schemas/open/tables/port_throughput_month/version"
    answer = requests.get(version, params={"startingTimestamp": after_update}, headers=headers, timeout=10)
    assert answer.headers["delta-table-version"] == "2"


def changes(frame: pd.DataFrame) -> list[tuple]:
    rows = frame.to_dict("records")
    return sorted((int(r["_commit_version"]), r["_change_type"], r["port"], int(r["teu"])) for r in rows)


def test_change_data_feed_between_two_versions(sharing):
    import delta_sharing

    url = f"{sharing['profiles']['public-user']}#{PORTS}"
    frame = delta_sharing.load_table_changes_as_pandas(url, starting_version=1, ending_version=3)
    assert changes(frame) == [
        (1, "update_postimage", "Shekou", 85),
        (1, "update_preimage", "Shekou", 80),
        (2, "delete", "Chiwan", 40),
        (3, "insert", "Dachan Bay", 7),
    ]
    stamps = dict(zip(frame._commit_version, frame._commit_timestamp, strict=True))
    assert stamps[1] < stamps[2] < stamps[3]
    first = delta_sharing.load_table_changes_as_pandas(url, starting_version=0, ending_version=0)
    assert changes(first) == [
        (0, "insert", "Chiwan", 40),
        (0, "insert", "Shekou", 80),
        (0, "insert", "Yantian", 120),
    ]
    after_update = sharing["moments"]["after_update"].strftime("%Y-%m-%d %H:%M:%S.%f")
    since = delta_sharing.load_table_changes_as_pandas(url, starting_timestamp=after_update)
    assert changes(since) == [(2, "delete", "Chiwan", 40), (3, "insert", "Dachan Bay", 7)]


def test_query_from_a_starting_version_lists_data_change_files(sharing):
    headers = {"Authorization": f"Bearer {token(sharing, 'public-user')}"}
    query = f"{sharing['endpoint']}/shares/public/schemas/open/tables/port_throughput_month/query"
    response = requests.post(
        query, json={"startingVersion": 2, "endingVersion": 3}, headers=headers, timeout=10
    )
    assert response.status_code == 200 and response.headers["delta-table-version"] == "2"
    lines = [json.loads(line) for line in response.text.splitlines()[2:]]
    # Version 2 (the delete) removed the file holding Chiwan and added one without it; 3 added one.
    assert sorted((next(iter(line)), next(iter(line.values()))["version"]) for line in lines) == [
        ("add", 2),
        ("add", 3),
        ("remove", 2),
    ]


def test_delta_response_format_when_the_client_asks_for_it(sharing):
    headers = {
        "Authorization": f"Bearer {token(sharing, 'public-user')}",
        "delta-sharing-capabilities": "responseformat=delta;readerfeatures=deletionvectors,columnmapping",
    }
    base = f"{sharing['endpoint']}/shares/public/schemas/open/tables/port_throughput_month"
    response = requests.post(f"{base}/query", json={"version": 2}, headers=headers, timeout=10)
    assert response.headers["delta-sharing-capabilities"] == "responseformat=delta"
    protocol, metadata, *files = (json.loads(line) for line in response.text.splitlines())
    assert protocol["protocol"]["deltaProtocol"]["minReaderVersion"] == 1
    assert metadata["metaData"]["version"] == 2
    assert metadata["metaData"]["deltaMetadata"]["configuration"]["delta.enableChangeDataFeed"] == "true"
    # delta-rs rewrites the one data file on update and on delete: version 2 is one file of two rows.
    assert len(files) == 1 and all("add" in f["file"]["deltaSingleAction"] for f in files)
    read = pd.concat(pd.read_parquet(f["file"]["deltaSingleAction"]["add"]["path"]) for f in files)
    assert ports(read) == [("Shekou", 85), ("Yantian", 120)]
    parquet = {**headers, "delta-sharing-capabilities": "responseformat=delta,parquet"}
    answer = requests.post(f"{base}/query", json={}, headers=parquet, timeout=10)
    assert answer.headers["delta-sharing-capabilities"] == "responseformat=parquet"


def test_unsupported_requests_get_400_with_the_protocol_error_body(sharing):
    headers = {"Authorization": f"Bearer {token(sharing, 'public-user')}"}
    base = f"{sharing['endpoint']}/shares/public/schemas"

    def error(response) -> tuple:
        assert response.headers["content-type"] == "application/json"
        return response.status_code, response.json()["errorCode"], response.json()["message"]

    agency = requests.post(f"{base}/silver/tables/gtfs_agency/query", json={}, headers=headers, timeout=10)
    assert error(agency) == (
        400,
        "FEATURE_NOT_SUPPORTED",
        "table public.silver.gtfs_agency: the table uses deletion vectors, which this server does not share",
    )
    route = requests.get(f"{base}/silver/tables/gtfs_route/metadata", headers=headers, timeout=10)
    assert error(route)[:2] == (400, "FEATURE_NOT_SUPPORTED") and "column mapping" in error(route)[2]
    od = f"{base}/open/tables/od_taxi_hourly"
    no_feed = requests.get(f"{od}/changes?startingVersion=0", headers=headers, timeout=10)
    assert (
        error(no_feed)[:2] == (400, "INVALID_PARAMETER_VALUE") and "no change data feed" in error(no_feed)[2]
    )
    both = requests.post(
        f"{od}/query", json={"version": 0, "timestamp": "2026-12-07 08:00:00"}, headers=headers, timeout=10
    )
    assert error(both)[0] == 400
    future = requests.post(f"{od}/query", json={"version": 9}, headers=headers, timeout=10)
    assert error(future) == (400, "INVALID_PARAMETER_VALUE", "version 9 is after the table's last, 0")
    early = requests.post(
        f"{od}/query", json={"timestamp": "2001-01-01 00:00:00"}, headers=headers, timeout=10
    )
    assert error(early) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "timestamp '2001-01-01 00:00:00': the timestamp is before the table's first commit",
    )
    ports_base = f"{base}/open/tables/port_throughput_month"
    backwards = requests.get(
        f"{ports_base}/changes?startingVersion=3&endingVersion=1", headers=headers, timeout=10
    )
    assert error(backwards) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "versions 3..1 are not within the table's 0..3",
    )
    csv = {**headers, "delta-sharing-capabilities": "responseformat=csv"}
    assert error(requests.get(f"{ports_base}/metadata", headers=csv, timeout=10))[0] == 400
    missing = requests.get(f"{base}/silver/tables/gtfs_frequency/metadata", headers=headers, timeout=10)
    assert missing.status_code == 404


def test_catalogue_is_served_as_jsonld_and_turtle(sharing):
    from rdflib import Graph
    from rdflib.compare import isomorphic

    jsonld = requests.get(f"{sharing['url']}/catalog.jsonld", timeout=60)
    turtle = requests.get(f"{sharing['url']}/catalog.ttl", timeout=60)
    assert jsonld.status_code == turtle.status_code == 200
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert jsonld.json()["@type"] == "dcat:Catalog"
    from_jsonld = Graph().parse(data=jsonld.text, format="json-ld")
    assert isomorphic(from_jsonld, Graph().parse(data=turtle.text, format="turtle"))


def test_change_data_feed_turned_on_for_shared_tables(tmp_path):
    import delta_sharing
    from deltalake import DeltaTable, write_deltalake

    from itlake.catalog.resources import load_catalog
    from itlake.sharing.shares import enable_change_data_feed, shared_tables

    lake = tmp_path / "lake"
    od = str(lake / "open" / "od_taxi_hourly")
    write_deltalake(od, pd.DataFrame({"origin_zone_id": ["440304", "440305"], "trips": [12, 15]}))
    tables = shared_tables(load_catalog())
    assert enable_change_data_feed(tables, str(lake)) == ["public.open.od_taxi_hourly"]
    assert enable_change_data_feed(tables, str(lake)) == []  # already on; absent tables left alone
    DeltaTable(od).delete("origin_zone_id = '440305'")  # version 2
    recipients = tmp_path / "recipients.json"
    app = create_app(lake_root=str(lake), recipients_file=recipients, secret=SECRET)
    with BackgroundServer(app) as url:
        profile = tmp_path / "public.share"
        create_recipient(
            "public-user", ["public"], endpoint=f"{url}/delta-sharing", profile=profile, path=recipients
        )
        frame = delta_sharing.load_table_changes_as_pandas(
            f"{profile}#public.open.od_taxi_hourly", starting_version=1, ending_version=2
        )
    rows = frame.to_dict("records")
    assert [(r["_commit_version"], r["_change_type"], r["origin_zone_id"], r["trips"]) for r in rows] == [
        (2, "delete", "440305", 15)
    ]
