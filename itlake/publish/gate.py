"""The gate every release passes: the catalogue and the contracts decide what may leave the lake.

`check_release` applies the publication policy (itlake/catalog/policy.py, which lists its rules)
to the catalogue entry, its contract and the resources it is built from, and refuses with every
reason that applies.
`check_frame` then checks the rows themselves: every cell has at least k travellers, where the
sources hold personal data every timestamp is on a quarter hour, and no value is a plate, a phone
or resident ID number, a card number or a pseudonym (itlake/privacy/pii_scan.py).
"""

from __future__ import annotations

from itlake.catalog.policy import refusal_reasons


class PublicationRefused(RuntimeError):
    """The gate refused a release; the message is the reason logged in _system.publication_log."""


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
