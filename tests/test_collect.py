"""The collector against a real HTTP server on 127.0.0.1 that replays GBFS files and misbehaves.

The server answers each path from a script, one step per request: real documents (Oslo Bysykkel's
station_status, the GBFS 2.3 and 3.0 vehicle documents of tests/fixtures/gbfs/), a 500, a 404, an
answer slower than the poll's timeout, a body cut short of its Content-Length, an HTML page, a
gbfs.json that moves from 2.3 to 3.0 between two polls, and a body trickled so slowly that SIGTERM
arrives in the middle of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from deltalake import DeltaTable

from itlake.catalog.resources import Poll
from itlake.collect import Collector, Target
from itlake.feeds import BatchContext, get_feed

REPO = Path(__file__).resolve().parents[1]
GBFS = REPO / "tests" / "fixtures" / "gbfs"
OSLO_STATUS = (GBFS / "oslo" / "oslobysykkel_station_status.json").read_bytes()
# The same document one poll later: only last_updated moved on by ten seconds.
OSLO_STATUS_LATER = OSLO_STATUS.replace(b'"last_updated": 1688733103', b'"last_updated": 1688733113', 1)
VEHICLE_DOCUMENTS = {
    json.loads(line)["feed"]: json.dumps(json.loads(line)["document"]).encode()
    for line in (GBFS / "vehicle_status.jsonl").read_text().splitlines()
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        replay = self.server.replay
        step = replay.next_step(self.path)
        replay.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        try:
            time.sleep(step.get("delay", 0))
            etag = step.get("etag")
            if etag and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            body = step.get("body", b"")
            if callable(body):
                body = body(replay.base)
            self.send_response(step.get("status", 200))
            self.send_header("Content-Type", step.get("type", "application/json; charset=utf-8"))
            if etag:
                self.send_header("ETag", etag)
            if step.get("modified"):
                self.send_header("Last-Modified", step["modified"])
            # A cut body promises 500 bytes more than it sends, then the connection closes.
            self.send_header("Content-Length", str(len(body) + (500 if step.get("cut") else 0)))
            self.end_headers()
            chunk = step.get("trickle")
            if chunk:
                for start in range(0, len(body), chunk):
                    self.wfile.write(body[start : start + chunk])
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the collector gave up first (a timeout, a stop)

    def log_message(self, *args):
        pass


class Replay:
    """A publisher on 127.0.0.1 (a port the OS chose); `scripts` maps a path to its steps, the
    last step answering every later request."""

    def __init__(self, scripts: dict[str, list[dict]]):
        self.scripts = scripts
        self.served = {path: 0 for path in scripts}
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.replay = self
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def next_step(self, path: str) -> dict:
        with self.lock:
            steps = self.scripts.get(path, [{"status": 404}])
            index = self.served.get(path, 0)
            self.served[path] = index + 1
            return steps[min(index, len(steps) - 1)]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _fetch_log(path: Path) -> list[dict]:
    rows = DeltaTable(str(path)).to_pyarrow_table().to_pylist()
    return sorted(rows, key=lambda r: r["fetched_at"])


def _files(inbox: Path) -> list[Path]:
    """The files written into the inbox (not the hidden part files of downloads in progress)."""
    return sorted(p for p in inbox.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_n_polls_give_n_files_less_the_unchanged_and_every_failure_is_logged(tmp_path):
    path = "/oslo/station_status.json"
    modified = "Fri, 07 Jul 2023 12:31:43 GMT"
    scripts = {
        path: [
            {"body": OSLO_STATUS, "etag": '"a"', "modified": modified},  # 1 written
            {"body": OSLO_STATUS},  # 2 unchanged: same sha256
            {"status": 500, "body": b"oops", "type": "text/plain"},  # 3
            {"status": 404, "body": b"gone", "type": "text/plain"},  # 4
            {"body": OSLO_STATUS_LATER, "delay": 1.5},  # 5 slower than the 0.5 s timeout
            {"body": OSLO_STATUS_LATER, "cut": True},  # 6 cut short
            {"body": b"<html>maintenance</html>", "type": "text/html"},  # 7
            {"body": OSLO_STATUS_LATER, "etag": '"b"'},  # 8 written
            {"body": OSLO_STATUS_LATER, "etag": '"b"'},  # 9 304: the collector sent If-None-Match "b"
            {"body": OSLO_STATUS_LATER},  # 10 unchanged
        ]
    }
    inbox, log_path = tmp_path / "inbox", tmp_path / "lake" / "_system" / "fetch_log"
    with Replay(scripts) as server:
        poll = Poll(url=server.base + path, system_id="oslobysykkel", interval_s=0.05, timeout_s=0.5)
        target = Target("gbfs_station_status", "gbfs_station_status", "json", poll, ("station_status",))
        collector = Collector(
            [target], inbox=inbox, fetch_log=str(log_path), max_polls=10, backoff_cap_s=0.3, flush_s=60
        )
        asyncio.run(collector.run(asyncio.Event()))
        requests = [headers for p, headers in server.requests if p == path]

    files = _files(inbox)
    # 10 polls - 5 failures - 2 unchanged payloads - 1 not modified = 2 files, as served.
    assert [f.read_bytes() for f in files] == [OSLO_STATUS, OSLO_STATUS_LATER]
    assert all(f.parent.parent.name == "gbfs_station_status" for f in files)
    assert all(f.name.startswith("oslobysykkel_station_status_") for f in files)
    # The second request carried the first answer's validators.
    assert (requests[1]["if-none-match"], requests[1]["if-modified-since"]) == ('"a"', modified)

    log = _fetch_log(log_path)
    # The document says ttl 10: the next poll waits that long, not the 0.05 s interval.
    assert (log[1]["fetched_at"] - log[0]["fetched_at"]).total_seconds() >= 10
    assert [(r["outcome"], r["status"]) for r in log] == [
        ("written", 200),
        ("unchanged", 200),
        ("failed", 500),
        ("failed", 404),
        ("failed", None),
        ("failed", None),
        ("failed", 200),
        ("written", 200),
        ("not_modified", 304),
        ("unchanged", 200),
    ]
    errors = [r["error"] for r in log if r["outcome"] == "failed"]
    assert errors[0] == "HTTP 500 Internal Server Error"
    assert errors[1] == "HTTP 404 Not Found"
    assert errors[2] == "timeout: no whole answer within 0.5 s"
    assert errors[3].startswith("body cut short after ")
    assert errors[4] == "content type 'text/html' is not json"
    assert [r["bytes"] for r in log if r["outcome"] == "written"] == [
        len(OSLO_STATUS),
        len(OSLO_STATUS_LATER),
    ]
    assert [r["file"] for r in log if r["outcome"] == "written"] == [str(f) for f in files]
    assert all(r["latency_ms"] > 0 and r["url"] == server.base + path for r in log)
    assert not list(inbox.rglob(".*.part"))


def test_a_gbfs_version_change_in_the_middle_of_the_day_is_followed(tmp_path):
    def discovery_2_3(base):
        feeds = [{"name": "free_bike_status", "url": f"{base}/v2/free_bike_status.json"}]
        return json.dumps(
            {"last_updated": 1640887163, "ttl": 0, "version": "2.3", "data": {"en": {"feeds": feeds}}}
        ).encode()

    def discovery_3_0(base):
        feeds = [{"name": "vehicle_status", "url": f"{base}/v3/vehicle_status.json"}]
        return json.dumps(
            {
                "last_updated": "2023-07-17T13:34:13+02:00",
                "ttl": 0,
                "version": "3.0",
                "data": {"feeds": feeds},
            }
        ).encode()

    scripts = {
        "/gbfs.json": [{"body": discovery_2_3}, {"body": discovery_3_0}],
        "/v2/free_bike_status.json": [{"body": VEHICLE_DOCUMENTS["free_bike_status"]}],
        "/v3/vehicle_status.json": [{"body": VEHICLE_DOCUMENTS["vehicle_status"]}],
    }
    inbox, log_path = tmp_path / "inbox", tmp_path / "fetch_log"
    with Replay(scripts) as server:
        poll = Poll(discovery=server.base + "/gbfs.json", system_id="sz_bike", interval_s=0.05)
        target = Target(
            "gbfs_vehicle_status", "gbfs_vehicle_status", "json", poll, ("vehicle_status", "free_bike_status")
        )
        collector = Collector([target], inbox=inbox, fetch_log=str(log_path), max_polls=2)
        asyncio.run(collector.run(asyncio.Event()))

    first, second = _files(inbox)
    assert first.name.startswith("sz_bike_free_bike_status_") and second.name.startswith(
        "sz_bike_vehicle_status_"
    )
    assert [r["outcome"] for r in _fetch_log(log_path)] == ["discovered", "written", "discovered", "written"]
    # Both files ingest with the same parser, each by its own version.
    feed = get_feed("gbfs_vehicle_status")
    versions = {}
    for path in (first, second):
        ctx = BatchContext("b", "0" * 64, path.name, None, b"k", "utf-8", "WGS-84", "UTC")
        [table] = feed.read(path, ctx).values()
        versions[path.name.split("_2")[0]] = (table.num_rows, set(table.column("version").to_pylist()))
    assert versions == {"sz_bike_free_bike_status": (2, {"2.3"}), "sz_bike_vehicle_status": (2, {"3.0"})}


@pytest.fixture
def catalog_with_poll(tmp_path):
    """The catalogue, with a `poll` block on gbfs_station_status pointing at `{base}`."""
    folder = tmp_path / "catalog"
    shutil.copytree(REPO / "catalog", folder)

    def point_at(base: str) -> Path:
        entry = folder / "03.04.002_gbfs_station_status.yaml"
        entry.write_text(
            entry.read_text(encoding="utf-8").rstrip("\n")
            + f"\npoll:\n  url: {base}/station_status.json\n  system_id: oslobysykkel\n"
            "  interval_s: 0.2\n  timeout_s: 60\n",
            encoding="utf-8",
        )
        return folder

    return point_at


def test_sigterm_mid_download_leaves_no_partial_file(tmp_path, catalog_with_poll):
    big = OSLO_STATUS_LATER + b" " * 40_000  # trailing blanks keep it valid JSON
    scripts = {
        "/station_status.json": [
            {"body": OSLO_STATUS},
            {"body": big, "trickle": 1000},  # 40 chunks, 0.1 s apart: SIGTERM comes in between
        ]
    }
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    with Replay(scripts) as server:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "ITLAKE_CATALOG_DIR": str(catalog_with_poll(server.base)),
            "ITLAKE_INBOX": str(inbox),
            "ITLAKE_LAKE_ROOT": str(lake),
        }
        code = "from itlake.cli import app; app()"
        process = subprocess.Popen(
            [sys.executable, "-c", code, "collect", "--feed", "gbfs_station_status"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            # The first document written, and the second one's part file there: mid-download.
            while not (_files(inbox) and list(inbox.rglob(".*.part"))):
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the second download never started"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGTERM)
            output = process.communicate(timeout=30)[0].decode()
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output
    assert [f.read_bytes() for f in _files(inbox)] == [OSLO_STATUS]
    assert not list(inbox.rglob(".*.part"))
    log = _fetch_log(lake / "_system" / "fetch_log")
    assert [(r["outcome"], r["status"]) for r in log] == [("written", 200), ("failed", None)]
    assert log[1]["error"].startswith("stopped (SIGTERM or SIGINT) before the answer was whole")


def test_the_catalogue_poll_block_is_checked_and_names_the_file(tmp_path, catalog_with_poll):
    from itlake.catalog.resources import CatalogError, load_catalog
    from itlake.collect import targets_from_catalog

    folder = catalog_with_poll("http://127.0.0.1:9")
    [target] = targets_from_catalog(load_catalog(folder))
    assert (target.name, target.feed, target.gbfs_files) == (
        "gbfs_station_status",
        "gbfs_station_status",
        ("station_status",),
    )
    assert (target.poll.system_id, target.poll.interval_s, target.poll.ttl_s) == ("oslobysykkel", 0.2, 0)
    entry = folder / "03.04.002_gbfs_station_status.yaml"
    entry.write_text(entry.read_text(encoding="utf-8") + "  ttl_s: 60\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"03.04.002_gbfs_station_status.yaml.*poll.*0.2 s is shorter than"
    ):
        load_catalog(folder)
