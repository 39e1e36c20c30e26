"""GTFS validation notices, modelled on the MobilityData GTFS validator (codes and severities).

    notices = validate_feed(FEED.read(path, ctx), ctx)

Runs on the raw string tables of one zip, before anything lands, with pandas (GTFS files are
small next to Spark's batch work), one vectorised check per rule. The checks derive from the
contracts where they can: required fields are the non-null sourced columns, numbers their types
and ranges, keys and foreign keys their `primary_key` and `foreign_keys`. Row numbers are the
1-based data records of the file (the header is not counted), as `_row_number` in bronze.

ERROR (the version is refused): missing_required_file, missing_calendar_and_calendar_date_files,
missing_required_column, missing_required_field, invalid_row_length, invalid_integer,
invalid_float, invalid_date, invalid_time, number_out_of_range, unexpected_enum_value (a WARNING in
MobilityData; an ERROR here because the contract refuses the value in silver), duplicate_key,
foreign_key_violation, stop_time_with_departure_before_arrival_time,
stop_time_with_arrival_before_previous_departure_time, decreasing_or_equal_shape_distance.
WARNING (recorded, the version promotes): equal_shape_distance_same_coordinates, expired_calendar,
unsupported_file (a GTFS file the lake keeps as text in gtfs_unsupported_file without checking it).
INFO: unknown_file (a file the GTFS reference does not name, kept as text too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from itlake.catalog.contracts import load_contract
from itlake.feeds._gtfs_files import (
    CALENDAR_FILES,
    EMPTY_AS_ANY,
    FILES,
    META_ABSENT,
    REQUIRED_FILES,
    UNSUPPORTED_CONTRACT,
    required_fields,
    time_columns,
)
from itlake.feeds.base import BatchContext
from itlake.lake.notices import Notice

TIME_RE = r"^\d{1,3}:[0-5]\d:[0-5]\d$"
DATE_RE = r"^\d{8}$"
INTEGER_RE = r"^[+-]?\d+$"
FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# A trip's service may be defined in either calendar file.
ALSO_REFERENCED = {("gtfs_calendar", "service_id"): ("gtfs_calendar_date", "service_id")}


def validate_feed(tables: dict, ctx: BatchContext) -> list[Notice]:
    kept = tables.get(UNSUPPORTED_CONTRACT)
    tables = {name: table for name, table in tables.items() if name != UNSUPPORTED_CONTRACT}
    frames = {name: _frame(table) for name, table in tables.items()}
    absent = {name: _absent(table) for name, table in tables.items()}
    notices = _missing_files(frames)
    for name, frame in frames.items():
        contract = load_contract(name)
        file = FILES[name]
        notices += _row_length(frame, file)
        notices += _required(frame, contract, file, absent[name])
        notices += _values(frame, contract, file)
        notices += _duplicates(frame, contract, file)
        notices += _foreign_keys(frames, name, contract, file)
    if "gtfs_stop_time" in frames:
        notices += _stop_time_order(frames["gtfs_stop_time"])
    if "gtfs_shape" in frames:
        notices += _shape_distance(frames["gtfs_shape"])
    if "gtfs_calendar" in frames:
        notices += _expired_calendar(frames["gtfs_calendar"], ctx)
    if kept is not None:
        notices += _kept_files(kept)
    return notices


def _kept_files(table) -> list[Notice]:
    """A notice per file kept as text: the lake stores it but checks nothing in it."""
    notices = []
    for row in table.select(["file_name", "gtfs_reference_file"]).to_pylist():
        name = row["file_name"]
        if row["gtfs_reference_file"] == "true":
            code, severity, what = "unsupported_file", "WARNING", "a GTFS file the lake does not type"
        else:
            code, severity, what = "unknown_file", "INFO", "not a file of the GTFS reference"
        message = f"{name} is {what}; kept as text in gtfs_unsupported_file, unchecked"
        notices.append(Notice(code, severity, name, None, None, None, message))
    return notices


def _frame(table) -> pd.DataFrame:
    """Strings trimmed, blank as missing (the GTFS reference treats both alike)."""
    frame = table.to_pandas()
    for column in frame.columns:
        if column.startswith("_"):
            continue
        values = frame[column].astype("string[pyarrow]").str.strip()
        frame[column] = values.mask(values == "")
    return frame


def _absent(table) -> set[str]:
    raw = (table.schema.metadata or {}).get(META_ABSENT, b"").decode()
    return {name for name in raw.split(",") if name}


def _notices(rows: pd.DataFrame, code: str, severity: str, file: str, field: str | None, message) -> list:
    """One notice per row of `rows`; `message(row)` words it."""
    out = []
    for row in rows.itertuples(index=False):
        value = getattr(row, field) if field and field in rows.columns else None
        out.append(
            Notice(
                code=code,
                severity=severity,
                file=file,
                row_number=int(row.row_number),
                field=field,
                value=None if value is None or value is pd.NA else str(value),
                message=message(row),
            )
        )
    return out


def _rows(frame: pd.DataFrame, mask, columns: list[str]) -> pd.DataFrame:
    mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
    # itertuples renames fields that start with "_", so the row number travels as `row_number`.
    return frame.loc[mask, ["_row_number", *columns]].rename(columns={"_row_number": "row_number"})


def _missing_files(frames: dict) -> list[Notice]:
    present = {FILES[name] for name in frames}
    notices = [
        Notice(
            "missing_required_file", "ERROR", f, None, None, None, f"{f} is required and absent from the zip"
        )
        for f in REQUIRED_FILES
        if f not in present
    ]
    if not present.intersection(CALENDAR_FILES):
        notices.append(
            Notice(
                "missing_calendar_and_calendar_date_files",
                "ERROR",
                "calendar.txt",
                None,
                None,
                None,
                "neither calendar.txt nor calendar_dates.txt is in the zip",
            )
        )
    return notices


def _row_length(frame: pd.DataFrame, file: str) -> list[Notice]:
    bad = _rows(frame, frame["_raw_error"].notna(), ["_raw_error"]).rename(columns={"_raw_error": "reason"})
    return _notices(bad, "invalid_row_length", "ERROR", file, None, lambda r: r.reason)


def _required(frame: pd.DataFrame, contract, file: str, absent: set[str]) -> list[Notice]:
    notices = []
    for field in required_fields(contract):
        if field in absent:
            notices.append(
                Notice(
                    "missing_required_column",
                    "ERROR",
                    file,
                    None,
                    field,
                    None,
                    f"{file} has no column {field}, which is required",
                )
            )
            continue
        rows = _rows(frame, frame[field].isna(), [field])
        notices += _notices(
            rows, "missing_required_field", "ERROR", file, field, lambda r, f=field: f"{f} is empty"
        )
    return notices


def _values(frame: pd.DataFrame, contract, file: str) -> list[Notice]:
    """Dates, times and numbers: well formed, in the contract's range and allowed values."""
    notices = []
    times = time_columns(contract)
    for column in contract.columns:
        field = column.source
        if not field or field not in frame.columns:
            continue
        raw = frame[field]
        present = raw.notna()
        if column.name in times:
            ok = raw.str.fullmatch(TIME_RE).fillna(False).astype(bool)
            notices += _bad(frame, present & ~ok, "invalid_time", file, field, "is not a GTFS time H:MM:SS")
            number = _seconds(raw)
        elif column.type == "date":
            parsed = pd.to_datetime(raw, format="%Y%m%d", errors="coerce")
            ok = raw.str.fullmatch(DATE_RE).fillna(False).astype(bool) & parsed.notna()
            notices += _bad(frame, present & ~ok, "invalid_date", file, field, "is not a date YYYYMMDD")
            continue
        elif column.type in ("int", "long", "double"):
            integer = column.type != "double"
            ok = raw.str.fullmatch(INTEGER_RE if integer else FLOAT_RE).fillna(False).astype(bool)
            code = "invalid_integer" if integer else "invalid_float"
            notices += _bad(frame, present & ~ok, code, file, field, f"is not a valid {column.type}")
            number = pd.to_numeric(raw.where(ok), errors="coerce")
        else:
            if column.pattern:
                ok = raw.str.fullmatch(column.pattern).fillna(False).astype(bool)
                notices += _bad(
                    frame,
                    present & ~ok,
                    "invalid_currency" if field == "currency_type" else "invalid_value",
                    file,
                    field,
                    f"does not match {column.pattern}",
                )
            continue
        if column.range is not None:
            low, high = column.range
            out = number.notna() & ((number < low) | (number > high))
            notices += _bad(frame, out, "number_out_of_range", file, field, f"is outside [{low}, {high}]")
        if column.allowed is not None:
            out = number.notna() & ~number.isin([float(v) for v in column.allowed])
            shown = ", ".join(str(v) for v in column.allowed)
            notices += _bad(frame, out, "unexpected_enum_value", file, field, f"is not one of [{shown}]")
    return notices


def _bad(frame, mask, code: str, file: str, field: str, text: str) -> list[Notice]:
    rows = _rows(frame, mask, [field])
    return _notices(rows, code, "ERROR", file, field, lambda r: f"{field}={getattr(r, field)!r} {text}")


def _key_fields(contract) -> list[str]:
    return [contract.column(c).source for c in contract.primary_key if c != "feed_version"]


def _duplicates(frame: pd.DataFrame, contract, file: str) -> list[Notice]:
    """Every record after the first with the same key (feed_info.txt: every record after the first)."""
    keys = _key_fields(contract)
    if not keys:
        repeated = pd.Series(np.arange(len(frame)) > 0, index=frame.index)
    else:
        filled = frame[keys].fillna("") if contract.name in EMPTY_AS_ANY else frame[keys]
        repeated = filled.duplicated(keep="first") & filled.notna().all(axis=1)
    first = keys[0] if keys else None
    rows = _rows(frame, repeated, keys)
    label = ", ".join(keys) or "the single record"

    def message(row):
        values = ", ".join(f"{k}={getattr(row, k)!r}" for k in keys)
        return (
            f"the key ({label}) repeats an earlier record: {values}" if keys else f"{file} holds one record"
        )

    return _notices(rows, "duplicate_key", "ERROR", file, first, message)


def _foreign_keys(frames: dict, name: str, contract, file: str) -> list[Notice]:
    """Ids that name a record the referenced file does not hold (skipped when that file is absent,
    which missing_required_file already reports)."""
    frame = frames[name]
    notices = []
    for fk in contract.foreign_keys:
        column = next(c for c in fk.columns if c != "feed_version")
        ref_column = next(c for c in fk.ref_columns if c != "feed_version")
        also = ALSO_REFERENCED.get((fk.references, ref_column))
        parents = [(fk.references, ref_column), *([also] if also else [])]
        parents = [(name, key) for name, key in parents if name in frames]
        if not parents:
            continue
        field = contract.column(column).source
        ref_field = load_contract(fk.references).column(ref_column).source
        known = set()
        for parent, key in parents:
            known |= set(frames[parent][load_contract(parent).column(key).source].dropna())
        values = frame[field]
        rows = _rows(frame, values.notna() & ~values.isin(known), [field])
        ref_file = FILES[fk.references]
        notices += _notices(
            rows,
            "foreign_key_violation",
            "ERROR",
            file,
            field,
            lambda r, f=field, rf=ref_field, rfile=ref_file: (
                f"{f}={getattr(r, f)!r} is not a {rf} of {rfile}"
            ),
        )
    return notices


def _seconds(raw: pd.Series) -> pd.Series:
    ok = raw.str.fullmatch(TIME_RE).fillna(False).astype(bool)
    parts = raw.where(ok).str.split(":", expand=True)
    if parts.shape[1] != 3:
        return pd.Series(np.nan, index=raw.index)
    return parts[0].astype(float) * 3600 + parts[1].astype(float) * 60 + parts[2].astype(float)


def _stop_time_order(frame: pd.DataFrame) -> list[Notice]:
    """Within a trip, in stop_sequence order: no departure before its arrival, and no arrival
    before the last departure given at an earlier stop."""
    file = FILES["gtfs_stop_time"]
    visits = frame.assign(
        _seq=pd.to_numeric(frame["stop_sequence"], errors="coerce"),
        _arr=_seconds(frame["arrival_time"]),
        _dep=_seconds(frame["departure_time"]),
    ).sort_values(["trip_id", "_seq"], kind="stable")
    notices = _notices(
        _rows(
            visits,
            visits["_dep"] < visits["_arr"],
            ["trip_id", "stop_sequence", "departure_time", "arrival_time"],
        ),
        "stop_time_with_departure_before_arrival_time",
        "ERROR",
        file,
        "departure_time",
        lambda r: (
            f"trip {r.trip_id} stop_sequence {r.stop_sequence}: departs {r.departure_time} "
            f"before it arrives {r.arrival_time}"
        ),
    )
    filled = visits[["_dep", "departure_time"]].groupby(visits["trip_id"], sort=False).ffill()
    shifted = filled.groupby(visits["trip_id"], sort=False).shift()
    visits = visits.assign(_prev=shifted["_dep"], previous_departure=shifted["departure_time"])
    early = visits["_arr"] < visits["_prev"]
    notices += _notices(
        _rows(visits, early, ["trip_id", "stop_sequence", "arrival_time", "previous_departure"]),
        "stop_time_with_arrival_before_previous_departure_time",
        "ERROR",
        file,
        "arrival_time",
        lambda r: (
            f"trip {r.trip_id} stop_sequence {r.stop_sequence}: arrives {r.arrival_time} before "
            f"the previous stop's departure {r.previous_departure}"
        ),
    )
    return notices


def _shape_distance(frame: pd.DataFrame) -> list[Notice]:
    """Along a shape, in shape_pt_sequence order, shape_dist_traveled must increase; an equal
    distance at the same coordinates is only a WARNING (a repeated point)."""
    file = FILES["gtfs_shape"]
    points = frame.assign(
        _seq=pd.to_numeric(frame["shape_pt_sequence"], errors="coerce"),
        _dist=pd.to_numeric(frame["shape_dist_traveled"], errors="coerce"),
    ).sort_values(["shape_id", "_seq"], kind="stable")
    points = points[points["_dist"].notna()]
    grouped = points.groupby("shape_id", sort=False)
    points = points.assign(
        _prev=grouped["_dist"].shift(),
        previous_distance=grouped["shape_dist_traveled"].shift(),
        _same=_equal(grouped["shape_pt_lat"].shift(), points["shape_pt_lat"])
        & _equal(grouped["shape_pt_lon"].shift(), points["shape_pt_lon"]),
    )
    columns = ["shape_id", "shape_pt_sequence", "shape_dist_traveled", "previous_distance"]

    def message(r):
        return (
            f"shape {r.shape_id} point {r.shape_pt_sequence}: shape_dist_traveled {r.shape_dist_traveled} "
            f"after {r.previous_distance}"
        )

    worse = (points["_dist"] < points["_prev"]) | ((points["_dist"] == points["_prev"]) & ~points["_same"])
    repeat = (points["_dist"] == points["_prev"]) & points["_same"]
    return _notices(
        _rows(points, worse, columns),
        "decreasing_or_equal_shape_distance",
        "ERROR",
        file,
        "shape_dist_traveled",
        message,
    ) + _notices(
        _rows(points, repeat, columns),
        "equal_shape_distance_same_coordinates",
        "WARNING",
        file,
        "shape_dist_traveled",
        message,
    )


def _equal(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise equality of two string columns, False where either is missing."""
    return (a == b).fillna(False).astype(bool)


def _expired_calendar(frame: pd.DataFrame, ctx: BatchContext) -> list[Notice]:
    """A service whose calendar ended before the logical date of the batch (not `now()`: a rerun
    of the same day gives the same notices)."""
    end = pd.to_datetime(frame["end_date"], format="%Y%m%d", errors="coerce")
    rows = _rows(frame, end < pd.Timestamp(ctx.logical_date), ["service_id", "end_date"])
    return _notices(
        rows,
        "expired_calendar",
        "WARNING",
        FILES["gtfs_calendar"],
        "end_date",
        lambda r: f"service {r.service_id} ended on {r.end_date}, before {ctx.logical_date.isoformat()}",
    )
