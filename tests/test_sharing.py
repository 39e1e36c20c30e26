"""The Delta Sharing server against the official `delta-sharing` client, on a local-folder lake.

The tables are written with delta-rs (no Spark): gold.maas_taxi_zone_hour (shared conditionally,
share `agencies`) on two service dates, and open.od_taxi_hourly (share `public`).
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
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
    from deltalake import write_deltalake

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
        yield {"url": url, "endpoint": endpoint, "profiles": profiles, "recipients": recipients}


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
    assert "public.open.od_taxi_hourly" in tables
    assert not any(t.startswith("agencies.") for t in tables)


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
