"""Biometric data is refused at ingest: transport data has no need for faces, fingerprints or templates.

Three checks, each before a row reaches bronze:
- a contract column marked `pii: biometric` refuses every file of the feeds that write it, before
  the file is even copied to landing/ (`refuse_biometric_contracts`);
- a received file with a column named like biometric data (face, portrait, feature_vector,
  template, fingerprint, 人脸, 头像, 指纹 ...) is refused naming the file and the column; the CSV
  reader checks the whole header, so the name is caught even where a format allows extra columns
  (`refuse_biometric_names`);
- a received file whose values are images (base64 JPEG or PNG, `data:image/` URIs, as face
  captures from gates and in-cab cameras are exported) is refused naming the file, the column and
  the first row (`refuse_biometric_values`).
The error is a FeedError, so the ingest stage records the refusal in the ledger like any other.
"""

from __future__ import annotations

import re
from functools import reduce
from itertools import pairwise

from itlake.feeds.base import FeedError

BIOMETRIC_WORDS = frozenset(
    {
        "face",
        "faces",
        "facial",
        "portrait",
        "biometric",
        "biometrics",
        "fingerprint",
        "iris",
        "retina",
        "palmprint",
        "voiceprint",
        "template",
        "embedding",
        "featurevector",
    }
)
BIOMETRIC_PAIRS = frozenset({("feature", "vector"), ("face", "id")})
BIOMETRIC_CHINESE = (
    "人脸",
    "面部",
    "头像",
    "肖像",
    "人像",
    "指纹",
    "虹膜",
    "掌纹",
    "声纹",
    "特征向量",
    "特征值",
    "生物特征",
)
# How an image starts once base64-encoded: JPEG's FF D8 FF, PNG's 89 50 4E 47 0D 0A 1A 0A.
IMAGE_PREFIXES = {
    "/9j/": "a base64 JPEG image",
    "iVBORw0KGgo": "a base64 PNG image",
    "data:image/": "an image",
}
REFUSED = "biometric data is refused at ingest: transport data has no need for it"


class BiometricDataRefused(FeedError):
    """A contract or a received file holds biometric data; the message names where."""


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^0-9A-Za-z]+", spaced.lower()) if w]


def is_biometric_name(name: str) -> bool:
    """True for a column named like biometric data; `surface`, `interface` and `face_value` are not."""
    if any(word in name for word in BIOMETRIC_CHINESE):
        return True
    # A card's face value (面值) is money, not a face.
    words = " ".join(_words(name)).replace("face value", "value").split()
    return bool(BIOMETRIC_WORDS.intersection(words)) or any(
        pair in BIOMETRIC_PAIRS for pair in pairwise(words)
    )


def image_kind(value: str) -> str | None:
    """What kind of image a text value holds, or None."""
    stripped = value.lstrip()
    return next((kind for prefix, kind in IMAGE_PREFIXES.items() if stripped.startswith(prefix)), None)


def refuse_biometric_contracts(contract_names, source: str) -> None:
    from itlake.catalog.contracts import load_contract

    for name in contract_names:
        columns = load_contract(name).pii_columns("biometric", exact=True)
        if columns:
            raise BiometricDataRefused(
                f"{source}: refused: contract {name} marks column {', '.join(columns)} as pii: biometric; "
                + REFUSED
            )


def refuse_biometric_names(names, source: str) -> None:
    found = [name for name in names if is_biometric_name(name)]
    if found:
        raise BiometricDataRefused(
            f"{source}: refused: column {', '.join(found)} is named like biometric data; {REFUSED}"
        )


def refuse_biometric_values(tables: dict, source: str) -> None:
    """Look at every text value of the raw tables ({contract: pyarrow.Table}) for an image."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for table in tables.values():
        refuse_biometric_names([c for c in table.column_names if not c.startswith("_")], source)
        for name in table.column_names:
            column = table.column(name)
            if name.startswith("_") or not pa.types.is_string(column.type) or len(column) == 0:
                continue
            text = pc.utf8_ltrim_whitespace(column)
            hits = reduce(pc.or_, [pc.starts_with(text, prefix) for prefix in IMAGE_PREFIXES])
            first = pc.index(hits.fill_null(False), True).as_py()
            if first < 0:
                continue
            row = (
                table.column("_row_number")[first].as_py()
                if "_row_number" in table.column_names
                else first + 1
            )
            raise BiometricDataRefused(
                f"{source}: refused: column {name}, row {row} holds {image_kind(column[first].as_py())}; "
                + REFUSED
            )
