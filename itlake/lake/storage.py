"""Files of the lake by URI: a local folder or an S3-compatible bucket, through pyarrow's filesystems.

    storage = LakeStorage.for_uri(get_settings().lake_root)
    storage.folders(".../landing/taxi_gps")      # child folders, sorted
    storage.write_text(".../_system/data_docs/index.html", page)
    storage.delete_folder(".../landing/taxi_gps/2026-11-27")

Lake paths are strings (`{root}/{layer}/{name}`, see itlake/lake/paths.py), never `pathlib` paths,
so the same code writes a file on disk or under s3a://, and an s3a:// root never turns into a local
folder named `s3a:`. The store's settings (endpoint, region, path style, keys) come from
`Settings.object_store`; the same settings are handed to deltalake (`delta_storage_options`) and to
Spark's s3a connector (itlake/lake/session.py).

On object storage one Spark driver writes the lake at a time (`single_writer`): Delta's log store
for s3a commits safely only against writers in the same JVM.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from itlake.config import aws_sdk_checksum_settings, aws_sdk_environment, get_settings

REMOTE_SCHEMES = ("s3", "s3a")
REQUEST_TIMEOUT_S = 60


class RemoteLakeError(RuntimeError):
    """A lake URI that needs a local folder (or a store itlake cannot write)."""


class LakeWriterBusyError(RuntimeError):
    """Another process already writes this lake on object storage (the single-writer rule)."""


def is_remote(uri: str) -> bool:
    """A lake URI on object storage (s3a://, s3://) rather than this machine's filesystem."""
    return "://" in str(uri) and not str(uri).startswith("file:")


def _scheme(uri: str) -> str:
    scheme = uri.split("://", 1)[0]
    if scheme not in REMOTE_SCHEMES:
        raise RemoteLakeError(f"{uri}: itlake reads and writes lakes on a local folder or s3a:// only")
    return scheme


def local_folder(uri: str) -> Path:
    """The local folder of a lake URI; a clear error for an object-storage one, for the few outputs
    that still need a folder on this machine (never a local folder named `s3a:`)."""
    if is_remote(uri):
        raise RemoteLakeError(f"{uri} is on object storage: this output needs a lake on a local folder")
    return Path(str(uri).removeprefix("file:"))


def s3_filesystem():
    """pyarrow's S3 filesystem with the store's settings."""
    from pyarrow import fs

    store = get_settings().object_store
    aws_sdk_environment()
    # The AWS SDK for C++ gives up on a request after 3 s without a byte (its default); a store on
    # a busy machine took longer to delete the portal's 30 files at once.
    options = {
        "region": store.region,
        "force_virtual_addressing": not store.path_style,
        "request_timeout": REQUEST_TIMEOUT_S,
    }
    if store.endpoint:
        scheme, host = store.endpoint.split("://", 1)
        options |= {"endpoint_override": host, "scheme": scheme}
    if store.access_key_id:
        options |= {"access_key": store.access_key_id, "secret_key": store.secret_access_key}
    return fs.S3FileSystem(**options)


def delta_storage_options(uri: str) -> dict[str, str] | None:
    """The `storage_options` for deltalake on this URI: None on a local folder.

    Commits by deltalake on S3 need an atomic put-if-absent; the lake's commits go through Spark
    (one driver, see `single_writer`), so deltalake is told that the rename is safe under that rule."""
    if not is_remote(uri):
        return None
    store = get_settings().object_store
    options = {
        "aws_region": store.region,
        "aws_virtual_hosted_style_request": "false" if store.path_style else "true",
        "aws_s3_allow_unsafe_rename": "true",
    }
    if store.endpoint:
        options["aws_endpoint_url"] = store.endpoint
    if store.allow_http:
        options["aws_allow_http"] = "true"
    if store.access_key_id:
        options["aws_access_key_id"] = store.access_key_id
        options["aws_secret_access_key"] = store.secret_access_key
    return options


def delta_location(uri: str) -> str:
    """The table URI as deltalake takes it: a plain path on disk, s3:// for a bucket."""
    if is_remote(uri):
        return "s3://" + uri.split("://", 1)[1]
    return str(uri).removeprefix("file:")


def open_delta(uri: str, version: int | None = None):
    """A deltalake DeltaTable on a local or S3 lake path."""
    from deltalake import DeltaTable

    return DeltaTable(delta_location(uri), version=version, storage_options=delta_storage_options(uri))


def is_delta_table(uri: str) -> bool:
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(delta_location(uri), storage_options=delta_storage_options(uri))


def presigned_get_url(uri: str, expires_s: int, now: datetime | None = None) -> str:
    """A URL that lets anyone holding it GET one object of the lake for `expires_s` seconds (S3's
    query-string authentication, Signature Version 4), for Delta Sharing recipients: the bytes come
    from the store, and the keys never leave this process."""
    store = get_settings().object_store
    if not store.access_key_id:
        raise RemoteLakeError(f"{uri}: presigned URLs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    bucket, key = uri.split("://", 1)[1].split("/", 1)
    endpoint = store.endpoint or f"https://s3.{store.region}.amazonaws.com"
    scheme, host = endpoint.split("://", 1)
    if store.path_style:
        path = f"/{bucket}/{quote(key, safe='/-_.~')}"
    else:
        host, path = f"{bucket}.{host}", f"/{quote(key, safe='/-_.~')}"
    now = now or datetime.now(UTC)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/{store.region}/s3/aws4_request"
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{store.access_key_id}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(min(int(expires_s), 604800)),  # S3's limit: seven days
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(f"{k}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
    request = "\n".join(["GET", path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()])
    signing = ("AWS4" + store.secret_access_key).encode()
    for part in (day, store.region, "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{scheme}://{host}{path}?{canonical_query}&X-Amz-Signature={signature}"


def hadoop_s3a_conf() -> dict[str, str]:
    """Spark settings of Hadoop's s3a connector for the store; never the keys: s3a's default
    credential chain reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the JVM's environment
    (or falls back to an instance role), so they are in no command line, no Spark UI and no log.
    On a cluster, Spark itself copies the driver's two keys into the job's Hadoop configuration
    (redacted in the UI), so the executors on the workers need no keys of their own."""
    store = get_settings().object_store
    conf = {
        "spark.hadoop.fs.s3a.path.style.access": "true" if store.path_style else "false",
        "spark.hadoop.fs.s3a.endpoint.region": store.region,
    }
    if store.endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = store.endpoint
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false" if store.allow_http else "true"
    # Executors on a cluster's workers upload task output through their own AWS SDK, which reads
    # its checksum setting from its environment only: hand it to them with the job.
    for name, value in aws_sdk_checksum_settings().items():
        conf[f"spark.executorEnv.{name}"] = value
    return conf


_writer_lock: dict[str, int] = {}


def single_writer(lake_root: str) -> None:
    """Hold this machine's writer lock of an object-storage lake for the life of the process, or
    refuse clearly when another process holds it.

    Delta's log store for s3a makes a commit atomic only against writers in the same JVM; two
    drivers committing to one table at once could overwrite each other's commit. So one Spark
    driver writes the lake at a time: the engine (every task attached to it shares its JVM), or one
    job. The lock is a file in ITLAKE_ENGINE_DIR; it covers the processes of this machine, and the
    documentation (docs/operations/object-storage.md) asks that one machine write the lake."""
    if lake_root not in _writer_lock:
        fd = take_writer_lock(lake_root)
        if fd is not None:
            _writer_lock[lake_root] = fd


def take_writer_lock(lake_root: str, holder: int | None = None) -> int | None:
    """The lake's writer lock as an open file descriptor (None for a local lake, which Delta's own
    log store keeps safe); the lock lasts while any process holds the descriptor, so the engine's
    server keeps it once handed over. LakeWriterBusyError when another process holds it."""
    if not is_remote(lake_root):
        return None
    folder = get_settings().engine_dir
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(lake_root.encode("utf-8")).hexdigest()[:16]
    fd = os.open(folder / f"lake-writer-{digest}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        named = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
        os.close(fd)
        raise LakeWriterBusyError(
            f"the lake {lake_root} is being written by pid {named}: on object storage one Spark driver "
            "writes at a time; attach to the engine (ITLAKE_SPARK_REMOTE) or run after it ends"
        ) from None
    name_holder(fd, holder or os.getpid())
    return fd


def name_holder(fd: int, pid: int) -> None:
    """Write the pid of the process holding the lock, for the refusal's message."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(pid).encode("ascii"), 0)


@dataclass(frozen=True)
class LakeStorage:
    filesystem: object
    scheme: str

    @classmethod
    def for_uri(cls, uri: str) -> LakeStorage:
        from pyarrow import fs

        if not is_remote(uri):
            return cls(fs.LocalFileSystem(), "")
        return cls(s3_filesystem(), _scheme(uri))

    def _path(self, uri: str) -> str:
        if not self.scheme:
            return str(uri).removeprefix("file:")
        return str(uri).split("://", 1)[1]

    def _uri(self, path: str) -> str:
        return f"{self.scheme}://{path}" if self.scheme else path

    def _children(self, uri: str, recursive: bool = False):
        from pyarrow import fs

        selector = fs.FileSelector(self._path(uri), allow_not_found=True, recursive=recursive)
        return self.filesystem.get_file_info(selector)

    def exists(self, uri: str) -> bool:
        from pyarrow import fs

        return self.filesystem.get_file_info(self._path(uri)).type != fs.FileType.NotFound

    def is_folder(self, uri: str) -> bool:
        from pyarrow import fs

        return self.filesystem.get_file_info(self._path(uri)).type == fs.FileType.Directory

    def folders(self, uri: str) -> list[str]:
        from pyarrow import fs

        return sorted(self._uri(i.path) for i in self._children(uri) if i.type == fs.FileType.Directory)

    def _files(self, uri: str, recursive: bool = False) -> list:
        from pyarrow import fs

        found = self._children(uri, recursive)
        # Some stores (S3Proxy's filesystem backend) also list each folder as an object of its own
        # name, beside the folder itself: such an entry is the folder, not a file.
        folders = {i.path for i in found if i.type == fs.FileType.Directory}
        return [i for i in found if i.type == fs.FileType.File and i.path not in folders]

    def files(self, uri: str, recursive: bool = False) -> list[str]:
        return sorted(self._uri(i.path) for i in self._files(uri, recursive))

    def table_folders(self, uri: str) -> list[str]:
        """The child folders of `uri` that hold a Delta table (a `_delta_log` folder), sorted."""
        return [f for f in self.folders(uri) if self.exists(f"{f}/_delta_log")]

    def size(self, uri: str) -> int:
        return self.filesystem.get_file_info(self._path(uri)).size

    def modified_ms(self, uri: str) -> int:
        """When the file was last written, in epoch milliseconds."""
        return int(self.filesystem.get_file_info(self._path(uri)).mtime.timestamp() * 1000)

    def files_by_age(self, uri: str) -> list[str]:
        """The files directly under `uri`, newest first."""
        found = self._files(uri)
        return [self._uri(i.path) for i in sorted(found, key=lambda i: i.mtime, reverse=True)]

    def read_bytes(self, uri: str) -> bytes:
        with self.filesystem.open_input_stream(self._path(uri)) as stream:
            return stream.read()

    def open_input(self, uri: str):
        """A file for random access (what pyarrow's Parquet reader takes to read a footer first)."""
        return self.filesystem.open_input_file(self._path(uri))

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a whole file. On disk to a temporary name first, then renamed, so no reader sees half
        of it; an object store shows an upload only once it is complete."""
        path = self._path(uri)
        self._parent(path)
        target = path + ".partial" if not self.scheme else path
        with self.filesystem.open_output_stream(target) as stream:
            stream.write(data)
        if target != path:
            self.filesystem.move(target, path)

    def write_text(self, uri: str, text: str) -> None:
        self.write_bytes(uri, text.encode("utf-8"))

    def copy_in(self, source: Path, uri: str, *, replace: bool = False) -> None:
        """Copy a local file to `uri` as it is (the same bytes), unless `uri` exists already and
        `replace` is not asked for."""
        if not replace and self.exists(uri):
            return
        if not self.scheme:
            self._parent(self._path(uri))
            partial = Path(self._path(uri) + ".partial")
            shutil.copyfile(source, partial)
            partial.rename(self._path(uri))
            return
        with open(source, "rb") as src, self.filesystem.open_output_stream(self._path(uri)) as out:
            shutil.copyfileobj(src, out, 8 * 1024 * 1024)

    def _parent(self, path: str) -> None:
        # An object store has no folders to make; on disk the parent must exist.
        if not self.scheme:
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def delete_file(self, uri: str) -> None:
        self.filesystem.delete_file(self._path(uri))

    def delete_folder(self, uri: str) -> None:
        self.filesystem.delete_dir(self._path(uri))
