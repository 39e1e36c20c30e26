"""`itlake serve`: the portal, the release downloads, and a Delta Sharing server, on one port.

    /                         the static portal (lake/open/portal) and releases (lake/open/releases)
    /catalog.jsonld, .ttl     the DCAT-AP / mobilityDCAT-AP catalogue (itlake/catalog/dcat.py), synthetic
                              data marked as the lake's ingest ledger says
    /delta-sharing/...        the Delta Sharing REST protocol: shares, schemas, tables, version,
                              metadata, query (at a version, a timestamp or from a starting
                              version) and changes (the change data feed), NDJSON, for the
                              recipients' bearer tokens
    /delta-sharing/files      the data files a query lists, behind URLs this server signs
    /health                   {"status": "ok"} while the server answers

Shares come from the catalogue (itlake/sharing/shares.py); recipients and hashed tokens from the
recipients file (itlake/sharing/recipients.py). A query answers with file URLs signed with
HMAC-SHA256 under the server secret (ITLAKE_SHARING_SECRET) and an expiry; the server checks both
and streams the file from the lake, so a lake that is a local folder is shared as well as one on
object storage mounted locally. Unknown or expired tokens get 401; a table outside the recipient's
shares is 404, as if it did not exist, and a shared table the lake does not hold yet is not listed.

Responses are in the protocol's Parquet format, or in its Delta format when the client's
`delta-sharing-capabilities` header accepts only `responseformat=delta`. The change data feed needs
`delta.enableChangeDataFeed` on the table (`itlake sharing enable-cdf`); it serves the change data
files a writer left for UPDATE, DELETE and MERGE, and the added and removed files of other commits.
Anything the server does not support answers 400 with the protocol's error body
`{"errorCode", "message"}`: conflicting or out-of-range versions and timestamps, an unknown
response format, a table without a change data feed, and tables using deletion vectors or column
mapping, whose files a client cannot read as plain Parquet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from itlake.config import MissingSecretError, get_settings
from itlake.lake.storage import LakeStorage, is_delta_table, is_remote, open_delta, presigned_get_url
from itlake.sharing.recipients import Recipient, find_recipient, load_recipients
from itlake.sharing.shares import SharedTable, shared_tables
from itlake.sharing.snapshot import Snapshot, UnsupportedTable, commits, select_files

URL_LIFETIME_S = 900
NDJSON = "application/x-ndjson; charset=utf-8"
CAPABILITIES = "delta-sharing-capabilities"


class SharingError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sharing_secret() -> bytes:
    """The URL-signing key; production refuses to start without one."""
    value = get_settings().sharing_secret
    if value:
        return value.encode("utf-8")
    if get_settings().is_production:
        raise MissingSecretError(
            "ITLAKE_SHARING_SECRET is not set: production mode needs the URL-signing secret"
        )
    warnings.warn(
        "ITLAKE_SHARING_SECRET is not set; signing file URLs with a random key for this process", stacklevel=2
    )
    return secrets.token_bytes(32)


def parse_timestamp(text: str) -> int:
    """Milliseconds since the epoch of a protocol timestamp: `yyyy-mm-dd hh:mm:ss[.f]` or ISO-8601;
    without a zone, the server's zone, which is UTC."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a timestamp such as 2026-12-07 08:00:00 or 2026-12-07T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def sign(secret: bytes, table_key: str, path: str, expires: int) -> str:
    return hmac.new(secret, f"{table_key}\n{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _page(items: list[dict], max_results: int | None, page_token: str | None) -> dict:
    start = int(base64.urlsafe_b64decode(page_token.encode()).decode()) if page_token else 0
    end = len(items) if max_results is None else start + max_results
    body: dict = {"items": items[start:end]}
    if end < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return body


def create_app(
    *,
    lake_root: str | None = None,
    recipients_file: Path | None = None,
    secret: bytes | None = None,
    catalog=None,
    url_lifetime_s: int = URL_LIFETIME_S,
) -> FastAPI:
    from itlake.catalog.resources import load_catalog
    from itlake.lake.paths import table_path
    from itlake.lake.root import default_lake

    root = lake_root or default_lake().root
    secret = secret if secret is not None else sharing_secret()
    tables = shared_tables(catalog or load_catalog())
    app = FastAPI(title="itlake", docs_url=None, redoc_url=None)
    api = APIRouter(prefix="/delta-sharing")

    @app.exception_handler(SharingError)
    async def _error(request: Request, err: SharingError):
        return JSONResponse({"errorCode": err.code, "message": err.message}, status_code=err.status)

    def recipient(authorization: str | None = Header(default=None)) -> Recipient:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise SharingError(401, "UNAUTHENTICATED", "a bearer token is required")
        found = find_recipient(authorization.split(" ", 1)[1].strip(), load_recipients(recipients_file))
        if found is None:
            raise SharingError(401, "UNAUTHENTICATED", "unknown bearer token")
        if found.expired():
            raise SharingError(
                401, "UNAUTHENTICATED", f"the token of {found.name} expired at {found.expires_at}"
            )
        return found

    def exists(table: SharedTable) -> bool:
        uri = table_path(table.schema, table.name, root)
        return LakeStorage.for_uri(uri).exists(f"{uri}/_delta_log")

    def visible(who: Recipient, share: str | None = None, schema: str | None = None) -> list[SharedTable]:
        # A table the catalogue shares but the lake has not written yet is not listed: a client
        # that lists and then reads every table must not meet a 404.
        out = [t for t in tables if t.share in who.shares and exists(t)]
        if share is not None:
            out = [t for t in out if t.share == share]
            if not out:
                raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"share {share} does not exist")
        if schema is not None:
            out = [t for t in out if t.schema == schema]
            if not out:
                raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"schema {share}.{schema} does not exist")
        return out

    def snapshot(who: Recipient, share: str, schema: str, name: str, version: int | None = None):
        table = next((t for t in visible(who, share, schema) if t.name == name), None)
        if table is None:
            raise SharingError(
                404, "RESOURCE_DOES_NOT_EXIST", f"table {share}.{schema}.{name} does not exist"
            )
        uri = table_path(schema, name, root)
        try:
            return table, Snapshot(uri, version)
        except UnsupportedTable as err:
            raise SharingError(400, "FEATURE_NOT_SUPPORTED", f"table {table.key}: {err}") from None
        except Exception as err:  # delta-rs raises its own types for a missing version
            raise SharingError(
                400, "INVALID_PARAMETER_VALUE", f"cannot read version {version}: {err}"
            ) from None

    def response_format(capabilities: str | None) -> str:
        """The response format: Delta when the client accepts only Delta, else Parquet; a client
        that accepts both gets Parquet, which every client reads."""
        formats = ["parquet"]
        for part in (capabilities or "").split(";"):
            key, _, value = part.partition("=")
            if key.strip().lower() == "responseformat":
                formats = [f.strip().lower() for f in value.split(",") if f.strip()]
        if "parquet" in formats:
            return "parquet"
        if "delta" in formats:
            return "delta"
        raise SharingError(
            400,
            "INVALID_PARAMETER_VALUE",
            f"responseformat {','.join(formats)} is not supported; use parquet or delta",
        )

    def ndjson(lines: list[dict], version: int, form: str = "parquet") -> Response:
        body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        headers = {"delta-table-version": str(version), CAPABILITIES: f"responseformat={form}"}
        return Response(body, media_type=NDJSON, headers=headers)

    def signed_url(request: Request, table: SharedTable, path: str, expires: int) -> str:
        uri = table_path(table.schema, table.name, root)
        if is_remote(uri):
            # On object storage the recipient fetches the file from the store itself.
            return presigned_get_url(f"{uri}/{path}", expires - int(time.time()))
        query = {"t": table.key, "p": path, "e": expires, "s": sign(secret, table.key, path, expires)}
        return str(request.base_url).rstrip("/") + "/delta-sharing/files?" + urlencode(query)

    def file_id(table: SharedTable, path: str) -> str:
        return hashlib.sha256(f"{table.key}/{path}".encode()).hexdigest()[:32]

    def version_of(snap: Snapshot, timestamp: str, *, after: bool = False) -> int:
        try:
            return snap.version_at(parse_timestamp(timestamp), after=after)
        except ValueError as err:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", f"timestamp {timestamp!r}: {err}") from None

    def change_lines(
        request: Request,
        table: SharedTable,
        snap: Snapshot,
        start: int,
        end: int,
        form: str,
        *,
        with_cdf: bool,
    ) -> list[dict]:
        """The data change files of commits start..end: per commit its change data files where the
        writer left them, else its added and removed data files (PROTOCOL.md, "Data Change Files")."""
        expires = int(time.time()) + url_lifetime_s
        try:
            timeline = commits(snap.uri, start, end)
        except ValueError as err:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", str(err)) from None
        lines = []
        for commit in timeline:
            changes = [a["cdc"] for a in commit.actions if "cdc" in a] if with_cdf else []
            if changes:
                picked = [("cdf", "cdc", c) for c in changes]
            else:
                picked = [
                    (kind, kind, a[kind])
                    for a in commit.actions
                    for kind in ("add", "remove")
                    if kind in a and a[kind].get("dataChange", True)
                ]
            for kind, delta_kind, action in picked:
                path = unquote(action["path"])
                size = action.get("size")
                if size is None:
                    size = LakeStorage.for_uri(snap.uri).size(f"{snap.uri}/{path}")
                url = signed_url(request, table, path, expires)
                if form == "delta":
                    single = {**action, "path": url}
                    lines.append(
                        {
                            "file": {
                                "id": file_id(table, path),
                                "version": commit.version,
                                "timestamp": commit.timestamp_ms,
                                "expirationTimestamp": expires * 1000,
                                "deltaSingleAction": {delta_kind: single},
                            }
                        }
                    )
                    continue
                line = {
                    "url": url,
                    "id": file_id(table, path),
                    "partitionValues": action.get("partitionValues") or {},
                    "size": size,
                    "timestamp": commit.timestamp_ms,
                    "version": commit.version,
                    "expirationTimestamp": expires * 1000,
                }
                if kind == "add" and action.get("stats"):
                    line["stats"] = action["stats"]
                lines.append({kind: line})
        return lines

    @api.get("/shares")
    def list_shares(maxResults: int | None = None, pageToken: str | None = None, who=Depends(recipient)):
        names = sorted({t.share for t in visible(who)})
        return _page([{"name": n} for n in names], maxResults, pageToken)

    @api.get("/shares/{share}")
    def get_share(share: str, who=Depends(recipient)):
        visible(who, share)
        return {"share": {"name": share}}

    @api.get("/shares/{share}/schemas")
    def list_schemas(
        share: str, maxResults: int | None = None, pageToken: str | None = None, who=Depends(recipient)
    ):
        names = sorted({t.schema for t in visible(who, share)})
        return _page([{"name": n, "share": share} for n in names], maxResults, pageToken)

    @api.get("/shares/{share}/schemas/{schema}/tables")
    def list_tables(
        share: str,
        schema: str,
        maxResults: int | None = None,
        pageToken: str | None = None,
        who=Depends(recipient),
    ):
        items = [{"name": t.name, "schema": t.schema, "share": t.share} for t in visible(who, share, schema)]
        return _page(items, maxResults, pageToken)

    @api.get("/shares/{share}/all-tables")
    def list_all_tables(
        share: str, maxResults: int | None = None, pageToken: str | None = None, who=Depends(recipient)
    ):
        items = [{"name": t.name, "schema": t.schema, "share": t.share} for t in visible(who, share)]
        return _page(items, maxResults, pageToken)

    @api.get("/shares/{share}/schemas/{schema}/tables/{name}/version")
    def table_version(
        share: str, schema: str, name: str, startingTimestamp: str | None = None, who=Depends(recipient)
    ):
        _, snap = snapshot(who, share, schema, name)
        version = (
            snap.version if startingTimestamp is None else version_of(snap, startingTimestamp, after=True)
        )
        return Response(status_code=200, headers={"delta-table-version": str(version)})

    @api.get("/shares/{share}/schemas/{schema}/tables/{name}/metadata")
    def table_metadata(
        share: str,
        schema: str,
        name: str,
        capabilities: str | None = Header(default=None, alias=CAPABILITIES),
        who=Depends(recipient),
    ):
        form = response_format(capabilities)
        _, snap = snapshot(who, share, schema, name)
        delta = form == "delta"
        return ndjson([snap.protocol_line(delta), snap.metadata_line(delta)], snap.version, form)

    @api.post("/shares/{share}/schemas/{schema}/tables/{name}/query")
    async def query_table(
        share: str,
        schema: str,
        name: str,
        request: Request,
        capabilities: str | None = Header(default=None, alias=CAPABILITIES),
        who=Depends(recipient),
    ):
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            raise SharingError(400, "MALFORMED_REQUEST", "the query body is not JSON") from None
        if not isinstance(body, dict):
            raise SharingError(400, "MALFORMED_REQUEST", "the query body is a JSON object")
        form = response_format(capabilities)
        travel = [k for k in ("version", "timestamp", "startingVersion") if body.get(k) is not None]
        if len(travel) > 1:
            raise SharingError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"give only one of version, timestamp, startingVersion, not {travel}",
            )
        if body.get("endingVersion") is not None and body.get("startingVersion") is None:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "endingVersion needs startingVersion")
        for key in ("version", "startingVersion", "endingVersion"):
            value = body.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise SharingError(400, "INVALID_PARAMETER_VALUE", f"{key} must be a non-negative integer")
        limit = body.get("limitHint")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "limitHint must be a non-negative integer")
        table, latest = snapshot(who, share, schema, name)
        delta = form == "delta"
        if body.get("startingVersion") is not None:
            start = body["startingVersion"]
            end = body.get("endingVersion", latest.version)
            if not start <= end <= latest.version:
                raise SharingError(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    f"versions {start}..{end} are not within the table's 0..{latest.version}",
                )
            lines = change_lines(request, table, latest, start, end, form, with_cdf=False)
            return ndjson([latest.protocol_line(delta), latest.metadata_line(delta), *lines], start, form)
        version = body.get("version")
        if body.get("timestamp") is not None:
            version = version_of(latest, str(body["timestamp"]))
        if version is not None and version > latest.version:
            raise SharingError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"version {version} is after the table's last, {latest.version}",
            )
        table, snap = snapshot(who, share, schema, name, version) if version is not None else (table, latest)
        files = select_files(snap.files(), body.get("jsonPredicateHints"), limit)
        expires = int(time.time()) + url_lifetime_s
        lines = [snap.protocol_line(delta), snap.metadata_line(delta)]
        for file in files:
            url = signed_url(request, table, file.path, expires)
            if delta:
                add = {
                    "path": url,
                    "partitionValues": file.partition_values,
                    "size": file.size,
                    "modificationTime": 0,
                    "dataChange": True,
                    "stats": json.dumps(file.stats),
                }
                entry = {
                    "id": file_id(table, file.path),
                    "expirationTimestamp": expires * 1000,
                    "deltaSingleAction": {"add": add},
                }
            else:
                entry = {
                    "url": url,
                    "id": file_id(table, file.path),
                    "partitionValues": file.partition_values,
                    "size": file.size,
                    "stats": json.dumps(file.stats),
                    "expirationTimestamp": expires * 1000,
                }
            if version is not None:
                entry["version"] = snap.version
            lines.append({"file": entry})
        return ndjson(lines, snap.version, form)

    @api.get("/shares/{share}/schemas/{schema}/tables/{name}/changes")
    def table_changes(
        share: str,
        schema: str,
        name: str,
        request: Request,
        startingVersion: int | None = None,
        endingVersion: int | None = None,
        startingTimestamp: str | None = None,
        endingTimestamp: str | None = None,
        includeHistoricalMetadata: bool = False,
        capabilities: str | None = Header(default=None, alias=CAPABILITIES),
        who=Depends(recipient),
    ):
        form = response_format(capabilities)
        if (startingVersion is None) == (startingTimestamp is None):
            raise SharingError(
                400, "INVALID_PARAMETER_VALUE", "give exactly one of startingVersion and startingTimestamp"
            )
        if endingVersion is not None and endingTimestamp is not None:
            raise SharingError(
                400, "INVALID_PARAMETER_VALUE", "give at most one of endingVersion and endingTimestamp"
            )
        table, snap = snapshot(who, share, schema, name)
        start = (
            startingVersion if startingTimestamp is None else version_of(snap, startingTimestamp, after=True)
        )
        end = snap.version
        if endingVersion is not None:
            end = endingVersion
        elif endingTimestamp is not None:
            end = version_of(snap, endingTimestamp)
        if start < 0 or not start <= end <= snap.version:
            raise SharingError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"versions {start}..{end} are not within the table's 0..{snap.version}",
            )
        _, first = snapshot(who, share, schema, name, start)
        if not (first.change_data_feed and snap.change_data_feed):
            raise SharingError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"table {table.key} has no change data feed over versions {start}..{end} "
                "(delta.enableChangeDataFeed is not true)",
            )
        delta = form == "delta"
        lines = change_lines(request, table, snap, start, end, form, with_cdf=True)
        return ndjson([snap.protocol_line(delta), snap.metadata_line(delta), *lines], start, form)

    @api.get("/files")
    def signed_file(t: str, p: str, e: int, s: str = ""):
        if not s:
            raise SharingError(403, "PERMISSION_DENIED", "the file URL is not signed")
        if not hmac.compare_digest(sign(secret, t, p, e), s):
            raise SharingError(403, "PERMISSION_DENIED", "the file URL's signature is not valid")
        if e < time.time():
            raise SharingError(403, "PERMISSION_DENIED", "the file URL has expired")
        table = next((x for x in tables if x.key == t), None)
        if table is None:
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "no such table")
        base = Path(table_path(table.schema, table.name, root)).resolve()
        target = (base / unquote(p)).resolve()
        if base not in target.parents or not target.is_file():
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "no such file")
        return FileResponse(target, media_type="application/octet-stream")

    app.include_router(api)
    catalogue: dict[str, str] = {}

    def catalogue_text(kind: str) -> str:
        """The DCAT export, built once per server from the catalogue and the lake's ledger."""
        if not catalogue:
            from itlake.catalog.dcat import catalog_graph, catalog_uri, to_jsonld, to_turtle

            entries = catalog or load_catalog()
            graph = catalog_graph(entries, synthetic_codes=entries.with_derived(ledger_synthetic(root)))
            document = to_jsonld(graph, catalog_uri(graph))
            catalogue["jsonld"] = json.dumps(document, ensure_ascii=False, indent=2)
            catalogue["ttl"] = to_turtle(graph)
        return catalogue[kind]

    @app.get("/catalog.jsonld", include_in_schema=False)
    def catalogue_jsonld():
        return Response(catalogue_text("jsonld"), media_type="application/ld+json; charset=utf-8")

    @app.get("/catalog.ttl", include_in_schema=False)
    def catalogue_turtle():
        return Response(catalogue_text("ttl"), media_type="text/turtle; charset=utf-8")

    site = Path(table_path("open", "x", root).removeprefix("file:")).parent

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/portal/")

    @app.get("/health", include_in_schema=False)
    def health():
        """For a load balancer or a monitor: the server is up and answering."""
        return {"status": "ok"}

    # The portal and releases are served from a local lake only (docs/operations/object-storage.md).
    if not is_remote(root):
        site.mkdir(parents=True, exist_ok=True)
        app.mount("/", StaticFiles(directory=site, html=True), name="site")
    return app


def ledger_synthetic(root: str) -> set[str]:
    """Codes with a batch marked synthetic in the lake's ingest ledger, read with delta-rs."""
    from itlake.lake.paths import system_table_path

    path = system_table_path("ingest_ledger", root)
    if not is_delta_table(path):
        return set()
    rows = open_delta(path).to_pyarrow_table(columns=["code", "synthetic"]).to_pylist()
    return {row["code"] for row in rows if row["synthetic"]}


class BackgroundServer:
    """uvicorn in a daemon thread on a free loopback port: `with BackgroundServer(app) as url: ...`."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.url = f"http://{host}:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
