"""The security scan inside the lake: personal data kept past its retention, and the pseudonym key
where it must never be, in logs and in query plans.

    itlake security scan              # also runs these checks (itlake/cli/security.py)

    from itlake.privacy.security_scan import scan_lake
    scan_lake(load_catalog(), date(2026, 12, 7), key, spark=get_spark())    # spark=None: no plans

Three checks, each a list of findings (where, what):
- retention: landing files and bronze or quarantined rows with personal data past the catalogue's
  retention on the day, as the maintenance DAG counts them (itlake/lake/maintenance.py,
  `overdue_personal_data`);
- logs: every file of Airflow's task logs ($AIRFLOW_HOME/logs, or Airflow's base log folder, and
  $AIRFLOW_HOME/demo-logs of `itlake demo run`), the engine's log (itlake/lake/engine.py) and Spark's
  event logs when ITLAKE_SPARK_EVENT_LOG_DIR is set, searched for the key and for the key XOR ipad
  and XOR opad in every form a log could write them (itlake/privacy/pseudonyms.py, `key_forms`);
- plans: the extended plan (parsed, analysed, optimised and physical) of every pseudonymised column
  of the catalogue, as its feed computes it, searched the same way.

A finding names the place and the form, never the key or the value found.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlparse

from itlake.catalog.contracts import load_contract
from itlake.catalog.resources import Catalog
from itlake.config import Settings, get_settings
from itlake.lake.maintenance import overdue_personal_data
from itlake.privacy.pseudonyms import hmac_sha256_col, key_forms, key_forms_in

CHUNK_BYTES = 8 * 1024 * 1024
# Spark compresses event logs with zstd (the default codec); other codecs are counted as not read.
ZSTD_SUFFIXES = (".zstd", ".zst")
UNREAD_SUFFIXES = (".lz4", ".lzf", ".snappy")
Advance = Callable[[int], None]


@dataclass(frozen=True)
class LakeFinding:
    """One place that holds what it must not: `kind` is "past retention", "key in log" or "key in plan"."""

    kind: str
    where: str
    detail: str


@dataclass
class LakeScan:
    findings: list[LakeFinding] = field(default_factory=list)
    logs: int = 0
    plans: int = 0
    not_read: list[str] = field(default_factory=list)
    day: date | None = None

    @property
    def clean(self) -> bool:
        return not self.findings


def retention_findings(catalog: Catalog, day: date) -> list[LakeFinding]:
    return [
        LakeFinding(
            "past retention",
            item.where,
            f"{item.count:,} {item.unit if item.count != 1 else item.unit.removesuffix('s')} from before "
            f"{item.cutoff} ({item.code} keeps {item.retention})",
        )
        for item in overdue_personal_data(catalog, day)
    ]


def _local(location: str) -> Path | None:
    """A local folder from a path or a file: URI; None for a remote store, which is not read here."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else location)
    return None


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def log_files(settings: Settings | None = None) -> tuple[dict[str, list[Path]], list[str]]:
    """{what: files} of every log the scan reads, and the log locations it cannot read."""
    from itlake.lake.engine import log_path

    settings = settings or get_settings()
    airflow = dict.fromkeys([settings.airflow_log_dir, settings.airflow_home / "demo-logs"])
    logs = {
        "airflow task log": [p for folder in airflow for p in _files_under(folder)],
        "engine log": [p for p in [log_path()] if p.is_file()],
    }
    not_read = []
    if settings.spark_event_log_dir:
        folder = _local(settings.spark_event_log_dir)
        if folder is None:
            not_read.append(settings.spark_event_log_dir)
        else:
            logs["spark event log"] = _files_under(folder)
    return logs, not_read


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[io.BufferedIOBase]:
    with path.open("rb") as raw:
        if path.suffix in ZSTD_SUFFIXES:
            import zstandard

            with zstandard.ZstdDecompressor().stream_reader(raw) as decompressed:
                yield decompressed
        else:
            yield raw


def key_forms_in_file(path: Path, forms: dict[str, bytes]) -> list[str]:
    """The forms of the key found in a file, read in chunks that overlap by the longest form, so
    that a form across two chunks is found and a large event log is never held whole."""
    overlap = max(len(form) for form in forms.values())
    found: set[str] = set()
    tail = b""
    with _opened(path) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            data = tail + chunk
            found.update(key_forms_in(data, forms))
            tail = data[-overlap:]
    return [name for name in forms if name in found]


def scan_logs(
    logs: dict[str, list[Path]], forms: dict[str, bytes], report: LakeScan, advance: Advance | None = None
) -> None:
    for kind, files in logs.items():
        for path in files:
            if path.suffix in UNREAD_SUFFIXES:
                report.not_read.append(str(path))
            else:
                report.logs += 1
                for name in key_forms_in_file(path, forms):
                    report.findings.append(LakeFinding("key in log", str(path), f"{kind} holds the {name}"))
            if advance is not None:
                advance(1)


def pseudonymised_columns(catalog: Catalog) -> list[tuple[str, str, str]]:
    """(contract, column, the raw field it is computed from) of every column a feed pseudonymises:
    the columns of a feed's contracts with personal data, which silver holds as keyed HMACs."""
    columns = []
    for entry in catalog.feeds():
        for name in entry.schema:
            contract = load_contract(name)
            for column in contract.pii_columns("indirect"):
                source = contract.column(column).source or column
                columns.append((name, column, source))
    return columns


def explained(frame) -> str:
    """The text of `explain(extended=True)`: the plans a Spark UI, an event log or an error shows."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        frame.explain(extended=True)
    return buffer.getvalue()


def pseudonym_plan(spark, source: str, column: str, key: bytes):
    """The query that computes pseudonym `column` from the raw field `source`, as the feeds do."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    raw = spark.createDataFrame([("",)], T.StructType([T.StructField(source, T.StringType())]))
    return raw.select(hmac_sha256_col(F.col(f"`{source}`"), key).alias(column))


def scan_plans(
    spark,
    columns: list[tuple[str, str, str]],
    key: bytes,
    report: LakeScan,
    advance: Advance | None = None,
) -> None:
    """The extended plan of every pseudonymised column, searched for the key's forms."""
    forms = key_forms(key)
    for contract, column, source in columns:
        text = explained(pseudonym_plan(spark, source, column, key))
        report.plans += 1
        for name in key_forms_in(text.encode("utf-8"), forms):
            where = f"{contract}.{column}"
            report.findings.append(LakeFinding("key in plan", where, f"explain extended holds the {name}"))
        if advance is not None:
            advance(1)


def scan_steps(catalog: Catalog, *, plans: bool) -> int:
    """How many steps `scan_lake` reports to `advance`: one per log file, and per plan when asked."""
    logs, _ = log_files()
    return sum(len(files) for files in logs.values()) + (len(pseudonymised_columns(catalog)) if plans else 0)


def scan_lake(
    catalog: Catalog, day: date, key: bytes, *, spark=None, advance: Advance | None = None
) -> LakeScan:
    """Retention, logs and (with a session) plans; see the module's docstring. `advance(1)` is
    called after each log file and each plan (a progress bar)."""
    report = LakeScan(findings=retention_findings(catalog, day), day=day)
    logs, report.not_read = log_files()
    scan_logs(logs, key_forms(key), report, advance)
    if spark is not None:
        scan_plans(spark, pseudonymised_columns(catalog), key, report, advance)
    return report
