"""The information resource catalogue: one YAML entry per resource in catalog/, plus classes.yaml.

Every table in the lake belongs to exactly one entry ("one data, one source"). Loading the
catalogue validates every entry, the cross-references between entries, and the contracts each
entry names; every problem is reported at once, each naming the file and the field:

    from itlake.catalog.resources import load_catalog
    catalog = load_catalog()
    catalog.get("taxi_gps").update_cycle

Its published part as DCAT-AP / mobilityDCAT-AP metadata is built from it in itlake/catalog/dcat.py.

Pure Python (pydantic and yaml only): Airflow DAG files import this module at parse time.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from itlake.catalog.contracts import (
    Bilingual,
    Contract,
    ContractError,
    Problems,
    display_path,
    format_validation_error,
    load_contract,
    read_yaml,
)
from itlake.config import get_settings

CODE_PATTERN = r"^\d{2}\.\d{2}\.\d{3}$"
# ISO-8601 durations as used for retention: P2Y, P18M, P90D, P1Y6M.
DURATION_PATTERN = r"^P(?=\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"

# The Delta Sharing share of a resource, by its sharing type: 有条件共享 to agencies, 无条件共享 public.
SHARE_BY_TYPE = {"conditional": "agencies", "unconditional": "public"}

FAMILY_BY_CLASS = {
    "01": "infrastructure",
    "02": "freight",
    "03": "mobility",
    "04": "freight",
    "05": "mobility",
    "06": "mobility",
}


class CatalogError(ValueError):
    """The catalogue is invalid; `errors` holds one line per problem, each naming file and field."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CatalogItem(_Strict):
    code: str = Field(pattern=r"^\d{2}$")
    name: Bilingual


class CatalogClass(_Strict):
    """A class of resources (01 infrastructure … 06 mobility services) and its items."""

    code: str = Field(pattern=r"^\d{2}$")
    name: Bilingual
    items: list[CatalogItem] = Field(min_length=1)

    def item(self, code: str) -> CatalogItem:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"class {self.code} has no item {code!r}")


class _ClassesFile(_Strict):
    classes: list[CatalogClass] = Field(min_length=1)


class Provider(_Strict):
    name: str = Field(min_length=1)
    code: str = Field(min_length=1)


class Sharing(_Strict):
    """Sharing with other agencies: 无条件共享 / 有条件共享 / 不予共享."""

    type: Literal["unconditional", "conditional", "none"]
    conditions: str | None = None
    method: list[Literal["download", "api", "delta_sharing"]] = []

    @model_validator(mode="after")
    def _consistent(self) -> Sharing:
        if self.type == "none" and self.method:
            raise Problems([("method", "a resource that is not shared has no sharing method")])
        if self.type != "none" and not self.method:
            raise Problems([("method", f"a resource shared {self.type}ly needs at least one method")])
        if self.type == "conditional" and not self.conditions:
            raise Problems([("conditions", "conditional sharing must state its conditions")])
        return self


class OpenAccess(_Strict):
    """Opening to the public: open / conditional / closed."""

    level: Literal["open", "conditional", "closed"]
    conditions: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OpenAccess:
        if self.level == "conditional" and not self.conditions:
            raise Problems([("conditions", "conditional opening must state its conditions")])
        return self


class SpatialCoverage(_Strict):
    name: str = Field(min_length=1)
    bbox: tuple[float, float, float, float]

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        minlon, minlat, maxlon, maxlat = bbox
        if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
            raise ValueError(f"{list(bbox)} is not [minlon, minlat, maxlon, maxlat] in degrees")
        return bbox


class TemporalCoverage(_Strict):
    start: date
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TemporalCoverage:
        if self.end is not None and self.end < self.start:
            raise Problems([("end", f"{self.end} is before start {self.start}")])
        return self


def _check_duration(value: str) -> str:
    if not re.match(DURATION_PATTERN, value):
        raise ValueError(f"{value!r} is not an ISO-8601 duration such as P2Y or P90D")
    return value


def duration_parts(value: str) -> tuple[int, int, int]:
    """(years, months, days) of an ISO-8601 duration of DURATION_PATTERN; a week is 7 days."""
    years, months, weeks, days = (
        int(part[:-1]) if part else 0 for part in re.match(DURATION_PATTERN, value).groups()
    )
    return years, months, weeks * 7 + days


def before(day: date, duration: str) -> date:
    """The date `duration` before `day`, by the calendar (P1M before 31 March is 28 or 29 February)."""
    import calendar
    from datetime import timedelta

    years, months, days = duration_parts(duration)
    month_index = day.year * 12 + day.month - 1 - years * 12 - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last)) - timedelta(days=days)


def approximate_days(duration: str) -> int:
    """A duration in days, a year as 365 and a month as 30: for comparing two durations."""
    years, months, days = duration_parts(duration)
    return years * 365 + months * 30 + days


class Retention(_Strict):
    """How long each layer keeps a resource's data, as ISO-8601 durations.

    `landing` (the files as received) and `bronze` (their raw records, and the quarantined ones)
    belong to resources with a feed; the table's own layer (`silver`, `gold` or `open`) is always
    given. Raw data is kept no longer than the table made from it. `time_travel` is how far back
    VACUUM leaves older versions of a table readable."""

    landing: str | None = None
    bronze: str | None = None
    silver: str | None = None
    gold: str | None = None
    open: str | None = None
    time_travel: str = "P7D"

    @field_validator("landing", "bronze", "silver", "gold", "open", "time_travel")
    @classmethod
    def _iso_duration(cls, value: str | None) -> str | None:
        return value if value is None else _check_duration(value)

    def of(self, layer: str) -> str | None:
        """The retention of `layer`; quarantine holds raw records, so it keeps bronze's."""
        return getattr(self, "bronze" if layer == "quarantine" else layer, None)


class Contact(_Strict):
    name: str = Field(min_length=1)
    email: str = Field(pattern=EMAIL_PATTERN)


class Poll(_Strict):
    """How `itlake collect` polls a real-time feed (GTFS-Realtime, GBFS): either `url`, the file
    itself, or `discovery`, a GBFS `gbfs.json` whose listed file for this feed is fetched (and
    followed when the publisher moves it, e.g. to a new GBFS version). `interval_s` is the time
    between polls; it may not be shorter than the publisher's `ttl_s`. An auth header, when the
    publisher needs one, is named here and its value read from the environment variable
    `auth_env` at run time, so no secret is written in the catalogue."""

    url: str | None = Field(default=None, pattern=r"^https?://")
    discovery: str | None = Field(default=None, pattern=r"^https?://")
    system_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    interval_s: float = Field(gt=0)
    ttl_s: float = Field(default=0, ge=0)
    timeout_s: float = Field(default=10, gt=0)
    auth_header: str | None = None
    auth_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")

    @model_validator(mode="after")
    def _consistent(self) -> Poll:
        problems: list[tuple[str, str]] = []
        if (self.url is None) == (self.discovery is None):
            problems.append(("url", "give exactly one of url (the file) and discovery (a gbfs.json)"))
        if self.interval_s < self.ttl_s:
            problems.append(
                ("interval_s", f"{self.interval_s} s is shorter than the feed's ttl_s {self.ttl_s} s")
            )
        if (self.auth_header is None) != (self.auth_env is None):
            problems.append(("auth_env", "auth_header and auth_env go together"))
        if problems:
            raise Problems(problems)
        return self


class SourceProfile(_Strict):
    """How one publisher's files map onto the entry's contract, so that another vendor's layout is
    ingested without code (`itlake ingest RESOURCE FILE --profile NAME`).

    `columns` names, per contract column (or its standard source field), the publisher's column that
    holds it; `constants` gives a value for a column the publisher's files leave out; `ignore` lists
    the publisher's columns the contract has no use for. `time_format` and `date_format` are Spark
    datetime patterns (`dd/MM/yyyy HH:mm:ss`); `timezone`, `crs` and `encoding` replace the entry's;
    `units` gives, per column, the unit the publisher writes it in (`m/s` for a `speed_kmh`), which
    ingest converts. `feed_id` names the publisher's feed, the identity every GTFS version and
    GTFS-Realtime message ingested through the profile carries."""

    description: str | None = None
    feed_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    columns: dict[str, str] = {}
    constants: dict[str, str | int | float | bool] = {}
    ignore: list[str] = []
    time_format: str | None = None
    date_format: str | None = None
    timezone: str | None = None
    crs: Literal["WGS-84", "GCJ-02", "BD-09"] | None = None
    encoding: Literal["utf-8", "utf-8-sig", "gbk", "gb18030"] | None = None
    units: dict[str, str] = {}
    _name: str = PrivateAttr(default="")

    @property
    def name(self) -> str:
        """The profile's name in its entry's `profiles`."""
        return self._name

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return value if value is None else _check_zone(value)

    @model_validator(mode="after")
    def _consistent(self) -> SourceProfile:
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            raise Problems([("constants", f"{both} are also mapped in columns; give one or the other")])
        return self

    def constant_text(self) -> dict[str, str]:
        """The constants as the text a file would hold (`true`, not `True`)."""
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.constants.items()}


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone") from None
    return value


# `schema` is the catalogue's own word for the information items; it shadows a deprecated
# BaseModel classmethod, which pydantic warns about once at class creation.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r".*shadows an attribute in parent.*")

    class CatalogEntry(_Strict):
        """One information resource: what it is, who provides it, how it is shared, where it lives."""

        code: str = Field(pattern=CODE_PATTERN)
        name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
        title: Bilingual
        abstract: Bilingual
        class_: str = Field(alias="class", pattern=r"^\d{2}$")
        item: str = Field(pattern=r"^\d{2}$")
        provider: Provider
        format: Literal["csv", "json", "geojson", "zip", "protobuf", "delta", "parquet"]
        feed: str | None
        encoding: Literal["utf-8", "utf-8-sig", "gbk", "gb18030"] = "utf-8"
        crs: Literal["WGS-84", "GCJ-02", "BD-09"] = "WGS-84"
        timezone: str = "Asia/Shanghai"
        schema: list[str] = Field(min_length=1)
        sharing: Sharing
        open: OpenAccess
        update_cycle: Literal["realtime", "5min", "hourly", "daily", "weekly", "monthly", "yearly"]
        security_grade: Literal["general", "important", "core"]
        critical_infrastructure: bool
        licence: str = Field(min_length=1)
        spatial_coverage: SpatialCoverage
        temporal_coverage: TemporalCoverage
        related: list[str] = []
        contact: Contact
        retention: Retention
        layer: Literal["silver", "gold", "open"]
        table: str
        poll: Poll | None = None
        profiles: dict[str, SourceProfile] = {}

        @field_validator("timezone")
        @classmethod
        def _known_zone(cls, value: str) -> str:
            return _check_zone(value)

        @field_validator("profiles")
        @classmethod
        def _profile_names(cls, value: dict[str, SourceProfile]) -> dict[str, SourceProfile]:
            bad = [name for name in value if not re.match(r"^[a-z][a-z0-9_]*$", name)]
            if bad:
                raise ValueError(f"profile names {bad} are not snake_case")
            for name, profile in value.items():
                profile._name = name
            return value

        @field_validator("related")
        @classmethod
        def _related_codes(cls, value: list[str]) -> list[str]:
            bad = [code for code in value if not re.match(CODE_PATTERN, code)]
            if bad:
                raise ValueError(f"{bad} are not resource codes CC.II.NNN")
            return value

        @model_validator(mode="after")
        def _consistent(self) -> CatalogEntry:
            problems: list[tuple[str, str]] = []
            prefix = f"{self.class_}.{self.item}."
            if not self.code.startswith(prefix):
                problems.append(("code", f"{self.code!r} does not start with class.item {prefix!r}"))
            if self.table != f"{self.layer}.{self.name}":
                problems.append(("table", f"{self.table!r} should be '{self.layer}.{self.name}'"))
            if self.feed is None and self.format not in ("delta", "parquet"):
                problems.append(
                    ("feed", f"a derived table (feed null) is delta or parquet, not {self.format}")
                )
            if self.poll is not None and self.feed is None:
                problems.append(("poll", "a derived table (feed null) is not polled"))
            problems += self._retention_problems()
            if self.code in self.related:
                problems.append(("related", "an entry is not related to itself"))
            if len(set(self.related)) != len(self.related):
                problems.append(("related", "lists a code twice"))
            if len(set(self.schema)) != len(self.schema):
                problems.append(("schema", "lists a contract twice"))
            if self.open.level == "open":
                if self.security_grade != "general":
                    problems.append(("open.level", f"a resource graded {self.security_grade} is not open"))
                if self.critical_infrastructure:
                    problems.append(("open.level", "critical infrastructure details are not open"))
            if problems:
                raise Problems(problems)
            return self

        def _retention_problems(self) -> list[tuple[str, str]]:
            kept = self.retention
            problems = []
            for layer in ("silver", "gold", "open"):
                if layer == self.layer and kept.of(layer) is None:
                    problems.append((f"retention.{layer}", f"a {layer} table needs its retention"))
                elif layer != self.layer and kept.of(layer) is not None:
                    problems.append((f"retention.{layer}", f"the entry's table is {self.layer}, not {layer}"))
            for raw in ("landing", "bronze"):
                if self.feed is None and kept.of(raw) is not None:
                    problems.append((f"retention.{raw}", "a derived table (feed null) has no raw data"))
                elif self.feed is not None and kept.of(raw) is None:
                    needed = "a resource with a feed needs its raw data's retention"
                    problems.append((f"retention.{raw}", needed))
                elif self.feed is not None and kept.of(self.layer) is not None:
                    if approximate_days(kept.of(raw)) > approximate_days(kept.of(self.layer)):
                        problems.append(
                            (
                                f"retention.{raw}",
                                f"{kept.of(raw)} is longer than {self.layer} ({kept.of(self.layer)}): raw "
                                "data is kept no longer than the table made from it",
                            )
                        )
            return problems

        def profile(self, name: str) -> SourceProfile:
            """The source profile `name`; a KeyError naming the profiles the entry has."""
            if name not in self.profiles:
                known = ", ".join(self.profiles) or "none"
                raise KeyError(f"{self.name} has no source profile {name!r}; its profiles: {known}")
            return self.profiles[name]

        def feed_id(self, profile: SourceProfile | None = None) -> str:
            """The identity of the publisher's feed: the profile's `feed_id`, else the provider's code."""
            return (profile.feed_id if profile is not None else None) or self.provider.code

        @property
        def family(self) -> str:
            """The DAG family: infrastructure (01), freight (02, 04) or mobility (03, 05, 06)."""
            return FAMILY_BY_CLASS[self.class_]

        @property
        def is_published(self) -> bool:
            """True when the resource leaves the lake at all: open to the public or shared."""
            return self.open.level != "closed" or self.sharing.type != "none"


class Catalog:
    """The validated catalogue: entries sorted by code, and the classes they belong to."""

    def __init__(self, entries: list[CatalogEntry], classes: dict[str, CatalogClass]):
        self.entries: list[CatalogEntry] = sorted(entries, key=lambda e: e.code)
        self.classes: dict[str, CatalogClass] = classes
        self._index: dict[str, CatalogEntry] = {}
        for entry in self.entries:
            self._index[entry.code] = entry
            self._index[entry.name] = entry
            self._index[entry.table] = entry
            for contract_name in entry.schema:
                self._index.setdefault(f"{entry.layer}.{contract_name}", entry)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, code_or_name: str) -> CatalogEntry:
        """The entry with this code, name or table: ``03.02.001``, ``taxi_gps``, ``silver.taxi_gps``,
        or a table of a multi-table entry such as ``silver.gtfs_stop``."""
        try:
            return self._index[code_or_name]
        except KeyError:
            close = difflib.get_close_matches(code_or_name, list(self._index), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no catalogue entry {code_or_name!r}{hint}") from None

    def feeds(self) -> list[CatalogEntry]:
        """Entries ingested from a feed (derived tables have feed null)."""
        return [e for e in self.entries if e.feed is not None]

    def with_derived(self, codes: set[str]) -> set[str]:
        """`codes` and every derived resource whose `related` sources are among them, followed to
        the end (data derived from synthetic data is synthetic)."""
        codes = set(codes)
        while True:
            derived = {e.code for e in self.entries if not e.feed and codes.intersection(e.related)}
            if derived <= codes:
                return codes
            codes |= derived

    def by_contract(self, contract_name: str) -> CatalogEntry:
        """The one entry whose schema lists this contract."""
        for entry in self.entries:
            if contract_name in entry.schema:
                return entry
        raise KeyError(f"no catalogue entry lists the contract {contract_name!r}")


_UNREADABLE = object()


def _read_yaml(path: Path, errors: list[str]) -> Any:
    """The parsed file, or _UNREADABLE after appending the reason to `errors`."""
    try:
        return read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        errors.append(f"{display_path(path)}: not valid YAML: {exc}")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{display_path(path)}: cannot read: {exc}")
    return _UNREADABLE


def _load_classes(path: Path, errors: list[str]) -> dict[str, CatalogClass]:
    where = display_path(path)
    raw = _read_yaml(path, errors)
    if raw is _UNREADABLE:
        return {}
    try:
        parsed = _ClassesFile.model_validate(raw)
    except ValidationError as exc:
        errors.extend(format_validation_error(exc, where))
        return {}
    classes: dict[str, CatalogClass] = {}
    for i, cls in enumerate(parsed.classes):
        if cls.code in classes:
            errors.append(f"{where}: classes[{i}].code: {cls.code!r} is defined twice")
        classes[cls.code] = cls
    return classes


def _check_entry(
    entry: CatalogEntry,
    path: Path,
    classes: dict[str, CatalogClass],
    schema_dir: Path,
) -> tuple[list[str], dict[str, Contract]]:
    """Checks of one entry against classes.yaml, its file name and its contracts."""
    where = display_path(path)
    errors: list[str] = []
    expected_file = f"{entry.code}_{entry.name}.yaml"
    if path.name != expected_file:
        errors.append(f"{where}: code: the file of entry {entry.code} {entry.name} is named {expected_file}")
    cls = classes.get(entry.class_)
    if cls is None:
        errors.append(f"{where}: class: {entry.class_!r} is not one of {', '.join(classes)}")
    elif entry.item not in {i.code for i in cls.items}:
        items = ", ".join(i.code for i in cls.items)
        errors.append(f"{where}: item: {entry.item!r} is not an item of class {entry.class_} ({items})")
    contracts: dict[str, Contract] = {}
    for i, name in enumerate(entry.schema):
        try:
            contract = load_contract(name, schema_dir)
        except ContractError as exc:
            first, *rest = str(exc).splitlines()
            errors.append(f"{where}: schema[{i}]: {first}" + "".join(f"\n    {line}" for line in rest))
            continue
        contracts[name] = contract
        if contract.layer != entry.layer:
            errors.append(
                f"{where}: schema[{i}]: contract {name} is a {contract.layer} table, "
                f"the entry is {entry.layer}"
            )
        refused = contract.pii_columns("direct")
        if refused and entry.is_published:
            errors.append(
                f"{where}: schema[{i}]: published resource has direct/biometric PII columns {refused}"
            )
        personal = contract.pii_columns("indirect")
        if personal and entry.open.level == "open":
            errors.append(f"{where}: open.level: open resource has PII columns {personal} in {name}")
    for name, profile in entry.profiles.items():
        errors += [f"{where}: profiles.{name}.{p}" for p in profile_problems(profile, contracts.values())]
    if len(entry.schema) == 1 and entry.schema[0] != entry.name:
        errors.append(
            f"{where}: schema[0]: the one contract of entry {entry.name} must be named {entry.name}"
        )
    return errors, contracts


def profile_problems(profile: SourceProfile, contracts) -> list[str]:
    """What in a profile does not fit the entry's contracts: keys that name no column read from the
    file, and units that cannot be converted to the column's unit."""
    from itlake.catalog.units import UnitError, column_unit, factor

    sourced = {}
    for contract in contracts:
        for column in contract.columns:
            if column.source:
                sourced[column.name] = sourced[column.source] = column
    problems = []
    for part in ("columns", "constants", "units"):
        for key in getattr(profile, part):
            if key not in sourced:
                problems.append(f"{part}.{key}: no column of the contract is read from a field {key!r}")
    for key, unit in profile.units.items():
        column = sourced.get(key)
        if column is None:
            continue
        target = column_unit(column.name, column.unit)
        if target is None:
            problems.append(f"units.{key}: column {column.name} has no unit to convert {unit} to")
            continue
        try:
            factor(unit, target)
        except UnitError as err:
            problems.append(f"units.{key}: {err}")
    return problems


def load_catalog(catalog_dir: Path | None = None, schema_dir: Path | None = None) -> Catalog:
    """Load and validate the whole catalogue; raises CatalogError listing every problem found."""
    settings = get_settings()
    catalog_dir = Path(catalog_dir) if catalog_dir is not None else settings.catalog_dir
    schema_dir = Path(schema_dir) if schema_dir is not None else settings.schema_dir
    errors: list[str] = []
    classes_path = catalog_dir / "classes.yaml"
    if not classes_path.exists():
        errors.append(f"{display_path(classes_path)}: missing; it defines the classes and items")
    classes = _load_classes(classes_path, errors) if classes_path.exists() else {}

    entries: list[tuple[CatalogEntry, Path]] = []
    # Codes of every file, even one that fails to parse, so its failure is reported once and not
    # again as an unknown code in the entries that relate to it.
    all_codes: set[str] = set()
    for path in sorted(catalog_dir.glob("*.yaml")):
        if path.name == "classes.yaml":
            continue
        where = display_path(path)
        raw = _read_yaml(path, errors)
        if raw is _UNREADABLE:
            continue
        if not isinstance(raw, dict):
            errors.append(f"{where}: an entry is a mapping of fields, not {type(raw).__name__}")
            continue
        all_codes.add(str(raw.get("code")))
        try:
            entries.append((CatalogEntry.model_validate(raw), path))
        except ValidationError as exc:
            errors.extend(format_validation_error(exc, where))

    claimed: dict[str, str] = {}
    by_code: dict[str, Path] = {}
    by_name: dict[str, Path] = {}
    for entry, path in entries:
        where = display_path(path)
        if entry.code in by_code:
            errors.append(
                f"{where}: code: {entry.code!r} is also the code of {display_path(by_code[entry.code])}"
            )
        by_code.setdefault(entry.code, path)
        if entry.name in by_name:
            errors.append(
                f"{where}: name: {entry.name!r} is also the name of {display_path(by_name[entry.name])}"
            )
        by_name.setdefault(entry.name, path)
        entry_errors, contracts = _check_entry(entry, path, classes, schema_dir)
        errors.extend(entry_errors)
        for name in contracts:
            if name in claimed and claimed[name] != entry.code:
                errors.append(f"{where}: schema: contract {name} already belongs to entry {claimed[name]}")
            claimed.setdefault(name, entry.code)
    for entry, path in entries:
        for i, code in enumerate(entry.related):
            if code not in all_codes:
                errors.append(f"{display_path(path)}: related[{i}]: no entry has the code {code!r}")
    if errors:
        raise CatalogError(errors)
    return Catalog([e for e, _ in entries], classes)
