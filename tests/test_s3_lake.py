"""A lake on object storage, end to end, against a real S3-compatible server.

S3Proxy (Maven Central, `.ci/install-s3proxy`; the filesystem backend keeps each object as a file
under its store folder) listens on 127.0.0.1 on a free port with keys made up for this run. The
lake is `s3a://itlake/lake`, and its one writer is an engine of its own (`itlake engine start`
with the store's settings, as in production): ingest runs as `itlake ingest`, then the gold,
publish and MaaS steps in one Spark session, each in a process of its own attached to that
engine, exactly as on a local lake; the same runs on a local folder (on the run's engine, or a
driver of their own with `--local-spark`) give the row counts to compare. Spark reaches the bucket
through s3a (hadoop-aws), the ledger and the reads go through deltalake, the landing copy, Data
Docs and the release through pyarrow's S3 filesystem. Nothing may appear in a local folder named
`s3a:`.

Slow: S3Proxy and the bucket's engine, two JVM servers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._services import free_port, kill_session, own_spark, s3proxy_server

pytestmark = pytest.mark.slow(minutes=4)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DAY = "2026-11-27"
BUCKET = "itlake"
BUCKET_LAKE = f"s3a://{BUCKET}/lake"
STEPS = ("gold_taxi_trips", "publish_od_taxi_hourly", "maas_taxi_balance")
# From tests/fixtures/taxi_gps_tiny.csv (its README): 10 fixes, one exact duplicate, one at
# latitude 95; two occupied runs make two trips, released at k = 1 as two one-trip cells.
EXPECTED_ROWS = {
    "bronze/taxi_gps": 10,
    "silver/taxi_gps": 8,
    "quarantine/taxi_gps": 1,
    "gold/taxi_trip": 2,
    "gold/maas_taxi_zone_hour": 2,
    "open/od_taxi_hourly": 2,
}
RELEASED_CSV = (
    "service_date,hour_start,origin_zone_id,destination_zone_id,trips\n"
    "2026-11-27,2026-11-27T00:00:00Z,440304,440304,1\n"
    "2026-11-27,2026-11-27T00:00:00Z,440305,440305,1\n"
)


@pytest.fixture(scope="module")
def s3proxy(tmp_path_factory):
    """S3Proxy on loopback with a bucket `itlake`; yields its endpoint, keys and store folder."""
    with s3proxy_server(tmp_path_factory.mktemp("s3proxy"), BUCKET) as server:
        yield server


@pytest.fixture(scope="module")
def lenient_schemas(tmp_path_factory) -> Path:
    """The contracts, with taxi_gps allowed to quarantine half a batch (the fixture has 1 bad row in 10)."""
    schemas = tmp_path_factory.mktemp("schemas") / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "taxi_gps.yaml"
    text = contract.read_text(encoding="utf-8")
    lenient = text.replace("quarantine_threshold: 0.05", "quarantine_threshold: 0.5")
    assert lenient != text
    contract.write_text(lenient, encoding="utf-8")
    return schemas


def lake_env(root: str, work: Path, schemas: Path, s3: dict | None, engine: dict | None = None) -> dict:
    """The environment of one run: the lake, the lenient contracts, a small local driver; for a
    bucket, the store's endpoint, path-style requests and the keys; and what attaches it to
    `engine` (`attached(...)`), else a driver of its own."""
    env = {
        **own_spark(os.environ),
        "ITLAKE_LAKE_ROOT": root,
        "ITLAKE_SCHEMA_DIR": str(schemas),
        "ITLAKE_ENGINE_DIR": str(work / "engine"),
        "ITLAKE_K_ANONYMITY": "1",
        "ITLAKE_SPARK_MASTER": "local[2]",
        "ITLAKE_SHUFFLE_PARTITIONS": "2",
        "ITLAKE_DRIVER_MEMORY": "1g",
        "PYTHONPATH": str(REPO),
    }
    for name in ("ITLAKE_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    if s3 is not None:
        env |= {"ITLAKE_S3_ENDPOINT": s3["endpoint"], "ITLAKE_S3_PATH_STYLE": "true", **s3["keys"]}
    return env | (engine or {})


def attached(port: str, folder: str) -> dict:
    """The settings that attach a process to the engine on `port` whose pid file is in `folder`."""
    return {
        "ITLAKE_SPARK_REMOTE": f"sc://127.0.0.1:{port}",
        "ITLAKE_ENGINE_PORT": port,
        "ITLAKE_ENGINE_DIR": folder,
    }


def run_engine() -> dict | None:
    """The run's engine (tests/conftest.py), which the local lake's processes attach to; None with
    `--local-spark`, where they start a driver of their own."""
    remote = os.environ.get("ITLAKE_SPARK_REMOTE")
    return {"ITLAKE_SPARK_REMOTE": remote} if remote else None


@pytest.fixture(scope="module")
def bucket_engine(s3proxy, lenient_schemas, tmp_path_factory):
    """The bucket lake's one writer: `itlake engine start` on a free port with the store's settings
    (it takes the lake's writer lock); yields what attaches a process to it, and its pid. Stopped
    afterwards with `itlake engine stop`."""
    work = tmp_path_factory.mktemp("bucket-engine")
    engine = attached(str(free_port()), str(work / "engine"))
    env = lake_env(BUCKET_LAKE, work, lenient_schemas, s3proxy) | engine
    env.pop("ITLAKE_SPARK_REMOTE")
    try:
        code, out, err = finish(start([sys.executable, "-m", "itlake", "engine", "start"], env, work), 600)
        assert code == 0, (out[-2000:], err[-3000:])
        yield {"attach": engine, "pid": int((work / "engine" / "engine.pid").read_text()), "work": work}
    finally:
        code, out, err = finish(start([sys.executable, "-m", "itlake", "engine", "stop"], env, work), 120)
        assert code == 0, (out[-2000:], err[-3000:])


def start(command: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen, timeout: float = 900) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        kill_session(process.pid)
    return process.returncode, out, err


def ingest(env: dict, cwd: Path, path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "itlake", "ingest", "taxi_gps", str(path), "--logical-date", DAY]
    return start([*command, "--json"], env, cwd)


# The derived steps one after the other in one session, as jobs/step.py runs each of them.
RUN_STEPS = (
    "import json, sys\n"
    "from datetime import date\n"
    "from itlake.lake.session import get_spark\n"
    "from itlake.orchestration.steps import get_step\n"
    "spark = get_spark('itlake-steps')\n"
    "day = date.fromisoformat(sys.argv[1])\n"
    "print('RESULT ' + json.dumps({s: get_step(s).run(spark, day).tables for s in sys.argv[2:]}))\n"
)


def run_pipeline(env: dict, cwd: Path) -> dict:
    """Ingest the tiny taxi file, then the gold, publish and MaaS steps; their JSON results."""
    code, out, err = finish(ingest(env, cwd, FIXTURES / "taxi_gps_tiny.csv"))
    assert code == 0, err[-3000:]
    ingested = json.loads(out[out.index("{") :])
    code, out, err = finish(start([sys.executable, "-c", RUN_STEPS, DAY, *STEPS], env, cwd))
    assert code == 0, err[-3000:]
    [line] = [x for x in out.splitlines() if x.startswith("RESULT ")]
    return {"ingest": ingested, "steps": json.loads(line.removeprefix("RESULT "))}


def delta_tables(folder: Path) -> list[str]:
    """Every Delta table under a lake folder (on disk, or S3Proxy's copy of the bucket), as layer/name."""
    return sorted(str(log.parent.relative_to(folder)) for log in folder.glob("*/*/_delta_log"))


# One statement over five tables: each count is the fixture's, counted by hand (EXPECTED_ROWS).
COUNTS = (
    "SELECT (SELECT count(*) FROM bronze.taxi_gps) AS bronze, "
    "(SELECT count(*) FROM silver.taxi_gps WHERE fix_date = DATE '2026-11-27') AS silver_on_the_day, "
    "(SELECT count(*) FROM quarantine.taxi_gps) AS quarantined, "
    "(SELECT count(*) FROM gold.taxi_trip) AS trips, "
    "(SELECT sum(trips) FROM open.od_taxi_hourly) AS released_trips"
)


def itlake(args: list[str], env: dict, cwd: Path):
    """Run one `itlake ... --json` command; its JSON answer."""
    code, out, err = finish(start([sys.executable, "-m", "itlake", *args], env, cwd), timeout=600)
    assert code == 0, (args, out[-2000:], err[-3000:])
    return json.loads(out[min(i for i in (out.find("["), out.find("{")) if i >= 0) :])


def scan_env(env: dict, work: Path) -> dict:
    """The scan's own checks read Airflow's and the engine's logs: here, empty folders of the run."""
    scan = {**env, "AIRFLOW_HOME": str(work / "airflow")}
    for name in ("AIRFLOW__LOGGING__BASE_LOG_FOLDER", "ITLAKE_SPARK_EVENT_LOG_DIR"):
        scan.pop(name, None)
    return scan


def portal_files(folder: Path) -> list[str]:
    """The site's files, as paths under it (S3Proxy's store keeps hidden files of its own)."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
    )


def rows(uri: str, options: dict | None = None) -> int:
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=options).to_pyarrow_dataset().count_rows()


def s3_options(s3: dict) -> dict:
    """deltalake's options for the server, written out here rather than taken from the code under test."""
    return {
        "aws_endpoint_url": s3["endpoint"],
        "aws_access_key_id": s3["keys"]["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": s3["keys"]["AWS_SECRET_ACCESS_KEY"],
        "aws_region": "us-east-1",
        "aws_allow_http": "true",
    }


def ledger_rows(result: dict) -> list[dict]:
    """The ledger rows an ingest printed, less the times of the run."""
    return [
        {k: v for k, v in row.items() if k not in ("started_at", "finished_at")}
        for file in result["ingest"]["files"]
        for row in file["ledger"]
    ]


def s3a_folders(*roots: Path) -> list[str]:
    return [str(p) for root in roots for p in root.rglob("s3a:*")]


def test_ingest_gold_publish_maas_and_sharing_on_s3_match_the_local_lake(
    s3proxy, lenient_schemas, bucket_engine, tmp_path, monkeypatch
):
    local_work, s3_work = tmp_path / "local", tmp_path / "s3"
    local_work.mkdir()
    s3_work.mkdir()
    local_lake = local_work / "lake"
    local_env = lake_env(str(local_lake), local_work, lenient_schemas, None, run_engine())
    s3_env = lake_env(BUCKET_LAKE, s3_work, lenient_schemas, s3proxy, bucket_engine["attach"])
    local = run_pipeline(local_env, local_work)
    on_s3 = run_pipeline(s3_env, s3_work)

    # The same ledger and step results, row for row.
    [row] = ledger_rows(on_s3)
    assert ledger_rows(local) == [row]
    assert (row["status"], row["rows_read"], row["rows_promoted"]) == ("promoted", 10, 8)
    assert (row["rows_duplicate"], row["rows_quarantined"]) == (1, 1)
    assert (
        on_s3["steps"]
        == local["steps"]
        == {
            "gold_taxi_trips": {"gold.taxi_trip": 2},
            "publish_od_taxi_hourly": {"open.od_taxi_hourly": 2},
            "maas_taxi_balance": {"gold.maas_taxi_zone_hour": 2},
        }
    )

    # The same tables with the same row counts: the bucket's read through the server, as deltalake
    # and Spark see it; the table list from the server's store folder.
    bucket_lake = s3proxy["store"] / "lake"
    tables = delta_tables(local_lake)
    assert delta_tables(bucket_lake) == tables
    local_rows = {t: rows(str(local_lake / t)) for t in tables}
    s3_rows = {t: rows(f"s3://{BUCKET}/lake/{t}", s3_options(s3proxy)) for t in tables}
    assert s3_rows == local_rows
    assert {t: s3_rows[t] for t in EXPECTED_ROWS} == EXPECTED_ROWS

    # The files beside the tables, in the bucket: the landing copy as received, Data Docs, the
    # release with the same files and data as on disk.
    [landed] = (bucket_lake / "landing" / "taxi_gps" / DAY).glob("*_taxi_gps_tiny.csv")
    assert landed.read_bytes() == (FIXTURES / "taxi_gps_tiny.csv").read_bytes()
    assert "taxi_gps" in (bucket_lake / "_system" / "data_docs" / "index.html").read_text(encoding="utf-8")
    release = bucket_lake / "open" / "releases" / "od_taxi_hourly" / "v1"
    assert (release / "data.csv").read_text(encoding="utf-8") == RELEASED_CSV
    local_release = local_lake / "open" / "releases" / "od_taxi_hourly" / "v1"
    assert sorted(p.name for p in release.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in local_release.iterdir()
    )

    # `itlake sql` over the bucket on both engines gives the local lake's counts (the fixture's,
    # counted by hand); the silver count reads one day's partition by its value.
    counted = [{"bronze": 10, "silver_on_the_day": 8, "quarantined": 1, "trips": 2, "released_trips": 2}]
    assert itlake(["sql", "--engine", "fast", "--json", COUNTS], local_env, local_work) == counted
    assert itlake(["sql", "--engine", "fast", "--json", COUNTS], s3_env, s3_work) == counted
    assert itlake(["sql", "--engine", "spark", "--json", COUNTS], s3_env, s3_work) == counted

    # The portal is built from the bucket's release folders into the bucket, with the same files
    # as on disk; its download links resolve to the release beside it.
    assert itlake(["portal", "build", "--json"], local_env, local_work)["datasets"] == 1
    built = itlake(["portal", "build", "--json"], s3_env, s3_work)
    portal = f"s3a://{BUCKET}/lake/open/portal"
    assert built == {
        "portal": portal,
        "datasets": 1,
        "pages": [f"{portal}/index.html", f"{portal}/datasets/od_taxi_hourly.html"],
    }
    assert portal_files(bucket_lake / "open" / "portal") == portal_files(local_lake / "open" / "portal")
    page = bucket_lake / "open" / "portal" / "datasets" / "od_taxi_hourly.html"
    [csv_link] = set(re.findall(r'href="([^"]*/data\.csv)"', page.read_text(encoding="utf-8")))
    assert csv_link == "../../releases/od_taxi_hourly/v1/data.csv"
    assert (page.parent / csv_link).read_text(encoding="utf-8") == RELEASED_CSV

    # The security scan reads open/ (releases, the open table, the portal) and the shared MaaS
    # table from the bucket: the same files and values as on disk, and no identifier.
    scans = {
        name: itlake(["security", "scan", "--no-plans", "--date", DAY, "--json"], scan_env(env, work), work)
        for name, env, work in (("local", local_env, local_work), ("s3", s3_env, s3_work))
    }
    assert scans["s3"]["scanned"] == [
        f"s3a://{BUCKET}/lake/open",
        f"s3a://{BUCKET}/lake/gold/maas_taxi_zone_hour",
    ]
    assert [p.removeprefix(str(local_lake)) for p in scans["local"]["scanned"]] == [
        "/open",
        "/gold/maas_taxi_zone_hour",
    ]
    read = {name: (scan["files"], scan["values"], scan["skipped"]) for name, scan in scans.items()}
    assert read["s3"][:2] == read["local"][:2]
    assert scans["s3"]["findings"] == scans["local"]["findings"] == []
    assert scans["s3"]["lake"]["findings"] == []

    # Delta Sharing from the bucket: a recipient's query answers with URLs presigned on the store,
    # which S3Proxy checks with the run's keys (a URL whose signature was altered is refused).
    shared = share_from_bucket(s3proxy, tmp_path / "sharing", monkeypatch)
    bucket_url = f"{s3proxy['endpoint']}/{BUCKET}/lake/"
    assert shared["urls"] and all(u.startswith(bucket_url) for u in shared["urls"])
    od = sorted((r["origin_zone_id"], r["destination_zone_id"], r["trips"]) for r in shared["od"])
    assert od == [("440304", "440304", 1), ("440305", "440305", 1)]
    assert len(shared["maas"]) == EXPECTED_ROWS["gold/maas_taxi_zone_hour"]
    assert shared["refused_tampered"] == 403

    # No file went to a local folder named `s3a:` (the working folders of the runs, of the bucket's
    # engine and of this process, the checkout).
    assert s3a_folders(s3_work, tmp_path, bucket_engine["work"], Path.cwd(), REPO) == []


def share_from_bucket(s3: dict, folder: Path, monkeypatch) -> dict:
    """Serve the S3 lake with the Delta Sharing server in this process, query two tables as a
    recipient and fetch every file URL of the answers as sent (the rows read, and the URLs)."""
    import io

    import pyarrow.parquet as pq
    import requests

    from itlake.config import get_settings
    from itlake.sharing.recipients import create_recipient
    from itlake.sharing.server import BackgroundServer, create_app

    for name, value in lake_env(f"s3a://{BUCKET}/lake", folder, REPO / "schemas", s3).items():
        if name.startswith(("ITLAKE_S3_", "AWS_ACCESS", "AWS_SECRET")):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    recipients, profile = folder / "recipients.json", folder / "bureau.share"
    found: dict = {"urls": [], "refused_tampered": None}
    try:
        app = create_app(lake_root=f"s3a://{BUCKET}/lake", recipients_file=recipients, secret=b"s3-test")
        with BackgroundServer(app) as url:
            endpoint = f"{url}/delta-sharing"
            shares = ["agencies", "public"]
            create_recipient("bureau", shares, endpoint=endpoint, profile=profile, path=recipients)
            bearer = json.loads(profile.read_text(encoding="utf-8"))["bearerToken"]
            for key, table in (
                ("od", "public/schemas/open/tables/od_taxi_hourly"),
                ("maas", "agencies/schemas/gold/tables/maas_taxi_zone_hour"),
            ):
                answer = requests.post(
                    f"{endpoint}/shares/{table}/query",
                    json={},
                    headers={"Authorization": f"Bearer {bearer}"},
                    timeout=30,
                )
                assert answer.status_code == 200, answer.text
                lines = [json.loads(line) for line in answer.text.splitlines()]
                urls = [line["file"]["url"] for line in lines if "file" in line]
                found["urls"] += urls
                found[key] = []
                for file_url in urls:
                    got = requests.get(file_url, timeout=30)
                    assert got.status_code == 200, got.text[:500]
                    found[key] += pq.read_table(io.BytesIO(got.content)).to_pylist()
            tampered = found["urls"][0].replace("X-Amz-Signature=", "X-Amz-Signature=0")
            found["refused_tampered"] = requests.get(tampered, timeout=30).status_code
    finally:
        get_settings.cache_clear()
    return found


def test_a_driver_of_its_own_is_refused_while_the_engine_writes_the_bucket_and_attached_it_lands(
    s3proxy, lenient_schemas, bucket_engine, tmp_path
):
    """On object storage one Spark driver writes the lake at a time. While the engine serves the
    bucket lake, an `itlake ingest` that would start a driver of its own is refused with one line
    naming the engine's pid and changes no table; the same command attached to the engine, as the
    line advises, lands the file."""
    work = tmp_path / "work"
    work.mkdir()
    env = lake_env(BUCKET_LAKE, work, lenient_schemas, s3proxy, bucket_engine["attach"])
    own_driver = {name: value for name, value in env.items() if name != "ITLAKE_SPARK_REMOTE"}
    other = tmp_path / "taxi_gps_other.csv"
    # The same fixes from other taxis: a file with rows of its own.
    text = (FIXTURES / "taxi_gps_tiny.csv").read_text(encoding="utf-8")
    other.write_text(text.replace("粤B0000", "粤B1000"), encoding="utf-8")
    assert other.read_text(encoding="utf-8") != text

    options = s3_options(s3proxy)
    base = f"s3://{BUCKET}/lake"
    tables = ("bronze/taxi_gps", "silver/taxi_gps", "_system/ingest_ledger")

    def counts() -> dict:
        """Each table's rows (0 while it does not exist: this test may run before the other)."""
        from deltalake import DeltaTable

        found = {t: DeltaTable.is_deltatable(f"{base}/{t}", options) for t in tables}
        return {t: rows(f"{base}/{t}", options) if found[t] else 0 for t in tables}

    before = counts()
    code, out, err = finish(ingest(own_driver, work, other))
    assert code == 1, (out[-2000:], err[-3000:])
    [message] = [line for line in err.splitlines() if line.startswith("error: ")]
    assert message == (
        f"error: the lake {BUCKET_LAKE} is being written by pid {bucket_engine['pid']}: on object "
        "storage one Spark driver writes at a time; attach to the engine (ITLAKE_SPARK_REMOTE) or "
        "run after it ends"
    )
    assert counts() == before

    code, out, err = finish(ingest(env, work, other))
    assert code == 0, err[-3000:]
    after = counts()
    assert {t: after[t] - before[t] for t in tables} == {
        "bronze/taxi_gps": 10,
        "silver/taxi_gps": 8,
        "_system/ingest_ledger": 1,
    }
    from deltalake import DeltaTable

    ledger = DeltaTable(f"{base}/_system/ingest_ledger", storage_options=options).to_pyarrow_table()
    mine = [(r["source_file"], r["status"], r["rows_promoted"]) for r in ledger.to_pylist()]
    assert [row for row in mine if row[0] == other.name] == [(other.name, "promoted", 8)]
    assert s3a_folders(work) == []
