"""The gate every release passes: the catalogue and the contract decide what may leave the lake.

It refuses resources that are neither open nor shared, resources graded important or core
(GB/T 43697-2024), critical infrastructure details, and any column that carries personal data
(`pii` direct, indirect or biometric: keyed pseudonyms are personal data too).
"""

from __future__ import annotations


class PublicationRefused(RuntimeError):
    """The gate refused a release; the message is the reason logged in _system.publication_log."""


def check_release(entry, contract) -> None:
    """Raise PublicationRefused with every reason that applies; return quietly if all is well."""
    reasons = []
    if entry.open.level == "closed" and entry.sharing.type == "none":
        reasons.append("the catalogue entry is closed and not shared")
    if entry.security_grade in ("important", "core"):
        reasons.append(f"security grade is {entry.security_grade}")
    if entry.critical_infrastructure:
        reasons.append("the entry holds critical infrastructure details")
    personal = [c.name for c in contract.columns if c.pii != "none"]
    if personal:
        reasons.append(f"columns with personal data: {', '.join(personal)}")
    if reasons:
        raise PublicationRefused(f"{entry.code} {entry.name}: " + "; ".join(reasons))
