"""Reading delimited feeds exactly as received: declared encoding, header check, every record.

Clean files take pyarrow's multithreaded reader. If any record has the wrong number of fields,
the file is read again with Python's csv module so that each such record keeps its exact number
and text, and goes to quarantine instead of vanishing.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from itlake.feeds.base import BatchContext, FeedError

PYARROW_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8"}
GB_ENCODINGS = frozenset({"gbk", "gb2312", "gb18030"})


def check_encoding(data: bytes, encoding: str, source: str) -> None:
    """Refuse bytes that do not decode under the declared encoding, naming the byte offset."""
    if not data:
        raise FeedError(f"{source}: the file is empty")
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        likely = likely_encoding(data)
        raise FeedError(
            f"{source}: bytes at offset {err.start} ({data[err.start : err.start + 4].hex(' ')}) do not "
            f"decode as the declared encoding {encoding}: {err.reason}"
            + (f"; the bytes look like {likely}" if likely else "")
        ) from None
    if encoding.lower() in GB_ENCODINGS and not data.isascii() and _is_utf8(data):
        # UTF-8 bytes often decode under GBK too, as mojibake (粤 -> 绮); real GBK text with
        # Chinese in it is almost never valid UTF-8, so a file that is means a wrong declaration.
        first = next(i for i, b in enumerate(data) if b > 0x7F)
        raise FeedError(
            f"{source}: declared {encoding} but the bytes are UTF-8 (first non-ASCII byte at offset "
            f"{first}: {data[first : first + 3].hex(' ')}); decoding them as {encoding} would give mojibake"
        )


def likely_encoding(data: bytes) -> str | None:
    """What undecodable bytes probably are, to say so in the refusal: UTF-16 (a byte order mark, or
    the NUL bytes of ASCII text in UTF-16), UTF-8 or GBK/GB18030; None when no guess fits."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in data[:1000]:
        return "UTF-16"
    if _is_utf8(data):
        return "UTF-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "GBK/GB18030"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_csv_strings(
    data: bytes, *, encoding: str, expected: list[str], source: str, allow_extra: bool = False
) -> pa.Table:
    """Read CSV bytes into a table of string columns named as in the header, in `expected` order.

    A header that lacks an expected column is refused; so is one with columns the contract does
    not know, unless `allow_extra` (formats such as GTFS allow extra columns).
    """
    check_encoding(data, encoding, source)
    text_start = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    header = header_fields(text_start, encoding, source)
    _check_header(header, expected, source, allow_extra)
    malformed: list[str] = []

    def on_invalid(row) -> str:
        malformed.append(row.text)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(text_start),
        read_options=pacsv.ReadOptions(encoding=PYARROW_ENCODINGS.get(encoding, encoding)),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if malformed:
        return _read_with_csv_module(text_start.decode(encoding), header, expected)
    table = table.select(expected)
    n = table.num_rows
    return table.append_column("_row_number", pa.array(range(1, n + 1), pa.int64())).append_column(
        "_raw_error", pa.nulls(n, pa.string())
    )


def header_fields(data: bytes, encoding: str, source: str) -> list[str]:
    """The fields of the first line (a UTF-8 byte order mark already removed)."""
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    header = next(csv.reader([first_line.decode(encoding)]), [])
    if not header or header == [""]:
        raise FeedError(f"{source}: no header row")
    return [h.strip() for h in header]


def _check_header(header: list[str], expected: list[str], source: str, allow_extra: bool) -> None:
    from itlake.feeds.biometric import refuse_biometric_names

    # First, and over the whole header: a biometric column is refused as such, even where extra
    # columns are allowed and would otherwise be dropped quietly.
    refuse_biometric_names(header, source)
    missing = [c for c in expected if c not in header]
    unexpected = [] if allow_extra else [c for c in header if c not in expected]
    if missing or unexpected:
        raise FeedError(
            f"{source}: header does not match the contract: missing {missing or 'none'}, "
            f"unexpected {unexpected or 'none'} (header: {','.join(header)})"
        )


def _read_with_csv_module(text: str, header: list[str], expected: list[str]) -> pa.Table:
    columns: dict[str, list] = {name: [] for name in expected}
    row_numbers: list[int] = []
    errors: list[str | None] = []
    reader = csv.reader(io.StringIO(text))
    next(reader)
    index = {name: header.index(name) for name in expected}
    for number, record in enumerate(reader, start=1):
        row_numbers.append(number)
        if len(record) == len(header):
            errors.append(None)
            for name in expected:
                columns[name].append(record[index[name]])
        else:
            errors.append(
                f"record has {len(record)} fields, the header has {len(header)}: {','.join(record)[:200]}"
            )
            for name in expected:
                columns[name].append(None)
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    arrays["_row_number"] = pa.array(row_numbers, pa.int64())
    arrays["_raw_error"] = pa.array(errors, pa.string())
    return pa.table(arrays)


def read_file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise FeedError(f"{path}: cannot be read: {err.strerror}") from None


def read_csv_feed(path: Path, ctx: BatchContext, contract: str, header: list[str] | None = None) -> dict:
    """`Feed.read` of a feed that is one CSV file for one contract: {contract: raw string table}.

    The expected header is `header`, or else the contract's `source` columns in contract order.
    With a source profile in `ctx`, the file is read in the publisher's layout and its records
    come out in the standard one (`read_profiled_csv`).
    """
    if header is None:
        from itlake.catalog.contracts import load_contract

        header = [c.source for c in load_contract(contract).columns if c.source]
    data = read_file_bytes(path)
    if ctx.profile is not None:
        return {contract: read_profiled_csv(data, ctx, contract, header)}
    return {contract: read_csv_strings(data, encoding=ctx.encoding, expected=header, source=ctx.source_file)}


def profile_layout(profile, contract_name: str, header: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """({standard field: publisher's column}, {standard field: constant text}) of a profile: a key
    is a standard field or the contract column read from it; a field neither maps nor fixes keeps
    its standard name."""
    from itlake.catalog.contracts import load_contract

    field_of = {c.name: c.source for c in load_contract(contract_name).columns if c.source}

    def field(key: str) -> str:
        return key if key in header else field_of.get(key, key)

    constants = {field(k): v for k, v in profile.constant_text().items()}
    mapped = {field(k): v for k, v in profile.columns.items()}
    columns = {f: mapped.get(f, f) for f in header if f not in constants}
    return columns, constants


def read_profiled_csv(data: bytes, ctx: BatchContext, contract: str, header: list[str]) -> pa.Table:
    """The publisher's CSV as raw records in the standard layout: its columns renamed to the
    standard fields, the profile's constants added, its ignored columns left out; values stay as
    received. A header that does not fit the profile is refused, naming the columns."""
    profile = ctx.profile
    columns, constants = profile_layout(profile, contract, header)
    check_encoding(data, ctx.encoding, ctx.source_file)
    text_start = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    found = header_fields(text_start, ctx.encoding, ctx.source_file)
    wanted = list(columns.values())
    missing = [c for c in wanted if c not in found]
    unexpected = [c for c in found if c not in wanted and c not in profile.ignore]
    if missing or unexpected:
        raise FeedError(
            f"{ctx.source_file}: header does not fit source profile {profile.name!r}: "
            f"missing {missing or 'none'}, unexpected {unexpected or 'none'} (header: {','.join(found)})"
        )
    table = read_csv_strings(
        data, encoding=ctx.encoding, expected=wanted, source=ctx.source_file, allow_extra=True
    )
    n = table.num_rows
    arrays = {}
    for standard in header:
        if standard in constants:
            arrays[standard] = pa.repeat(pa.scalar(constants[standard], pa.string()), n)
        else:
            arrays[standard] = table.column(columns[standard])
    return pa.table({**arrays, "_row_number": table["_row_number"], "_raw_error": table["_raw_error"]})
