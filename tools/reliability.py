"""The bad-input corpus run through the ingest flow: clear errors, reasons, and no row lost.

    make reliability                         # every case of tests/fixtures/bad/cases.yaml, in a fresh lake
    python -m tools.reliability [CASES.yaml]

Each case of the manifest names a file, the catalogue entry that ingests it, the options it is
declared with (an encoding, CRS or time zone other than the entry's), and what must happen:
`refused` (the file is refused whole, before bronze), `batch_refused` (read, then every row held
in quarantine) or `promoted`; the parts the message must contain; the ledger counts; and the
quarantine rows expected by row number, rule and reason. After each case the runner checks:

- the outcome, the message and the quarantine rows are the expected ones, and every quarantine
  row names its file, row and rule;
- the ledger reconciles, and the tables agree with it: the batch's rows in bronze = rows read =
  its rows in silver + duplicates + its rows in quarantine (the difference is "lost", must be 0);
- nothing else in the lake changed: every Delta table other than the case's own bronze,
  quarantine (and, when promoted, silver) tables and the `_system` tables keeps its version.

Cases share one lake (a Delta write costs seconds), which the version snapshots make safe.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from itlake.lake.root import default_lake, use_lake

# The corpus lives with the tests of the checkout this tool runs from.
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bad"
OUTCOMES = ("refused", "batch_refused", "promoted")


@dataclass(frozen=True)
class Case:
    id: str
    file: Path
    feed: str
    covers: str
    declared: dict
    outcome: str
    message: tuple[str, ...] = ()
    rows: dict | None = None
    quarantine: tuple[dict, ...] = ()
    crs_check: str | None = None


@dataclass
class CaseResult:
    case: Case
    outcome: str = ""
    message: str = ""
    read: int = 0
    promoted: int = 0
    duplicate: int = 0
    quarantined: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def load_cases(path: Path = CORPUS / "cases.yaml") -> tuple[date, list[Case], list[Case]]:
    """(logical date, setup ingests, cases) of a manifest; files are relative to the manifest."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))

    def case(item: dict) -> Case:
        expect = item.get("expect", {"outcome": "promoted"})
        if expect["outcome"] not in OUTCOMES:
            raise ValueError(f"{path}: case {item['id']}: outcome must be one of {OUTCOMES}")
        return Case(
            id=item["id"],
            file=(path.parent / item["file"]).resolve(),
            feed=item["feed"],
            covers=item.get("covers", ""),
            declared=item.get("declared", {}),
            outcome=expect["outcome"],
            message=tuple(expect.get("message", ())),
            rows=expect.get("rows"),
            quarantine=tuple(expect.get("quarantine", ())),
            crs_check=expect.get("crs_check"),
        )

    setup = [case({"id": f"setup:{s['feed']}", **s}) for s in doc.get("setup", [])]
    return date.fromisoformat(str(doc["logical_date"])), setup, [case(c) for c in doc["cases"]]


def table_versions(root: Path) -> dict[str, int]:
    """Every Delta table under the lake root (as layer/name) with its latest commit version."""
    versions = {}
    for log in root.glob("*/*/_delta_log"):
        commits = [int(p.stem) for p in log.glob("*.json") if p.stem.isdigit()]
        if commits:
            versions[log.parent.relative_to(root).as_posix()] = max(commits)
    return versions


def _batch_rows(path: Path, batch_id: str) -> list[dict]:
    """The rows of one batch in a Delta table (JVM-free); none when the table does not exist."""
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    if not (path / "_delta_log").is_dir():
        return []
    dataset = DeltaTable(str(path)).to_pyarrow_dataset()
    return dataset.to_table(filter=ds.field("_batch_id") == batch_id).to_pylist()


def run_case(spark, case: Case, logical_date: date) -> CaseResult:
    """Ingest one case and check it (see the module docstring); never raises for a failed check."""
    from itlake.catalog.contracts import load_contract
    from itlake.catalog.resources import load_catalog
    from itlake.feeds import FeedError, get_feed
    from itlake.ingest.checksums import file_sha256
    from itlake.ingest.flow import BatchRefusedError, ingest_file
    from itlake.lake.system import read_system

    result = CaseResult(case)
    root = Path(default_lake().root)
    entry = load_catalog().get(case.feed)
    entry = entry.model_copy(update=case.declared) if case.declared else entry
    contracts = get_feed(entry.feed).contracts
    batch_id = f"{entry.name}-{file_sha256(case.file)[:16]}"
    before = table_versions(root)
    try:
        ingest_file(spark, entry, case.file, logical_date)
        result.outcome = "promoted"
    except FeedError as err:
        result.outcome, result.message = "refused", str(err)
    except BatchRefusedError as err:
        result.outcome, result.message = "batch_refused", str(err)
    except Exception as err:  # an unclear crash is what the corpus is here to find
        result.outcome, result.message = "crashed", f"{type(err).__name__}: {err}"
        result.problems.append(f"crashed instead of a clear error: {result.message[:300]}")
        return result

    ledger = read_system(spark, "ingest_ledger").where(f"batch_id = '{batch_id}'").collect()
    last = [r for r in ledger if r.started_at == max(x.started_at for x in ledger)] if ledger else []
    if not last:
        result.problems.append("no ledger row for the batch")
    if not result.message:
        result.message = "; ".join(r.message for r in last if r.message)
    for r in last:
        result.read += r.rows_read
        result.promoted += r.rows_promoted
        result.duplicate += r.rows_duplicate
        result.quarantined += r.rows_quarantined
        if r.rows_read != r.rows_promoted + r.rows_duplicate + r.rows_quarantined:
            result.problems.append(f"ledger row of {r.table} does not reconcile")

    quarantined = []
    for name in contracts:
        layer = load_contract(name).layer
        bronze = len(_batch_rows(root / "bronze" / name, batch_id))
        silver = len(_batch_rows(root / layer / name, batch_id))
        held = _batch_rows(root / "quarantine" / name, batch_id)
        quarantined += held
        counted = [r for r in last if r.table == name]
        duplicate = sum(r.rows_duplicate for r in counted)
        read = sum(r.rows_read for r in counted)
        # A row equal to one already in silver leaves that row (and its batch id) as it was.
        unchanged = sum(r.rows_unchanged or 0 for r in counted)
        result.lost += bronze - (silver + unchanged + duplicate + len(held))
        if bronze != read:
            result.problems.append(f"{name}: {bronze} rows of the batch in bronze, the ledger read {read}")
        if silver + unchanged != sum(r.rows_promoted for r in counted):
            result.problems.append(f"{name}: {silver} rows of the batch in {layer}, not what the ledger says")
    if result.lost:
        result.problems.append(f"{result.lost} rows lost without a reason")

    _check_expectations(result, quarantined)
    if case.crs_check:
        from itlake.quality.crs_offset import check_declared_crs

        offset = check_declared_crs(spark, contracts[0], batch_id)
        result.message = f"{offset.verdict}: {offset.detail}"
        if offset.verdict != case.crs_check:
            result.problems.append(f"CRS check says {offset.verdict}, expected {case.crs_check}")

    # A file's tables are promoted one by one (waybill legs may land while their waybills are held).
    allowed = {f"{layer}/{name}" for name in contracts for layer in ("bronze", "quarantine")}
    allowed |= {f"{load_contract(r.table).layer}/{r.table}" for r in last if r.status == "promoted"}
    after = table_versions(root)
    changed = sorted(
        t for t in set(before) | set(after) if before.get(t) != after.get(t) and not t.startswith("_system/")
    )
    if unexpected := [t for t in changed if t not in allowed]:
        result.problems.append(f"other tables changed: {', '.join(unexpected)}")
    return result


def _check_expectations(result: CaseResult, quarantined: list[dict]) -> None:
    case = result.case
    if result.outcome != case.outcome:
        result.problems.append(f"outcome {result.outcome}, expected {case.outcome}")
    for part in case.message:
        if part not in result.message:
            result.problems.append(f"message lacks {part!r}: {result.message[:300]}")
    if case.rows is not None:
        got = {
            "read": result.read,
            "promoted": result.promoted,
            "duplicate": result.duplicate,
            "quarantined": result.quarantined,
        }
        if {k: got[k] for k in case.rows} != case.rows:
            result.problems.append(f"rows {got}, expected {case.rows}")
    for row in quarantined:
        if row["_source_file"] != case.file.name or not row["_row_number"] or not row["quarantine_rule"]:
            result.problems.append(f"a quarantine row does not name its file, row and rule: {row}")
    by_number = {r["_row_number"]: r for r in quarantined}
    for want in case.quarantine:
        got_row = by_number.get(want["row"])
        if got_row is None:
            result.problems.append(f"row {want['row']} is not in quarantine")
            continue
        if got_row["quarantine_rule"] != want["rule"]:
            result.problems.append(
                f"row {want['row']}: rule {got_row['quarantine_rule']}, expected {want['rule']}"
            )
        if want.get("reason", "") not in got_row["quarantine_reason"]:
            result.problems.append(
                f"row {want['row']}: reason {got_row['quarantine_reason']!r} lacks {want['reason']!r}"
            )


def run_corpus(spark, manifest: Path = CORPUS / "cases.yaml", progress=None) -> list[CaseResult]:
    """Run the setup ingests, then every case, in the lake of the current settings; `progress`, if
    given, is called with each result as it comes."""
    from itlake.catalog.resources import load_catalog
    from itlake.ingest.flow import ingest_file

    logical_date, setup, cases = load_cases(manifest)
    for step in setup:
        ingest_file(spark, load_catalog().get(step.feed), step.file, logical_date)
    results = []
    for case in cases:
        results.append(run_case(spark, case, logical_date))
        if progress:
            progress(results[-1])
    return results


def format_table(results: list[CaseResult]) -> str:
    """The report `make reliability` prints: one line per case, then the totals."""
    header = ("case", "outcome", "passed", "read", "promoted", "dup", "quarantined", "lost")
    lines = [
        (
            r.case.id,
            r.outcome,
            "yes" if r.passed else "NO",
            r.read,
            r.promoted,
            r.duplicate,
            r.quarantined,
            r.lost,
        )
        for r in results
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]

    def fmt(values) -> str:
        return "  ".join(
            str(v).ljust(w) if i < 3 else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    out = [fmt(header), "  ".join("-" * w for w in widths), *(fmt(line) for line in lines)]
    for r in results:
        for problem in r.problems:
            out.append(f"  {r.case.id}: {problem}")
    passed = sum(r.passed for r in results)
    lost = sum(r.lost for r in results)
    out.append(f"cases tried {len(results)}, cases passed {passed}, rows lost {lost}")
    return "\n".join(out)


def _print_progress(result: CaseResult) -> None:
    print(f"{result.case.id}: {result.outcome}, {'passed' if result.passed else 'FAILED'}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the corpus in a fresh temporary lake; exit 1 unless every case passed and no row was lost."""
    from itlake.config import export_to_process
    from itlake.lake.session import get_spark

    args = sys.argv[1:] if argv is None else argv
    manifest = Path(args[0]) if args else CORPUS / "cases.yaml"
    export_to_process({"ITLAKE_SHUFFLE_PARTITIONS": "2"}, keep_set=True)
    with tempfile.TemporaryDirectory(prefix="itlake-reliability-") as lake, use_lake(lake):
        spark = get_spark("itlake-reliability")
        try:
            results = run_corpus(spark, manifest, _print_progress)
        finally:
            spark.stop()
    print(format_table(results))
    return 0 if all(r.passed for r in results) and not sum(r.lost for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
