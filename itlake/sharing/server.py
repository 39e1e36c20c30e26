"""`itlake serve`: the portal, the release downloads, and a Delta Sharing server, on one port.

    /                         the static portal (lake/open/portal) and releases (lake/open/releases)
    /catalog.jsonld, .ttl     the DCAT-AP / mobilityDCAT-AP catalogue (itlake/dcat.py), synthetic
                              data marked as the lake's ingest ledger says
    /delta-sharing/...        the Delta Sharing REST protocol: shares, schemas, tables, version,
                              metadata and query (NDJSON), for the recipients' bearer tokens
    /delta-sharing/files      the data files a query lists, behind URLs this server signs

Shares come from the catalogue (itlake/sharing/shares.py); recipients and hashed tokens from the
recipients file (itlake/sharing/recipients.py). A query answers with file URLs signed with
HMAC-SHA256 under the server secret (ITLAKE_SHARING_SECRET) and an expiry; the server checks both
and streams the file from the lake, so a lake that is a local folder is shared as well as one on
object storage mounted locally. Unknown or expired tokens get 401; a table outside the recipient's
shares is 404, as if it did not exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
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
from itlake.sharing.recipients import Recipient, find_recipient, load_recipients
from itlake.sharing.shares import SharedTable, shared_tables
from itlake.sharing.snapshot import Snapshot, select_files

SECRET_ENV = "ITLAKE_SHARING_SECRET"
URL_LIFETIME_S = 900
NDJSON = "application/x-ndjson; charset=utf-8"
CAPABILITIES = "delta-sharing-capabilities"


class SharingError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sharing_secret() -> bytes:
    """The URL-signing key; production refuses to start without one."""
    value = os.environ.get(SECRET_ENV, "")
    if value:
        return value.encode("utf-8")
    if get_settings().is_production:
        raise MissingSecretError(f"{SECRET_ENV} is not set: production mode needs the URL-signing secret")
    warnings.warn(
        f"{SECRET_ENV} is not set; signing file URLs with a random key for this process", stacklevel=2
    )
    return secrets.token_bytes(32)


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
    from itlake.catalog import load_catalog
    from itlake.lake.paths import table_path

    root = lake_root or get_settings().lake_root
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

    def visible(who: Recipient, share: str | None = None, schema: str | None = None) -> list[SharedTable]:
        out = [t for t in tables if t.share in who.shares]
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
        if not (Path(uri) / "_delta_log").is_dir():
            raise SharingError(
                404, "RESOURCE_DOES_NOT_EXIST", f"table {share}.{schema}.{name} holds no data yet"
            )
        try:
            return table, Snapshot(uri, version)
        except Exception as err:  # delta-rs raises its own types for a missing version
            raise SharingError(
                400, "INVALID_PARAMETER_VALUE", f"cannot read version {version}: {err}"
            ) from None

    def ndjson(lines: list[dict], version: int) -> Response:
        body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        headers = {"delta-table-version": str(version), CAPABILITIES: "responseformat=parquet"}
        return Response(body, media_type=NDJSON, headers=headers)

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
    def table_version(share: str, schema: str, name: str, who=Depends(recipient)):
        _, snap = snapshot(who, share, schema, name)
        return Response(status_code=200, headers={"delta-table-version": str(snap.version)})

    @api.get("/shares/{share}/schemas/{schema}/tables/{name}/metadata")
    def table_metadata(share: str, schema: str, name: str, who=Depends(recipient)):
        _, snap = snapshot(who, share, schema, name)
        return ndjson([snap.protocol_line(), snap.metadata_line()], snap.version)

    @api.post("/shares/{share}/schemas/{schema}/tables/{name}/query")
    async def query_table(share: str, schema: str, name: str, request: Request, who=Depends(recipient)):
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            raise SharingError(400, "MALFORMED_REQUEST", "the query body is not JSON") from None
        if body.get("timestamp") is not None:
            raise SharingError(
                400, "INVALID_PARAMETER_VALUE", "queries by timestamp are not supported; use version"
            )
        limit = body.get("limitHint")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "limitHint must be a non-negative integer")
        table, snap = snapshot(who, share, schema, name, body.get("version"))
        files = select_files(snap.files(), body.get("jsonPredicateHints"), limit)
        expires = int(time.time()) + url_lifetime_s
        base = str(request.base_url).rstrip("/") + "/delta-sharing/files?"
        lines = [snap.protocol_line(), snap.metadata_line()]
        for file in files:
            query = {
                "t": table.key,
                "p": file.path,
                "e": expires,
                "s": sign(secret, table.key, file.path, expires),
            }
            lines.append(
                {
                    "file": {
                        "url": base + urlencode(query),
                        "id": hashlib.sha256(f"{table.key}/{file.path}".encode()).hexdigest()[:32],
                        "partitionValues": file.partition_values,
                        "size": file.size,
                        "stats": json.dumps(file.stats),
                        "version": snap.version,
                        "expirationTimestamp": expires * 1000,
                    }
                }
            )
        return ndjson(lines, snap.version)

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
            from itlake.dcat import catalog_graph, catalog_uri, to_jsonld, to_turtle

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

    site = Path(table_path("open", "x", root)).parent

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/portal/")

    site.mkdir(parents=True, exist_ok=True)
    app.mount("/", StaticFiles(directory=site, html=True), name="site")
    return app


def ledger_synthetic(root: str) -> set[str]:
    """Codes with a batch marked synthetic in the lake's ingest ledger, read with delta-rs."""
    from deltalake import DeltaTable

    from itlake.lake.paths import system_table_path

    path = system_table_path("ingest_ledger", root)
    if not (Path(path) / "_delta_log").is_dir():
        return set()
    rows = DeltaTable(path).to_pyarrow_table(columns=["code", "synthetic"]).to_pylist()
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
