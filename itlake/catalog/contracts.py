"""Data contracts: one YAML file per dataset in schemas/, turned into Spark and pyarrow schemas.

A contract states the grain of a table in one sentence, its primary and foreign keys, the row
invariants, and per column the type, nullability, PII class, unit, allowed range or values and a
bilingual description. Every other stage derives its schema from here; nothing infers one.

    from itlake.catalog.contracts import load_contract
    gps = load_contract("taxi_gps")
    gps.spark_schema(), gps.arrow_schema(), gps.source_map

Pure Python at import time: Airflow DAG files import this module, so pyspark and pyarrow are
imported inside the methods that need them.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from itertools import takewhile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from itlake.config import REPO_ROOT, get_settings

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql.types import StructType

ColumnType = Literal["string", "int", "long", "double", "boolean", "date", "timestamp", "binary"]
PiiClass = Literal["none", "indirect", "direct", "biometric"]
Layer = Literal["landing", "bronze", "silver", "gold", "open"]
GeometryType = Literal["Point", "LineString", "Polygon", "MultiPolygon"]

# Ordered from least to most sensitive; `Contract.pii_columns` relies on the order.
PII_ORDER: tuple[str, ...] = ("none", "indirect", "direct", "biometric")
NUMERIC_TYPES = frozenset({"int", "long", "double"})
SNAKE_CASE = r"^[a-z][a-z0-9_]*$"


class ContractError(ValueError):
    """A contract file is missing or invalid; the message names the file and the field."""


class SchemaMismatchError(ValueError):
    """A table's columns differ from its contract; lists the missing and the unexpected ones."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str]):
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected


class Problems(ValueError):
    """Several problems found by one validator, each as (field path, message).

    Raised inside pydantic validators so that `format_validation_error` can prefix each problem
    with the location of the model that raised it (``columns[3].crs: ...``).
    """

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))
        self.problems = problems


def _loc(parts: tuple[int | str, ...] | list[int | str]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _join(*paths: str) -> str:
    return ".".join(p for p in paths if p).replace(".[", "[")


def format_validation_error(exc: ValidationError, where: str) -> list[str]:
    """One line per error, ``<where>: <field path>: <message>``, readable by a person editing YAML."""
    lines: list[str] = []
    for err in exc.errors():
        loc = _loc(err["loc"])
        ctx = err.get("ctx") or {}
        original = ctx.get("error")
        if isinstance(original, Problems):
            for path, msg in original.problems:
                lines.append(f"{where}: {_join(loc, path)}: {msg}")
            continue
        kind = err["type"]
        value = err.get("input")
        if kind in ("literal_error", "enum"):
            allowed = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
            msg = f"{value!r} is not one of {allowed}"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "string_pattern_mismatch":
            msg = f"{value!r} does not match {ctx.get('pattern')}"
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        else:
            msg = f"{err['msg']} (got {value!r})"
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return lines


def display_path(path: Path) -> str:
    """A path as people read it in messages: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """A text in Chinese and English; both are required, and no other key is allowed."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _comma_hint(cls, data: object) -> object:
        # In a flow mapping `{zh: 经度, en: Longitude, WGS-84}` an unquoted comma ends the text and
        # `WGS-84` becomes a key with no value: name it and show the quoted text.
        if isinstance(data, dict):
            keys = list(data)
            for i, key in enumerate(keys[1:], 1):
                if key not in ("zh", "en") and data[key] is None:
                    rest = takewhile(lambda k: k not in ("zh", "en") and data[k] is None, keys[i:])
                    whole = ", ".join(map(str, [data[keys[i - 1]], *rest]))
                    raise ValueError(
                        f"unexpected key {key!r} — a text with a comma must be quoted: "
                        f'{keys[i - 1]}: "{whole}"'
                    )
        return data


class Column(_Strict):
    """One column of a contract."""

    name: str = Field(pattern=SNAKE_CASE)
    type: ColumnType
    nullable: bool = True
    pii: PiiClass = "none"
    source: str | None = None
    unit: str | None = None
    range: tuple[int | float, int | float] | None = None
    allowed: list[str | int | float | bool] | None = None
    pattern: str | None = None
    geometry: GeometryType | None = None
    crs: str | None = None
    description: Bilingual

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        problems: list[tuple[str, str]] = []
        if self.geometry is not None:
            if self.type != "binary":
                problems.append(
                    ("type", f"a geometry column holds WKB, so its type is binary, not {self.type}")
                )
            if not self.crs:
                problems.append(("crs", "required when geometry is set"))
        elif self.crs is not None:
            problems.append(("crs", "only geometry columns carry a crs"))
        if self.range is not None:
            if self.type not in NUMERIC_TYPES:
                problems.append(("range", f"only numeric columns have a range, not {self.type}"))
            elif self.range[0] > self.range[1]:
                problems.append(("range", f"minimum {self.range[0]} is above maximum {self.range[1]}"))
        if self.pattern is not None and self.type != "string":
            problems.append(("pattern", f"only string columns have a pattern, not {self.type}"))
        if self.allowed is not None and not self.allowed:
            problems.append(("allowed", "an empty list allows nothing"))
        if problems:
            raise Problems(problems)
        return self


class ForeignKey(_Strict):
    """Columns of this table that reference the key of another contract."""

    columns: list[str] = Field(min_length=1)
    references: str = Field(pattern=SNAKE_CASE)
    ref_columns: list[str] = Field(min_length=1)


class Invariant(_Strict):
    """A Spark SQL boolean expression that every row must satisfy."""

    name: str = Field(pattern=SNAKE_CASE)
    sql: str = Field(min_length=1)


class Contract(_Strict):
    """The contract of one dataset: grain, keys, invariants and columns."""

    name: str = Field(pattern=SNAKE_CASE)
    title: Bilingual
    grain: str = Field(min_length=1)
    layer: Layer
    primary_key: list[str] = Field(min_length=1)
    foreign_keys: list[ForeignKey] = []
    partition_by: list[str] = []
    quarantine_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    invariants: list[Invariant] = []
    columns: list[Column] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys_exist(self) -> Contract:
        problems: list[tuple[str, str]] = []
        names = [c.name for c in self.columns]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                problems.append((f"columns[{i}].name", f"{name!r} is defined twice"))
            seen.add(name)
        by_name = {c.name: c for c in self.columns}
        for i, col in enumerate(self.primary_key):
            if col not in by_name:
                problems.append((f"primary_key[{i}]", f"{col!r} is not a column"))
            elif by_name[col].nullable:
                problems.append((f"primary_key[{i}]", f"key column {col!r} must be nullable: false"))
        for i, col in enumerate(self.partition_by):
            if col not in by_name:
                problems.append((f"partition_by[{i}]", f"{col!r} is not a column"))
        for i, fk in enumerate(self.foreign_keys):
            for j, col in enumerate(fk.columns):
                if col not in by_name:
                    problems.append((f"foreign_keys[{i}].columns[{j}]", f"{col!r} is not a column"))
            if len(fk.columns) != len(fk.ref_columns):
                problems.append(
                    (f"foreign_keys[{i}].ref_columns", f"{len(fk.ref_columns)} columns for {len(fk.columns)}")
                )
        inv_seen: set[str] = set()
        for i, inv in enumerate(self.invariants):
            if inv.name in inv_seen:
                problems.append((f"invariants[{i}].name", f"{inv.name!r} is defined twice"))
            inv_seen.add(inv.name)
        if problems:
            raise Problems(problems)
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        close = difflib.get_close_matches(name, self.column_names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"contract {self.name} has no column {name!r}{hint}")

    @property
    def source_map(self) -> dict[str, str]:
        """Raw feed field -> column name, for the columns read straight from the feed."""
        return {c.source: c.name for c in self.columns if c.source is not None}

    def pii_columns(self, level: str = "indirect", *, exact: bool = False) -> list[str]:
        """Columns whose PII class is `level` or more sensitive (only `level` when `exact`)."""
        if level not in PII_ORDER:
            raise ValueError(f"pii level {level!r} is not one of {', '.join(PII_ORDER)}")
        floor = PII_ORDER.index(level)
        if exact:
            return [c.name for c in self.columns if c.pii == level]
        return [c.name for c in self.columns if PII_ORDER.index(c.pii) >= floor]

    def spark_schema(self) -> StructType:
        """The Spark schema, columns in contract order; timestamps are TimestampType (UTC)."""
        from pyspark.sql import types as T

        spark_types = {
            "string": T.StringType(),
            "int": T.IntegerType(),
            "long": T.LongType(),
            "double": T.DoubleType(),
            "boolean": T.BooleanType(),
            "date": T.DateType(),
            "timestamp": T.TimestampType(),
            "binary": T.BinaryType(),
        }
        return T.StructType([T.StructField(c.name, spark_types[c.type], c.nullable) for c in self.columns])

    def arrow_schema(self) -> pa.Schema:
        """The pyarrow schema; geometry columns carry their CRS and geometry type as field metadata."""
        import pyarrow as pa

        arrow_types = {
            "string": pa.string(),
            "int": pa.int32(),
            "long": pa.int64(),
            "double": pa.float64(),
            "boolean": pa.bool_(),
            "date": pa.date32(),
            "timestamp": pa.timestamp("us", tz="UTC"),
            "binary": pa.binary(),
        }
        fields = []
        for c in self.columns:
            metadata = None
            if c.geometry is not None:
                metadata = {"encoding": "WKB", "geometry": c.geometry, "crs": c.crs or ""}
            fields.append(pa.field(c.name, arrow_types[c.type], nullable=c.nullable, metadata=metadata))
        return pa.schema(fields)


def check_columns(actual: list[str], contract: Contract, *, where: str) -> None:
    """Raise SchemaMismatchError unless `actual` has exactly the contract's columns.

    Order is not checked. Columns starting with ``_`` are lineage columns (``_batch_id`` …) and are
    ignored on both sides.
    """
    wanted = [c for c in contract.column_names if not c.startswith("_")]
    got = [c for c in actual if not c.startswith("_")]
    missing = [c for c in wanted if c not in set(got)]
    unexpected = [c for c in got if c not in set(wanted)]
    if missing or unexpected:
        raise SchemaMismatchError(
            f"{where}: columns do not match contract {contract.name}: "
            f"missing {missing or 'none'}; unexpected {unexpected or 'none'}",
            missing,
            unexpected,
        )


def _schema_dir(schema_dir: Path | None) -> Path:
    return Path(schema_dir) if schema_dir is not None else get_settings().schema_dir


# libyaml's parser when PyYAML was built with it: the catalogue and its 57 contracts then load in a
# tenth of the time, which every command that checks a name before starting Spark pays.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str):
    """Parse YAML text with the safe loader (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_YAML_LOADER)


def parse_contract(path: Path) -> Contract:
    """Read and validate one contract file; the file's stem must be the contract's name."""
    where = display_path(path)
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContractError(f"{where}: no such contract file") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: a contract is a mapping, not {type(raw).__name__}")
    try:
        contract = Contract.model_validate(raw)
    except ValidationError as exc:
        raise ContractError("\n".join(format_validation_error(exc, where))) from None
    if contract.name != path.stem:
        raise ContractError(f"{where}: name: {contract.name!r} differs from the file name {path.stem!r}")
    return contract


def _contract_path(schema_dir: Path, name: str) -> Path:
    path = schema_dir / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in schema_dir.glob("*.yaml"))
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ContractError(f"{display_path(path)}: no contract named {name!r}{hint}")
    return path


@lru_cache(maxsize=256)
def _load_cached(schema_dir: Path, name: str) -> Contract:
    return parse_contract(_contract_path(schema_dir, name))


def load_contract(name: str, schema_dir: Path | None = None) -> Contract:
    """The contract `name` from `schema_dir` (default: the settings' schema_dir), cached."""
    return _load_cached(_schema_dir(schema_dir).resolve(), name)


load_contract.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


def load_contracts(schema_dir: Path | None = None) -> dict[str, Contract]:
    """Every contract in `schema_dir`, by name; raises one ContractError listing every bad file."""
    directory = _schema_dir(schema_dir).resolve()
    contracts: dict[str, Contract] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            contracts[path.stem] = load_contract(path.stem, directory)
        except ContractError as exc:
            errors.append(str(exc))
    if errors:
        raise ContractError("\n".join(errors))
    return contracts
