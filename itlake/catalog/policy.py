"""The publication policy: what the catalogue and the contracts allow out of the lake, whoever asks.

`refusal_reasons` looks at a catalogue entry, its contract and the resources it is built from, and
names every reason that applies for keeping it in:
- a resource that is not shared (`sharing: none`);
- a resource graded important or core (GB/T 43697-2024);
- critical infrastructure: an entry marked so; exact locations released together with a condition
  (where a weak bridge is); and network design beyond the public road layer, that is any location
  or structure identifier taken from a critical-infrastructure source;
- personal data: any column with `pii` direct, indirect or biometric (keyed pseudonyms are personal
  data too), and any column that carries a personal column of a source under its own name.

The open-data releases (itlake/publish/gate.py) and Delta Sharing (itlake/sharing/shares.py) both
apply it. Pure Python over the catalogue and the contracts.
"""

from __future__ import annotations

LOCATION_NAMES = ("lon", "lat", "longitude", "latitude", "x", "y")
CONDITION_WORDS = ("condition", "defect", "damage", "load_limit")


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
