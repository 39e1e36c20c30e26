"""Finding personal identifiers in what leaves the lake: open releases, portal pages, shared responses.

    itlake security scan              # everything under {lake}/open; exit status 1 on a finding

What counts as an identifier, in the formats this project's feeds carry them:
- `plate`: a Chinese licence plate (GA 36-2018): province abbreviation, issuing-office letter, an
  optional separator (粤B·D12345, 粤B 12345), then five characters, or six for new-energy vehicles
  (D/F first for small cars, last for large ones: 粤BD12345, 粤B12345D). Letters I and O are never
  used; 挂学警港澳 may end a plate.
- `phone`: a mainland mobile number, 1[3-9] and nine more digits, with +86 or separators.
- `resident_id`: an 18-character resident identity number (GB 11643-1999) whose birth date is a
  real date and whose ISO 7064 MOD 11-2 check character is right, so that other 18-digit numbers
  (H3 cells as integers, waybill numbers) do not count.
- `card_id`: a transit card number as the smart-card clearing files write it (`card_no` in
  itlake/feeds/smartcard_tap.py): nine digits. Only in text: a count, a size or a statistic of nine
  digits in a column of numbers is not a card.
- `pseudonym`: a keyed HMAC-SHA256 pseudonym as itlake/privacy/pseudonyms.py makes it, 64 lowercase hex
  digits. A value that is the sha256 of a file in the same folder is that file's checksum
  (SHA256SUMS, data.sha256), not a pseudonym.

Digits count as one number only when no letter or digit touches them, so runs of digits inside hex
digests, decimals or longer numbers are not taken for identifiers. A number in a JSON document is
a size, a count or a coordinate (Delta's file-size histogram holds 17179869184, phone-shaped):
identifiers travel in JSON as strings, and a numeric column's values are read in its Parquet file.
A finding names the file, the column (or JSON path) and the row (or line), and shows the value
masked.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTER = "A-HJ-NP-Z"  # I and O are not used on plates
PLATE_SEPARATORS = "·•・. -"
_ALONE_BEFORE = r"(?<![0-9A-Za-z])(?<![0-9]\.)"  # not inside a longer token or after a decimal point
_ALONE_AFTER = r"(?![0-9A-Za-z])(?!\.[0-9])"
PATTERNS = {
    "plate": re.compile(
        rf"[{PROVINCES}][{PLATE_LETTER}][{re.escape(PLATE_SEPARATORS)}]?"
        rf"(?:[DF][{PLATE_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF]|[{PLATE_LETTER}0-9]{{4}}[{PLATE_LETTER}0-9挂学警港澳])"
        r"(?![0-9A-Za-z])"
    ),
    "phone": re.compile(rf"{_ALONE_BEFORE}(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{{4}}){{2}}{_ALONE_AFTER}"),
    "resident_id": re.compile(rf"{_ALONE_BEFORE}[1-8][0-9]{{16}}[0-9Xx]{_ALONE_AFTER}"),
    "card_id": re.compile(rf"{_ALONE_BEFORE}[0-9]{{9}}{_ALONE_AFTER}"),
    "pseudonym": re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{64}(?![0-9A-Za-z])"),
}
KINDS = tuple(PATTERNS)
NUMBER_COLUMN = frozenset({"card_id"})  # what a value of a column of numbers cannot be
JSON_NUMBER = frozenset({"card_id", "phone"})  # what a number in a JSON document is not taken for
# Any of the kinds, to pick out the few cells worth a closer look in a large column.
ANY = re.compile("|".join(f"(?:{p.pattern})" for p in PATTERNS.values()))
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
PARQUET_SUFFIXES = frozenset({".parquet", ".geoparquet"})
JSON_SUFFIXES = frozenset({".json", ".jsonld", ".geojson"})
SHARING_FILES_PATH = "/delta-sharing/files"


def resident_id_valid(value: str) -> bool:
    """True for an 18-character number with a real birth date and the right check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date(2100, 1, 1):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == value[17].upper()


def find_identifiers(
    text: str, *, skip: Iterable[str] = (), checksums: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(kind, value) of every identifier in `text`, but for the kinds in `skip` (see NUMBER_COLUMN
    and JSON_NUMBER); a 64-hex value in `checksums` is a file's checksum, not a pseudonym."""
    found = []
    for kind, pattern in PATTERNS.items():
        if kind in skip:
            continue
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind == "resident_id" and not resident_id_valid(value):
                continue
            if kind == "pseudonym" and value in checksums:
                continue
            found.append((kind, value))
    return found


def mask(value: str) -> str:
    """The value with its middle hidden, so a report does not spread what it found."""
    keep = 3 if len(value) > 8 else 1
    return value[:keep] + "*" * min(len(value) - 2 * keep, 8) + value[-keep:]


@dataclass(frozen=True)
class Finding:
    kind: str
    value: str
    where: str
    column: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        place = self.where
        if self.column is not None:
            place += f", column {self.column}"
        if self.row is not None:
            place += f", row {self.row}" if self.column is not None else f", line {self.row}"
        return f"{place}: {self.kind} {mask(self.value)}"


@dataclass
class ScanReport:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    values: int = 0
    skipped: list[str] = field(default_factory=list)

    def add(self, other: ScanReport) -> None:
        self.findings += other.findings
        self.files += other.files
        self.values += other.values
        self.skipped += other.skipped

    @property
    def clean(self) -> bool:
        return not self.findings


def _cells(report: ScanReport, text: str, where: str, column, row, *, skip=frozenset(), checksums=()):
    report.values += 1
    if not ANY.search(text):
        return
    for kind, value in find_identifiers(text, skip=skip, checksums=checksums):
        report.findings.append(Finding(kind, value, where, column, row))


def scan_text(text: str, where: str, *, checksums: Iterable[str] = ()) -> ScanReport:
    """Plain text (README, HTML, checksum lists), line by line."""
    report = ScanReport()
    checksums = frozenset(checksums)
    for number, line in enumerate(text.splitlines(), start=1):
        if ANY.search(line):
            _cells(report, line, where, None, number, checksums=checksums)
    return report


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def scan_frame(frame, where: str, *, checksums: Iterable[str] = ()) -> ScanReport:
    """A pandas DataFrame: every column name and cell; rows are numbered from 1. Binary cells (WKB
    geometries) are not text and are left out."""
    import pandas as pd

    report = ScanReport()
    checksums = frozenset(checksums)
    for name in frame.columns:
        _cells(report, str(name), where, str(name), None, checksums=checksums)
        column = frame[name]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        values = column.dropna()
        if values.empty or (not numeric and isinstance(values.iloc[0], bytes | bytearray)):
            continue
        text = values.map(_number_text) if numeric else values.astype(str)
        report.values += len(text)
        candidates = text[text.str.contains(ANY, regex=True)]
        for index, value in candidates.items():
            row = frame.index.get_loc(index) + 1
            found = find_identifiers(value, skip=NUMBER_COLUMN if numeric else (), checksums=checksums)
            report.findings += [Finding(kind, v, where, str(name), row) for kind, v in found]
    return report


def scan_parquet(data: bytes | Path, where: str, *, checksums: Iterable[str] = ()) -> ScanReport:
    import pyarrow.parquet as pq

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return scan_frame(pq.read_table(source).to_pandas(), where, checksums=checksums)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def scan_csv(text: str, where: str, *, checksums: Iterable[str] = ()) -> ScanReport:
    """A CSV with a header: a column whose every value is a number is numeric (no card ids)."""
    report = ScanReport()
    checksums = frozenset(checksums)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return report
    header, body = rows[0], rows[1:]
    for i, name in enumerate(header):
        _cells(report, name, where, name, None, checksums=checksums)
        cells = [(n, r[i]) for n, r in enumerate(body, start=1) if i < len(r) and r[i] != ""]
        numeric = bool(cells) and all(_is_number(v) for _, v in cells)
        report.values += len(cells)
        for number, value in cells:
            if ANY.search(value):
                found = find_identifiers(value, skip=NUMBER_COLUMN if numeric else (), checksums=checksums)
                report.findings += [Finding(kind, v, where, name, number) for kind, v in found]
    return report


def _without_signature(url: str) -> str:
    # The `s` parameter of a Delta Sharing file URL is this server's HMAC signature of the URL
    # (itlake/sharing/server.py): hex like a pseudonym, but about the URL, not about a person.
    parts = urlsplit(url)
    if not parts.path.endswith(SHARING_FILES_PATH):
        return url
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "s"])
    return urlunsplit(parts._replace(query=query))


def _leaves(node, path: str) -> Iterator[tuple[str, object]]:
    """(JSON path, value) of every scalar; a string holding a JSON object or array (Delta's `stats`
    and `schemaString`) is walked as JSON, so its numbers stay numbers."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}" if path else str(key), key
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, f"{path}[{i}]")
    elif isinstance(node, str) and node[:1] in "{[":
        try:
            inner = json.loads(node)
        except ValueError:
            yield path, node
        else:
            yield from _leaves(inner, path)
    else:
        yield path, node


def _scan_leaves(report: ScanReport, document, where: str, row, checksums: frozenset[str]) -> None:
    for path, value in _leaves(document, ""):
        if value is None or isinstance(value, bool):
            continue
        numeric = isinstance(value, int | float)
        text = _number_text(value) if numeric else _without_signature(str(value))
        skip = JSON_NUMBER if numeric else frozenset()
        _cells(report, text, where, path or "$", row, skip=skip, checksums=checksums)


def scan_json(document, where: str, *, row: int | None = None, checksums: Iterable[str] = ()) -> ScanReport:
    """A parsed JSON document; GeoJSON features are rows and their properties columns."""
    report = ScanReport()
    checksums = frozenset(checksums)
    if not (isinstance(document, dict) and document.get("type") == "FeatureCollection"):
        _scan_leaves(report, document, where, row, checksums)
        return report
    _scan_leaves(report, {k: v for k, v in document.items() if k != "features"}, where, None, checksums)
    for number, feature in enumerate(document.get("features") or [], start=1):
        properties = feature.get("properties") or {}
        _scan_leaves(
            report, {k: v for k, v in feature.items() if k != "properties"}, where, number, checksums
        )
        for key, value in properties.items():
            _cells(report, str(key), where, key, number, checksums=checksums)
            if value is not None and not isinstance(value, bool):
                numeric = isinstance(value, int | float)
                text = _number_text(value) if numeric else str(value)
                skip = JSON_NUMBER if numeric else frozenset()
                _cells(report, text, where, key, number, skip=skip, checksums=checksums)
    return report


def scan_ndjson(text: str, where: str, *, checksums: Iterable[str] = ()) -> ScanReport:
    """Newline-delimited JSON (Delta logs, Delta Sharing responses): each line is a row."""
    report = ScanReport()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            report.add(scan_json(json.loads(line), where, row=number, checksums=checksums))
    return report


def scan_bytes(data: bytes, where: str, *, suffix: str = "", checksums: Iterable[str] = ()) -> ScanReport:
    """One file's or one response's bytes, by its suffix or, failing that, by its content."""
    if suffix in PARQUET_SUFFIXES or data[:4] == b"PAR1":
        report = scan_parquet(data, where, checksums=checksums)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ScanReport(files=1, skipped=[where])
        if suffix == ".csv":
            report = scan_csv(text, where, checksums=checksums)
        elif suffix in JSON_SUFFIXES or text.lstrip()[:1] in ("{", "["):
            try:
                report = scan_json(json.loads(text), where, checksums=checksums)
            except ValueError:
                report = scan_ndjson(text, where, checksums=checksums)
        else:
            report = scan_text(text, where, checksums=checksums)
    report.files += 1
    return report


def scan_documents(documents: dict[str, bytes]) -> ScanReport:
    """Files or downloads by path ("open/releases/x/v1/data.csv" or a URL path): each is read with
    the sha256 of every document in its folder as the checksums it may list."""
    folders: dict[str, set[str]] = {}
    for where, data in documents.items():
        folders.setdefault(posixpath.dirname(where), set()).add(hashlib.sha256(data).hexdigest())
    report = ScanReport()
    for where, data in documents.items():
        suffix = posixpath.splitext(where)[1].lower()
        report.add(scan_bytes(data, where, suffix=suffix, checksums=folders[posixpath.dirname(where)]))
    return report


def tree_files(root) -> list[str]:
    """The files `scan_tree` reads under `root` (a folder on disk or a lake path in a bucket)."""
    from itlake.lake.storage import LakeStorage

    root = str(root)
    files = LakeStorage.for_uri(root).files(root, recursive=True)
    # Hadoop's hidden `.<file>.crc` files hold CRC32 sums of their sibling, nothing else.
    return [f for f in files if not (posixpath.basename(f).startswith(".") and f.endswith(".crc"))]


def scan_tree(root, *, relative_to=None, advance: Callable[[int], None] | None = None) -> ScanReport:
    """Every file under `root`, on disk or in a bucket (through the storage layer); findings name
    files relative to `relative_to` (default `root`). `advance(n)` is called after each folder with
    the number of its files (a progress bar)."""
    from itlake.lake.storage import LakeStorage

    root = str(root)
    base = str(relative_to or root)
    storage = LakeStorage.for_uri(root)
    by_folder: dict[str, list[str]] = {}
    for path in tree_files(root):
        by_folder.setdefault(posixpath.dirname(path), []).append(path)
    report = ScanReport()
    for paths in by_folder.values():  # one folder in memory at a time
        documents = {}
        for path in paths:
            # A file listed but gone when read was deleted meanwhile (VACUUM), or was a store's
            # listing of an empty folder (S3Proxy's filesystem backend lists them as objects).
            with contextlib.suppress(FileNotFoundError):
                documents[posixpath.relpath(path, base)] = storage.read_bytes(path)
        report.add(scan_documents(documents))
        if advance is not None:
            advance(len(paths))
    return report


def summary(report: ScanReport, limit: int = 5) -> str:
    """The first findings in one line, for a refusal reason."""
    shown = "; ".join(str(f) for f in report.findings[:limit])
    more = len(report.findings) - limit
    return shown + (f"; and {more} more" if more > 0 else "")
