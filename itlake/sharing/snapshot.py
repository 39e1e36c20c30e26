"""A Delta table's snapshot as Delta Sharing sees it, read with delta-rs (no JVM): version, protocol,
metadata, and the data files with their partition values and statistics; and its commits, read from
the log, for time travel by timestamp and for the change data feed.

Files are skipped by the query's JSON predicate hints where partition values or min/max statistics
prove that no row can match; anything the hints do not decide is kept (hints are best effort, the
client filters the rest), so skipping never loses a row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class DataFile:
    path: str  # relative to the table root
    size: int
    records: int | None
    partition_values: dict[str, str | None]
    stats: dict[str, Any]


class UnsupportedTable(ValueError):
    """A table that uses a feature the server does not share (deletion vectors, column mapping)."""


# Reader features whose files a client cannot read as plain Parquet.
REFUSED_FEATURES = {"deletionVectors": "deletion vectors", "columnMapping": "column mapping"}


@dataclass(frozen=True)
class Commit:
    version: int
    timestamp_ms: int
    actions: list[dict]


def commits(table_uri: str, start: int, end: int) -> list[Commit]:
    """The commits start..end (inclusive) as their log files hold them; a commit is timed by its
    commitInfo timestamp, or the log file's modification time where a writer left none. The log
    is read through the lake's storage, on disk or in a bucket."""
    from itlake.lake.storage import LakeStorage

    storage = LakeStorage.for_uri(table_uri)
    out = []
    for version in range(start, end + 1):
        path = f"{table_uri}/_delta_log/{version:020d}.json"
        try:
            text = storage.read_text(path)
        except FileNotFoundError:
            raise ValueError(f"version {version} is no longer in the table's log") from None
        actions = [json.loads(line) for line in text.splitlines() if line.strip()]
        info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        stamp = info.get("timestamp") or storage.modified_ms(path)
        out.append(Commit(version, int(stamp), actions))
    return out


class Snapshot:
    def __init__(self, table_uri: str, version: int | None = None):
        from itlake.lake.storage import open_delta

        self.table = open_delta(table_uri, version=version)
        self.uri = table_uri
        self.refuse_unsupported()

    def refuse_unsupported(self) -> None:
        protocol = self.table.protocol()
        used = [REFUSED_FEATURES[f] for f in (protocol.reader_features or []) if f in REFUSED_FEATURES]
        configuration = self.table.metadata().configuration
        if configuration.get("delta.columnMapping.mode", "none") != "none" and "column mapping" not in used:
            used.append("column mapping")
        if configuration.get("delta.enableDeletionVectors") == "true" and "deletion vectors" not in used:
            used.append("deletion vectors")
        if used:
            raise UnsupportedTable(f"the table uses {' and '.join(used)}, which this server does not share")

    @property
    def change_data_feed(self) -> bool:
        return self.table.metadata().configuration.get("delta.enableChangeDataFeed") == "true"

    def version_at(self, timestamp_ms: int, *, after: bool = False) -> int:
        """The last version committed at or before the timestamp, or with `after` the first
        committed at or after it; ValueError when there is none."""
        timeline = commits(self.uri, self.earliest_version(), self.version)
        if after:
            found = [c.version for c in timeline if c.timestamp_ms >= timestamp_ms]
            if not found:
                raise ValueError("the timestamp is after the table's last commit")
            return found[0]
        found = [c.version for c in timeline if c.timestamp_ms <= timestamp_ms]
        if not found:
            raise ValueError("the timestamp is before the table's first commit")
        return found[-1]

    def earliest_version(self) -> int:
        from itlake.lake.storage import LakeStorage

        names = [f.rsplit("/", 1)[1] for f in LakeStorage.for_uri(self.uri).files(f"{self.uri}/_delta_log")]
        return min(int(n[:20]) for n in names if n.endswith(".json") and n[:20].isdigit())

    @property
    def version(self) -> int:
        return self.table.version()

    def protocol_line(self, delta: bool = False) -> dict:
        protocol = self.table.protocol()
        if delta:
            return {
                "protocol": {
                    "deltaProtocol": {
                        "minReaderVersion": protocol.min_reader_version,
                        "minWriterVersion": protocol.min_writer_version,
                    }
                }
            }
        # Parquet responses: the protocol of the sharing response, always 1 (PROTOCOL.md).
        return {"protocol": {"minReaderVersion": 1}}

    def metadata_line(self, delta: bool = False) -> dict:
        meta = self.table.metadata()
        files = self.files()
        body = {
            "id": meta.id,
            "name": meta.name,
            "description": meta.description,
            "format": {"provider": "parquet", "options": {}},
            "schemaString": self.table.schema().to_json(),
            "partitionColumns": list(meta.partition_columns),
            "configuration": dict(meta.configuration),
        }
        if delta:
            body["createdTime"] = meta.created_time
            return {
                "metaData": {
                    "deltaMetadata": body,
                    "version": self.version,
                    "size": sum(f.size for f in files),
                    "numFiles": len(files),
                }
            }
        if self.change_data_feed:
            # The name the protocol's clients look for, beside Delta's own property.
            body["configuration"]["enableChangeDataFeed"] = "true"
        return {
            "metaData": {
                **body,
                "version": self.version,
                "size": sum(f.size for f in files),
                "numFiles": len(files),
            }
        }

    def column_types(self) -> dict[str, str]:
        schema = json.loads(self.table.schema().to_json())
        return {f["name"]: f["type"] if isinstance(f["type"], str) else "complex" for f in schema["fields"]}

    def files(self) -> list[DataFile]:
        import pyarrow as pa

        actions = pa.table(self.table.get_add_actions(flatten=True)).to_pylist()
        out = []
        for action in actions:
            partitions = {
                k[len("partition.") :]: _text(v) for k, v in action.items() if k.startswith("partition.")
            }
            stats: dict[str, Any] = {"numRecords": action.get("num_records")}
            for kind, key in (("min.", "minValues"), ("max.", "maxValues"), ("null_count.", "nullCount")):
                values = {k[len(kind) :]: _json_value(v) for k, v in action.items() if k.startswith(kind)}
                if values:
                    stats[key] = values
            out.append(
                DataFile(action["path"], action["size_bytes"], action.get("num_records"), partitions, stats)
            )
        return sorted(out, key=lambda f: f.path)


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- JSON predicate hints (PROTOCOL.md, "JSON predicates for filtering") -------------------------

_COMPARE = {
    "equal": lambda lo, hi, v: lo <= v <= hi,
    "lessThan": lambda lo, hi, v: lo < v,
    "lessThanOrEqual": lambda lo, hi, v: lo <= v,
    "greaterThan": lambda lo, hi, v: hi > v,
    "greaterThanOrEqual": lambda lo, hi, v: hi >= v,
}


def _literal(node: dict, value_type: str):
    raw = node["value"]
    if value_type in ("int", "long"):
        return int(raw)
    if value_type in ("float", "double"):
        return float(raw)
    if value_type == "boolean":
        return str(raw).lower() == "true"
    return str(raw)  # string, date (ISO text sorts as dates), timestamp


def _range(column: str, value_type: str, file: DataFile):
    """(min, max) of `column` in the file as the literal's type, or None when unknown."""
    if column in file.partition_values:
        raw = file.partition_values[column]
        if raw is None:
            return None
        value = _literal({"value": raw}, value_type)
        return value, value
    low = file.stats.get("minValues", {}).get(column)
    high = file.stats.get("maxValues", {}).get(column)
    if low is None or high is None:
        return None
    return _literal({"value": low}, value_type), _literal({"value": high}, value_type)


def may_match(node: dict, file: DataFile) -> bool:
    """False only when the predicate is certainly false for every row of the file."""
    op = node.get("op")
    children = node.get("children", [])
    if op == "and":
        return all(may_match(child, file) for child in children)
    if op == "or":
        return any(may_match(child, file) for child in children)
    if op in _COMPARE and len(children) == 2:
        column = next((c for c in children if c.get("op") == "column"), None)
        literal = next((c for c in children if c.get("op") == "literal"), None)
        if column is None or literal is None:
            return True
        value_type = literal.get("valueType") or column.get("valueType") or "string"
        try:
            span = _range(column["name"], value_type, file)
            if span is None:
                return True
            value = _literal(literal, value_type)
            if children[0] is literal:  # literal < column is column > literal
                op = {
                    "lessThan": "greaterThan",
                    "greaterThan": "lessThan",
                    "lessThanOrEqual": "greaterThanOrEqual",
                    "greaterThanOrEqual": "lessThanOrEqual",
                }.get(op, op)
            return _COMPARE[op](span[0], span[1], value)
        except (ValueError, TypeError):
            return True
    if op == "isNull" and children and children[0].get("op") == "column":
        name = children[0]["name"]
        if name in file.partition_values:
            return file.partition_values[name] is None
        nulls = file.stats.get("nullCount", {}).get(name)
        return nulls is None or nulls > 0
    return True  # `not` and anything unknown: keep the file


def select_files(files: list[DataFile], json_hints: str | None, limit_hint: int | None) -> list[DataFile]:
    """Files the query needs: those the hints cannot rule out, and, with a limit, only enough of them."""
    if json_hints:
        try:
            predicate = json.loads(json_hints)
        except ValueError:
            predicate = None
        if isinstance(predicate, dict):
            files = [f for f in files if may_match(predicate, f)]
    if limit_hint is not None:
        chosen, rows = [], 0
        for file in files:
            if rows >= limit_hint:
                break
            chosen.append(file)
            rows += file.records if file.records is not None else limit_hint
        files = chosen
    return files
