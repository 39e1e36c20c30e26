"""Files of the lake by URI: a local folder or an S3-compatible bucket, through pyarrow's filesystems.

    storage = LakeStorage.for_uri(get_settings().lake_root)
    storage.folders(".../landing/taxi_gps")      # child folders, sorted
    storage.delete_folder(".../landing/taxi_gps/2026-11-27")

Lake paths are strings (`{root}/{layer}/{name}`, see itlake/lake/paths.py), never `pathlib` paths,
so the same code deletes a landing folder on disk or under s3://.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LakeStorage:
    filesystem: object
    scheme: str

    @classmethod
    def for_uri(cls, uri: str) -> LakeStorage:
        from pyarrow import fs

        if "://" not in uri or uri.startswith("file:"):
            return cls(fs.LocalFileSystem(), "")
        scheme = uri.split("://", 1)[0]
        # s3a:// is Hadoop's name for what pyarrow calls s3://.
        filesystem, _ = fs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))
        return cls(filesystem, scheme)

    def _path(self, uri: str) -> str:
        if not self.scheme:
            return uri.removeprefix("file:")
        return uri.split("://", 1)[1]

    def _uri(self, path: str) -> str:
        return f"{self.scheme}://{path}" if self.scheme else path

    def _children(self, uri: str, recursive: bool = False):
        from pyarrow import fs

        selector = fs.FileSelector(self._path(uri), allow_not_found=True, recursive=recursive)
        return self.filesystem.get_file_info(selector)

    def exists(self, uri: str) -> bool:
        from pyarrow import fs

        return self.filesystem.get_file_info(self._path(uri)).type != fs.FileType.NotFound

    def folders(self, uri: str) -> list[str]:
        from pyarrow import fs

        return sorted(self._uri(i.path) for i in self._children(uri) if i.type == fs.FileType.Directory)

    def files(self, uri: str, recursive: bool = False) -> list[str]:
        from pyarrow import fs

        return sorted(self._uri(i.path) for i in self._children(uri, recursive) if i.type == fs.FileType.File)

    def read_bytes(self, uri: str) -> bytes:
        with self.filesystem.open_input_stream(self._path(uri)) as stream:
            return stream.read()

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a whole file: to a temporary name first, then renamed, so no reader sees half of it."""
        partial = self._path(uri) + ".partial"
        with self.filesystem.open_output_stream(partial) as stream:
            stream.write(data)
        self.filesystem.move(partial, self._path(uri))

    def delete_file(self, uri: str) -> None:
        self.filesystem.delete_file(self._path(uri))

    def delete_folder(self, uri: str) -> None:
        self.filesystem.delete_dir(self._path(uri))
