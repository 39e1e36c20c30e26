"""Recipients of Delta Sharing: a bearer token each, with an expiry and the shares it may read.

The recipients file (JSON, path from ITLAKE_SHARING_RECIPIENTS, default
~/.config/itlake/sharing-recipients.json, never in the repository) stores only the sha256 of each
token. `create_recipient` makes a token, stores its hash and writes the recipient's profile file,
the one file the recipient hands to a Delta Sharing client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itlake.config import get_settings


def recipients_path() -> Path:
    return get_settings().sharing_recipients


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Recipient:
    name: str
    token_sha256: str
    expires_at: datetime
    shares: tuple[str, ...]

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


def load_recipients(path: Path | None = None) -> list[Recipient]:
    path = path or recipients_path()
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [
            Recipient(
                r["name"], r["token_sha256"], datetime.fromisoformat(r["expires_at"]), tuple(r["shares"])
            )
            for r in raw["recipients"]
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a recipients file: {err}") from None


def find_recipient(token: str, recipients: list[Recipient]) -> Recipient | None:
    digest = token_hash(token)
    for recipient in recipients:
        if hmac.compare_digest(recipient.token_sha256, digest):
            return recipient
    return None


def create_recipient(
    name: str,
    shares: list[str],
    *,
    endpoint: str,
    profile: Path,
    days: int = 365,
    path: Path | None = None,
) -> Recipient:
    """Add (or replace) a recipient, write its profile file (mode 600) and return it."""
    path = path or recipients_path()
    token = secrets.token_urlsafe(32)
    expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    recipient = Recipient(name, token_hash(token), expires, tuple(shares))
    others = [r for r in load_recipients(path) if r.name != name]
    rows = [
        {**asdict(r), "expires_at": r.expires_at.isoformat(), "shares": list(r.shares)}
        for r in [*others, recipient]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"recipients": rows}, indent=2), encoding="utf-8")
    path.chmod(0o600)
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(
        json.dumps(
            {
                "shareCredentialsVersion": 1,
                "endpoint": endpoint.rstrip("/"),
                "bearerToken": token,
                "expirationTime": expires.isoformat().replace("+00:00", "Z"),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    profile.chmod(0o600)
    return recipient
