"""Erasure on request: remove one person's identifier (a plate, a phone number, a card number) from
the whole lake, landing files included, and log what was removed where without the identifier.

    itlake erase --identifier 粤B12345 --resource taxi_gps

For the resource named, the identifier is pseudonymised with the lake's key (itlake/privacy/pseudonyms.py)
and then:
1. its rows are deleted from bronze (the raw source columns, trimmed as the parser trims them),
   quarantine (the same fields of each quarantined record) and silver (the personal columns, which
   hold pseudonyms), and from every gold table derived from the resource (the catalogue's
   `related`, followed to the end) that has a personal column;
2. its records are removed from each landing file (CSV, kept byte for byte otherwise); a file left
   with no record is deleted. The ingest ledger's row follows: it takes the new file's sha256, or
   none, and says so in its message;
3. each table changed is vacuumed with no time travel kept (older versions would still hold the
   rows), checkpointed, and its log is cut at that checkpoint: earlier commits carry column
   statistics (minimum and maximum values) of the deleted rows, as Delta's own log cleanup would
   remove them after the log retention;
4. one `_system.maintenance_log` row per table or file says how many rows or records went, under
   a run id, never the identifier.

Rows are deleted with `MERGE INTO ... USING (the identifier as a one-row view) ... WHEN MATCHED
THEN DELETE`, not `DELETE ... WHERE column = 'value'`: Delta writes a DELETE's predicate, literal
and all, into the table's history, and a MERGE's join condition names only the columns.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from datetime import date

from itlake.catalog.contracts import load_contract
from itlake.catalog.resources import Catalog, CatalogEntry
from itlake.lake.maintenance import (
    MaintenanceAction,
    checkpoint,
    is_delta_table,
    new_run_id,
    quoted,
    record_actions,
    table_detail,
    vacuum,
)
from itlake.lake.paths import system_table_path, table_path
from itlake.lake.storage import LakeStorage
from itlake.privacy.pseudonyms import pseudonym


class ErasureError(ValueError):
    """An erasure that cannot be done as asked; the message says why (never with the identifier)."""


def derived_entries(catalog: Catalog, code: str) -> list[CatalogEntry]:
    """Entries made from `code`, directly or through other derived entries."""
    found: dict[str, CatalogEntry] = {}
    sources = {code}
    while True:
        more = [
            e for e in catalog.entries if e.feed is None and e.code not in found and sources & set(e.related)
        ]
        if not more:
            return [found[c] for c in sorted(found)]
        for entry in more:
            found[entry.code] = entry
            sources.add(entry.code)


def personal_columns(contract_name: str) -> list:
    """The contract's columns with personal data (pseudonyms in silver and gold)."""
    return [c for c in load_contract(contract_name).columns if c.pii != "none"]


def _merge_delete(spark, path: str, condition: str, values: dict[str, str]) -> int:
    """Delete the rows of `path` matching `condition` over `t` (the table) and `s` (one row of
    `values`); returns how many went."""
    view = f"erasure_{uuid.uuid4().hex}"
    names = list(values)
    spark.createDataFrame(
        [tuple(values[n] for n in names)], ", ".join(f"{n} string" for n in names)
    ).createOrReplaceTempView(view)
    try:
        result = spark.sql(
            f"MERGE INTO {quoted(path)} t USING {view} s ON {condition} WHEN MATCHED THEN DELETE"
        ).first()
    finally:
        spark.catalog.dropTempView(view)
    return int(result.num_deleted_rows)


def _json_field(name: str) -> str:
    return "get_json_object(t.`_record`, '$[''" + name.replace("'", "''") + "'']')"


def table_conditions(catalog: Catalog, entry: CatalogEntry) -> list[tuple[str, str, str]]:
    """(table, path, condition) of every table that can hold the identifier; the condition compares
    raw fields with `s.raw` and personal columns with `s.pseudonym`."""
    targets = []
    for contract_name in entry.schema:
        columns = personal_columns(contract_name)
        sources = [c.source for c in columns if c.source]
        if sources:
            raw = " OR ".join(f"trim(t.`{s}`) = s.raw" for s in sources)
            targets.append((f"bronze.{contract_name}", table_path("bronze", contract_name), raw))
            quarantined = " OR ".join(f"trim({_json_field(s)}) = s.raw" for s in sources)
            targets.append(
                (f"quarantine.{contract_name}", table_path("quarantine", contract_name), quarantined)
            )
        if columns:
            personal = " OR ".join(f"t.`{c.name}` = s.pseudonym" for c in columns)
            targets.append(
                (f"{entry.layer}.{contract_name}", table_path(entry.layer, contract_name), personal)
            )
    for derived in derived_entries(catalog, entry.code):
        for contract_name in derived.schema:
            columns = personal_columns(contract_name)
            if columns:
                personal = " OR ".join(f"t.`{c.name}` = s.pseudonym" for c in columns)
                path = table_path(derived.layer, contract_name)
                targets.append((f"{derived.layer}.{contract_name}", path, personal))
    return targets


def cut_log_at_checkpoint(path: str) -> int:
    """Delete the log files (commits, checksums, checkpoints) before the table's last checkpoint;
    returns how many. Readers start from that checkpoint, as after Delta's own log cleanup."""
    storage = LakeStorage.for_uri(path)
    log = f"{path}/_delta_log"
    files = storage.files(log)
    checkpoints = [int(f.rsplit("/", 1)[1].split(".")[0]) for f in files if ".checkpoint." in f]
    if not checkpoints:
        return 0
    last = max(checkpoints)
    removed = 0
    for file in files:
        head = file.rsplit("/", 1)[1].split(".")[0]
        if head.isdigit() and int(head) < last:
            storage.delete_file(file)
            removed += 1
    return removed


def purge_table(spark, path: str, table: str, code: str, day: date, run_id: str) -> list[MaintenanceAction]:
    """After a delete: rewrite files with deletion vectors, vacuum all older files, checkpoint, cut
    the log."""
    features = spark.sql(f"DESCRIBE DETAIL {quoted(path)}").first().tableFeatures or []
    if "deletionVectors" in features:
        spark.sql(f"REORG TABLE {quoted(path)} APPLY (PURGE)").collect()
    actions = [vacuum(spark, path, 0, MaintenanceAction(run_id, "vacuum", table, code, day))]
    made = checkpoint(path, MaintenanceAction(run_id, "checkpoint", table, code, day))
    actions += [made] if made else []
    cut = MaintenanceAction(run_id, "cut_log", table, code, day)
    actions.append(
        cut.done(files_before=cut_log_at_checkpoint(path), detail="log files before the checkpoint")
    )
    return actions


def _records(text: str) -> list[str]:
    """The CSV records of `text`, each with its line ending, a quoted line break kept inside."""
    records, pending = [], ""
    for line in text.splitlines(keepends=True):
        pending += line
        if pending.count('"') % 2 == 0:
            records.append(pending)
            pending = ""
    if pending:
        records.append(pending)
    return records


def without_identifier(data: bytes, encoding: str, fields: list[str], value: str) -> tuple[bytes, int]:
    """A CSV file's bytes without the records whose `fields` hold `value` (trimmed); every other
    record is kept as it was. Returns the new bytes and how many records went."""
    text = data.decode(encoding)
    records = _records(text)
    if not records:
        return data, 0
    header = next(csv.reader([records[0]]))
    positions = [header.index(f) for f in fields if f in header]
    kept = [records[0]]
    for record in records[1:]:
        parsed = next(csv.reader([record]), [])
        if any(i < len(parsed) and parsed[i].strip() == value for i in positions):
            continue
        kept.append(record)
    removed = len(records) - len(kept)
    return ("".join(kept).encode(encoding) if removed else data), removed


def erase_landing(spark, entry: CatalogEntry, value: str, day: date, run_id: str) -> list[MaintenanceAction]:
    """Rewrite (or delete) each landing file of `entry` holding the identifier, and its ledger row."""
    fields = [c.source for name in entry.schema for c in personal_columns(name) if c.source]
    base = table_path("landing", entry.name)
    storage = LakeStorage.for_uri(base)
    if not fields or not storage.exists(base):
        return []
    if entry.format != "csv":
        raise ErasureError(f"{entry.name}: landing files are {entry.format}; erasure rewrites CSV files only")
    actions = []
    for file in storage.files(base, recursive=True):
        folder, name = file.rsplit("/", 1)
        data = storage.read_bytes(file)
        rewritten, removed = without_identifier(data, entry.encoding, fields, value)
        if not removed:
            continue
        run = MaintenanceAction(run_id, "erase_landing", f"landing.{entry.name}", entry.code, day)
        source_file, old_prefix = name[17:], name[:16]
        kept_records = len(_records(rewritten.decode(entry.encoding))) - 1
        storage.delete_file(file)
        if kept_records:
            sha256 = hashlib.sha256(rewritten).hexdigest()
            storage.write_bytes(f"{folder}/{sha256[:16]}_{source_file}", rewritten)
            new_sha, note = f"'{sha256}'", f"landing copy rewritten by erasure {run_id}"
        else:
            new_sha, note = "NULL", f"landing copy deleted by erasure {run_id}"
        ledger = system_table_path("ingest_ledger")
        if is_delta_table(ledger):
            spark.sql(
                f"UPDATE {quoted(ledger)} SET sha256 = {new_sha}, message = concat(message, '; {note}') "
                f"WHERE source_file = '{source_file.replace(chr(39), chr(39) * 2)}' "
                f"AND sha256 LIKE '{old_prefix}%'"
            ).collect()
        actions.append(
            run.done(
                rows_removed=removed,
                files_before=1,
                files_after=1 if kept_records else 0,
                detail=f"{folder.rsplit('/', 1)[1]}/{source_file}: {removed} records removed",
            )
        )
    return actions


def erase_identifier(
    spark, catalog: Catalog, resource: str, identifier: str, key: bytes, day: date
) -> list[MaintenanceAction]:
    """Remove `identifier` of `resource` from every table and landing file; returns (and logs) the actions."""
    entry = catalog.get(resource)
    if entry.feed is None:
        raise ErasureError(f"{entry.name} is derived; name the resource the identifier was received in")
    value = identifier.strip()
    if not value:
        raise ErasureError("the identifier is empty")
    values = {"raw": value, "pseudonym": pseudonym(value, key)}
    run_id = new_run_id("erasure", day)
    actions: list[MaintenanceAction] = []
    changed = []
    for table, path, condition in table_conditions(catalog, entry):
        if not is_delta_table(path):
            continue
        run = MaintenanceAction(run_id, "erase_rows", table, entry.code, day)
        files_before, _ = table_detail(spark, path)
        removed = _merge_delete(spark, path, condition, values)
        if removed:
            actions.append(
                run.done(
                    rows_removed=removed, files_before=files_before, files_after=table_detail(spark, path)[0]
                )
            )
            changed.append((table, path))
    actions += erase_landing(spark, entry, value, day, run_id)
    for table, path in changed:
        actions += purge_table(spark, path, table, entry.code, day, run_id)
    record_actions(spark, actions)
    return actions
