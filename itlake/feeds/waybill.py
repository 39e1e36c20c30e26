"""Electronic waybills: CSV with Chinese headers (usually GBK), or JSON Lines (UTF-8).

A waybill file gives two raw tables: `waybill`, one record per shipment, and `waybill_leg`, one
record per leg. In CSV the legs of a multimodal shipment are packed in the column 联运段 as
`mode:from-to;mode:from-to` (e.g. `road:440306-440308;water:440308-310000`); an empty 联运段 means
one leg by the waybill's own mode from its origin to its destination. In JSON Lines each line is an
object with the English keys of JSON_KEYS and an optional `legs` array of {mode, from, to}; the
legs are written to bronze in the CSV's packed form, so both formats share one bronze table.
JSON text is UTF-8 whatever the catalogue's encoding (RFC 8259 section 8.1).

Shipper, consignee and plate are replaced by keyed HMAC pseudonyms in silver; the raw names stay
in bronze only. Origin, destination and leg codes must be listed in the shipped GB/T 2260 table
(itlake/data/gbt2260.csv); a row with another code is quarantined as `unknown_admin_code`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa

from itlake.feeds.base import BatchContext, FeedError
from itlake.feeds.csv_reader import check_encoding, read_csv_strings, read_file_bytes
from itlake.feeds.skeleton import ContractFeed

PSEUDONYMISED = {"shipper_id": "托运人", "consignee_id": "收货人", "plate_id": "车牌号"}
LEGS_FIELD = "联运段"
# JSON key -> raw field (the CSV header), in CSV order.
JSON_KEYS = {
    "waybill_no": "运单号",
    "shipper": "托运人",
    "consignee": "收货人",
    "origin_code": "始发地代码",
    "destination_code": "目的地代码",
    "cargo_class": "货物类别",
    "weight_kg": "重量kg",
    "volume_m3": "体积m3",
    "mode": "运输方式",
    "plate": "车牌号",
    "pickup_time": "揽收时间",
    "delivery_time": "送达时间",
    "legs": LEGS_FIELD,
}
LEG_FIELDS = ["运单号", "段号", "运输方式", "起点代码", "终点代码", "揽收时间"]
LEG_PATTERN = re.compile(r"^\s*([a-z]+)\s*:\s*(\d{6})\s*-\s*(\d{6})\s*$")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def csv_header() -> list[str]:
    from itlake.catalog.contracts import load_contract

    return [c.source for c in load_contract("waybill").columns if c.source] + [LEGS_FIELD]


def read_waybills(path: Path, ctx: BatchContext) -> dict:
    """The waybill records of a CSV or JSON Lines file, and their legs."""
    data = read_file_bytes(path)
    if path.suffix.lower() in JSON_SUFFIXES:
        waybills = read_json_lines(data, ctx.source_file)
    else:
        waybills = read_csv_strings(
            data, encoding=ctx.encoding, expected=csv_header(), source=ctx.source_file
        )
    return {"waybill": waybills, "waybill_leg": split_legs(waybills)}


def shipment(typed, contract, ctx):
    """Pseudonyms and the pickup date of a waybill (a leg's from its raw pickup time); codes not in
    GB/T 2260 are refused."""
    from pyspark.sql import functions as F

    from itlake.feeds.cast import blank_to_null, typed_value
    from itlake.geo.admin_codes import unknown_code_reason
    from itlake.privacy.pseudonyms import hmac_sha256_col

    if contract.name == "waybill_leg":
        pickup = typed_value(
            F.col("揽收时间"),
            "timestamp",
            timestamp_format="yyyy-MM-dd HH:mm:ss",
            date_format="yyyyMMdd",
            timezone=ctx.timezone,
        )
        typed = typed.withColumn("pickup_date", F.to_date(pickup))
        codes = ("from_code", "to_code")
    else:
        pseudonyms = {
            name: hmac_sha256_col(blank_to_null(F.col(f"`{source}`")), ctx.pseudonym_key)
            for name, source in PSEUDONYMISED.items()
        }
        typed = typed.withColumns(pseudonyms).withColumn("pickup_date", F.to_date("pickup_time"))
        codes = ("origin_code", "destination_code")
    return typed, [unknown_code_reason(c) for c in codes]


def read_json_lines(data: bytes, source: str) -> pa.Table:
    """One raw record per non-blank line; a line that is not a JSON object with known keys keeps its
    number and goes to quarantine with `_raw_error`."""
    check_encoding(data, "utf-8", source)
    fields = list(JSON_KEYS.values())
    columns: dict[str, list] = {f: [] for f in fields}
    numbers: list[int] = []
    errors: list[str | None] = []
    lines = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    if not lines:
        raise FeedError(f"{source}: no JSON records")
    for number, line in enumerate(lines, start=1):
        numbers.append(number)
        record, error = _json_record(line)
        errors.append(error)
        for key, field in JSON_KEYS.items():
            columns[field].append(None if record is None else record.get(key))
    arrays = {f: pa.array(v, pa.string()) for f, v in columns.items()}
    arrays["_row_number"] = pa.array(numbers, pa.int64())
    arrays["_raw_error"] = pa.array(errors, pa.string())
    return pa.table(arrays)


def _json_record(line: str) -> tuple[dict | None, str | None]:
    """The record's values as strings (legs packed), or None and the reason it cannot be read."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        return None, f"not valid JSON: {err.msg} at column {err.colno}: {line[:200]}"
    if not isinstance(obj, dict):
        return None, f"a record is a JSON object, not {type(obj).__name__}: {line[:200]}"
    unknown = sorted(set(obj) - set(JSON_KEYS))
    if unknown:
        return None, f"unknown keys {unknown}; known keys are {list(JSON_KEYS)}"
    record = {k: (None if v is None else str(v)) for k, v in obj.items() if k != "legs"}
    legs = obj.get("legs") or []
    if not isinstance(legs, list) or not all(isinstance(leg, dict) for leg in legs):
        return None, f"legs is a list of objects with mode, from and to: {json.dumps(legs)[:200]}"
    record["legs"] = ";".join(f"{leg.get('mode')}:{leg.get('from')}-{leg.get('to')}" for leg in legs)
    return record, None


def split_legs(waybills: pa.Table) -> pa.Table:
    """The leg records of every waybill record, numbered in file order.

    A record without 联运段 has one leg (its mode, origin to destination); a packed leg that does
    not read as `mode:from-to` keeps its text and gets `_raw_error`, naming the waybill record.
    """
    rows: dict[str, list] = {f: [] for f in LEG_FIELDS}
    errors: list[str | None] = []
    for record in waybills.select(
        [
            "运单号",
            "运输方式",
            "始发地代码",
            "目的地代码",
            "揽收时间",
            LEGS_FIELD,
            "_row_number",
            "_raw_error",
        ]
    ).to_pylist():
        if record["_raw_error"] is not None:
            continue  # the waybill record itself is quarantined; it has no legs to read
        packed = (record[LEGS_FIELD] or "").strip()
        parts = packed.split(";") if packed else [None]
        for leg_no, part in enumerate(parts, start=1):
            if part is None:
                mode, start, end, error = record["运输方式"], record["始发地代码"], record["目的地代码"], None
            elif match := LEG_PATTERN.match(part):
                (mode, start, end), error = match.groups(), None
            else:
                mode = start = end = None
                error = (
                    f"{LEGS_FIELD} of waybill record {record['_row_number']}: leg {leg_no} {part!r} "
                    "is not mode:from-to (e.g. road:440306-440308)"
                )
            for field, value in zip(
                LEG_FIELDS, [record["运单号"], str(leg_no), mode, start, end, record["揽收时间"]], strict=True
            ):
                rows[field].append(value)
            errors.append(error)
    arrays = {f: pa.array(v, pa.string()) for f, v in rows.items()}
    arrays["_row_number"] = pa.array(range(1, len(errors) + 1), pa.int64())
    arrays["_raw_error"] = pa.array(errors, pa.string())
    return pa.table(arrays)


FEED = ContractFeed(
    "waybill",
    contracts=("waybill", "waybill_leg"),
    reader=read_waybills,
    derived=tuple(PSEUDONYMISED),
    derive=shipment,
)
