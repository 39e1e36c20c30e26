"""The collector's loop: one asyncio task per polled feed, one HTTP client for all.

Each poll of a feed:
1. For a GBFS feed configured by `discovery`, fetch its `gbfs.json` and take the URL it lists for
   the feed's file (`vehicle_status`, else `free_bike_status`), so a publisher that moves to
   another GBFS version in the middle of the day is followed at the next poll.
2. GET the file with If-None-Match / If-Modified-Since from the last answer for that URL and the
   catalogue's auth header (its value from the environment, itlake/config.py). The body is
   streamed into a hidden `.<name>.part` file beside its final name, under a time limit for the
   whole request (`poll.timeout_s`).
3. Refuse what is not the feed's payload: an HTTP error, a body cut short, a content type that is
   not the format's, a body that does not parse (JSON with `data` for GBFS, a FeedMessage for
   GTFS-Realtime). A 304 keeps nothing.
4. A payload whose sha256 is the last one written for the feed is dropped (`unchanged`); a new one
   is renamed into place (`<system>_<gbfs file>_<UTC time>.json`, `<system>_<feed>_<UTC time>.pb`):
   the rename is atomic, so a reader sees the whole file or none, and the hidden part file is never
   picked up by the ingest.
5. The next poll comes `interval_s` later (or the document's `ttl`, if longer); after a failure,
   later still: `interval_s * 2^failures`, capped, with jitter so that feeds failing together do
   not retry together.

SIGTERM or SIGINT stops the loop: fetches in flight are cancelled and their part files removed,
the fetch log is committed, and the process exits 0. Part files left by a process killed harder
are removed at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from itlake.collect.fetch_log import Fetch, append_fetches
from itlake.feeds._gbfs import GBFS_FILES_BY_FEED, discovered_feeds, document_name

log = logging.getLogger(__name__)

BACKOFF_CAP_S = 600.0
FLUSH_S = 5.0
PART_SUFFIX = ".part"
# Content types a format may be served with; a GTFS-Realtime server may say octet-stream.
ACCEPTED_TYPES = {
    "json": ("json",),
    "protobuf": ("protobuf", "octet-stream", "x-google-protobuf"),
}


class PollFailed(Exception):
    """A fetch whose answer is not a payload of the feed; the message is the fetch log's error."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """One feed to poll: the catalogue entry's name, its parser (= inbox folder), format and poll."""

    name: str
    feed: str
    format: str
    poll: object  # itlake.catalog.resources.Poll
    gbfs_files: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.poll.system_id}/{self.name}"


def targets_from_catalog(catalog, names: list[str] | None = None) -> list[Target]:
    """Every entry with a `poll` block (or those named), as collector targets."""
    entries = [e for e in catalog.entries if e.poll is not None]
    if names:
        known = {e.name for e in entries}
        missing = [n for n in names if catalog.get(n).name not in known]
        if missing:
            raise ValueError(f"{', '.join(missing)}: no `poll` block in the catalogue entry")
        entries = [e for e in entries if e.name in {catalog.get(n).name for n in names}]
    return [Target(e.name, e.feed, e.format, e.poll, GBFS_FILES_BY_FEED.get(e.feed, ())) for e in entries]


@dataclass
class FeedState:
    """What one feed's task remembers between polls."""

    etags: dict[str, str] = field(default_factory=dict)
    modified: dict[str, str] = field(default_factory=dict)
    last_sha256: str | None = None
    discovered: dict[str, str] = field(default_factory=dict)
    failures: int = 0


class Collector:
    """Polls `targets` until stopped (or `max_polls` polls each), writing into `inbox` and logging
    every fetch to the Delta table at `fetch_log`. `headers` gives each target's auth header."""

    def __init__(
        self,
        targets: list[Target],
        *,
        inbox: Path,
        fetch_log: str,
        headers: dict[str, dict[str, str]] | None = None,
        max_polls: int | None = None,
        flush_s: float = FLUSH_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
    ):
        self.targets = targets
        self.inbox = inbox
        self.fetch_log = fetch_log
        self.headers = headers or {}
        self.max_polls = max_polls
        self.flush_s = flush_s
        self.backoff_cap_s = backoff_cap_s
        self._pending: list[Fetch] = []
        # The periodic commit runs in a thread; the last one, at stop, waits for it to finish.
        # Rows are handed over under a second, short lock, so logging never waits for a commit.
        self._flush_lock = threading.Lock()
        self._pending_lock = threading.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        self.remove_part_files()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        async with httpx.AsyncClient(follow_redirects=True, limits=limits) as client:
            polls = [asyncio.create_task(self._poll_feed(t, client, stop)) for t in self.targets]
            flusher = asyncio.create_task(self._flush_every())
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([asyncio.gather(*polls), stopped], return_when=asyncio.FIRST_COMPLETED)
            for task in [*polls, flusher, stopped]:
                task.cancel()
            await asyncio.gather(*polls, flusher, stopped, return_exceptions=True)
        self.flush()

    def flush(self) -> None:
        """Commit the fetches logged since the last commit."""
        with self._flush_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, []
            try:
                append_fetches(self.fetch_log, pending)
            except Exception:
                with self._pending_lock:
                    self._pending = pending + self._pending  # kept for the next commit
                raise

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await asyncio.to_thread(self.flush)
            except Exception:  # the log is kept in memory and committed next time
                log.exception("fetch log commit failed; keeping %d rows for the next one", len(self._pending))

    def remove_part_files(self) -> None:
        for target in self.targets:
            for part in (self.inbox / target.feed).glob(f"*/.*{PART_SUFFIX}"):
                log.warning("removing %s, left by a collector that did not stop cleanly", part)
                part.unlink(missing_ok=True)

    async def _poll_feed(self, target: Target, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        state = FeedState(last_sha256=self._last_written_sha256(target))
        polls = 0
        while not stop.is_set() and (self.max_polls is None or polls < self.max_polls):
            polls += 1
            ttl = await self.poll_once(target, client, state)
            interval = target.poll.interval_s
            if ttl is None:
                state.failures += 1
                delay = min(self.backoff_cap_s, interval * 2**state.failures)
                wait = random.uniform(delay / 2, delay)
            else:
                state.failures = 0
                wait = max(interval, ttl)
            if self.max_polls is not None and polls >= self.max_polls:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def poll_once(self, target: Target, client: httpx.AsyncClient, state: FeedState) -> float | None:
        """One poll; returns the seconds the payload says it stays fresh (0 if it does not say), or
        None when the poll failed."""
        url, gbfs_file = target.poll.url, None
        if target.poll.discovery:
            found = await self._discover(target, client, state)
            if found is None:
                return None
            url, gbfs_file = found
        elif target.gbfs_files:
            named = document_name(url.rsplit("/", 1)[-1])[1]
            gbfs_file = named if named in target.gbfs_files else target.gbfs_files[0]
        fetched_at = datetime.now(UTC)
        name = self._file_name(target, gbfs_file, fetched_at)
        folder = self.inbox / target.feed / fetched_at.date().isoformat()
        part = folder / f".{name}{PART_SUFFIX}"
        started = time.perf_counter()
        size, status = 0, None
        try:
            status, size, digest, ttl = await self._download(target, client, state, url, part)
        except PollFailed as err:
            part.unlink(missing_ok=True)
            self._log(target, url, fetched_at, err.status, size, started, "failed", error=str(err))
            log.warning("%s: %s failed: %s", target.label, url, err)
            return None
        except asyncio.CancelledError:
            part.unlink(missing_ok=True)  # stopped mid-download: nothing half-written stays
            error = "stopped (SIGTERM or SIGINT) before the answer was whole; nothing written"
            self._log(target, url, fetched_at, None, size, started, "failed", error=error)
            raise
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        if status == 304:
            self._log(target, url, fetched_at, status, 0, started, "not_modified")
            return 0.0
        if digest == state.last_sha256:
            part.unlink(missing_ok=True)
            self._log(target, url, fetched_at, status, size, started, "unchanged", sha256=digest)
            return ttl
        final = folder / name
        os.replace(part, final)
        state.last_sha256 = digest
        self._log(target, url, fetched_at, status, size, started, "written", sha256=digest, file=str(final))
        log.info("%s: wrote %s (%d bytes)", target.label, final, size)
        return ttl

    async def _download(
        self, target: Target, client: httpx.AsyncClient, state: FeedState, url: str, part: Path
    ) -> tuple[int, int, str | None, float]:
        """(status, bytes, sha256, ttl) of a GET streamed into `part`; raises PollFailed."""
        headers = dict(self.headers.get(target.name, {}))
        if url in state.etags:
            headers["If-None-Match"] = state.etags[url]
        if url in state.modified:
            headers["If-Modified-Since"] = state.modified[url]
        timeout = target.poll.timeout_s
        digest = hashlib.sha256()
        size = 0
        try:
            async with asyncio.timeout(timeout):
                async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
                    status = response.status_code
                    if status == 304:
                        return status, 0, None, 0.0
                    if status != 200:
                        raise PollFailed(f"HTTP {status} {response.reason_phrase}".strip(), status)
                    content_type = response.headers.get("content-type", "")
                    accepted = ACCEPTED_TYPES.get(target.format, ("",))
                    if not any(t in content_type.lower() for t in accepted):
                        shown = content_type or "missing"
                        raise PollFailed(f"content type {shown!r} is not {target.format}", status)
                    part.parent.mkdir(parents=True, exist_ok=True)
                    with open(part, "wb") as out:
                        async for chunk in response.aiter_bytes():
                            out.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        except TimeoutError:
            raise PollFailed(f"timeout: no whole answer within {timeout:g} s") from None
        except httpx.TimeoutException:
            raise PollFailed(f"timeout: no whole answer within {timeout:g} s") from None
        except httpx.RemoteProtocolError as err:
            raise PollFailed(f"body cut short after {size} bytes: {err}") from None
        except httpx.HTTPError as err:
            raise PollFailed(f"{type(err).__name__}: {err}") from None
        ttl = self._check_payload(target, part)
        if etag:
            state.etags[url] = etag
        if modified:
            state.modified[url] = modified
        return 200, size, digest.hexdigest(), ttl

    @staticmethod
    def _check_payload(target: Target, part: Path) -> float:
        """The payload's freshness in seconds (GBFS `ttl`, else 0); PollFailed if it is not the
        format's payload (a body cut short by a proxy without an error lands here)."""
        data = part.read_bytes()
        if target.format == "json":
            try:
                document = json.loads(data.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise PollFailed(f"body of {len(data)} bytes is not valid JSON: {err}", 200) from None
            if not isinstance(document, dict) or "data" not in document:
                raise PollFailed("body is JSON but not a GBFS document (no `data`)", 200)
            ttl = document.get("ttl")
            return float(ttl) if isinstance(ttl, int | float) and ttl >= 0 else 0.0
        if target.format == "protobuf":
            from google.protobuf.message import DecodeError
            from google.transit import gtfs_realtime_pb2

            try:
                gtfs_realtime_pb2.FeedMessage().ParseFromString(data)
            except DecodeError as err:
                message = f"body of {len(data)} bytes is not a GTFS-Realtime FeedMessage: {err}"
                raise PollFailed(message, 200) from None
        return 0.0

    async def _discover(
        self, target: Target, client: httpx.AsyncClient, state: FeedState
    ) -> tuple[str, str] | None:
        """(url, GBFS file) the gbfs.json lists for this feed now; the last list read is kept for
        when the gbfs.json cannot be fetched."""
        url = target.poll.discovery
        fetched_at = datetime.now(UTC)
        started = time.perf_counter()
        headers = dict(self.headers.get(target.name, {}))
        try:
            async with asyncio.timeout(target.poll.timeout_s):
                response = await client.get(url, headers=headers, timeout=target.poll.timeout_s)
            status = response.status_code
            if status != 200:
                raise PollFailed(f"HTTP {status} {response.reason_phrase}".strip(), status)
            feeds = discovered_feeds(json.loads(response.content.decode("utf-8-sig")))
            if not feeds:
                raise PollFailed("gbfs.json lists no files", 200)
            state.discovered = feeds
            self._log(target, url, fetched_at, 200, len(response.content), started, "discovered")
        except (PollFailed, TimeoutError, httpx.HTTPError, UnicodeDecodeError, json.JSONDecodeError) as err:
            status = getattr(err, "status", None)
            error = str(err) or type(err).__name__
            if isinstance(err, TimeoutError):
                error = f"timeout: no whole answer within {target.poll.timeout_s:g} s"
            self._log(target, url, fetched_at, status, 0, started, "failed", error=f"gbfs.json: {error}")
            if not state.discovered:
                return None
        listed = next((f for f in target.gbfs_files if f in state.discovered), None)
        if listed is None:
            self._log(
                target, url, fetched_at, 200, 0, started, "failed",
                error=f"gbfs.json lists no {' or '.join(target.gbfs_files)}",
            )  # fmt: skip
            return None
        return state.discovered[listed], listed

    def _file_name(self, target: Target, gbfs_file: str | None, fetched_at: datetime) -> str:
        stamp = fetched_at.strftime("%Y%m%dT%H%M%S%f")[:-3] + "Z"
        if gbfs_file:
            return f"{target.poll.system_id}_{gbfs_file}_{stamp}.json"
        extension = {"json": "json", "protobuf": "pb"}.get(target.format, "bin")
        return f"{target.poll.system_id}_{target.name}_{stamp}.{extension}"

    def _last_written_sha256(self, target: Target) -> str | None:
        """The sha256 of the newest file of this feed in today's inbox folder, so that a restarted
        collector does not write the same payload again."""
        folder = self.inbox / target.feed / datetime.now(UTC).date().isoformat()
        files = sorted(p for p in folder.glob(f"{target.poll.system_id}_*") if p.is_file())
        return hashlib.sha256(files[-1].read_bytes()).hexdigest() if files else None

    def _log(self, target, url, fetched_at, status, size, started, outcome, **extra) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        fetch = Fetch(target.name, target.poll.system_id, url, fetched_at, status, size, latency_ms, outcome)
        with self._pending_lock:
            self._pending.append(replace(fetch, **extra))


def auth_headers(targets: list[Target], settings) -> dict[str, dict[str, str]]:
    """{target name: {header: value}} for the targets whose poll names an auth header; a missing
    environment variable stops the collector before it starts (MissingSecretError)."""
    return {
        t.name: {t.poll.auth_header: settings.feed_secret(t.poll.auth_env)}
        for t in targets
        if t.poll.auth_header
    }


def run_collector(targets: list[Target], *, max_polls: int | None = None) -> None:
    """Run until SIGTERM or SIGINT (or `max_polls` polls per feed), with the lake's settings."""
    from itlake.config import get_settings
    from itlake.lake.paths import system_table_path

    settings = get_settings()
    collector = Collector(
        targets,
        inbox=settings.inbox_dir,
        fetch_log=system_table_path("fetch_log"),
        headers=auth_headers(targets, settings),
        max_polls=max_polls,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("collecting %d feeds into %s", len(targets), settings.inbox_dir)
        await collector.run(stop)
        log.info("stopped; fetch log committed")

    asyncio.run(main())
