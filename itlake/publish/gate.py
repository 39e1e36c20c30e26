"""The gate every release passes: the catalogue and the contracts decide what may leave the lake.

`check_release` looks at the catalogue entry, its contract and the resources it is built from, and
refuses, with every reason that applies:
- a resource that is not shared (`sharing: none`);
- a resource graded important or core (GB/T 43697-2024);
- critical infrastructure: an entry marked so; exact locations released together with a condition
  (where a weak bridge is); and network design beyond the public road layer, that is any location
  or structure identifier taken from a critical-infrastructure source;
- personal data: any column with `pii` direct, indirect or biometric (keyed pseudonyms are personal
  data too), and any column that carries a personal column of a source under its own name.
`check_frame` then checks the rows themselves: every cell has at least k travellers, where the
sources hold personal data every timestamp is on a quarter hour, and no value is a plate, a phone
or resident ID number, a card number or a pseudonym (itlake/privacy/pii_scan.py).
"""

from __future__ import annotations

LOCATION_NAMES = ("lon", "lat", "longitude", "latitude", "x", "y")
CONDITION_WORDS = ("condition", "defect", "damage", "load_limit")


class PublicationRefused(RuntimeError):
    """The gate refused a release; the message is the reason logged in _system.publication_log."""


def location_columns(contract) -> list[str]:
    """Columns that place a row exactly: geometries and coordinate pairs."""
    return [
        c.name
        for c in contract.columns
        if c.geometry is not None or c.name in LOCATION_NAMES or c.name.endswith(("_lon", "_lat"))
    ]


def condition_columns(contract) -> list[str]:
    return [c.name for c in contract.columns if any(word in c.name for word in CONDITION_WORDS)]


def refusal_reasons(entry, contract, sources=()) -> list[str]:
    """Every reason the gate has to refuse; `sources` are (entry, contract) pairs the data comes from."""
    reasons = []
    if entry.sharing.type == "none":
        reasons.append("sharing type is none (不予共享)")
    if entry.security_grade in ("important", "core"):
        reasons.append(f"security grade is {entry.security_grade}")
    if entry.critical_infrastructure:
        reasons.append("the entry holds critical infrastructure details")
    located, condition = location_columns(contract), condition_columns(contract)
    if located and condition:
        reasons.append(
            f"critical infrastructure details: exact locations ({', '.join(located)}) together with "
            f"condition ({', '.join(condition)})"
        )
    for source, source_contract in sources:
        if not source.critical_infrastructure:
            continue
        # Identifiers of the structures and of the links they sit on draw the network's design.
        keys = set(source_contract.primary_key)
        keys |= {column for fk in source_contract.foreign_keys for column in fk.columns}
        design = sorted(set(location_columns(contract)) | (keys & set(contract.column_names)))
        if design:
            reasons.append(
                f"network design beyond the public road layer: {', '.join(design)} from critical "
                f"infrastructure {source.code} {source.name}"
            )
    personal = [c.name for c in contract.columns if c.pii != "none"]
    if personal:
        reasons.append(f"columns with personal data: {', '.join(personal)}")
    for source, source_contract in sources:
        carried = [c for c in source_contract.pii_columns("indirect") if c in contract.column_names]
        if carried:
            reasons.append(f"columns carrying personal data of {source.name}: {', '.join(carried)}")
    return reasons


def check_release(entry, contract, sources=()) -> None:
    """Raise PublicationRefused with every reason that applies; return quietly if all is well."""
    reasons = refusal_reasons(entry, contract, sources)
    if reasons:
        raise PublicationRefused(f"{entry.code} {entry.name}: " + "; ".join(reasons))


def check_frame(df, entry, contract, sources, k_column: str | None, k: int) -> None:
    """Check the rows about to be released (a Spark DataFrame after suppression)."""
    from pyspark.sql import functions as F

    from itlake.privacy.pii_scan import scan_frame, summary
    from itlake.publish.anonymity import off_quarter_hour

    reasons = []
    if k_column is not None:
        small = df.where(F.col(k_column) < k).count()
        if small:
            reasons.append(f"{small} cells with fewer than k={k} in {k_column}")
    if any(source_contract.pii_columns("indirect") for _, source_contract in sources):
        stamps = [c.name for c in contract.columns if c.type == "timestamp"]
        off = off_quarter_hour(df, stamps)
        if off:
            reasons.append(f"{off} rows with times not rounded to 15 minutes in {', '.join(stamps)}")
    # Released tables are aggregates, small enough to look at every value on the driver; in the
    # release files' order (flow.py), so that a finding's row number can be looked up there.
    order = list(dict.fromkeys([*contract.partition_by, *contract.primary_key]))
    found = scan_frame(df.orderBy(*order).toPandas(), f"open.{entry.name}")
    if not found.clean:
        reasons.append(f"personal identifiers in the rows: {summary(found)}")
    if reasons:
        raise PublicationRefused(f"{entry.code} {entry.name}: " + "; ".join(reasons))
